import { describe, expect, it } from "bun:test";
import { validateCRD } from "../../registry/builtin/crd.ts";
import { crdToResource, type CRDObject } from "../../registry/crd/to-resource.ts";
import { checkSchemaTypes } from "../../registry/schema/index.ts";
import { BUNDLED_ANNOTATION } from "../types.ts";
import { kubeadmCRDs } from "./crds.ts";

interface Expected {
  group: string;
  kind: string;
  plural: string;
  shortNames?: string[];
  status: Record<string, boolean>;
  scale?: boolean;
  columns: Record<string, string[]>;
  provider: string;
}

const BOOTSTRAP = "bootstrap.cluster.x-k8s.io";
const CONTROL_PLANE = "controlplane.cluster.x-k8s.io";
const ADDONS = "addons.cluster.x-k8s.io";
const both = (v: boolean) => ({ v1beta1: v, v1beta2: v });

const EXPECTED: Expected[] = [
  {
    group: BOOTSTRAP,
    kind: "KubeadmConfig",
    plural: "kubeadmconfigs",
    status: both(true),
    columns: { v1beta1: ["Cluster", "Age"], v1beta2: ["Cluster", "Paused", "Data secret created", "Age"] },
    provider: "bootstrap-kubeadm",
  },
  {
    group: BOOTSTRAP,
    kind: "KubeadmConfigTemplate",
    plural: "kubeadmconfigtemplates",
    status: both(false),
    columns: { v1beta1: ["Age"], v1beta2: ["ClusterClass", "Cluster", "Age"] },
    provider: "bootstrap-kubeadm",
  },
  {
    group: CONTROL_PLANE,
    kind: "KubeadmControlPlane",
    plural: "kubeadmcontrolplanes",
    shortNames: ["kcp"],
    status: both(true),
    scale: true,
    columns: {
      v1beta1: ["Cluster", "Initialized", "API Server Available", "Desired", "Replicas", "Ready", "Updated", "Unavailable", "Age", "Version"],
      v1beta2: ["Cluster", "Available", "Desired", "Current", "Ready", "Available", "Up-to-date", "Paused", "Initialized", "Age", "Version"],
    },
    provider: "control-plane-kubeadm",
  },
  {
    group: CONTROL_PLANE,
    kind: "KubeadmControlPlaneTemplate",
    plural: "kubeadmcontrolplanetemplates",
    status: both(false),
    columns: { v1beta1: ["Age"], v1beta2: ["ClusterClass", "Age"] },
    provider: "control-plane-kubeadm",
  },
  {
    group: ADDONS,
    kind: "ClusterResourceSet",
    plural: "clusterresourcesets",
    status: both(true),
    columns: { v1beta1: ["Age"], v1beta2: ["Applied", "Paused", "Age"] },
    provider: "cluster-api",
  },
  {
    group: ADDONS,
    kind: "ClusterResourceSetBinding",
    plural: "clusterresourcesetbindings",
    // Upstream's v1beta1 declares the status subresource although the type has no status.
    status: { v1beta1: true, v1beta2: false },
    columns: { v1beta1: ["Age"], v1beta2: ["Cluster", "Age"] },
    provider: "cluster-api",
  },
];

/** JSON paths of every `description` key, skipping property maps (a field may be named so). */
function descriptionPaths(value: unknown, path: string, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v, i) => descriptionPaths(v, `${path}[${i}]`, out));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "description") out.push(`${path}.description`);
      if (k === "properties" && v && typeof v === "object") {
        for (const [name, sub] of Object.entries(v)) descriptionPaths(sub, `${path}.properties.${name}`, out);
      } else descriptionPaths(v, `${path}.${k}`, out);
    }
  }
  return out;
}

const ALLOWED_DESCRIPTION = /^\.spec\.versions\[\d+\]\.schema\.openAPIV3Schema(\.properties\.(spec|status)|\.properties\.spec\.properties\.[^.]+)?\.description$/;

const byKind = new Map(kubeadmCRDs.map((c) => [c.spec.names.kind, c]));

describe("bundled kubeadm and addons CRDs", () => {
  it("are the expected set", () => {
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

      it("has the upstream names, short names, category and scope", () => {
        const c = crd();
        expect(c.metadata.name).toBe(`${e.plural}.${e.group}`);
        expect(c.spec.group).toBe(e.group);
        expect(c.spec.scope).toBe("Namespaced");
        expect(c.spec.names.plural).toBe(e.plural);
        expect(c.spec.names.singular).toBe(e.kind.toLowerCase());
        expect(c.spec.names.listKind).toBe(`${e.kind}List`);
        expect(c.spec.names.shortNames).toEqual(e.shortNames);
        expect(c.spec.names.categories).toEqual(["cluster-api"]);
      });

      it("serves v1beta1 (deprecated) and v1beta2 (storage), converting in-process", () => {
        const c = crd();
        expect(c.spec.versions.filter((v) => v.served).map((v) => v.name)).toEqual(["v1beta1", "v1beta2"]);
        expect(c.spec.versions.filter((v) => v.storage).map((v) => v.name)).toEqual(["v1beta2"]);
        expect(c.spec.versions.filter((v) => v.deprecated).map((v) => v.name)).toEqual(["v1beta1"]);
        expect(c.spec.conversion).toEqual({ strategy: "None" });
      });

      it("has the upstream subresources and printer columns", () => {
        for (const v of crd().spec.versions) {
          expect(v.subresources?.status !== undefined).toBe(e.status[v.name] as boolean);
          if (e.scale) {
            expect(v.subresources?.scale).toEqual({ specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" });
          } else expect(v.subresources?.scale).toBeUndefined();
          expect((v.additionalPrinterColumns ?? []).map((c) => c.name)).toEqual(e.columns[v.name] as string[]);
        }
      });

      it("carries the bundled and provenance annotations and the provider's labels", () => {
        const a = crd().metadata.annotations ?? {};
        expect(a[BUNDLED_ANNOTATION]).toBe("true");
        expect(a["capx.dev/upstream"]).toMatch(/^kubernetes-sigs\/cluster-api release-1\.14 \(.+\.yaml\)$/);
        const labels = crd().metadata.labels ?? {};
        expect(labels["cluster.x-k8s.io/provider"]).toBe(e.provider);
        expect(labels["clusterctl.cluster.x-k8s.io"]).toBe("");
        if (e.group !== ADDONS) expect(labels["cluster.x-k8s.io/v1beta2"]).toBe("v1beta2");
      });

      it("has descriptions only where we wrote our own", () => {
        const paths = descriptionPaths(crd().spec, ".spec");
        expect(paths.filter((p) => !ALLOWED_DESCRIPTION.test(p))).toEqual([]);
        for (const v of crd().spec.versions) expect(v.schema!.openAPIV3Schema!.description).toBeString();
      });
    });
  }
});
