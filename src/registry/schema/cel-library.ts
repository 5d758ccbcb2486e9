/**
 * The Kubernetes CEL libraries (k8s.io/apiserver/pkg/cel/library) on top of @bufbuild/cel:
 * lists (`isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf`), regex (`find`, `findAll`,
 * Go RE2 syntax), optionals (`optional.of/none/ofNonZeroValue`, `hasValue`, `value`, `orValue`,
 * `or`), sets (`sets.contains/equivalent/intersects`), URLs (`url`, `isURL`, `getScheme`, ...),
 * IPs (`ip`, `isIP`, `ip.isCanonical`, `family`, `isLoopback`, ...), CIDRs (`cidr`, `isCIDR`,
 * `containsIP`, `containsCIDR`, `masked`, `prefixLength`, `ip`),
 * quantities (`quantity`, `isQuantity`, `sign`, `isInteger`, `asInteger`, `asApproximateFloat`,
 * `add`, `sub`, `isLessThan`, `isGreaterThan`, `compareTo`, exact arithmetic) and named formats
 * (`format.dns1123Label()` ..., `format.named(name)`, `<format>.validate(s)` with apimachinery's
 * messages).
 *
 * Not provided: `authorizer` (admission policies only), `string()` of IPs, CIDRs and quantities,
 * the semver library (1.33+), and optional list/map literal entries (`[?x]`, `{?k: v}`); the
 * `x.?f` and `x[?k]` accessors are supported through a source rewrite in cel-compile.ts.
 *
 * Opaque values (optionals, IPs, CIDRs, URLs, quantities, formats) are CEL maps with one reserved key (`@optional`,
 * `@ip`, ...), which CEL expressions cannot name, so equality between them works by content.
 * @module
 */

import {
  type CelFunc,
  type CelInput,
  type CelList,
  type CelValue,
  CelScalar,
  celFunc,
  celMethod,
  isCelList,
  isCelMap,
  isCelUint,
  listType,
} from "@bufbuild/cel";
import { compileGoRegex } from "./go-regex.ts";
import { checkFormat, formatIP, isIPv4Mapped, isRequestURI, parseCIDR, parseIP } from "./formats.ts";

const { DYN, BOOL, INT, STRING } = CelScalar;
const LIST = listType(DYN);

// --- values -------------------------------------------------------------------------------------

function isMessage(v: unknown, typeName: string): v is { seconds: bigint; nanos: number } {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  if (r.$typeName === typeName) return true;
  const msg = r.message as Record<string, unknown> | undefined;
  return typeof msg === "object" && msg !== null && msg.$typeName === typeName;
}

function messageParts(v: unknown): [bigint, number] {
  const r = v as Record<string, unknown>;
  const m = (r.$typeName ? r : r.message) as { seconds: bigint; nanos: number };
  return [BigInt(m.seconds), Number(m.nanos)];
}

/** CEL equality with cross-type numeric comparison. */
export function celEquals(a: unknown, b: unknown): boolean {
  if (isCelUint(a)) a = a.value;
  if (isCelUint(b)) b = b.value;
  if ((typeof a === "bigint" || typeof a === "number") && (typeof b === "bigint" || typeof b === "number")) {
    if (typeof a === "bigint" && typeof b === "bigint") return a === b;
    if (typeof a === "number" && typeof b === "number") return a === b;
    const f = typeof a === "number" ? a : (b as number);
    const i = typeof a === "bigint" ? a : (b as bigint);
    return Number.isInteger(f) && BigInt(f) === i;
  }
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    return a.every((x, i) => x === b[i]);
  }
  if (isCelList(a) || isCelList(b)) {
    if (!isCelList(a) || !isCelList(b) || a.size !== b.size) return false;
    for (let i = 0; i < a.size; i++) if (!celEquals(a.get(i), b.get(i))) return false;
    return true;
  }
  if (isCelMap(a) || isCelMap(b)) {
    if (!isCelMap(a) || !isCelMap(b) || a.size !== b.size) return false;
    for (const [k, v] of a) {
      const other = b.get(k as string);
      if (other === undefined || !celEquals(v, other)) return false;
    }
    return true;
  }
  for (const t of ["google.protobuf.Timestamp", "google.protobuf.Duration"]) {
    if (isMessage(a, t) && isMessage(b, t)) {
      const [as, an] = messageParts(a);
      const [bs, bn] = messageParts(b);
      return as === bs && an === bn;
    }
  }
  return a === b;
}

