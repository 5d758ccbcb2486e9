import { describe, expect, it } from "bun:test";
import { validateCRD } from "../../registry/builtin/crd.ts";
import { crdToResource, type CRDObject } from "../../registry/crd/to-resource.ts";
import { checkSchemaTypes, validateValue } from "../../registry/schema/index.ts";
import { BUNDLED_ANNOTATION } from "../types.ts";
import { ipamPoolCRDs } from "./crds.ts";
import { ipamBundledKinds } from "./index.ts";

const EXPECTED = [
  { kind: "InClusterIPPool", plural: "inclusterippools", scope: "Namespaced" as const },
  { kind: "GlobalInClusterIPPool", plural: "globalinclusterippools", scope: "Cluster" as const },
];

const byKind = new Map(ipamPoolCRDs.map((c) => [c.spec.names.kind, c]));

describe("bundled in-cluster IPAM pool CRDs", () => {
  it("are the two IP pool kinds, each with conversion, validation and delete hooks", () => {
    expect([...byKind.keys()].sort()).toEqual(EXPECTED.map((e) => e.kind).sort());
    for (const k of ipamBundledKinds()) {
      expect(typeof k.hooks?.convert).toBe("function");
      expect(typeof k.hooks?.validate).toBe("function");
      expect(typeof k.hooks?.prepareForDelete).toBe("function");
    }
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

      it("has the upstream names, scope and category (no short names upstream)", () => {
        const c = crd();
        expect(c.metadata.name).toBe(`${e.plural}.ipam.cluster.x-k8s.io`);
        expect(c.spec.scope).toBe(e.scope);
        expect(c.spec.names).toEqual({ kind: e.kind, listKind: `${e.kind}List`, plural: e.plural, singular: e.kind.toLowerCase(), categories: ["cluster-api"] });
      });

      it("serves v1alpha1 (deprecated) and v1alpha2 (storage) with a status subresource", () => {
        const c = crd();
        expect(c.spec.versions.map((v) => [v.name, v.served, v.storage, v.deprecated ?? false])).toEqual([
          ["v1alpha1", true, false, true],
          ["v1alpha2", true, true, false],
        ]);
        for (const v of c.spec.versions) expect(v.subresources).toEqual({ status: {} });
        expect(c.spec.conversion).toEqual({ strategy: "None" });
      });

      it("has upstream's printer columns", () => {
        const v2 = crd().spec.versions.find((v) => v.name === "v1alpha2")!;
        expect(v2.additionalPrinterColumns!.map((p) => [p.name, p.jsonPath])).toEqual([
          ["Addresses", ".spec.addresses"],
          ["Total", ".status.ipAddresses.total"],
          ["Free", ".status.ipAddresses.free"],
          ["Used", ".status.ipAddresses.used"],
        ]);
      });

      it("requires addresses and prefix in v1alpha2 and bounds prefix and the grace period", () => {
        const schema = crd().spec.versions.find((v) => v.name === "v1alpha2")!.schema!.openAPIV3Schema!;
        const obj = (spec: Record<string, unknown>) => ({ apiVersion: "ipam.cluster.x-k8s.io/v1alpha2", kind: e.kind, metadata: { name: "p" }, spec });
        expect(validateValue(obj({ addresses: ["10.0.0.1"], prefix: 24, addressReuseGracePeriodSeconds: 60 }), schema, { root: true })).toEqual([]);
        const messages = (spec: Record<string, unknown>) => validateValue(obj(spec), schema, { root: true }).map((c) => `${c.field}: ${c.message}`);
        expect(messages({ prefix: 24 })[0]).toBe("spec.addresses: Required value");
        expect(messages({ addresses: ["10.0.0.1"] })[0]).toBe("spec.prefix: Required value");
        expect(messages({ addresses: ["10.0.0.1"], prefix: 129 })[0]).toBe("spec.prefix: Invalid value: 129: spec.prefix in body should be less than or equal to 128");
        expect(messages({ addresses: ["10.0.0.1"], prefix: 24, addressReuseGracePeriodSeconds: -1 })[0]).toBe(
          "spec.addressReuseGracePeriodSeconds: Invalid value: -1: spec.addressReuseGracePeriodSeconds in body should be greater than or equal to 0",
        );
      });

      it("carries the provenance annotations and the provider's labels", () => {
        const c = crd();
        expect(c.metadata.annotations?.[BUNDLED_ANNOTATION]).toBe("true");
        expect(c.metadata.annotations?.["capx.dev/upstream"]).toBe(`kubernetes-sigs/cluster-api-ipam-provider-in-cluster main (ipam.cluster.x-k8s.io_${e.plural}.yaml)`);
        expect(c.metadata.labels).toEqual({
          "cluster.x-k8s.io/provider": "ipam-in-cluster",
          "clusterctl.cluster.x-k8s.io": "",
          "clusterctl.cluster.x-k8s.io/move-hierarchy": "",
        });
      });
    });
  }
});
