/**
 * Sets of IP addresses as the in-cluster IPAM provider builds them from a pool spec: each entry of
 * `spec.addresses` is a single address (`10.0.0.5`), a CIDR (`10.0.0.0/28`, host bits ignored) or
 * an inclusive range (`10.0.0.10-10.0.0.20`); the set is a sorted list of disjoint ranges, so
 * counting and walking a /64 costs no more than a /30.
 * @module
 */
import { type Addr, type Family, formatAddr, parseAddr, parsePrefix, prefixBounds } from "./netip.ts";

export interface Range {
  family: Family;
  from: bigint;
  to: bigint;
}

/** Disjoint, sorted ranges (IPv4 before IPv6). */
export type IPSet = Range[];

function cmp(a: Range, b: Range): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.from < b.from ? -1 : a.from > b.from ? 1 : 0;
}

/** Sorts and merges overlapping or adjacent ranges. */
export function normalize(ranges: Range[]): IPSet {
  const sorted = ranges.map((r) => ({ ...r })).sort(cmp);
  const out: IPSet = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.family === r.family && r.from <= last.to + 1n) {
      if (r.to > last.to) last.to = r.to;
    } else out.push(r);
  }
  return out;
}

export function union(...sets: IPSet[]): IPSet {
  return normalize(sets.flat());
}

/** `a` without the addresses of `b`. */
export function subtract(a: IPSet, b: IPSet): IPSet {
  let out = a.map((r) => ({ ...r }));
  for (const cut of b) {
    const next: IPSet = [];
    for (const r of out) {
      if (r.family !== cut.family || cut.to < r.from || cut.from > r.to) {
        next.push(r);
        continue;
      }
      if (cut.from > r.from) next.push({ family: r.family, from: r.from, to: cut.from - 1n });
      if (cut.to < r.to) next.push({ family: r.family, from: cut.to + 1n, to: r.to });
    }
    out = next;
  }
  return out;
}

export function single(a: Addr): Range {
  return { family: a.family, from: a.value, to: a.value };
}

export function contains(set: IPSet, a: Addr): boolean {
  return set.some((r) => r.family === a.family && r.from <= a.value && a.value <= r.to);
}

export function containsRange(set: IPSet, x: Range): boolean {
  return set.some((r) => r.family === x.family && r.from <= x.from && x.to <= r.to);
}

/** Number of addresses (exact, as a bigint). */
export function size(set: IPSet): bigint {
  return set.reduce((n, r) => n + (r.to - r.from + 1n), 0n);
}

/** The lowest address of the set. */
export function first(set: IPSet): Addr | undefined {
  const r = set[0];
  return r && { family: r.family, value: r.from };
}

export function formatRange(r: Range): string {
  return `${formatAddr({ family: r.family, value: r.from })}-${formatAddr({ family: r.family, value: r.to })}`;
}

/**
 * One `spec.addresses` entry as a range, or undefined when it is not a valid IP, range, nor CIDR.
 * A `-` makes it a range (netipx.ParseIPRange: both ends of one family, from ≤ to, zones dropped),
 * else a `/` a CIDR (netip.ParsePrefix), else a single address (netip.ParseAddr).
 */
export function parseAddressEntry(entry: string): Range | undefined {
  const dash = entry.indexOf("-");
  if (dash >= 0) {
    const from = parseAddr(entry.slice(0, dash));
    const to = parseAddr(entry.slice(dash + 1));
    if (!from.ok || !to.ok || from.value.family !== to.value.family || to.value.value < from.value.value) return undefined;
    return { family: from.value.family, from: from.value.value, to: to.value.value };
  }
  if (entry.includes("/")) {
    const p = parsePrefix(entry);
    if (!p.ok) return undefined;
    return { family: p.value.addr.family, ...prefixBounds(p.value) };
  }
  const a = parseAddr(entry);
  return a.ok ? single(a.value) : undefined;
}

/** The union of address entries; undefined when any entry does not parse. */
export function parseAddressEntries(entries: readonly string[]): IPSet | undefined {
  const ranges: Range[] = [];
  for (const e of entries) {
    const r = parseAddressEntry(e);
    if (!r) return undefined;
    ranges.push(r);
  }
  return normalize(ranges);
}

/** The subnet (`prefix` bits around `addr`) as a range. */
export function subnetRange(addr: Addr, prefix: number): Range {
  return { family: addr.family, ...prefixBounds({ addr, bits: prefix }) };
}
