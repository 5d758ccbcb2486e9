import { describe, expect, test } from "bun:test";
import type { KObject } from "../../../lib/kobject.ts";
import { mutateClusterResourceSet, validateClusterResourceSet, validateClusterResourceSetBinding } from "./clusterresourceset.ts";

const crs = (spec: Record<string, unknown>): KObject => ({ apiVersion: "addons.cluster.x-k8s.io/v1beta2", kind: "ClusterResourceSet", metadata: { name: "crs" }, spec });

describe("ClusterResourceSet", () => {
  test("strategy defaults to ApplyOnce; a set strategy stays", () => {
    const a = crs({ clusterSelector: { matchLabels: { cni: "calico" } } });
    mutateClusterResourceSet(a, undefined);
    expect((a.spec as Record<string, unknown>).strategy).toBe("ApplyOnce");
    const b = crs({ strategy: "Reconcile" });
    mutateClusterResourceSet(b, undefined);
    expect((b.spec as Record<string, unknown>).strategy).toBe("Reconcile");
  });
  test("an empty cluster selector is refused (it would match every cluster)", () => {
    expect(validateClusterResourceSet(crs({ clusterSelector: {} }), undefined)).toEqual([
      { reason: "FieldValueInvalid", field: "spec.clusterSelector", message: "Invalid value: {}: selector must not be empty" },
    ]);
    expect(validateClusterResourceSet(crs({ clusterSelector: { matchLabels: { cni: "calico" } } }), undefined)).toEqual([]);
  });
  test("an unparsable selector is refused", () => {
    const causes = validateClusterResourceSet(crs({ clusterSelector: { matchExpressions: [{ key: "a", operator: "Bogus" }] } }), undefined);
    expect(causes.map((c) => c.field)).toEqual(["spec.clusterSelector"]);
  });
  test("strategy and clusterSelector are immutable", () => {
    const old = crs({ clusterSelector: { matchLabels: { cni: "calico" } }, strategy: "ApplyOnce" });
    const next = crs({ clusterSelector: { matchLabels: { cni: "cilium" } }, strategy: "Reconcile" });
    expect(validateClusterResourceSet(next, old)).toEqual([
      { reason: "FieldValueInvalid", field: "spec.strategy", message: 'Invalid value: "Reconcile": field is immutable' },
      { reason: "FieldValueInvalid", field: "spec.clusterSelector", message: 'Invalid value: {"matchLabels":{"cni":"cilium"}}: field is immutable' },
    ]);
    expect(validateClusterResourceSet(structuredClone(old), old)).toEqual([]);
  });
});

describe("ClusterResourceSetBinding", () => {
  const binding = (clusterName: string): KObject => ({ apiVersion: "addons.cluster.x-k8s.io/v1beta2", kind: "ClusterResourceSetBinding", metadata: { name: "c1" }, spec: { clusterName } });
  test("clusterName is immutable once set", () => {
    expect(validateClusterResourceSetBinding(binding("c2"), binding("c1"))).toEqual([
      { reason: "FieldValueInvalid", field: "spec.clusterName", message: 'Invalid value: "c2": field is immutable' },
    ]);
    expect(validateClusterResourceSetBinding(binding("c2"), binding(""))).toEqual([]);
  });
});
