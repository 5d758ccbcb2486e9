/**
 * The kubectl checklist (shared/reference/k8s-api/notes.md §h) against the real Cluster and
 * MachineDeployment kinds, in both served versions, with the controllers running: printer
 * columns, the `cluster-api` category, apply (client- and server-side) through conversion,
 * scale, watch, wait, explain, diff, edit, webhook refusals and deletion.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { tempDir } from "../../harness/daemon.ts";
import { kubectlOrSkip } from "../../harness/kubectl.ts";
import { machineDeployment, templates } from "./manifests.ts";
import { apply, capiPath, clusterWithControlPlane, get, startEnv, stopEnv, waitFor, waitRunning, type Env } from "./support.ts";
import { BOOTSTRAP_GROUP, INFRA_GROUP } from "./test-provider.ts";

const binary = kubectlOrSkip("kubectl on Cluster API kinds");
let e: Env;
const ns = "kc";
const files = tempDir("capx-kc-files-");
const file = (name: string, content: unknown) => {
  const p = join(files, name);
  writeFileSync(p, typeof content === "string" ? content : stringify(content));
  return p;
};
/** Column headers of a kubectl table (split on runs of two or more spaces). */
const header = (out: string) => out.split("\n")[0]!.trim().split(/\s{2,}/);
/** A row's cells, cut at the header's column offsets (kubectl aligns cells under their header, and blank cells stay blank). */
const row = (out: string, name: string) => {
  const lines = out.split("\n");
  const line = lines.find((l) => l.split(/\s+/).includes(name));
  if (!line) return undefined;
  const starts = [...lines[0]!.matchAll(/(?:^|\s{2,})(\S)/g)].map((m) => m.index! + m[0].length - 1);
  return starts.map((start, i) => line.slice(start, starts[i + 1] ?? line.length).trim());
};

