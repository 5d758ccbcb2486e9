/**
 * Upstream-data check (reads ../shared/reference; run via scripts/check-upstream.sh or
 * `bun test --timeout 300000 ./test/upstream/talos-kinds.check.ts`): the Talos kinds against the
 * reference Talos material.
 *
 * 1. The two reference copies of the CABPT main / CACPPT v0.5.12 CRDs (capi/crds/talos-providers,
 *    which scripts/import-crds.ts reads and crd-drift.check.ts compares, and talos/crds) are the same
 *    bytes, so the drift check covers both.
 * 2. The previous CABPT release's v1alpha3 (v0.6.12, `talos/crds/cabpt-v0.6.12_*`; it served
 *    v1alpha2 and v1alpha3, storage v1alpha3) is the bundled v1alpha3 minus
 *    `status.v1beta2Status`: every v1alpha3 TalosConfig / TalosConfigTemplate users already have is
 *    accepted as is.
 * 3. The reference TalosControlPlane example (`talos/examples/cacppt-sample-taloscontrolplane.yaml`,
 *    CACPPT's `config/samples`) applied with `kubectl apply --validate=strict` to a running daemon:
 *    it predates the v1alpha3 CRD (field `controlPlaneSpec`, since renamed `controlPlaneConfig`,
 *    and no `version` / `infrastructureTemplate`), so the strict field validation refuses it exactly
 *    as a real API server with CACPPT's CRD does; without strict validation the unknown field is
 *    pruned, CACPPT's defaulting turns the missing version into "v" and fills
 *    infrastructureTemplate's namespace, and the schema reports the version too short and
 *    controlPlaneConfig missing. Its corrected equivalent,
 *    test/fixtures/talos/taloscontrolplane-sample.yaml, is applied strictly and read back.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { stripSchemaDescriptions } from "../../scripts/import-crds.ts";
import { talosCRDs } from "../../src/kinds/talos/crds.ts";
import type { CRDObject } from "../../src/registry/crd/to-resource.ts";
import { REPO, startTestDaemon, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const REFERENCE = join(REPO, "../shared/reference");
const TALOS = join(REFERENCE, "talos");
const PROVIDERS = join(REFERENCE, "capi/crds/talos-providers");
const SAMPLE = join(TALOS, "examples/cacppt-sample-taloscontrolplane.yaml");
const FIXTURE = join(REPO, "test/fixtures/talos/taloscontrolplane-sample.yaml");
const CG = "controlplane.cluster.x-k8s.io";

const read = (path: string) => readFileSync(path, "utf8");

describe("reference copies of the Talos CRDs", () => {
  const pairs: [string, string][] = [
    ["bootstrap.cluster.x-k8s.io_talosconfigs.yaml", "cabpt-main-v0.7.0-alpha.2_talosconfigs.yaml"],
    ["bootstrap.cluster.x-k8s.io_talosconfigtemplates.yaml", "cabpt-main-v0.7.0-alpha.2_talosconfigtemplates.yaml"],
    ["controlplane.cluster.x-k8s.io_taloscontrolplanes.yaml", "cacppt-v0.5.12_taloscontrolplanes.yaml"],
  ];
  for (const [imported, other] of pairs) {
    it(`talos-providers/${imported} is talos/crds/${other}`, () => {
      expect(read(join(PROVIDERS, imported))).toBe(read(join(TALOS, "crds", other)));
    });
  }
});

describe("CABPT v0.6.12's v1alpha3 is the bundled v1alpha3 minus status.v1beta2Status", () => {
  for (const [kind, file] of [
    ["TalosConfig", "cabpt-v0.6.12_talosconfigs.yaml"],
    ["TalosConfigTemplate", "cabpt-v0.6.12_talosconfigtemplates.yaml"],
  ] as const) {
    it(kind, () => {
      const old = parse(read(join(TALOS, "crds", file))) as CRDObject;
      expect(old.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([["v1alpha2", true, false], ["v1alpha3", true, true]]);
      const oldSchema = structuredClone(old.spec.versions.find((v) => v.name === "v1alpha3")!.schema!.openAPIV3Schema!);
      const ours = structuredClone(talosCRDs.find((c) => c.spec.names.kind === kind)!.spec.versions.find((v) => v.name === "v1alpha3")!.schema!.openAPIV3Schema!);
      stripSchemaDescriptions(oldSchema);
      stripSchemaDescriptions(ours);
      if (kind === "TalosConfig") delete ours.properties!.status!.properties!.v1beta2Status;
      expect(ours).toEqual(oldSchema);
    });
  }
});

const binary = kubectlOrSkip("kubectl on the reference Talos example");
const ns = "talos-upstream";
let d: TestDaemon;
let k: Kubectl;

beforeAll(async () => {
  if (!binary) return;
  d = await startTestDaemon({ extraArgs: ["--controllers=false"] });
  k = new Kubectl(binary, d.kubeconfig);
  await k.ok(["create", "namespace", ns]);
}, 60_000);

afterAll(async () => {
  await d?.stop();
  d?.cleanup();
});

describe.skipIf(!binary)("the reference TalosControlPlane example with kubectl apply --validate=strict", () => {
  it("the sample as published is refused: its spec predates the v1alpha3 CRD", async () => {
    const strict = await k.run(["apply", "--validate=strict", "-n", ns, "-f", SAMPLE]);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('unknown field "spec.controlPlaneSpec"');
    const lax = await k.run(["apply", "--validate=false", "-n", ns, "-f", SAMPLE]);
    expect(lax.code).toBe(1);
    expect(lax.stderr).toContain('The TalosControlPlane "taloscontrolplane-sample" is invalid');
    // CACPPT's defaulting runs first: it prefixes the missing version with "v" and writes the
    // namespace into the (non-pointer, so always present) infrastructureTemplate, as upstream.
    expect(lax.stderr).toContain('spec.version: Invalid value: "v": spec.version in body should be at least 2 chars long');
    expect(lax.stderr).toContain("spec.controlPlaneConfig: Required value");
    expect(lax.stderr).not.toContain("spec.infrastructureTemplate");
  });

  it("its corrected equivalent (the e2e fixture) applies strictly and keeps the sample's intent", async () => {
    const sample = parse(read(SAMPLE)) as { metadata: { name: string }; spec: { controlPlaneSpec: Record<string, { generateType: string }> } };
    expect(await k.ok(["apply", "--validate=strict", "-n", ns, "-f", FIXTURE])).toBe(`taloscontrolplane.${CG}/${sample.metadata.name} created\n`);
    const out = await k.ok(["get", "tcp", sample.metadata.name, "-n", ns, "-o", "jsonpath={.spec.controlPlaneConfig.init.generateType} {.spec.controlPlaneConfig.controlplane.generateType}"]);
    // The sample's init config carries over as is; its controlplane generateType is a mangled
    // "controlplane" followed by a file name.
    expect(out).toBe(`${sample.spec.controlPlaneSpec.init!.generateType} controlplane`);
    expect(sample.spec.controlPlaneSpec.controlplane!.generateType.startsWith("controlplane")).toBe(true);
  });
});
