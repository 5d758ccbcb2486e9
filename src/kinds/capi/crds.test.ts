import { describe, expect, it } from "bun:test";
import { validateCRD } from "../../registry/builtin/crd.ts";
import { crdToResource, type CRDObject } from "../../registry/crd/to-resource.ts";
import { checkSchemaTypes } from "../../registry/schema/index.ts";
import { BUNDLED_ANNOTATION } from "../types.ts";
import { capiCRDs } from "./crds.ts";

interface Expected {
  group: string;
  kind: string;
  plural: string;
  shortNames?: string[];
  served: string[];
  deprecated: string[];
  scale?: boolean;
  status: boolean;
}

const CORE = "cluster.x-k8s.io";
const IPAM = "ipam.cluster.x-k8s.io";
const BETA = { served: ["v1beta1", "v1beta2"], deprecated: ["v1beta1"] };
const IPAM_VERSIONS = { served: ["v1alpha1", "v1beta1", "v1beta2"], deprecated: ["v1beta1"] };

const EXPECTED: Expected[] = [
  { group: CORE, kind: "Cluster", plural: "clusters", shortNames: ["cl"], ...BETA, status: true },
  { group: CORE, kind: "Machine", plural: "machines", shortNames: ["ma"], ...BETA, status: true },
  { group: CORE, kind: "MachineSet", plural: "machinesets", shortNames: ["ms"], ...BETA, scale: true, status: true },
  { group: CORE, kind: "MachineDeployment", plural: "machinedeployments", shortNames: ["md"], ...BETA, scale: true, status: true },
  { group: CORE, kind: "MachineHealthCheck", plural: "machinehealthchecks", shortNames: ["mhc", "mhcs"], ...BETA, status: true },
  { group: IPAM, kind: "IPAddress", plural: "ipaddresses", ...IPAM_VERSIONS, status: false },
  { group: IPAM, kind: "IPAddressClaim", plural: "ipaddressclaims", ...IPAM_VERSIONS, status: true },
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

/** Where our own descriptions may be: schema root, spec, status, first level of spec. */
const ALLOWED_DESCRIPTION = /^\.spec\.versions\[\d+\]\.schema\.openAPIV3Schema(\.properties\.(spec|status)|\.properties\.spec\.properties\.[^.]+)?\.description$/;

const byKind = new Map(capiCRDs.map((c) => [c.spec.names.kind, c]));

describe("bundled Cluster API CRDs", () => {
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

      it("has the upstream names, category and scope", () => {
        const c = crd();
        expect(c.metadata.name).toBe(`${e.plural}.${e.group}`);
        expect(c.spec.group).toBe(e.group);
        expect(c.spec.scope).toBe("Namespaced");
        expect(c.spec.names.plural).toBe(e.plural);
        expect(c.spec.names.kind).toBe(e.kind);
        expect(c.spec.names.singular).toBe(e.kind.toLowerCase());
        expect(c.spec.names.listKind).toBe(`${e.kind}List`);
        expect(c.spec.names.shortNames).toEqual(e.shortNames);
        expect(c.spec.names.categories).toEqual(["cluster-api"]);
      });

      it("serves the upstream versions with v1beta2 as storage, converting in-process", () => {
        const c = crd();
        expect(c.spec.versions.filter((v) => v.served).map((v) => v.name)).toEqual(e.served);
        expect(c.spec.versions.filter((v) => v.storage).map((v) => v.name)).toEqual(["v1beta2"]);
        expect(c.spec.versions.filter((v) => v.deprecated).map((v) => v.name)).toEqual(e.deprecated);
        expect(c.spec.conversion).toEqual({ strategy: "None" });
      });

      it("has the upstream subresources", () => {
        for (const v of crd().spec.versions) {
          expect(v.subresources?.status !== undefined).toBe(e.status);
          if (e.scale) {
            expect(v.subresources?.scale).toEqual({ specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" });
          } else expect(v.subresources?.scale).toBeUndefined();
        }
      });

      it("carries the bundled and provenance annotations", () => {
        const a = crd().metadata.annotations ?? {};
        expect(a[BUNDLED_ANNOTATION]).toBe("true");
        expect(a["capx.dev/upstream"]).toMatch(/^kubernetes-sigs\/cluster-api release-1\.14 \(.+\.yaml\)$/);
        expect(crd().metadata.labels).toEqual({ "cluster.x-k8s.io/provider": "cluster-api", "clusterctl.cluster.x-k8s.io": "" });
      });

      it("has descriptions only where we wrote our own", () => {
        const paths = descriptionPaths(crd().spec, ".spec");
        expect(paths.filter((p) => !ALLOWED_DESCRIPTION.test(p))).toEqual([]);
        crd().spec.versions.forEach((v) => {
          const root = v.schema!.openAPIV3Schema!;
          expect(root.description).toBeString();
          expect(root.properties!.spec!.description).toBeString();
        });
      });
    });
  }
});