/** CEL ordering for comparable values; throws for incomparable ones. */
export function celCompare(a: unknown, b: unknown): number {
  if (isCelUint(a)) a = a.value;
  if (isCelUint(b)) b = b.value;
  if ((typeof a === "bigint" || typeof a === "number") && (typeof b === "bigint" || typeof b === "number")) {
    if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : a > b ? 1 : 0;
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  }
  for (const t of ["google.protobuf.Timestamp", "google.protobuf.Duration"]) {
    if (isMessage(a, t) && isMessage(b, t)) {
      const [as, an] = messageParts(a);
      const [bs, bn] = messageParts(b);
      return as !== bs ? (as < bs ? -1 : 1) : an - bn;
    }
  }
  throw new Error("no such overload");
}

// --- opaque boxes -------------------------------------------------------------------------------

function box(key: string, value: CelInput): CelInput {
  return new Map<string, CelInput>([[key, value]]);
}

function unbox(v: unknown, key: string): CelValue | undefined {
  if (!isCelMap(v) || v.size !== 1) return undefined;
  return v.get(key);
}

function need<T>(v: T | undefined): T {
  if (v === undefined) throw new Error("no such overload");
  return v;
}

// --- optionals ------------------------------------------------------------------------------------

export function optionalOf(v: CelInput): CelInput {
  return box("@optional", [v]);
}

export function optionalNone(): CelInput {
  return box("@optional", []);
}

function optionalContent(v: unknown): CelList {
  return need(unbox(v, "@optional")) as CelList;
}

function isZero(v: unknown): boolean {
  if (v === null || v === false || v === "" || v === 0 || v === 0n) return true;
  if (isCelUint(v)) return v.value === 0n;
  if (v instanceof Uint8Array) return v.length === 0;
  if (isCelList(v) || isCelMap(v)) return v.size === 0;
  return false;
}

/** `target.?key` / `target[?key]`: an optional of the field, entry or element. */
function optionalAccess(target: unknown, key: unknown): CelInput {
  const inner = unbox(target, "@optional");
  if (inner !== undefined && isCelList(inner)) {
    return inner.size ? optionalAccess(inner.get(0), key) : optionalNone();
  }
  if (isCelMap(target)) {
    const v = target.get(key as string);
    return v === undefined ? optionalNone() : optionalOf(v as CelInput);
  }
  if (isCelList(target) && (typeof key === "bigint" || typeof key === "number")) {
    const i = Number(key);
    return Number.isInteger(i) && i >= 0 && i < target.size ? optionalOf(target.get(i) as CelInput) : optionalNone();
  }
  throw new Error("no such overload");
}

// --- lists ------------------------------------------------------------------------------------

function listValues(l: CelList): CelValue[] {
  return [...l];
}

function sum(l: CelList): CelInput {
  const vals = listValues(l);
  if (vals.length === 0) return 0n;
  if (vals.every((v) => typeof v === "bigint")) {
    let s = 0n;
    for (const v of vals as bigint[]) s += v;
    if (s > 9223372036854775807n || s < -9223372036854775808n) throw new Error("integer overflow");
    return s;
  }
  if (vals.every((v) => typeof v === "number")) return (vals as number[]).reduce((a, b) => a + b, 0);
  if (vals.every((v) => isMessage(v, "google.protobuf.Duration"))) {
    let s = 0n;
    let n = 0;
    for (const v of vals) {
      const [sec, nanos] = messageParts(v);
      s += sec;
      n += nanos;
    }
    s += BigInt(Math.trunc(n / 1e9));
    return { $typeName: "google.protobuf.Duration", seconds: s, nanos: n % 1e9 } as unknown as CelInput;
  }
  throw new Error("no such overload");
}

