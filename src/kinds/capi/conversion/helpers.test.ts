import { afterEach, describe, expect, test } from "bun:test";
import { durationToSeconds, formatSeconds, parseGoDuration, secondsToDuration } from "./durations.ts";
import {
  compareKubeAwareVersions,
  contractVersionedToRef,
  nodeRefFromHub,
  nodeRefToHub,
  refToContractVersioned,
  resolveRefApiVersion,
  setRefVersionResolver,
  versionFromContractLabels,
} from "./refs.ts";

afterEach(() => setRefVersionResolver(undefined));

describe("Go durations", () => {
  test("parse like time.ParseDuration", () => {
    expect(parseGoDuration("10s")).toBe(10_000_000_000n);
    expect(parseGoDuration("1m30s")).toBe(90_000_000_000n);
    expect(parseGoDuration("1.5h")).toBe(5_400_000_000_000n);
    expect(parseGoDuration("300ms")).toBe(300_000_000n);
    expect(parseGoDuration("2h45m0.5s")).toBe(9_900_500_000_000n);
    expect(parseGoDuration("1µs")).toBe(1000n);
    expect(parseGoDuration("-5s")).toBe(-5_000_000_000n);
    expect(parseGoDuration("0")).toBe(0n);
    expect(parseGoDuration(".5s")).toBe(500_000_000n);
    for (const bad of ["", "10", "1x", "s", "1.s.", "--1s", "9999999999999h"]) expect(parseGoDuration(bad)).toBeUndefined();
  });

  test("ConvertToSeconds truncates and caps at int32", () => {
    expect(durationToSeconds("10m")).toBe(600);
    expect(durationToSeconds("1.9s")).toBe(1);
    expect(durationToSeconds("999ms")).toBe(0);
    expect(durationToSeconds("-1.5s")).toBe(-1);
    expect(durationToSeconds("1000000h")).toBe(2147483647);
    expect(durationToSeconds("nope")).toBeUndefined();
    expect(durationToSeconds(undefined)).toBeUndefined();
  });

  test("ConvertFromSeconds renders time.Duration.String()", () => {
    expect(formatSeconds(0)).toBe("0s");
    expect(formatSeconds(5)).toBe("5s");
    expect(formatSeconds(90)).toBe("1m30s");
    expect(formatSeconds(600)).toBe("10m0s");
    expect(formatSeconds(3600)).toBe("1h0m0s");
    expect(formatSeconds(3661)).toBe("1h1m1s");
    expect(formatSeconds(-90)).toBe("-1m30s");
    expect(secondsToDuration(undefined)).toBeUndefined();
    expect(secondsToDuration(20)).toBe("20s");
  });
});

describe("references", () => {
  test("ObjectReference → ContractVersionedObjectReference keeps group, kind, name", () => {
    expect(
      refToContractVersioned({ apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1", kind: "ProxmoxCluster", name: "c", namespace: "n", uid: "u" }),
    ).toEqual({ apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxCluster", name: "c" });
    expect(refToContractVersioned({ apiVersion: "v1", kind: "Secret", name: "s" })).toEqual({ kind: "Secret", name: "s" });
    expect(refToContractVersioned({})).toBeUndefined();
    expect(refToContractVersioned(undefined)).toBeUndefined();
  });

  test("ContractVersionedObjectReference → ObjectReference resolves the version", () => {
    expect(contractVersionedToRef({ apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachine", name: "m" }, "ns")).toEqual({
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
      kind: "ProxmoxMachine",
      namespace: "ns",
      name: "m",
    });
    expect(contractVersionedToRef({ apiGroup: "example.com", kind: "Unknown", name: "x" }, undefined)).toEqual({
      apiVersion: "example.com/v1beta1",
      kind: "Unknown",
      name: "x",
    });
    expect(contractVersionedToRef({}, "ns")).toBeUndefined();
  });

  test("the resolver wins over the table; undefined falls through", () => {
    setRefVersionResolver((group, kind) => (group === "bootstrap.cluster.x-k8s.io" && kind === "TalosConfig" ? "v1alpha3" : undefined));
    expect(resolveRefApiVersion("bootstrap.cluster.x-k8s.io", "TalosConfig")).toBe("bootstrap.cluster.x-k8s.io/v1alpha3");
    expect(resolveRefApiVersion("bootstrap.cluster.x-k8s.io", "KubeadmConfig")).toBe("bootstrap.cluster.x-k8s.io/v1beta2");
    setRefVersionResolver(undefined);
    expect(resolveRefApiVersion("bootstrap.cluster.x-k8s.io", "TalosConfig")).toBe("bootstrap.cluster.x-k8s.io/v1beta1");
  });

  test("contract labels pick the latest version of the newest contract", () => {
    expect(versionFromContractLabels({ "cluster.x-k8s.io/v1beta1": "v1alpha1_v1alpha2", "cluster.x-k8s.io/v1beta2": "v1alpha2" })).toBe("v1alpha2");
    expect(versionFromContractLabels({ "cluster.x-k8s.io/v1beta1": "v1beta1_v1alpha3_v1alpha4" })).toBe("v1beta1");
    expect(versionFromContractLabels({ "cluster.x-k8s.io/v1beta2": "v1beta2_v1" })).toBe("v1");
    expect(versionFromContractLabels({ other: "x" })).toBeUndefined();
    expect(versionFromContractLabels(undefined)).toBeUndefined();
    const sorted = ["v1", "v1alpha1", "v2", "v1beta2", "v1beta1", "foo"].sort(compareKubeAwareVersions);
    expect(sorted).toEqual(["foo", "v1alpha1", "v1beta1", "v1beta2", "v1", "v2"]);
  });

  test("nodeRef keeps only the name", () => {
    expect(nodeRefToHub({ apiVersion: "v1", kind: "Node", name: "n", uid: "u" })).toEqual({ name: "n" });
    expect(nodeRefToHub({})).toBeUndefined();
    expect(nodeRefFromHub({ name: "n" })).toEqual({ apiVersion: "v1", kind: "Node", name: "n" });
    expect(nodeRefFromHub({})).toBeUndefined();
  });
});
