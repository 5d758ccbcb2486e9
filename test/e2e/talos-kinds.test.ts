/**
 * The Talos kinds (TalosConfig, TalosConfigTemplate, TalosControlPlane) through the real kubectl
 * against a daemon serving the API only (`--controllers=false`, so nothing but admission touches
 * the objects): the CACPPT sample's equivalent applied and defaulted, short name `tcp`, printer
 * columns in both served versions, `kubectl scale tcp`, conversion seen through kubectl, and the
 * webhooks' refusals (rollout strategy, hostname source, immutable specs) as kubectl prints them.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const binary = kubectlOrSkip("kubectl on the Talos kinds");
const BG = "bootstrap.cluster.x-k8s.io";
const CG = "controlplane.cluster.x-k8s.io";
const ns = "talosns";
const FIXTURES = join(import.meta.dir, "../fixtures/talos");
const SAMPLE = join(FIXTURES, "taloscontrolplane-sample.yaml");
const BOOTSTRAP = join(FIXTURES, "bootstrap.yaml");
let d: TestDaemon;
let k: Kubectl;
const files = tempDir("capx-talos-files-");

function file(name: string, docs: unknown[]): string {
  const p = join(files, name);
  writeFileSync(p, docs.map((doc) => stringify(doc)).join("---\n"));
  return p;
}

/** Column headers of a kubectl table (split on runs of two or more spaces). */
const header = (out: string) => out.split("\n")[0]!.trim().split(/\s{2,}/);
/** A row's cells, cut at the header's column offsets (blank cells stay blank). */
const row = (out: string, name: string) => {
  const lines = out.split("\n");
  const line = lines.find((l) => l.split(/\s+/).includes(name));
  if (!line) return undefined;
  const starts = [...lines[0]!.matchAll(/(?:^|\s{2,})(\S)/g)].map((m) => m.index! + m[0].length - 1);
  return starts.map((start, i) => line.slice(start, starts[i + 1] ?? line.length).trim());
};

const TCP_COLUMNS = ["NAME", "READY", "INITIALIZED", "REPLICAS", "READY REPLICAS", "UNAVAILABLE REPLICAS"];
const tcp = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: `${CG}/v1alpha3`,
  kind: "TalosControlPlane",
  metadata: { name, namespace: ns },
  spec: {
    version: "v1.33.1",
    infrastructureTemplate: { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxMachineTemplate", name: "t" },
    controlPlaneConfig: { controlplane: { generateType: "controlplane" } },
    ...spec,
  },
});

beforeAll(async () => {
  if (!binary) return;
  d = await startTestDaemon({ extraArgs: ["--controllers=false"] });
  k = new Kubectl(binary, d.kubeconfig);
  await k.ok(["create", "namespace", ns]);
  expect(await k.ok(["apply", "-n", ns, "-f", SAMPLE, "-f", BOOTSTRAP])).toBe(
    [
      `taloscontrolplane.${CG}/taloscontrolplane-sample created`,
      `talosconfig.${BG}/sample-cp-0 created`,
      `talosconfigtemplate.${BG}/sample-workers created`,
      "",
    ].join("\n"),
  );
}, 60_000);

afterAll(async () => {
  await d?.stop();
  d?.cleanup();
});