function extreme(l: CelList, name: "min" | "max"): CelInput {
  const vals = listValues(l);
  if (vals.length === 0) throw new Error(`${name} called on empty list`);
  let best = vals[0];
  for (const v of vals.slice(1)) {
    const c = celCompare(v, best);
    if ((name === "min" && c < 0) || (name === "max" && c > 0)) best = v;
  }
  return best as CelInput;
}

// --- regex --------------------------------------------------------------------------------------

const globalCache = new Map<string, RegExp>();
function globalRegex(pattern: string): RegExp {
  let g = globalCache.get(pattern);
  if (!g) {
    const re = compileGoRegex(pattern);
    g = new RegExp(re.source, `${re.flags}g`);
    if (globalCache.size > 1024) globalCache.clear();
    globalCache.set(pattern, g);
  }
  g.lastIndex = 0;
  return g;
}

function regexOrThrow<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new Error(`Illegal regex: ${(e as Error).message}`);
  }
}

function findAll(s: string, pattern: string, limit: bigint): string[] {
  const re = regexOrThrow(() => globalRegex(pattern));
  const out: string[] = [];
  if (limit === 0n) return out;
  for (const m of s.matchAll(re)) {
    out.push(m[0]);
    if (limit > 0n && BigInt(out.length) >= limit) break;
  }
  return out;
}

// --- URLs -------------------------------------------------------------------------------------

interface ParsedURL {
  scheme: string;
  host: string;
  hostname: string;
  port: string;
  path: string;
  query: string;
}

