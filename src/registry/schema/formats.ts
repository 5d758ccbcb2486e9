/**
 * The string formats kube-apiserver checks in CRD schemas (kube-openapi's strfmt registry,
 * restricted to the formats apiextensions keeps), plus the IP/CIDR parsing they and the CEL
 * `ip()`/`cidr()` library share. Every other format (`int32`, `int64`, `float`, `double`, custom
 * names) is stripped by kube-apiserver and therefore ignored here.
 * @module
 */

/** Format names apiextensions-apiserver validates, after removing `-` (`date-time` → `datetime`). */
const SUPPORTED = new Set([
  "bsonobjectid",
  "uri",
  "email",
  "hostname",
  "ipv4",
  "ipv6",
  "cidr",
  "mac",
  "uuid",
  "uuid3",
  "uuid4",
  "uuid5",
  "isbn",
  "isbn10",
  "isbn13",
  "creditcard",
  "ssn",
  "hexcolor",
  "rgbcolor",
  "byte",
  "password",
  "date",
  "duration",
  "datetime",
]);

export function normalizeFormat(format: string): string {
  return format.replaceAll("-", "");
}

/** True when kube-apiserver validates values against this format. */
export function isSupportedFormat(format: string | undefined): boolean {
  return !!format && SUPPORTED.has(normalizeFormat(format));
}

// --- IP addresses -----------------------------------------------------------------------------

/**
 * Parses dotted-quad IPv4. `sloppy` accepts leading zeros as decimal (k8s.io/utils/net
 * ParseIPSloppy, used by the `ipv4`/`cidr` formats); strict mode rejects them (net/netip).
 */
export function parseIPv4(s: string, sloppy = false): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return null;
    if (!sloppy && p.length > 1 && p[0] === "0") return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** Parses IPv6 (with `::` and a trailing dotted quad) into 16 bytes; zones are rejected. */
export function parseIPv6(s: string, sloppy = false): number[] | null {
  if (s.includes("%")) return null;
  let head = s;
  let tail = "";
  const dbl = s.indexOf("::");
  if (dbl >= 0) {
    if (s.indexOf("::", dbl + 1) >= 0) return null;
    head = s.slice(0, dbl);
    tail = s.slice(dbl + 2);
  }
  const parseGroups = (text: string, allowV4: boolean): number[] | null => {
    if (text === "") return [];
    const groups = text.split(":");
    const bytes: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (allowV4 && i === groups.length - 1 && g.includes(".")) {
        const v4 = parseIPv4(g, sloppy);
        if (!v4) return null;
        bytes.push(...v4);
        continue;
      }
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
      const n = parseInt(g, 16);
      bytes.push(n >> 8, n & 0xff);
    }
    return bytes;
  };
  const hb = parseGroups(head, dbl < 0);
  const tb = dbl >= 0 ? parseGroups(tail, true) : [];
  if (!hb || !tb) return null;
  if (dbl < 0) return hb.length === 16 ? hb : null;
  const fill = 16 - hb.length - tb.length;
  if (fill < 2) return null;
  return [...hb, ...new Array<number>(fill).fill(0), ...tb];
}

/** 4 bytes for IPv4, 16 for IPv6, or null. */
export function parseIP(s: string, sloppy = false): number[] | null {
  if (s.includes(":")) return parseIPv6(s, sloppy);
  return parseIPv4(s, sloppy);
}

export interface ParsedCIDR {
  ip: number[];
  bits: number;
}

/** `addr/bits`; strict mode rejects leading zeros in the prefix length and the address. */
export function parseCIDR(s: string, sloppy = false): ParsedCIDR | null {
  const slash = s.indexOf("/");
  if (slash < 0) return null;
  const ip = parseIP(s.slice(0, slash), sloppy);
  const len = s.slice(slash + 1);
  if (!ip || !/^[0-9]{1,3}$/.test(len)) return null;
  if (!sloppy && len.length > 1 && len[0] === "0") return null;
  const bits = Number(len);
  if (bits > ip.length * 8) return null;
  return { ip, bits };
}

/** True for IPv6 addresses of the form ::ffff:a.b.c.d. */
export function isIPv4Mapped(ip: number[]): boolean {
  return ip.length === 16 && ip.slice(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6. */
export function formatIP(ip: number[]): string {
  if (ip.length === 4) return ip.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip[i] << 8) | ip[i + 1]);
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
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

// --- other formats ----------------------------------------------------------------------------

const HOSTNAME =
  /^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$/u;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID3 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID4 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const UUID5 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;
const DATE_TIME_TAIL = /^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$/;
const RGB_PART = "\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*";
const RGB = new RegExp(`^rgb\\(${RGB_PART},${RGB_PART},${RGB_PART}\\)$`);

export function isHostname(s: string): boolean {
  if (!HOSTNAME.test(s) || Buffer.byteLength(s) > 255) return false;
  return s.split(".").every((p) => Buffer.byteLength(p) <= 63);
}

/** Go `time.Parse("2006-01-02", s)`. */
export function isDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1) return false;
  const days = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return d <= days[mo - 1];
}

/** kube-openapi `IsDateTime`: RFC 3339 date, `T`, time with optional fraction and zone. */
export function isDateTime(s: string): boolean {
  if (s.length < 4) return false;
  const parts = s.toLowerCase().split("t");
  if (parts.length < 2 || !isDate(parts[0])) return false;
  const m = DATE_TIME_TAIL.exec(parts[1]);
  if (!m) return false;
  return m[1] <= "23" && m[2] <= "59" && m[3] <= "59";
}

const GO_DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "µs": 1e3,
  "μs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go `time.ParseDuration`, in nanoseconds (float), or null. */
