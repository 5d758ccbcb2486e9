import { describe, expect, test } from "bun:test";
import { formatRange, parseAddressEntries, parseAddressEntry, size, subtract, union } from "./ipset.ts";
import { allocatableSet } from "./pool-spec.ts";

const ranges = (entries: string[]) => {
  const s = parseAddressEntries(entries);
  if (!s) throw new Error("did not parse");
  return s.map(formatRange);
};

describe("address entries (upstream poolutil.AddressToIPSet)", () => {
  test("single IPs, ranges and CIDRs (host bits ignored)", () => {
    expect(ranges(["10.0.0.5"])).toEqual(["10.0.0.5-10.0.0.5"]);
    expect(ranges(["10.0.0.10-10.0.0.20"])).toEqual(["10.0.0.10-10.0.0.20"]);
    expect(ranges(["10.0.0.77/30"])).toEqual(["10.0.0.76-10.0.0.79"]);
    expect(ranges(["fd00::10-fd00::1f", "fd00::20/124"])).toEqual(["fd00::10-fd00::2f"]);
  });

  test("overlapping and adjacent entries merge; IPv4 sorts before IPv6", () => {
    expect(ranges(["10.0.0.9", "10.0.0.1-10.0.0.5", "10.0.0.4-10.0.0.8", "fd00::1", "10.0.0.20"])).toEqual([
      "10.0.0.1-10.0.0.9",
      "10.0.0.20-10.0.0.20",
      "fd00::1-fd00::1",
    ]);
  });

  test("what is not an IP, a range nor a CIDR", () => {
    for (const bad of ["", "10.0.0", "10.0.0.5-10.0.0.1", "10.0.0.1-fd00::1", "10.0.0.1-", "10.0.0.0/33", "10.0.0.0/8/8", "10.0.0.1 ", "host.example"]) {
      expect(parseAddressEntry(bad)).toBeUndefined();
    }
    expect(parseAddressEntries(["10.0.0.1", "nope"])).toBeUndefined();
  });

  test("set arithmetic on large IPv6 ranges stays exact", () => {
    const v6 = parseAddressEntries(["fd00:10::/64"])!;
    expect(size(v6)).toBe(1n << 64n);
    const rest = subtract(v6, parseAddressEntries(["fd00:10::/65"])!);
    expect(rest.map(formatRange)).toEqual(["fd00:10:0:0:8000::-fd00:10::ffff:ffff:ffff:ffff"]);
    expect(size(union(rest, parseAddressEntries(["fd00:10::/65"])!))).toBe(1n << 64n);
  });
});

describe("the addresses a pool hands out (upstream poolutil.PoolSpecToIPSet)", () => {
  const set = (spec: Parameters<typeof allocatableSet>[0]) => allocatableSet(spec)!.map(formatRange);

  test("IPv4: network and broadcast address of the subnet and the gateway are left out", () => {
    expect(set({ addresses: ["10.0.0.0/29"], prefix: 29, gateway: "10.0.0.1" })).toEqual(["10.0.0.2-10.0.0.6"]);
    // Only the subnet's network/broadcast addresses, not the ends of every entry.
    expect(set({ addresses: ["10.0.0.8/29"], prefix: 24 })).toEqual(["10.0.0.8-10.0.0.15"]);
  });

  test("IPv6: only the subnet's first (anycast) address is reserved", () => {
    expect(set({ addresses: ["fd00::-fd00::4"], prefix: 64, gateway: "fd00::1" })).toEqual(["fd00::2-fd00::4"]);
  });

  test("allocateReservedIPAddresses keeps them; excludedAddresses removes more", () => {
    expect(set({ addresses: ["10.0.0.0/30"], prefix: 30, allocateReservedIPAddresses: true })).toEqual(["10.0.0.0-10.0.0.3"]);
    expect(set({ addresses: ["10.0.0.0/28"], prefix: 28, gateway: "10.0.0.1", excludedAddresses: ["10.0.0.4-10.0.0.6", "10.0.0.10"] })).toEqual([
      "10.0.0.2-10.0.0.3",
      "10.0.0.7-10.0.0.9",
      "10.0.0.11-10.0.0.14",
    ]);
  });

  test("a /32 pool without allocateReservedIPAddresses hands out nothing (as upstream)", () => {
    expect(set({ addresses: ["10.0.0.7"], prefix: 32 })).toEqual([]);
    expect(set({ addresses: ["10.0.0.7"], prefix: 24 })).toEqual(["10.0.0.7-10.0.0.7"]);
  });

  test("an unparsable spec gives no set", () => {
    expect(allocatableSet({ addresses: ["x"], prefix: 24 })).toBeUndefined();
    expect(allocatableSet({ addresses: [], prefix: 24 })).toBeUndefined();
    expect(allocatableSet({ addresses: ["10.0.0.1"], prefix: 40 })).toBeUndefined();
    expect(allocatableSet({ addresses: ["10.0.0.1"], prefix: 24, gateway: "gw" })).toBeUndefined();
  });
});
