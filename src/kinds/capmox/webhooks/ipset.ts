/**
 * The address sets CAPMOX's ProxmoxCluster webhook builds from `ipv4Config.addresses` /
 * `ipv6Config.addresses` (go4.org/netipx IPSetBuilder over net/netip): each entry is a range
 * `a-b` (same family, a ≤ b), a prefix `a/n` (the whole network, host bits ignored) or a single
 * address. Families never mix: an IPv4 address is not in an IPv6 set, `::ffff:a.b.c.d` is IPv6.
 * @module
 */
import { parseNetipAddr } from "../../capi/webhooks/ipaddress.ts";

export interface Addr {
  bits: 32 | 128;
  value: bigint;
  /** An IPv6 zone (`%eth0`) was given: netipx never finds such an address in a set. */
  zoned: boolean;
}

interface Interval {
  bits: 32 | 128;
  lo: bigint;
  hi: bigint;
}

/** netip.ParseAddr (IPv6 zones allowed, as there). */
export function parseAddr(s: string): Addr | undefined {
  const bytes = parseNetipAddr(s);
  if (!bytes) return undefined;
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return { bits: bytes.length === 4 ? 32 : 128, value, zoned: s.includes("%") };
}

/** netipx.ParseIPRange: `from-to`, no zones, same family, from ≤ to. */
function parseRange(s: string): Interval | undefined {
  const dash = s.indexOf("-");
  const from = s.slice(0, dash);
  const to = s.slice(dash + 1);
  if (from.includes("%") || to.includes("%")) return undefined;
  const a = parseAddr(from);
  const b = parseAddr(to);
  if (!a || !b || a.bits !== b.bits || a.value > b.value) return undefined;
  return { bits: a.bits, lo: a.value, hi: b.value };
}

/** netip.ParsePrefix (no zone; bits decimal without sign or leading zero, within the family). */
function parsePrefix(s: string): Interval | undefined {
  const slash = s.lastIndexOf("/");
  const addrText = s.slice(0, slash);
  const bitsText = s.slice(slash + 1);
  if (addrText.includes("%") || !/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) return undefined;
  const a = parseAddr(addrText);
  const bits = Number(bitsText);
  if (!a || bits > a.bits) return undefined;
  const hostBits = BigInt(a.bits - bits);
  const lo = (a.value >> hostBits) << hostBits;
  return { bits: a.bits, lo, hi: lo + (1n << hostBits) - 1n };
}

/** The set of an address list, or undefined when an entry does not parse. */
export function buildAddressSet(entries: readonly string[]): Interval[] | undefined {
  const set: Interval[] = [];
  for (const entry of entries) {
    let interval: Interval | undefined;
    if (entry.includes("-")) interval = parseRange(entry);
    else if (entry.includes("/")) interval = parsePrefix(entry);
    else {
      const a = parseAddr(entry);
      interval = a && { bits: a.bits, lo: a.value, hi: a.value };
    }
    if (!interval) return undefined;
    set.push(interval);
  }
  return set;
}

export function setContains(set: readonly Interval[], addr: Addr): boolean {
  return !addr.zoned && set.some((i) => i.bits === addr.bits && i.lo <= addr.value && addr.value <= i.hi);
}