export function parseGoDuration(s: string): number | null {
  const m = /^([-+]?)(.*)$/.exec(s)!;
  let rest = m[2];
  if (rest === "0") return 0;
  if (rest === "") return null;
  let total = 0;
  while (rest !== "") {
    const part = /^(\d*)(\.\d*)?(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!part || (part[1] === "" && (part[2] === undefined || part[2] === "."))) return null;
    total += Number(`${part[1] || "0"}${part[2] ?? ""}`) * GO_DURATION_UNITS[part[3]];
    rest = rest.slice(part[0].length);
  }
  return m[1] === "-" ? -total : total;
}

const SCALA_UNITS: [string[], number][] = [
  [["ns", "nano"], 1],
  [["us", "µs", "micro"], 1e3],
  [["ms", "milli"], 1e6],
  [["s", "sec"], 1e9],
  [["m", "min"], 60e9],
  [["h", "hr", "hour"], 3600e9],
  [["d", "day"], 86400e9],
  [["w", "wk", "week"], 7 * 86400e9],
];

/** kube-openapi `IsDuration`: Go durations, or `<n> <unit>` groups in scala style. */
export function isDuration(s: string): boolean {
  if (parseGoDuration(s) !== null) return true;
  let ok = false;
  for (const m of s.matchAll(/((\d+)\s*([A-Za-zµ]+))/g)) {
    const unit = m[3].trim().toLowerCase();
    for (const [variants] of SCALA_UNITS) {
      const last = variants.length - 1;
      variants.forEach((v, i) => {
        if ((i === last && unit.startsWith(v)) || v === unit) ok = true;
      });
    }
  }
  return ok;
}

/** Go `net.ParseMAC`. */
export function isMAC(s: string): boolean {
  if (/^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2})*$/.test(s)) {
    const n = s.split(/[:-]/).length;
    return n === 6 || n === 8 || n === 20;
  }
  if (/^[0-9A-Fa-f]{4}(\.[0-9A-Fa-f]{4})+$/.test(s)) {
    const n = s.split(".").length * 2;
    return n === 6 || n === 8 || n === 20;
  }
  return false;
}

/** govalidator `IsRequestURI` (Go `url.ParseRequestURI`): absolute URL or absolute path. */
export function isRequestURI(s: string): boolean {
  if (s === "" || /[\x00-\x1f\x7f]/.test(s)) return false;
  if (s === "*" || s.startsWith("/")) return true;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(s);
  if (!m) return false;
  if (!m[2].startsWith("//")) return true; // opaque (`mailto:x`) or rooted path
  const authority = m[2].slice(2).split(/[/?#]/, 1)[0];
  const host = authority.slice(authority.lastIndexOf("@") + 1);
  if (host.startsWith("[")) return /^\[[0-9A-Fa-f:.]+(%[^\]]*)?\](:\d*)?$/.test(host);
  return /^[^\s[\]<>"{}|\\^`]*$/.test(host) && (host.match(/:/g)?.length ?? 0) <= 1;
}

/** Go `net/mail.ParseAddress` (approximation: `local@domain` or `Name <local@domain>`). */
export function isEmail(s: string): boolean {
  const m = /^(?:[^<>]*<([^<>]+)>|([^<>\s]+))$/.exec(s.trim());
  const addr = m?.[1] ?? m?.[2];
  return !!addr && /^[^\s@"(),:;<>[\\\]]+@[^\s@"(),:;<>[\\\]]+$/.test(addr) && !addr.endsWith(".");
}

function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = Number(digits[i]);
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

const CREDIT_CARD =
  /^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11}|6[27][0-9]{14})$/;

function isISBN10(s: string): boolean {
  const v = s.replace(/[\s-]/g, "");
  if (!/^(?:[0-9]{9}X|[0-9]{10})$/.test(v)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (i + 1) * Number(v[i]);
  sum += v[9] === "X" ? 100 : 10 * Number(v[9]);
  return sum % 11 === 0;
}

function isISBN13(s: string): boolean {
  const v = s.replace(/[\s-]/g, "");
  if (!/^(?:[0-9]{13})$/.test(v)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(v[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10 === Number(v[12]);
}

/**
 * Checks `value` against a format: true/false for formats kube-apiserver validates, undefined
 * for formats it ignores.
 */
export function checkFormat(format: string, value: string): boolean | undefined {
  switch (normalizeFormat(format)) {
    case "bsonobjectid":
      return /^[0-9a-fA-F]{24}$/.test(value);
    case "uri":
      return isRequestURI(value);
    case "email":
      return isEmail(value);
    case "hostname":
      return isHostname(value);
    case "ipv4":
      return parseIP(value, true) !== null && value.includes(".");
    case "ipv6":
      return parseIP(value, true) !== null && value.includes(":");
    case "cidr":
      return parseCIDR(value, true) !== null;
    case "mac":
      return isMAC(value);
    case "uuid":
      return UUID.test(value);
    case "uuid3":
      return UUID3.test(value);
    case "uuid4":
      return UUID4.test(value);
    case "uuid5":
      return UUID5.test(value);
    case "isbn":
      return isISBN10(value) || isISBN13(value);
    case "isbn10":
      return isISBN10(value);
    case "isbn13":
      return isISBN13(value);
    case "creditcard": {
      const digits = value.replace(/[^0-9]/g, "");
      return CREDIT_CARD.test(digits) && luhn(digits);
    }
    case "ssn":
      return /^\d{3}[- ]?\d{2}[- ]?\d{4}$/.test(value);
    case "hexcolor":
      return /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(value);
    case "rgbcolor":
      return RGB.test(value);
    case "byte":
      return BASE64.test(value);
    case "password":
      return true;
    case "date":
      return isDate(value);
    case "duration":
      return isDuration(value);
    case "datetime":
      return isDateTime(value);
  }
  return undefined;
}