function parseURL(s: string): ParsedURL | null {
  if (!isRequestURI(s)) return null;
  const out: ParsedURL = { scheme: "", host: "", hostname: "", port: "", path: "", query: "" };
  let rest = s.replace(/#.*$/s, "");
  const q = rest.indexOf("?");
  if (q >= 0) {
    out.query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const sm = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(rest);
  if (sm) {
    out.scheme = sm[1].toLowerCase();
    rest = sm[2];
  }
  if (rest.startsWith("//")) {
    const end = rest.slice(2).search(/\//);
    const authority = end < 0 ? rest.slice(2) : rest.slice(2, 2 + end);
    rest = end < 0 ? "" : rest.slice(2 + end);
    out.host = authority.slice(authority.lastIndexOf("@") + 1);
    const v6 = /^\[([^\]]*)\](?::(\d*))?$/.exec(out.host);
    if (v6) {
      out.hostname = v6[1];
      out.port = v6[2] ?? "";
    } else {
      const colon = out.host.lastIndexOf(":");
      out.hostname = colon < 0 ? out.host : out.host.slice(0, colon);
      out.port = colon < 0 ? "" : out.host.slice(colon + 1);
    }
  }
  out.path = rest;
  return out;
}

function urlOf(v: unknown): ParsedURL {
  const s = need(unbox(v, "@url")) as string;
  return parseURL(s)!;
}

function decodeQueryPart(s: string): string {
  try {
    return decodeURIComponent(s.replaceAll("+", " "));
  } catch {
    return s;
  }
}

// --- IPs and CIDRs ------------------------------------------------------------------------------

function strictIP(s: string): number[] {
  if (s.includes("%")) throw new Error(`IP address ${JSON.stringify(s)} with zone value is not allowed`);
  const ip = parseIP(s);
  if (!ip) throw new Error(`IP Address ${JSON.stringify(s)} parse error during conversion from string: ParseAddr(${JSON.stringify(s)}): unable to parse IP`);
  if (isIPv4Mapped(ip)) throw new Error(`IPv4-mapped IPv6 address ${JSON.stringify(s)} is not allowed`);
  return ip;
}

function strictCIDR(s: string): { ip: number[]; bits: number } {
  const c = parseCIDR(s);
  if (!c || s.includes("%")) {
    throw new Error(`network address parse error during conversion from string: netip.ParsePrefix(${JSON.stringify(s)}): invalid prefix`);
  }
  if (isIPv4Mapped(c.ip)) throw new Error(`IPv4-mapped IPv6 address ${JSON.stringify(s)} is not allowed`);
  return c;
}

function ipOf(v: unknown): number[] {
  return parseIP(need(unbox(v, "@ip")) as string)!;
}

function cidrOf(v: unknown): { ip: number[]; bits: number } {
  return parseCIDR(need(unbox(v, "@cidr")) as string)!;
}

function inPrefix(ip: number[], prefix: number[], bits: number): boolean {
  if (ip.length !== prefix.length) return false;
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if ((ip[byte] & mask) !== (prefix[byte] & mask)) return false;
  }
  return true;
}

function maskIP(ip: number[], bits: number): number[] {
  return ip.map((b, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
}

function isLoopback(ip: number[]): boolean {
  if (ip.length === 4) return ip[0] === 127;
  return ip.slice(0, 15).every((b) => b === 0) && ip[15] === 1;
}

function isLinkLocalUnicast(ip: number[]): boolean {
  if (ip.length === 4) return ip[0] === 169 && ip[1] === 254;
  return ip[0] === 0xfe && (ip[1] & 0xc0) === 0x80;
}

function isMulticast(ip: number[]): boolean {
  return ip.length === 4 ? (ip[0] & 0xf0) === 0xe0 : ip[0] === 0xff;
}

function isUnspecified(ip: number[]): boolean {
  return ip.every((b) => b === 0);
}

// --- quantities -----------------------------------------------------------------------------

/** A resource.Quantity as an exact fraction. */
interface Fraction {
  n: bigint;
  d: bigint;
}

const QUANTITY_RE = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b) [a, b] = [b, a % b];
  return a || 1n;
}

function fraction(n: bigint, d: bigint): Fraction {
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const g = gcd(n, d);
  return { n: n / g, d: d / g };
}

/** k8s.io/apimachinery resource.ParseQuantity, exact. */
export function parseQuantity(s: string): Fraction {
  const m = QUANTITY_RE.exec(s);
  if (!m) throw new Error(QUANTITY_FORMAT_ERROR);
  const numText = m[1];
  const suffix = m[2];
  const nm = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/.exec(numText);
  if (!nm || (nm[2] === "" && (nm[3] ?? "") === "")) throw new Error("unable to parse numeric part of quantity");
  const frac = nm[3] ?? "";
  let n = BigInt(`${nm[2] || "0"}${frac}`);
  if (nm[1] === "-") n = -n;
  let d = 10n ** BigInt(frac.length);
  if (Object.hasOwn(BINARY, suffix)) n *= 2n ** BigInt(BINARY[suffix]);
  else if (Object.hasOwn(DECIMAL, suffix)) {
    const e = DECIMAL[suffix];
    if (e >= 0) n *= 10n ** BigInt(e);
    else d *= 10n ** BigInt(-e);
  } else {
    const em = /^[eE]([-+]?[0-9]+)$/.exec(suffix);
    if (!em) throw new Error("unable to parse quantity's suffix");
    const e = Number(em[1]);
    if (e >= 0) n *= 10n ** BigInt(e);
    else d *= 10n ** BigInt(-e);
  }
  return fraction(n, d);
}

function quantityBox(f: Fraction): CelInput {
  return box("@quantity", `${f.n}/${f.d}`);
}

function quantityOf(v: unknown): Fraction {
  const [n, d] = (need(unbox(v, "@quantity")) as string).split("/");
  return { n: BigInt(n), d: BigInt(d) };
}

function quantityArg(v: unknown): Fraction {
  if (typeof v === "bigint") return { n: v, d: 1n };
  return quantityOf(v);
}

function compareFractions(a: Fraction, b: Fraction): number {
  const l = a.n * b.d;
  const r = b.n * a.d;
  return l < r ? -1 : l > r ? 1 : 0;
}

// --- named formats ----------------------------------------------------------------------------

function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (!examples.length) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join("or ")}regex used for validation is '${fmt}')`;
}

const DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?";
const QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const maxLen = (n: number): string => `must be no more than ${n} characters`;
const full = (fmt: string): RegExp => new RegExp(`^${fmt}$`);

function dns1123Subdomain(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 253) errs.push(maxLen(253));
  if (!full(DNS1123_SUBDOMAIN).test(s)) {
    errs.push(regexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", DNS1123_SUBDOMAIN, "example.com"));
  }
  return errs;
}

function dns1123Label(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 63) errs.push(maxLen(63));
  if (!full(DNS1123_LABEL).test(s)) {
    if (full(DNS1123_SUBDOMAIN).test(s)) errs.push("must not contain dots");
    else errs.push(regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", DNS1123_LABEL, "my-name", "123-abc"));
  }
  return errs;
}

function dns1035Label(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 63) errs.push(maxLen(63));
  if (!full(DNS1035_LABEL).test(s)) {
    errs.push(regexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", DNS1035_LABEL, "my-name", "abc-123"));
  }
  return errs;
}

function qualifiedName(s: string): string[] {
  const errs: string[] = [];
  const parts = s.split("/");
  let name: string;
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix === "") errs.push("prefix part must be non-empty");
    else errs.push(...dns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [`a qualified name ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  if (name === "") errs.push("name part must be non-empty");
  else if (name.length > 63) errs.push(`name part ${maxLen(63)}`);
  if (!full(QUALIFIED_NAME).test(name)) errs.push(`name part ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME, "MyName", "my.name", "123-abc")}`);
  return errs;
}

