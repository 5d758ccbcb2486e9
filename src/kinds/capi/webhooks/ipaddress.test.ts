import { describe, expect, test } from "bun:test";
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { parseNetipAddr, validateIPAddress, validateIPAddressAgainstClaim } from "./ipaddress.ts";

const POOL = { apiGroup: "ipam.cluster.x-k8s.io", kind: "InClusterIPPool", name: "pool" };

function ip(spec: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: "ipam.cluster.x-k8s.io/v1beta2",
    kind: "IPAddress",
    metadata: { name: "addr", namespace: "default" },
    spec: { claimRef: { name: "claim" }, poolRef: POOL, address: "10.0.0.10", prefix: 24, gateway: "10.0.0.1", ...spec },
  };
}

function claim(poolRef: Record<string, unknown> = POOL): KObject {
  return { apiVersion: "ipam.cluster.x-k8s.io/v1beta2", kind: "IPAddressClaim", metadata: { name: "claim", namespace: "default" }, spec: { poolRef } };
}

const inv = (field: string, message: string): StatusCause => ({ reason: "FieldValueInvalid", field, message });

describe("IPAddress validation (create)", () => {
  const cases: { name: string; obj: KObject; want: StatusCause[] }[] = [
    { name: "valid IPv4", obj: ip(), want: [] },
    { name: "valid IPv6 without gateway", obj: ip({ address: "fd00::10", prefix: 64, gateway: undefined }), want: [] },
    { name: "IPv6 with zone", obj: ip({ address: "fe80::10%eth0", prefix: 64, gateway: "fe80::1" }), want: [] },
    {
      name: "gateway outside the prefix is accepted (upstream does not check it)",
      obj: ip({ gateway: "192.168.1.1" }),
      want: [],
    },
    {
      name: "invalid address",
      obj: ip({ address: "10.0.0.300" }),
      want: [inv("spec.address", 'Invalid value: "10.0.0.300": not a valid IP address')],
    },
    {
      name: "leading zeros are not accepted by net/netip",
      obj: ip({ address: "10.0.0.010" }),
      want: [inv("spec.address", 'Invalid value: "10.0.0.010": not a valid IP address')],
    },
    {
      name: "IPv4 prefix too large",
      obj: ip({ prefix: 33 }),
      want: [inv("spec.prefix", "Invalid value: 33: prefix is too large for an IPv4 address")],
    },
    {
      name: "IPv6 prefix too large",
      obj: ip({ address: "fd00::1", prefix: 129, gateway: undefined }),
      want: [inv("spec.prefix", "Invalid value: 129: prefix is too large for an IPv6 address")],
    },
    {
      name: "negative prefix",
      obj: ip({ prefix: -1 }),
      want: [inv("spec.prefix", "Invalid value: -1: prefix cannot be negative")],
    },
    {
      name: "no prefix range check when the address is invalid",
      obj: ip({ address: "nope", prefix: 200 }),
      want: [inv("spec.address", 'Invalid value: "nope": not a valid IP address')],
    },
    {
      name: "invalid gateway",
      obj: ip({ gateway: "10.0.0" }),
      want: [inv("spec.gateway", 'Invalid value: "10.0.0": not a valid IP address')],
    },
  ];
  for (const c of cases) {
    test(c.name, () => expect(validateIPAddress(c.obj, undefined)).toEqual(c.want));
  }

  test("the address's pool must be the claim's pool (when the claim exists)", () => {
    expect(validateIPAddressAgainstClaim(ip(), undefined)).toEqual([]);
    expect(validateIPAddressAgainstClaim(ip(), claim())).toEqual([]);
    expect(validateIPAddressAgainstClaim(ip(), claim({ ...POOL, kind: "GlobalInClusterIPPool" }))).toEqual([
      inv(
        "spec.poolRef",
        'Invalid value: {"apiGroup":"ipam.cluster.x-k8s.io","kind":"InClusterIPPool","name":"pool"}: the referenced pool is different from the pool referenced by the claim this address should fulfill',
      ),
    ]);
  });

  test("netip.ParseAddr", () => {
    expect(parseNetipAddr("1.2.3.4")).toEqual([1, 2, 3, 4]);
    expect(parseNetipAddr("::ffff:1.2.3.4")?.length).toBe(16);
    expect(parseNetipAddr("fe80::1%")).toBeNull();
    expect(parseNetipAddr("1.2.3.4%eth0")).toBeNull();
    expect(parseNetipAddr("")).toBeNull();
  });
});

describe("IPAddress validation (update)", () => {
  test("unchanged spec (absent vs empty optional fields compare equal, as Go structs)", () => {
    const old = ip({ gateway: undefined });
    expect(validateIPAddress(ip({ gateway: "" }), old)).toEqual([]);
  });

  test("metadata-only changes pass", () => {
    const changed = ip();
    changed.metadata.labels = { a: "b" };
    expect(validateIPAddress(changed, ip())).toEqual([]);
  });

  test("spec changes are forbidden; the create checks do not run on update", () => {
    expect(validateIPAddress(ip({ address: "10.0.0.11", prefix: 99 }), ip())).toEqual([
      {
        reason: "FieldValueForbidden",
        field: "spec",
        message: "Forbidden: IPAddress spec is immutable. Diff: - address: \"10.0.0.10\"\n+ address: \"10.0.0.11\"\n- prefix: 24\n+ prefix: 99",
      },
    ]);
  });
});
