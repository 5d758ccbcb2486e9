import { describe, expect, it, test } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { validateCRD } from "../../registry/builtin/crd.ts";
import { crdToResource, type CRDObject } from "../../registry/crd/to-resource.ts";
import { applyDefaults, checkSchemaTypes, dropNulls, validateValue } from "../../registry/schema/index.ts";
import { BUNDLED_ANNOTATION } from "../types.ts";
import { talosSchema } from "./conversion/testing.ts";
import { talosCRDs } from "./crds.ts";

interface Expected {
  kind: string;
  group: string;
  plural: string;
  shortNames?: string[];
  /** [name, served, storage] per version. */
  versions: [string, boolean, boolean][];
  columns: Record<string, string[]>;
  scale?: boolean;
  upstream: string;
  labels: Record<string, string>;
}

const BOOTSTRAP_LABELS = {
  "cluster.x-k8s.io/provider": "bootstrap-talos",
  "cluster.x-k8s.io/v1alpha3": "v1alpha3",
  "cluster.x-k8s.io/v1alpha4": "v1alpha3",
  "cluster.x-k8s.io/v1beta1": "v1alpha3",
  "cluster.x-k8s.io/v1beta2": "v1beta1",
  "clusterctl.cluster.x-k8s.io": "",
};

const EXPECTED: Expected[] = [
  {
    kind: "TalosConfig",
    group: "bootstrap.cluster.x-k8s.io",
    plural: "talosconfigs",
    versions: [["v1alpha3", true, false], ["v1beta1", true, true]],
    columns: { v1beta1: ["Cluster", "Initialized", "Bootstrap secret", "Age"] },
    upstream: "siderolabs/cluster-api-bootstrap-provider-talos v0.7.0-alpha.2 (bootstrap.cluster.x-k8s.io_talosconfigs.yaml)",
    labels: BOOTSTRAP_LABELS,
  },
  {
    kind: "TalosConfigTemplate",
    group: "bootstrap.cluster.x-k8s.io",
    plural: "talosconfigtemplates",
    versions: [["v1alpha3", true, false], ["v1beta1", true, true]],
    columns: { v1beta1: ["ClusterClass", "Cluster", "Age"] },
    upstream: "siderolabs/cluster-api-bootstrap-provider-talos v0.7.0-alpha.2 (bootstrap.cluster.x-k8s.io_talosconfigtemplates.yaml)",
    labels: BOOTSTRAP_LABELS,
  },
  {
    kind: "TalosControlPlane",
    group: "controlplane.cluster.x-k8s.io",
    plural: "taloscontrolplanes",
    shortNames: ["tcp"],
    versions: [["v1alpha3", true, true]],
    columns: { v1alpha3: ["Ready", "Initialized", "Replicas", "Ready Replicas", "Unavailable Replicas"] },
    scale: true,
    upstream: "siderolabs/cluster-api-control-plane-provider-talos v0.5.12 (controlplane.cluster.x-k8s.io_taloscontrolplanes.yaml)",
    labels: {
      "cluster.x-k8s.io/provider": "control-plane-talos",
      "cluster.x-k8s.io/v1alpha3": "v1alpha3",
      "cluster.x-k8s.io/v1alpha4": "v1alpha3",
      "cluster.x-k8s.io/v1beta1": "v1alpha3",
      "clusterctl.cluster.x-k8s.io": "",
    },
  },
];

const byKind = new Map(talosCRDs.map((c) => [c.spec.names.kind, c]));

