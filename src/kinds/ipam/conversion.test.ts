import { describe, expect, test } from "bun:test";
import type { ApiError } from "../../lib/api-errors.ts";
import type { KObject } from "../../lib/kobject.ts";
import { withoutConversionData } from "../capi/conversion/preserve.ts";
import { poolConverters } from "./conversion.ts";

const G = "ipam.cluster.x-k8s.io";
const V1 = `${G}/v1alpha1`;
const V2 = `${G}/v1alpha2`;
const convert = poolConverters[`${G}/InClusterIPPool`]!;
const convertGlobal = poolConverters[`${G}/GlobalInClusterIPPool`]!;

const v1 = (spec: Record<string, unknown>, status?: Record<string, unknown>): KObject => ({
  apiVersion: V1,
  kind: "InClusterIPPool",
  metadata: { name: "p", namespace: "default", labels: { team: "a" } },
  spec,
  ...(status ? { status } : {}),
});
const v2 = (spec: Record<string, unknown>): KObject => ({ apiVersion: V2, kind: "InClusterIPPool", metadata: { name: "p", namespace: "default" }, spec });

describe("v1alpha1 → v1alpha2 (upstream Convert_v1alpha1_InClusterIPPoolSpec_To_v1alpha2)", () => {
  test("a subnet becomes the range of its second to second-to-last address, and the prefix", () => {
    expect(convert(v1({ subnet: "10.0.0.0/24", gateway: "10.0.0.1" }), V2).spec).toEqual({ addresses: ["10.0.0.1-10.0.0.254"], prefix: 24, gateway: "10.0.0.1" });
    expect(convert(v1({ subnet: "fd00:10::/120" }), V2).spec).toEqual({ addresses: ["fd00:10::1-fd00:10::fe"], prefix: 120 });
  });

  test("start/end override the subnet's defaults; an explicit prefix wins; addresses are kept first", () => {
    expect(convert(v1({ subnet: "10.0.0.0/24", start: "10.0.0.100", prefix: 16 }), V2).spec).toEqual({ addresses: ["10.0.0.100-10.0.0.254"], prefix: 16 });
    expect(convert(v1({ addresses: ["10.0.0.5"], start: "10.0.0.10", end: "10.0.0.20", prefix: 24 }), V2).spec).toEqual({
      addresses: ["10.0.0.5", "10.0.0.10-10.0.0.20"],
      prefix: 24,
    });
  });

  test("without a subnet, start or end alone adds nothing; prefix is always written", () => {
    expect(withoutConversionData(convert(v1({ addresses: ["10.0.0.5"], start: "10.0.0.10" }), V2)).spec).toEqual({ addresses: ["10.0.0.5"], prefix: 0 });
  });

  test("metadata and status carry over", () => {
    const out = convert(v1({ addresses: ["10.0.0.5"], prefix: 24 }, { ipAddresses: { total: 1, used: 0, free: 1, outOfRange: 0 } }), V2);
    expect(out.metadata).toEqual({ name: "p", namespace: "default", labels: { team: "a" } });
    expect(out.status).toEqual({ ipAddresses: { total: 1, used: 0, free: 1, outOfRange: 0 } });
  });

  test("an unparsable subnet fails with a field error", () => {
    let err: ApiError | undefined;
    try {
      convert(v1({ subnet: "10.0.0.0" }), V2);
    } catch (e) {
      err = e as ApiError;
    }
    expect(err?.code).toBe(422);
    expect(err?.message).toBe(`InClusterIPPool.ipam.cluster.x-k8s.io "p" is invalid: spec.subnet: Invalid value: "10.0.0.0": netip.ParsePrefix("10.0.0.0"): no '/'`);
  });
});

describe("v1alpha2 → v1alpha1", () => {
  test("addresses, prefix and gateway", () => {
    const out = convert(v2({ addresses: ["10.0.0.10-10.0.0.20"], prefix: 24, gateway: "10.0.0.1" }), V1);
    expect(out.apiVersion).toBe(V1);
    expect(out.spec).toEqual({ addresses: ["10.0.0.10-10.0.0.20"], prefix: 24, gateway: "10.0.0.1" });
    expect(out.metadata.annotations).toBeUndefined();
  });

  test("fields v1alpha1 lacks travel in the conversion-data annotation", () => {
    const out = convert(v2({ addresses: ["10.0.0.10-10.0.0.20"], prefix: 24, excludedAddresses: ["10.0.0.15"], allocateReservedIPAddresses: true, addressReuseGracePeriodSeconds: 60 }), V1);
    expect(out.spec).toEqual({ addresses: ["10.0.0.10-10.0.0.20"], prefix: 24 });
    expect(JSON.parse(out.metadata.annotations!["cluster.x-k8s.io/conversion-data"]!)).toMatchObject({
      apiVersion: V2,
      spec: { excludedAddresses: ["10.0.0.15"], allocateReservedIPAddresses: true, addressReuseGracePeriodSeconds: 60 },
    });
  });
});

describe("round trips are lossless", () => {
  const hubs: KObject[] = [
    v2({ addresses: ["10.0.0.10-10.0.0.20", "10.0.0.64/28"], prefix: 24, gateway: "10.0.0.1", excludedAddresses: ["10.0.0.15"], allocateReservedIPAddresses: true, addressReuseGracePeriodSeconds: 60 }),
    v2({ addresses: ["fd00::10-fd00::20"], prefix: 64 }),
  ];
  const spokes: KObject[] = [
    v1({ subnet: "10.0.0.0/24", gateway: "10.0.0.1" }, { ipAddresses: { total: 253, used: 2, free: 251, outOfRange: 0 } }),
    v1({ subnet: "10.0.0.0/24", start: "10.0.0.50", end: "10.0.0.60" }),
    v1({ addresses: ["10.0.0.5"], start: "10.0.0.9" }),
    v1({ addresses: ["10.0.0.5"], prefix: 24 }),
  ];
  for (const [i, hub] of hubs.entries()) {
    test(`v1alpha2 → v1alpha1 → v1alpha2 (#${i})`, () => expect(convert(convert(hub, V1), V2)).toEqual(hub));
  }
  for (const [i, spoke] of spokes.entries()) {
    test(`v1alpha1 → v1alpha2 → v1alpha1 (#${i})`, () => expect(convert(convert(spoke, V2), V1)).toEqual(spoke));
  }

  test("a v1alpha1 subnet edited in v1alpha2 keeps the edit, not the stale subnet", () => {
    const hub = convert(v1({ subnet: "10.0.0.0/24" }), V2);
    const edited = { ...hub, spec: { ...(hub.spec as object), addresses: ["10.0.0.1-10.0.0.100"] } };
    expect(convert(edited, V1).spec).toEqual({ addresses: ["10.0.0.1-10.0.0.100"], prefix: 24 });
  });

  test("GlobalInClusterIPPool converts the same way", () => {
    const g = { ...v1({ subnet: "10.0.0.0/30" }), kind: "GlobalInClusterIPPool", metadata: { name: "g" } };
    const hub = convertGlobal(g, V2);
    expect(hub.kind).toBe("GlobalInClusterIPPool");
    expect(hub.spec).toEqual({ addresses: ["10.0.0.1-10.0.0.2"], prefix: 30 });
    expect(convertGlobal(hub, V1)).toEqual(g);
  });
});
