import { describe, expect, test } from "bun:test";
import { allocate, MAX_COUNT, poolUsage, releaseDelayMs } from "./allocator.ts";

/** Allocates `n` addresses one after another, each seeing the ones before as in use. */
function allocateMany(spec: Parameters<typeof allocate>[0], n: number, inUse: string[] = []): string[] {
  const got: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = allocate(spec, [...inUse, ...got]);
    if (!a.ok) throw new Error(a.message);
    got.push(a.address);
  }
  return got;
}

describe("allocate", () => {
  test("a range: lowest free first, the gateway skipped", () => {
    const spec = { addresses: ["10.10.0.1-10.10.0.6"], prefix: 24, gateway: "10.10.0.3" };
    expect(allocateMany(spec, 5)).toEqual(["10.10.0.1", "10.10.0.2", "10.10.0.4", "10.10.0.5", "10.10.0.6"]);
    const r = allocate(spec, ["10.10.0.1", "10.10.0.2", "10.10.0.4", "10.10.0.5", "10.10.0.6"]);
    expect(r).toEqual({ ok: false, reason: "PoolExhausted", message: "no address available: all 5 addresses of the pool are in use" });
  });

  test("a CIDR: neither its network, broadcast nor gateway address", () => {
    const spec = { addresses: ["192.168.7.0/29"], prefix: 29, gateway: "192.168.7.1" };
    const got = allocateMany(spec, 5);
    expect(got).toEqual(["192.168.7.2", "192.168.7.3", "192.168.7.4", "192.168.7.5", "192.168.7.6"]);
    expect(allocate(spec, got).ok).toBe(false);
  });

  test("single IPs, in address order whatever the spec order", () => {
    const spec = { addresses: ["10.0.0.30", "10.0.0.10", "10.0.0.20"], prefix: 24 };
    expect(allocateMany(spec, 3)).toEqual(["10.0.0.10", "10.0.0.20", "10.0.0.30"]);
  });

  test("IPv6, with the prefix and gateway on the result", () => {
    const spec = { addresses: ["fd00:10::/64"], prefix: 64, gateway: "fd00:10::1" };
    expect(allocateMany(spec, 3)).toEqual(["fd00:10::2", "fd00:10::3", "fd00:10::4"]);
    expect(allocate(spec, [])).toEqual({ ok: true, address: "fd00:10::2", prefix: 64, gateway: "fd00:10::1" });
  });

  test("addresses in use are never handed out, holes are filled, foreign addresses are ignored", () => {
    const spec = { addresses: ["10.0.0.10-10.0.0.15"], prefix: 24 };
    const inUse = ["10.0.0.10", "10.0.0.12", "10.0.0.99", "not-an-ip", "fd00::1"];
    expect(allocateMany(spec, 3, inUse)).toEqual(["10.0.0.11", "10.0.0.13", "10.0.0.14"]);
    expect(allocate({ addresses: ["10.0.0.10-10.0.0.11"], prefix: 24 }, ["10.0.0.10", "10.0.0.11"]).ok).toBe(false);
  });

  test("many allocations are all distinct", () => {
    const spec = { addresses: ["10.20.0.0/24"], prefix: 24, gateway: "10.20.0.1" };
    const got = allocateMany(spec, 253);
    expect(new Set(got).size).toBe(253);
    expect(got).not.toContain("10.20.0.1");
    expect(got).not.toContain("10.20.0.0");
    expect(got).not.toContain("10.20.0.255");
    expect(allocate(spec, got).ok).toBe(false);
  });

  test("a spec that does not parse fails the allocation", () => {
    expect(allocate({ addresses: ["nope"], prefix: 24 }, [])).toMatchObject({ ok: false, reason: "AllocationFailed" });
  });
});

describe("poolUsage (status.ipAddresses)", () => {
  test("total, used, free and outOfRange", () => {
    const spec = { addresses: ["10.0.0.1-10.0.0.10"], prefix: 24, gateway: "10.0.0.1" };
    expect(poolUsage(spec, [])).toEqual({ total: 9, used: 0, free: 9, outOfRange: 0 });
    expect(poolUsage(spec, ["10.0.0.2", "10.0.0.3", "10.0.0.50"])).toEqual({ total: 9, used: 3, free: 6, outOfRange: 1 });
  });

  test("counts past what a JSON number holds are capped", () => {
    expect(poolUsage({ addresses: ["fd00::/64"], prefix: 64 }, ["fd00::5"])).toEqual({ total: MAX_COUNT, used: 1, free: MAX_COUNT - 1, outOfRange: 0 });
  });
});

describe("releaseDelayMs (addressReuseGracePeriodSeconds)", () => {
  const deleted = "2026-01-01T00:00:00Z";
  const t0 = Date.parse(deleted);
  test("counts from the claim's deletion", () => {
    expect(releaseDelayMs(60, deleted, t0)).toBe(60_000);
    expect(releaseDelayMs(60, deleted, t0 + 59_000)).toBe(1_000);
    expect(releaseDelayMs(60, deleted, t0 + 61_000)).toBe(0);
  });
  test("no grace period, or not deleted: at once", () => {
    expect(releaseDelayMs(undefined, deleted, t0)).toBe(0);
    expect(releaseDelayMs(0, deleted, t0)).toBe(0);
    expect(releaseDelayMs(60, undefined, t0)).toBe(0);
  });
});