/** A v1beta1 MachineDeployment manifest, as older tooling writes it. */
const mdV1beta1 = (name: string, replicas: number, extra: Record<string, unknown> = {}) => ({
  apiVersion: "cluster.x-k8s.io/v1beta1",
  kind: "MachineDeployment",
  metadata: { name, namespace: ns },
  spec: {
    clusterName: "c",
    replicas,
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    selector: { matchLabels: { pool: name } },
    template: {
      metadata: { labels: { pool: name } },
      spec: {
        clusterName: "c",
        version: "v1.31.0",
        nodeDrainTimeout: "90s",
        bootstrap: { configRef: { apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`, kind: "TestConfigTemplate", name } },
        infrastructureRef: { apiVersion: `${INFRA_GROUP}/v1beta1`, kind: "TestMachineTemplate", name },
      },
    },
    ...extra,
  },
});

beforeAll(async () => {
  if (!binary) return;
  e = await startEnv(binary);
  await clusterWithControlPlane(e, ns, "c", "10.10.0.30");
  await apply(e, [...templates(ns, "v2pool"), machineDeployment(ns, "c", "v2pool", { replicas: 2 }), ...templates(ns, "v1pool")]);
  await waitRunning(e, ns, "pool=v2pool", 2);
}, 60_000);
afterAll(() => stopEnv(e));

describe.skipIf(!binary)("kubectl on Cluster API kinds", () => {
  it("get cluster-api -A lists every Cluster API kind with the upstream v1beta2 columns", async () => {
    const out = await e.k.ok(["get", "cluster-api", "-A"]);
    const tables = out.split("\n\n");
    const clusterTable = tables.find((t) => t.includes("cluster.cluster.x-k8s.io/c"))!;
    expect(header(clusterTable)).toEqual(["NAMESPACE", "NAME", "CLUSTERCLASS", "AVAILABLE", "CP DESIRED", "CP AVAILABLE", "CP UP-TO-DATE", "W DESIRED", "W AVAILABLE", "W UP-TO-DATE", "PHASE", "AGE", "VERSION"]);
    for (const kind of ["machine.cluster.x-k8s.io/c-cp-0", "machinedeployment.cluster.x-k8s.io/v2pool", "machineset.cluster.x-k8s.io/v2pool-", "testcluster.infrastructure.e2e.capx.dev/c", "testmachine.infrastructure.e2e.capx.dev/c-cp-0"]) {
      expect(out).toContain(kind);
    }
    const mdTable = tables.find((t) => t.includes("machinedeployment.cluster.x-k8s.io/v2pool"))!;
    expect(header(mdTable)).toEqual(["NAMESPACE", "NAME", "CLUSTER", "AVAILABLE", "DESIRED", "CURRENT", "READY", "AVAILABLE", "UP-TO-DATE", "PHASE", "AGE", "VERSION"]);
    expect(row(mdTable, "machinedeployment.cluster.x-k8s.io/v2pool")).toEqual([ns, "machinedeployment.cluster.x-k8s.io/v2pool", "c", "True", "2", "2", "2", "2", "2", "Running", expect.stringMatching(/^\d+s$/), "v1.31.0"]);
    const machineTable = tables.find((t) => t.includes("machine.cluster.x-k8s.io/c-cp-0"))!;
    expect(header(machineTable)).toEqual(["NAMESPACE", "NAME", "CLUSTER", "NODE NAME", "FAILURE DOMAIN", "READY", "AVAILABLE", "UP-TO-DATE", "PHASE", "AGE", "VERSION"]);
    // A stand-alone control-plane Machine has no UpToDate (upstream sets it under a MachineDeployment only).
    expect(row(machineTable, "machine.cluster.x-k8s.io/c-cp-0")?.slice(2, 9)).toEqual(["c", "c-cp-0", "", "True", "True", "", "Running"]);
  });

  it("get md -o wide adds the priority columns; the v1beta1 version prints its own columns", async () => {
    const wide = await e.k.ok(["get", "md", "-n", ns, "-o", "wide"]);
    expect(header(wide)).toEqual(["NAME", "CLUSTER", "AVAILABLE", "DESIRED", "CURRENT", "READY", "AVAILABLE", "UP-TO-DATE", "PAUSED", "PHASE", "AGE", "VERSION"]);
    expect(row(wide, "v2pool")).toEqual(["v2pool", "c", "True", "2", "2", "2", "2", "2", "False", "Running", expect.stringMatching(/^\d+s$/), "v1.31.0"]);
    const old = await e.k.ok(["get", "machinedeployments.v1beta1.cluster.x-k8s.io", "-n", ns, "-o", "wide"]);
    expect(header(old)).toEqual(["NAME", "CLUSTER", "DESIRED", "REPLICAS", "READY", "UPDATED", "UNAVAILABLE", "PHASE", "AGE", "VERSION"]);
    expect(row(old, "v2pool")).toEqual(["v2pool", "c", "2", "2", "2", "2", "0", "Running", expect.stringMatching(/^\d+s$/), "v1.31.0"]);
    const clusters = await e.k.ok(["get", "clusters.v1beta1.cluster.x-k8s.io", "-n", ns]);
    expect(header(clusters)).toEqual(["NAME", "CLUSTERCLASS", "PHASE", "AGE", "VERSION"]);
    expect(row(clusters, "c")?.slice(0, 3)).toEqual(["c", "", "Provisioned"]);
  });

  it("apply of a v1beta1 manifest: created, configured, unchanged — conversion loses nothing", async () => {
    const f = file("v1pool.yaml", mdV1beta1("v1pool", 1));
    expect(await e.k.ok(["apply", "-f", f])).toBe("machinedeployment.cluster.x-k8s.io/v1pool created\n");
    // Read back in v1beta2: the rollout strategy and drain timeout moved to their new places.
    const v2 = await e.k.ok(["get", "md", "v1pool", "-n", ns, "-o", "jsonpath={.spec.rollout.strategy.rollingUpdate.maxSurge} {.spec.template.spec.deletion.nodeDrainTimeoutSeconds} {.spec.template.spec.bootstrap.configRef.apiGroup}"]);
    expect(v2).toBe(`1 90 ${BOOTSTRAP_GROUP}`);
    const r = await e.k.run(["apply", "-f", f, "-v=6"]);
    expect(r.stdout).toBe("machinedeployment.cluster.x-k8s.io/v1pool unchanged\n");
    expect(r.stderr).not.toMatch(/PATCH https/);
    writeFileSync(f, stringify(mdV1beta1("v1pool", 2)));
    expect(await e.k.ok(["apply", "-f", f])).toBe("machinedeployment.cluster.x-k8s.io/v1pool configured\n");
    // The user's own spelling of the duration survives the round trip through v1beta2 seconds.
    expect(await e.k.ok(["get", "machinedeployments.v1beta1.cluster.x-k8s.io", "v1pool", "-n", ns, "-o", "jsonpath={.spec.replicas} {.spec.template.spec.nodeDrainTimeout} {.spec.strategy.rollingUpdate.maxUnavailable}"])).toBe("2 90s 0");
    await waitRunning(e, ns, "pool=v1pool", 2);
  }, 60_000);

  it("server-side apply of v1beta2 and v1beta1 manifests; a second manager conflicts", async () => {
    const f = file("ssa.yaml", machineDeployment(ns, "c", "v1pool", { replicas: 2 }));
    expect(await e.k.ok(["apply", "--server-side", "--force-conflicts", "-f", f])).toBe("machinedeployment.cluster.x-k8s.io/v1pool serverside-applied\n");
    const other = file("ssa-other.yaml", mdV1beta1("v1pool", 3));
    const conflict = await e.k.run(["apply", "--server-side", "--field-manager=other", "-f", other]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain(".spec.replicas");
    expect(await e.k.ok(["apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", other])).toBe("machinedeployment.cluster.x-k8s.io/v1pool serverside-applied\n");
    expect(await e.k.ok(["get", "md", "v1pool", "-n", ns, "-o", "jsonpath={.spec.replicas}"])).toBe("3");
    await waitRunning(e, ns, "pool=v1pool", 3);
  }, 60_000);

  it("scale through the scale subresource (both versions); --current-replicas mismatch fails", async () => {
    expect(await e.k.ok(["scale", "md", "v1pool", "-n", ns, "--replicas=1"])).toBe("machinedeployment.cluster.x-k8s.io/v1pool scaled\n");
    const r = await e.k.run(["scale", "machinedeployments.v1beta1.cluster.x-k8s.io", "v1pool", "-n", ns, "--current-replicas=3", "--replicas=5"]);
    expect(r.code).toBe(1);
    expect(await e.k.ok(["scale", "machinedeployments.v1beta1.cluster.x-k8s.io", "v1pool", "-n", ns, "--current-replicas=1", "--replicas=2"])).toBe("machinedeployment.cluster.x-k8s.io/v1pool scaled\n");
    await waitRunning(e, ns, "pool=v1pool", 2);
    const scale = await e.api.get<{ spec: { replicas: number }; status: { replicas: number; selector: string } }>(`${capiPath(ns, "machinedeployments", "v1pool")}/scale`);
    expect(scale.body.spec.replicas).toBe(2);
    await waitFor("scale status", async () => (await e.api.get<{ status: { replicas: number } }>(`${capiPath(ns, "machinedeployments", "v1pool")}/scale`)).body.status.replicas === 2, 20_000, e);
    expect(scale.body.status.selector).toContain("pool=v1pool");
  }, 60_000);

  it("wait for conditions and jsonpath on both versions; get -w names the changes", async () => {
    expect(await e.k.ok(["wait", "--for=condition=Available", "md/v2pool", "-n", ns, "--timeout=20s"])).toBe("machinedeployment.cluster.x-k8s.io/v2pool condition met\n");
    expect(await e.k.ok(["wait", "--for=condition=Ready", "machinedeployments.v1beta1.cluster.x-k8s.io/v2pool", "-n", ns, "--timeout=20s"])).toBe("machinedeployment.cluster.x-k8s.io/v2pool condition met\n");
    expect(await e.k.ok(["wait", "--for=jsonpath={.status.phase}=Provisioned", "cluster/c", "-n", ns, "--timeout=20s"])).toBe("cluster.cluster.x-k8s.io/c condition met\n");
    const watcher = e.k.run(["get", "md", "-n", ns, "-w", "--output-watch-events", "--request-timeout=5s"], { timeoutMs: 20_000 });
    await Bun.sleep(1500);
    await e.k.ok(["annotate", "md", "v2pool", "-n", ns, "e2e/touched=yes"]);
    const r = await watcher;
    expect(r.stdout).toMatch(/ADDED\s+v2pool/);
    expect(r.stdout).toMatch(/MODIFIED\s+v2pool/);
  }, 60_000);

  it("explain, diff and edit work on both versions", async () => {
    const v2 = await e.k.ok(["explain", "md.spec.rollout.strategy"]);
    expect(v2).toContain("VERSION:    v1beta2");
    expect(v2).toContain("rollingUpdate\t<Object>");
    const v1 = await e.k.ok(["explain", "md.spec.strategy", "--api-version=cluster.x-k8s.io/v1beta1"]);
    expect(v1).toContain("VERSION:    v1beta1");
    const d = await e.k.run(["diff", "-f", file("diff.yaml", mdV1beta1("v1pool", 4))]);
    expect(d.code).toBe(1);
    expect(d.stdout).toMatch(/-\s+replicas: 2\n\+\s+replicas: 4/);
    expect(await e.k.ok(["get", "md", "v1pool", "-n", ns, "-o", "jsonpath={.spec.replicas}"])).toBe("2");
    const edLabel = await e.k.run(["edit", "md", "v2pool", "-n", ns], { env: { KUBE_EDITOR: "sed -i s/touched:.*yes.*/touched:\\ edited/" } });
    expect(edLabel.stdout).toBe("machinedeployment.cluster.x-k8s.io/v2pool edited\n");
    expect(await e.k.ok(["get", "md", "v2pool", "-n", ns, "-o", "jsonpath={.metadata.annotations.e2e/touched}"])).toBe("edited");
  }, 60_000);

  it("webhook refusals are Invalid with field causes; ClusterClass topologies are refused, not ignored", async () => {
    const bad = await e.k.run(["apply", "-f", file("bad-md.yaml", mdV1beta1("bad", 1, { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } }))]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('The MachineDeployment "bad" is invalid: spec.rollout.strategy.rollingUpdate: Invalid value: "0": maxUnavailable and maxSurge cannot both be 0\n');
    expect(await e.k.run(["get", "md", "bad", "-n", ns]).then((r) => r.code)).toBe(1);
    const topo = {
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "Cluster",
      metadata: { name: "topo", namespace: ns },
      spec: { topology: { classRef: { name: "quick-start" }, version: "v1.31.0" } },
    };
    const t = await e.k.run(["apply", "-f", file("topo.yaml", topo)]);
    expect(t.code).toBe(1);
    expect(t.stderr).toContain("ClusterClass (managed topologies) is not supported by capx-appliance yet");
    expect(await e.k.run(["get", "cluster", "topo", "-n", ns]).then((r) => r.code)).toBe(1);
    const immutable = await e.k.run(["patch", "md", "v2pool", "-n", ns, "--type", "merge", "-p", '{"spec":{"clusterName":"other"}}']);
    expect(immutable.code).toBe(1);
    expect(immutable.stderr).toContain("spec.clusterName");
  });

  it("deleting a MachineDeployment through kubectl removes its Machines and their infrastructure", async () => {
    const gone = await e.k.ok(["delete", "md", "v1pool", "-n", ns, "--wait=true", "--timeout=60s"]);
    expect(gone).toBe('machinedeployment.cluster.x-k8s.io "v1pool" deleted\n');
    expect(await e.k.ok(["get", "machines", "-n", ns, "-l", "pool=v1pool", "-o", "name"])).toBe("");
    expect(await e.k.ok(["get", "testmachines", "-n", ns, "-o", "name"])).not.toContain("v1pool");
    expect(await get(e.api, capiPath(ns, "machinedeployments", "v1pool"))).toBeUndefined();
  }, 90_000);
});
