/**
 * IP addresses as Go's `net/netip` reads and prints them (the in-cluster IPAM provider parses pool
 * specs with it): `parseAddr` accepts dotted-quad IPv4 without leading zeros and RFC 4291 IPv6
 * (`::`, an embedded dotted quad, an optional `%zone`), and reports failures with netip's
 * messages (`ParseAddr("10.0.0"): IPv4 address too short`), which upstream puts verbatim into
 * field errors. Addresses are kept as a family and a bigint, so ranges and sets are arithmetic.
 * @module
 */
import { goQuote } from "../../lib/go-format.ts";

export type Family = 4 | 6;

export interface Addr {
  family: Family;
  /** The address as an unsigned integer (32 or 128 bits). */
  value: bigint;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const MAX: Record<Family, bigint> = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n };

export function bitLen(family: Family): number {
  return family === 4 ? 32 : 128;
}

export function maxValue(family: Family): bigint {
  return MAX[family];
}

function addrError(input: string, msg: string, at?: string): Parsed<never> {
  return { ok: false, error: `ParseAddr(${goQuote(input)}): ${msg}${at ? ` (at ${goQuote(at)})` : ""}` };
}

/** The four octets of `s` (a dotted quad), or netip's error for `input`. */
function parseIPv4Fields(input: string, s: string): Parsed<number[]> {
  const fields: number[] = [];
  let val = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c >= "0" && c <= "9") {
      if (digits === 1 && val === 0) return addrError(input, "IPv4 field has octet with leading zero");
      val = val * 10 + (c.charCodeAt(0) - 48);
      digits++;
      if (val > 255) return addrError(input, "IPv4 field has value >255");
    } else if (c === ".") {
      if (i === 0 || i === s.length - 1 || s[i - 1] === ".") return addrError(input, "IPv4 field must have at least one digit", s.slice(i));
      if (fields.length === 3) return addrError(input, "IPv4 address too long");
      fields.push(val);
      val = 0;
      digits = 0;
    } else {
      return addrError(input, "unexpected character", s.slice(i));
    }
  }
  if (fields.length < 3) return addrError(input, "IPv4 address too short");
  fields.push(val);
  return { ok: true, value: fields };
}

function fromBytes(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function hexValue(c: string): number {
  const code = c.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/** IPv6 as netip parses it; the zone (after `%`) is accepted and dropped. */
function parseIPv6(input: string): Parsed<Addr> {
  let s = input;
  const pct = s.indexOf("%");
  if (pct >= 0) {
    if (pct === s.length - 1) return addrError(input, "zone must be a non-empty string");
    s = s.slice(0, pct);
  }
  const ip = new Array<number>(16).fill(0);
  let ellipsis = -1;
  if (s.startsWith("::")) {
    ellipsis = 0;
    s = s.slice(2);
    if (s === "") return { ok: true, value: { family: 6, value: 0n } };
  }
  let i = 0;
  while (i < 16) {
    let off = 0;
    let acc = 0;
    for (; off < s.length; off++) {
      const h = hexValue(s[off]!);
      if (h < 0) break;
      acc = acc * 16 + h;
      if (off > 3) return addrError(input, "each group must have 4 or less digits", s);
    }
    if (off === 0) return addrError(input, "each colon-separated field must have at least one digit", s);
    if (off < s.length && s[off] === ".") {
      if (ellipsis < 0 && i !== 12) return addrError(input, "embedded IPv4 address must replace the final 2 fields of the address", s);
      if (i + 4 > 16) return addrError(input, "too many hex fields to fit an embedded IPv4 at the end of the address", s);
      const v4 = parseIPv4Fields(input, s);
      if (!v4.ok) return v4;
      ip.splice(i, 4, ...v4.value);
      s = "";
      i += 4;
      break;
    }
    ip[i] = acc >> 8;
    ip[i + 1] = acc & 0xff;
    i += 2;
    s = s.slice(off);
    if (s === "") break;
    if (s[0] !== ":") return addrError(input, "unexpected character, want colon", s);
    if (s.length === 1) return addrError(input, "colon must be followed by more characters", s);
    s = s.slice(1);
    if (s[0] === ":") {
      if (ellipsis >= 0) return addrError(input, "multiple :: in address", s);
      ellipsis = i;
      s = s.slice(1);
      if (s === "") break;
    }
  }
  if (s !== "") return addrError(input, "trailing garbage after address", s);
  if (i < 16) {
    if (ellipsis < 0) return addrError(input, "address string too short");
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) ip[j + n] = ip[j]!;
    for (let j = ellipsis; j < ellipsis + n; j++) ip[j] = 0;
  } else if (ellipsis >= 0) {
    return addrError(input, "the :: must expand to at least one field of zeros", s);
  }
  return { ok: true, value: { family: 6, value: fromBytes(ip) } };
}

/** `netip.ParseAddr`. */
export function parseAddr(s: string): Parsed<Addr> {
  for (const c of s) {
    if (c === ".") {
      const f = parseIPv4Fields(s, s);
      return f.ok ? { ok: true, value: { family: 4, value: fromBytes(f.value) } } : f;
    }
    if (c === ":") return parseIPv6(s);
    if (c === "%") return addrError(s, "missing IPv6 address");
  }
  return addrError(s, "unable to parse IP");
}

export interface Prefix {
  addr: Addr;
  bits: number;
}

function prefixError(input: string, msg: string): Parsed<never> {
  return { ok: false, error: `netip.ParsePrefix(${goQuote(input)}): ${msg}` };
}

/** `netip.ParsePrefix`: `addr/bits`, no zone, bits without sign or leading zeros. */
export function parsePrefix(s: string): Parsed<Prefix> {
  const slash = s.lastIndexOf("/");
  if (slash < 0) return prefixError(s, "no '/'");
  const addr = parseAddr(s.slice(0, slash));
  if (!addr.ok) return prefixError(s, addr.error);
  if (addr.value.family === 6 && s.slice(0, slash).includes("%")) return prefixError(s, "IPv6 zones cannot be present in a prefix");
  const bitsText = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(bitsText)) return prefixError(s, `bad bits after slash: ${goQuote(bitsText)}`);
  const bits = Number(bitsText);
  if (bits > bitLen(addr.value.family)) return prefixError(s, "prefix length out of range");
  return { ok: true, value: { addr: addr.value, bits } };
}

/** First and last address of a prefix (the host bits cleared / set). */
export function prefixBounds(p: Prefix): { from: bigint; to: bigint } {
  const hostBits = BigInt(bitLen(p.addr.family) - p.bits);
  const hostMask = (1n << hostBits) - 1n;
  const from = p.addr.value & ~hostMask & MAX[p.addr.family];
  return { from, to: from | hostMask };
}

/** Canonical text, as netip prints it (RFC 5952 for IPv6, `::ffff:a.b.c.d` for mapped IPv4). */
export function formatAddr(a: Addr): string {
  if (a.family === 4) {
    const v = a.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join(".");
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((a.value >> BigInt(i * 16)) & 0xffffn));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatAddr({ family: 4, value: a.value & 0xffffffffn })}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}
