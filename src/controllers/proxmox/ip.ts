/**
 * IP addresses and prefixes as Go's net/netip reads and prints them (CAPMOX renders network
 * data through netip): IPv4 dotted quads, IPv6 in RFC 5952 form (lower case, the longest run of
 * two or more zero groups compressed, IPv4-mapped addresses as `::ffff:a.b.c.d`), prefixes keep
 * their host bits (`172.16.24.1/24` stays as written).
 * @module
 */

export interface Addr {
  family: 4 | 6;
  /** 4 or 16 bytes. */
  bytes: number[];
}

export interface Prefix {
  addr: Addr;
  bits: number;
}

function parseV4(s: string): number[] | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function parseV6(s: string): number[] | undefined {
  if (s.includes("%")) return undefined;
  let tail: number[] = [];
  let text = s;
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".", lastColon)) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    text = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const all = [...head, ...Array(8 - total).fill("0"), ...rest];
  const out: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    out.push(n >> 8, n & 0xff);
  }
  if (tail.length) out.splice(12, 4, ...tail);
  return out;
}

export function parseAddr(s: string): Addr | undefined {
  const v4 = parseV4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = s.includes(":") ? parseV6(s) : undefined;
  return v6 ? { family: 6, bytes: v6 } : undefined;
}

export function parsePrefix(s: string): Prefix | undefined {
  const i = s.indexOf("/");
  if (i < 0) return undefined;
  const addr = parseAddr(s.slice(0, i));
  const bitsText = s.slice(i + 1);
  if (!addr || !/^(0|[1-9][0-9]*)$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > addr.bytes.length * 8) return undefined;
  return { addr, bits };
}

export function formatAddr(a: Addr): string {
  if (a.family === 4) return a.bytes.join(".");
  const b = a.bytes;
  const isMapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (isMapped) return `::ffff:${b.slice(12).join(".")}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number) => g.toString(16);
  if (bestLen < 2) return groups.map(hex).join(":");
  return `${groups.slice(0, bestStart).map(hex).join(":")}::${groups.slice(bestStart + bestLen).map(hex).join(":")}`;
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddr(p.addr)}/${p.bits}`;
}

export function isIPv4(s: string): boolean {
  return parseAddr(s)?.family === 4;
}

export function isUnspecified(a: Addr): boolean {
  return a.bytes.every((x) => x === 0);
}

/** `0.0.0.0/0` or `::/0`. */
export function defaultPrefix(family: 4 | 6): Prefix {
  return { addr: { family, bytes: Array(family === 4 ? 4 : 16).fill(0) }, bits: 0 };
}

/** Link-local (169.254/16, fe80::/10) or loopback addresses: never a machine's address. */
export function isLinkLocalOrLoopback(s: string): boolean {
  const a = parseAddr(s);
  if (!a) return true;
  if (a.family === 4) return a.bytes[0] === 127 || (a.bytes[0] === 169 && a.bytes[1] === 254);
  const b = a.bytes;
  return (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) || (b.slice(0, 15).every((x) => x === 0) && b[15] === 1);
}