function labelValue(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 63) errs.push(maxLen(63));
  const fmt = `(${QUALIFIED_NAME})?`;
  if (!full(fmt).test(s)) {
    errs.push(regexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", fmt, "MyValue", "my_value", "12345"));
  }
  return errs;
}

/** apimachinery maskTrailingDash, used for generateName prefixes. */
const maskTrailingDash = (s: string): string => (s.length > 1 && s.endsWith("-") ? `${s.slice(0, -2)}a` : s);

const NAMED_FORMATS: Record<string, (s: string) => string[]> = {
  dns1123Label,
  dns1123Subdomain,
  dns1035Label,
  qualifiedName,
  dns1123LabelPrefix: (s) => dns1123Label(maskTrailingDash(s)),
  dns1123SubdomainPrefix: (s) => dns1123Subdomain(maskTrailingDash(s)),
  dns1035LabelPrefix: (s) => dns1035Label(maskTrailingDash(s)),
  labelValue,
  uri: (s) => (isRequestURI(s) ? [] : [`parse ${JSON.stringify(s)}: invalid URI for request`]),
  uuid: (s) => (checkFormat("uuid", s) ? [] : ["does not match the UUID format"]),
  byte: (s) => (checkFormat("byte", s) ? [] : ["invalid base64"]),
  date: (s) => (checkFormat("date", s) ? [] : ["invalid date"]),
  datetime: (s) => (checkFormat("datetime", s) ? [] : ["invalid datetime"]),
};

// --- declarations -----------------------------------------------------------------------------

type Any = CelInput;
const str = (v: unknown): string => v as string;