describe.skipIf(!binary)("kubectl on the Talos kinds", () => {
  it("the sample is defaulted as CACPPT's webhook does: replicas 1, v prefix, RollingUpdate maxSurge 1, template namespace", async () => {
    const out = await k.ok([
      "get",
      "tcp",
      "taloscontrolplane-sample",
      "-n",
      ns,
      "-o",
      "jsonpath={.spec.replicas} {.spec.version} {.spec.rolloutStrategy.type} {.spec.rolloutStrategy.rollingUpdate.maxSurge} {.spec.infrastructureTemplate.namespace} {.spec.controlPlaneConfig.init.generateType}",
    ]);
    expect(out).toBe(`1 v1.33.1 RollingUpdate 1 ${ns} init`);
    // Applying the file again sends the version without its v (kubectl's three-way patch sees the
    // live value differ), so kubectl says "configured" as against a real cluster; the webhook
    // prefixes it again and the stored object, generation included, does not change.
    expect(await k.ok(["apply", "-n", ns, "-f", SAMPLE])).toBe(`taloscontrolplane.${CG}/taloscontrolplane-sample configured\n`);
    expect(await k.ok(["get", "tcp", "taloscontrolplane-sample", "-n", ns, "-o", "jsonpath={.spec.version} {.metadata.generation}"])).toBe("v1.33.1 1");
  });

  it("short name tcp, the cluster-api category and the TalosControlPlane columns", async () => {
    const out = await k.ok(["get", "tcp", "-n", ns]);
    expect(header(out)).toEqual(TCP_COLUMNS);
    expect(row(out, "taloscontrolplane-sample")).toEqual(["taloscontrolplane-sample", "", "", "", "", ""]);
    const all = await k.ok(["get", "cluster-api", "-n", ns, "-o", "name"]);
    for (const name of [`taloscontrolplane.${CG}/taloscontrolplane-sample`, `talosconfig.${BG}/sample-cp-0`, `talosconfigtemplate.${BG}/sample-workers`]) {
      expect(all).toContain(name);
    }
  });

  it("kubectl scale tcp, and the status as the columns and the scale subresource show it", async () => {
    expect(await k.ok(["scale", "tcp", "taloscontrolplane-sample", "-n", ns, "--replicas=3"])).toBe(`taloscontrolplane.${CG}/taloscontrolplane-sample scaled\n`);
    expect(await k.ok(["get", "tcp", "taloscontrolplane-sample", "-n", ns, "-o", "jsonpath={.spec.replicas}"])).toBe("3");
    const selector = "cluster.x-k8s.io/cluster-name=sample,cluster.x-k8s.io/control-plane";
    const status = { ready: true, initialized: true, replicas: 3, readyReplicas: 2, unavailableReplicas: 1, selector, bootstrapped: true };
    await k.ok(["patch", "tcp", "taloscontrolplane-sample", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
    expect(row(await k.ok(["get", "tcp", "-n", ns]), "taloscontrolplane-sample")).toEqual(["taloscontrolplane-sample", "true", "true", "3", "2", "1"]);
    const scale = JSON.parse(await k.ok(["get", "--raw", `/apis/${CG}/v1alpha3/namespaces/${ns}/taloscontrolplanes/taloscontrolplane-sample/scale`]));
    expect(scale.kind).toBe("Scale");
    expect(scale.spec).toEqual({ replicas: 3 });
    expect(scale.status).toEqual({ replicas: 3, selector });
    // Scaling down through the subresource is not refused by admission (webhooks skip subresources).
    expect(await k.ok(["scale", "tcp", "taloscontrolplane-sample", "-n", ns, "--replicas=1", "--current-replicas=3"])).toBe(
      `taloscontrolplane.${CG}/taloscontrolplane-sample scaled\n`,
    );
  });

  it("TalosConfig: written in v1alpha3, stored in v1beta1; columns and status in both versions", async () => {
    const v1b1 = await k.ok(["get", `talosconfigs.v1beta1.${BG}`, "-n", ns]);
    expect(header(v1b1)).toEqual(["NAME", "CLUSTER", "INITIALIZED", "BOOTSTRAP SECRET", "AGE"]);
    expect(row(v1b1, "sample-cp-0")?.slice(0, 4)).toEqual(["sample-cp-0", "sample", "", ""]);
    // The bootstrap provider's controller writes the v1beta1 status; a v1alpha3 reader sees ready.
    const status = { initialization: { dataSecretCreated: true }, dataSecretName: "sample-cp-0-bootstrap-data", conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "", lastTransitionTime: "2026-01-01T00:00:00Z" }] };
    await k.ok(["patch", `talosconfigs.v1beta1.${BG}`, "sample-cp-0", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
    expect(row(await k.ok(["get", `talosconfigs.v1beta1.${BG}`, "-n", ns]), "sample-cp-0")?.slice(0, 4)).toEqual(["sample-cp-0", "sample", "true", "sample-cp-0-bootstrap-data"]);
    const v1a3 = await k.ok(["get", `talosconfigs.v1alpha3.${BG}`, "-n", ns]);
    expect(header(v1a3)).toEqual(["NAME", "AGE"]);
    expect(await k.ok(["get", `talosconfigs.v1alpha3.${BG}`, "sample-cp-0", "-n", ns, "-o", "jsonpath={.status.ready} {.status.dataSecretName} {.status.v1beta2Status.conditions[0].type} {.spec.hostname.source}"])).toBe(
      "true sample-cp-0-bootstrap-data Ready MachineName",
    );
    expect(await k.ok(["get", `talosconfigs.v1beta1.${BG}`, "sample-cp-0", "-n", ns, "-o", "jsonpath={.spec.generateType} {.spec.talosVersion}"])).toBe("controlplane v1.13");
    // Applying the v1alpha3 / v1beta1 file again is a no-op (no spurious diff from conversion,
    // so the immutable specs are not tripped).
    expect(await k.ok(["apply", "-n", ns, "-f", BOOTSTRAP])).toBe(
      [`talosconfig.${BG}/sample-cp-0 unchanged`, `talosconfigtemplate.${BG}/sample-workers unchanged`, ""].join("\n"),
    );
  });

  it("TalosConfigTemplate: columns in both versions, and its spec is immutable", async () => {
    const v1b1 = await k.ok(["get", `talosconfigtemplates.v1beta1.${BG}`, "-n", ns]);
    expect(header(v1b1)).toEqual(["NAME", "CLUSTERCLASS", "CLUSTER", "AGE"]);
    expect(header(await k.ok(["get", `talosconfigtemplates.v1alpha3.${BG}`, "-n", ns]))).toEqual(["NAME", "AGE"]);
    expect(await k.ok(["get", `talosconfigtemplates.v1alpha3.${BG}`, "sample-workers", "-n", ns, "-o", "jsonpath={.spec.template.spec.configPatches[0].value}"])).toBe("/dev/vda");
    const r = await k.run(["patch", `talosconfigtemplates.v1alpha3.${BG}`, "sample-workers", "-n", ns, "--type=merge", "-p", '{"spec":{"template":{"spec":{"talosVersion":"v1.12"}}}}']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('admission webhook "vtalosconfigtemplate.cluster.x-k8s.io" denied the request: TalosConfigTemplate.Spec is immutable');
    // Metadata may still change.
    await k.ok(["label", "talosconfigtemplate", "sample-workers", "-n", ns, "role=workers"]);
  });

  it("webhook refusals: unknown rollout strategy, unknown hostname source, TalosConfig spec change", async () => {
    const r1 = await k.run(["apply", "-f", file("bad-tcp.yaml", [tcp("bad", { rolloutStrategy: { type: "Recreate" } })])]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain('The TalosControlPlane "bad" is invalid: spec.rolloutStrategy: Invalid value: "Recreate": valid values are: ["RollingUpdate" "OnDelete"]');

    const badConfig = { apiVersion: `${BG}/v1beta1`, kind: "TalosConfig", metadata: { name: "bad", namespace: ns }, spec: { generateType: "worker", hostname: { source: "NodeName" } } };
    const r2 = await k.run(["apply", "-f", file("bad-config.yaml", [badConfig])]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('The TalosConfig "bad" is invalid: spec.hostname.source: Invalid value: "NodeName": valid values are: ["MachineName" "InfrastructureName"]');

    const r3 = await k.run(["patch", `talosconfigs.v1alpha3.${BG}`, "sample-cp-0", "-n", ns, "--type=merge", "-p", '{"spec":{"talosVersion":"v1.12"}}']);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toContain('admission webhook "vtalosconfig.cluster.x-k8s.io" denied the request: TalosConfig.Spec is immutable');

    // The v1beta1 CRD's enum refuses what v1alpha3 takes as free text.
    const r4 = await k.run(["apply", "-f", file("join.yaml", [{ ...badConfig, metadata: { name: "join", namespace: ns }, spec: { generateType: "join" } }])]);
    expect(r4.code).toBe(1);
    expect(r4.stderr).toContain('The TalosConfig "join" is invalid: ');
    expect(r4.stderr).toContain('spec.generateType: Unsupported value: "join": supported values: "controlplane", "worker", "init", "none"');

    // OnDelete is accepted and gets no rollingUpdate block.
    await k.ok(["apply", "-f", file("ondelete.yaml", [tcp("ondelete", { rolloutStrategy: { type: "OnDelete" } })])]);
    expect(await k.ok(["get", "tcp", "ondelete", "-n", ns, "-o", "jsonpath={.spec.rolloutStrategy}"])).toBe('{"type":"OnDelete"}');
  });

  it("the CRDs carry the contract labels clusterctl init leaves", async () => {
    const labels = async (name: string) => JSON.parse(await k.ok(["get", "crd", name, "-o", "jsonpath={.metadata.labels}"]));
    expect(await labels(`talosconfigs.${BG}`)).toMatchObject({ "cluster.x-k8s.io/v1beta1": "v1alpha3", "cluster.x-k8s.io/v1beta2": "v1beta1", "cluster.x-k8s.io/provider": "bootstrap-talos" });
    expect(await labels(`taloscontrolplanes.${CG}`)).toMatchObject({ "cluster.x-k8s.io/v1beta1": "v1alpha3", "cluster.x-k8s.io/provider": "control-plane-talos" });
  });
});