describe("bundled Talos CRDs", () => {
  it("are the three Talos kinds", () => {
    expect([...byKind.keys()].sort()).toEqual(EXPECTED.map((e) => e.kind).sort());
  });

  for (const e of EXPECTED) {
    describe(e.kind, () => {
      const crd = () => byKind.get(e.kind) as CRDObject;

      it("passes the project's CRD validation", () => {
        expect(validateCRD(structuredClone(crd()))).toEqual([]);
        crd().spec.versions.forEach((v, i) => {
          expect(checkSchemaTypes(v.schema!.openAPIV3Schema!, `spec.versions[${i}].schema.openAPIV3Schema`)).toBeUndefined();
        });
        expect(() => crdToResource(crd())).not.toThrow();
      });

      it("has the upstream names, short names, categories and scope", () => {
        const c = crd();
        expect(c.metadata.name).toBe(`${e.plural}.${e.group}`);
        expect(c.spec.group).toBe(e.group);
        expect(c.spec.scope).toBe("Namespaced");
        expect(c.spec.names).toEqual({
          kind: e.kind,
          listKind: `${e.kind}List`,
          plural: e.plural,
          singular: e.kind.toLowerCase(),
          categories: ["cluster-api"],
          ...(e.shortNames ? { shortNames: e.shortNames } : {}),
        });
      });

      it("serves the upstream versions, converting in-process", () => {
        expect(crd().spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual(e.versions);
        expect(crd().spec.conversion).toEqual({ strategy: "None" });
      });

      it("has the status (and scale) subresources and the upstream printer columns", () => {
        for (const v of crd().spec.versions) {
          expect(v.subresources?.status).toEqual({});
          if (e.scale) {
            expect(v.subresources?.scale).toEqual({ specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" });
          } else expect(v.subresources?.scale).toBeUndefined();
          expect((v.additionalPrinterColumns ?? []).map((c) => c.name)).toEqual(e.columns[v.name] ?? []);
        }
      });

      it("carries the provenance annotations and the labels clusterctl init leaves", () => {
        const a = crd().metadata.annotations ?? {};
        expect(a[BUNDLED_ANNOTATION]).toBe("true");
        expect(a["capx.dev/upstream"]).toBe(e.upstream);
        expect(crd().metadata.labels).toEqual(e.labels);
      });

      it("has our own descriptions and none of upstream's", () => {
        for (const v of crd().spec.versions) {
          const root = v.schema!.openAPIV3Schema!;
          expect(root.description).toBeString();
          expect(root.properties?.spec?.description).toBeString();
          // Only the first level of spec carries a description (ours).
          for (const p of Object.values(root.properties?.spec?.properties ?? {})) {
            expect(p.description).toBeString();
            expect(JSON.stringify({ ...p, description: undefined })).not.toContain('"description"');
          }
        }
      });
    });
  }
});

// ---- schema rules --------------------------------------------------------------------------------

function admit(kind: string, version: string, obj: KObject): { obj: KObject; causes: string[] } {
  const schema = talosSchema(kind, version);
  const copy = JSON.parse(JSON.stringify(obj)) as KObject;
  dropNulls(copy, schema);
  applyDefaults(copy, schema);
  const causes = validateValue(copy, schema, { root: true })
    .map((c) => `${c.field}: ${c.message}`)
    .filter((m) => !m.includes("some validation rules were not checked"));
  return { obj: copy, causes };
}

const tc = (version: string, generateType: string): KObject => ({
  apiVersion: `bootstrap.cluster.x-k8s.io/${version}`,
  kind: "TalosConfig",
  metadata: { name: "c" },
  spec: { generateType },
});

describe("schema rules", () => {
  test("generateType is an enum in v1beta1 and free text in v1alpha3", () => {
    for (const t of ["controlplane", "worker", "init", "none"]) expect(admit("TalosConfig", "v1beta1", tc("v1beta1", t)).causes).toEqual([]);
    expect(admit("TalosConfig", "v1beta1", tc("v1beta1", "join")).causes).toEqual([
      'spec.generateType: Unsupported value: "join": supported values: "controlplane", "worker", "init", "none"',
    ]);
    expect(admit("TalosConfig", "v1alpha3", tc("v1alpha3", "join")).causes).toEqual([]);
  });

  test("generateType is required", () => {
    const o = tc("v1beta1", "worker");
    delete (o.spec as Record<string, unknown>).generateType;
    expect(admit("TalosConfig", "v1beta1", o).causes).toEqual(["spec.generateType: Required value"]);
  });

  const tcp = (spec: Record<string, unknown>): KObject => ({
    apiVersion: "controlplane.cluster.x-k8s.io/v1alpha3",
    kind: "TalosControlPlane",
    metadata: { name: "cp" },
    spec: { version: "v1.33.0", infrastructureTemplate: { kind: "ProxmoxMachineTemplate", name: "t" }, controlPlaneConfig: { controlplane: { generateType: "controlplane" } }, ...spec },
  });

  test("TalosControlPlane: the schema defaults rolloutStrategy to RollingUpdate with maxSurge 1", () => {
    const { obj, causes } = admit("TalosControlPlane", "v1alpha3", tcp({}));
    expect(causes).toEqual([]);
    expect((obj.spec as Record<string, unknown>).rolloutStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } });
  });

  test("TalosControlPlane: version needs the v prefix and a semantic version", () => {
    expect(admit("TalosControlPlane", "v1alpha3", tcp({ version: "v1.33.0-rc.1" })).causes).toEqual([]);
    const bad = admit("TalosControlPlane", "v1alpha3", tcp({ version: "1.33.0" })).causes;
    expect(bad).toHaveLength(1);
    expect(bad[0]).toStartWith('spec.version: Invalid value: "1.33.0": spec.version in body should match');
  });

  test("TalosControlPlane: controlPlaneConfig, infrastructureTemplate and version are required", () => {
    const o = tcp({});
    const spec = o.spec as Record<string, unknown>;
    delete spec.controlPlaneConfig;
    delete spec.infrastructureTemplate;
    delete spec.version;
    expect(admit("TalosControlPlane", "v1alpha3", o).causes.sort()).toEqual([
      "spec.controlPlaneConfig: Required value",
      "spec.infrastructureTemplate: Required value",
      "spec.version: Required value",
    ]);
  });
});