export const k8sLibrary: CelFunc[] = [
  // lists
  celMethod("isSorted", LIST, [], BOOL, function (this: CelList) {
    const vals = listValues(this);
    for (let i = 1; i < vals.length; i++) if (celCompare(vals[i - 1], vals[i]) > 0) return false;
    return true;
  }),
  celMethod("sum", LIST, [], DYN, function (this: CelList) {
    return sum(this);
  }),
  celMethod("min", LIST, [], DYN, function (this: CelList) {
    return extreme(this, "min");
  }),
  celMethod("max", LIST, [], DYN, function (this: CelList) {
    return extreme(this, "max");
  }),
  celMethod("indexOf", LIST, [DYN], INT, function (this: CelList, x: unknown) {
    const vals = listValues(this);
    return BigInt(vals.findIndex((v) => celEquals(v, x)));
  }),
  celMethod("lastIndexOf", LIST, [DYN], INT, function (this: CelList, x: unknown) {
    const vals = listValues(this);
    for (let i = vals.length - 1; i >= 0; i--) if (celEquals(vals[i], x)) return BigInt(i);
    return -1n;
  }),
  // regex
  celMethod("find", STRING, [STRING], STRING, function (this: string, pattern: string) {
    const re = regexOrThrow(() => compileGoRegex(pattern));
    return re.exec(this)?.[0] ?? "";
  }),
  celMethod("findAll", STRING, [STRING], listType(STRING), function (this: string, pattern: string) {
    return findAll(this, pattern, -1n);
  }),
  celMethod("findAll", STRING, [STRING, INT], listType(STRING), function (this: string, pattern: string, n: bigint) {
    return findAll(this, pattern, n);
  }),
  // optionals
  celFunc("optional.of", [DYN], DYN, (v) => optionalOf(v as Any)),
  celFunc("optional.none", [], DYN, () => optionalNone()),
  celFunc("optional.ofNonZeroValue", [DYN], DYN, (v) => (isZero(v) ? optionalNone() : optionalOf(v as Any))),
  celMethod("hasValue", DYN, [], BOOL, function (this: unknown) {
    return optionalContent(this).size > 0;
  }),
  celMethod("value", DYN, [], DYN, function (this: unknown) {
    const c = optionalContent(this);
    if (c.size === 0) throw new Error("optional.none() dereference");
    return c.get(0) as Any;
  }),
  celMethod("orValue", DYN, [DYN], DYN, function (this: unknown, d: unknown) {
    const c = optionalContent(this);
    return (c.size > 0 ? c.get(0) : d) as Any;
  }),
  // `x.?f` and `x[?k]`, rewritten by cel.ts into these calls
  celMethod("__optional_select__", DYN, [STRING], DYN, function (this: unknown, name: string) {
    return optionalAccess(this, name);
  }),
  celMethod("__optional_index__", DYN, [DYN], DYN, function (this: unknown, key: unknown) {
    return optionalAccess(this, key);
  }),
  celMethod("or", DYN, [DYN], DYN, function (this: unknown, other: unknown) {
    const c = optionalContent(this);
    optionalContent(other);
    return (c.size > 0 ? this : other) as Any;
  }),
  // sets
  celFunc("sets.contains", [LIST, LIST], BOOL, (a, b) => [...(b as CelList)].every((x) => [...(a as CelList)].some((y) => celEquals(x, y)))),
  celFunc("sets.equivalent", [LIST, LIST], BOOL, (a, b) => {
    const la = [...(a as CelList)];
    const lb = [...(b as CelList)];
    return la.every((x) => lb.some((y) => celEquals(x, y))) && lb.every((x) => la.some((y) => celEquals(x, y)));
  }),
  celFunc("sets.intersects", [LIST, LIST], BOOL, (a, b) => [...(a as CelList)].some((x) => [...(b as CelList)].some((y) => celEquals(x, y)))),
  // URLs
  celFunc("url", [STRING], DYN, (s) => {
    if (!parseURL(str(s))) throw new Error(`URL parse error during conversion from string: parse ${JSON.stringify(s)}: invalid URI for request`);
    return box("@url", str(s));
  }),
  celFunc("isURL", [STRING], BOOL, (s) => parseURL(str(s)) !== null),
  celMethod("getScheme", DYN, [], STRING, function (this: unknown) {
    return urlOf(this).scheme;
  }),
  celMethod("getHost", DYN, [], STRING, function (this: unknown) {
    return urlOf(this).host;
  }),
  celMethod("getHostname", DYN, [], STRING, function (this: unknown) {
    return urlOf(this).hostname;
  }),
  celMethod("getPort", DYN, [], STRING, function (this: unknown) {
    return urlOf(this).port;
  }),
  celMethod("getEscapedPath", DYN, [], STRING, function (this: unknown) {
    return urlOf(this).path;
  }),
  celMethod("getQuery", DYN, [], DYN, function (this: unknown) {
    const q = new Map<string, string[]>();
    const raw = urlOf(this).query;
    if (raw) {
      for (const part of raw.split("&")) {
        if (!part) continue;
        const eq = part.indexOf("=");
        const k = decodeQueryPart(eq < 0 ? part : part.slice(0, eq));
        const v = eq < 0 ? "" : decodeQueryPart(part.slice(eq + 1));
        q.set(k, [...(q.get(k) ?? []), v]);
      }
    }
    return q as unknown as Any;
  }),
  // IPs
  celFunc("ip", [STRING], DYN, (s) => box("@ip", formatIP(strictIP(str(s))))),
  celFunc("isIP", [STRING], BOOL, (s) => {
    try {
      strictIP(str(s));
      return true;
    } catch {
      return false;
    }
  }),
  celFunc("ip.isCanonical", [STRING], BOOL, (s) => formatIP(strictIP(str(s))) === s),
  celMethod("family", DYN, [], INT, function (this: unknown) {
    return ipOf(this).length === 4 ? 4n : 6n;
  }),
  celMethod("isUnspecified", DYN, [], BOOL, function (this: unknown) {
    return isUnspecified(ipOf(this));
  }),
  celMethod("isLoopback", DYN, [], BOOL, function (this: unknown) {
    return isLoopback(ipOf(this));
  }),
  celMethod("isLinkLocalMulticast", DYN, [], BOOL, function (this: unknown) {
    const ip = ipOf(this);
    return ip.length === 4 ? ip[0] === 224 && ip[1] === 0 && ip[2] === 0 : ip[0] === 0xff && (ip[1] & 0x0f) === 0x02;
  }),
  celMethod("isLinkLocalUnicast", DYN, [], BOOL, function (this: unknown) {
    return isLinkLocalUnicast(ipOf(this));
  }),
  celMethod("isGlobalUnicast", DYN, [], BOOL, function (this: unknown) {
    const ip = ipOf(this);
    if (ip.length === 4 && ip.every((b) => b === 255)) return false;
    return !isUnspecified(ip) && !isLoopback(ip) && !isMulticast(ip) && !isLinkLocalUnicast(ip);
  }),
  // CIDRs
  celFunc("cidr", [STRING], DYN, (s) => {
    const c = strictCIDR(str(s));
    return box("@cidr", `${formatIP(c.ip)}/${c.bits}`);
  }),
  celFunc("isCIDR", [STRING], BOOL, (s) => {
    try {
      strictCIDR(str(s));
      return true;
    } catch {
      return false;
    }
  }),
  celMethod("containsIP", DYN, [DYN], BOOL, function (this: unknown, other: unknown) {
    const c = cidrOf(this);
    const ip = typeof other === "string" ? strictIP(other) : ipOf(other);
    return inPrefix(ip, c.ip, c.bits);
  }),
  celMethod("containsCIDR", DYN, [DYN], BOOL, function (this: unknown, other: unknown) {
    const c = cidrOf(this);
    const o = typeof other === "string" ? strictCIDR(other) : cidrOf(other);
    return o.ip.length === c.ip.length && o.bits >= c.bits && inPrefix(o.ip, c.ip, c.bits);
  }),
  celMethod("ip", DYN, [], DYN, function (this: unknown) {
    return box("@ip", formatIP(cidrOf(this).ip));
  }),
  celMethod("masked", DYN, [], DYN, function (this: unknown) {
    const c = cidrOf(this);
    return box("@cidr", `${formatIP(maskIP(c.ip, c.bits))}/${c.bits}`);
  }),
  celMethod("prefixLength", DYN, [], INT, function (this: unknown) {
    return BigInt(cidrOf(this).bits);
  }),
  // quantities
  celFunc("quantity", [STRING], DYN, (s) => quantityBox(parseQuantity(str(s)))),
  celFunc("isQuantity", [STRING], BOOL, (s) => {
    try {
      parseQuantity(str(s));
      return true;
    } catch {
      return false;
    }
  }),
  celMethod("sign", DYN, [], INT, function (this: unknown) {
    const q = quantityOf(this);
    return q.n > 0n ? 1n : q.n < 0n ? -1n : 0n;
  }),
  celMethod("isInteger", DYN, [], BOOL, function (this: unknown) {
    const q = quantityOf(this);
    return q.d === 1n && q.n <= 9223372036854775807n && q.n >= -9223372036854775808n;
  }),
  celMethod("asInteger", DYN, [], INT, function (this: unknown) {
    const q = quantityOf(this);
    if (q.d !== 1n || q.n > 9223372036854775807n || q.n < -9223372036854775808n) throw new Error("cannot convert value to integer");
    return q.n;
  }),
  celMethod("asApproximateFloat", DYN, [], CelScalar.DOUBLE, function (this: unknown) {
    const q = quantityOf(this);
    return Number(q.n) / Number(q.d);
  }),
  celMethod("add", DYN, [DYN], DYN, function (this: unknown, o: unknown) {
    const a = quantityOf(this);
    const b = quantityArg(o);
    return quantityBox(fraction(a.n * b.d + b.n * a.d, a.d * b.d));
  }),
  celMethod("sub", DYN, [DYN], DYN, function (this: unknown, o: unknown) {
    const a = quantityOf(this);
    const b = quantityArg(o);
    return quantityBox(fraction(a.n * b.d - b.n * a.d, a.d * b.d));
  }),
  celMethod("isLessThan", DYN, [DYN], BOOL, function (this: unknown, o: unknown) {
    return compareFractions(quantityOf(this), quantityOf(o)) < 0;
  }),
  celMethod("isGreaterThan", DYN, [DYN], BOOL, function (this: unknown, o: unknown) {
    return compareFractions(quantityOf(this), quantityOf(o)) > 0;
  }),
  celMethod("compareTo", DYN, [DYN], INT, function (this: unknown, o: unknown) {
    return BigInt(compareFractions(quantityOf(this), quantityOf(o)));
  }),
  // named formats
  ...Object.keys(NAMED_FORMATS).map((name) => celFunc(`format.${name}`, [], DYN, () => box("@format", name))),
  celFunc("format.named", [STRING], DYN, (name) => (Object.hasOwn(NAMED_FORMATS, str(name)) ? optionalOf(box("@format", str(name))) : optionalNone())),
  celMethod("validate", DYN, [STRING], DYN, function (this: unknown, s: string) {
    const errs = NAMED_FORMATS[need(unbox(this, "@format")) as string](s);
    return errs.length ? optionalOf(errs) : optionalNone();
  }),
];

/** Names of global functions and methods the checker accepts (std, strings ext, k8s). */
export const KNOWN_FUNCTIONS = new Set([
  // std
  "size", "int", "uint", "double", "string", "bytes", "bool", "dyn", "type", "duration", "timestamp",
  "matches", "startsWith", "endsWith", "contains",
  "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getFullYear", "getHours", "getMilliseconds",
  "getMinutes", "getMonth", "getSeconds",
  // strings ext
  "charAt", "indexOf", "lastIndexOf", "lowerAscii", "upperAscii", "replace", "split", "substring", "trim", "join",
  "format", "strings.quote",
  // k8s
  ...k8sLibrary.map((f) => f.name),
]);

/** Result types (for the checker) of functions whose result is not the receiver's type. */
export const FUNCTION_RESULTS: Record<string, "bool" | "int" | "string" | "double" | "list" | "dyn"> = {
  size: "int", int: "int", uint: "int", double: "double", string: "string", bool: "bool",
  matches: "bool", startsWith: "bool", endsWith: "bool", contains: "bool",
  charAt: "string", indexOf: "int", lastIndexOf: "int", lowerAscii: "string", upperAscii: "string",
  replace: "string", split: "list", substring: "string", trim: "string", join: "string", format: "string",
  "strings.quote": "string",
  isSorted: "bool", find: "string", findAll: "list", hasValue: "bool",
  "sets.contains": "bool", "sets.equivalent": "bool", "sets.intersects": "bool",
  isURL: "bool", getScheme: "string", getHost: "string", getHostname: "string", getPort: "string",
  getEscapedPath: "string", isIP: "bool", "ip.isCanonical": "bool", family: "int", isUnspecified: "bool",
  isLoopback: "bool", isLinkLocalMulticast: "bool", isLinkLocalUnicast: "bool", isGlobalUnicast: "bool",
  isCIDR: "bool", containsIP: "bool", containsCIDR: "bool", prefixLength: "int",
  isQuantity: "bool", sign: "int", isInteger: "bool", asInteger: "int", asApproximateFloat: "double",
  isLessThan: "bool", isGreaterThan: "bool", compareTo: "int",
};
