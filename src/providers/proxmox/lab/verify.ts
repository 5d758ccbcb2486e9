/**
 * Parameter verification as PVE's JSONSchema does it: unknown parameters refused, required ones
 * present, types checked on the wire form (booleans only `1`/`0`, integers and numbers by regex),
 * then named formats, patterns, lengths, ranges and enums; property strings checked key by key.
 * Failures are a 400 `Parameter verification failed.` with one message per parameter. Values come
 * back typed: integers, numbers and booleans as numbers, arrays as string arrays.
 * @module
 */
import schemaJson from "./schema/api-schema.json" with { type: "json" };
import type { EndpointDef, LabSchema, ParamDef } from "./schema/extract.ts";
import type { LabEndpoint } from "./schema/endpoints.ts";
import { ACCESS_SCHEMA } from "./schema/access.ts";
import { paramError } from "./errors.ts";
import { parsePropertyString } from "./property-string.ts";

export const LAB_SCHEMA = schemaJson as unknown as LabSchema;

export type RawValue = string | number | boolean | null | undefined | (string | number | boolean)[];
export type RawParams = Record<string, RawValue>;
export type ParamValue = string | number | string[];
export type Params = Record<string, ParamValue>;

/** How many of each `name[n]` key a VM may have (qemu-server's MAX_* constants). */
const INDEXED_MAX: Record<string, number> = {
  net: 32, ipconfig: 32, scsi: 31, ide: 4, sata: 6, virtio: 16, unused: 256, serial: 4, usb: 14,
  hostpci: 16, numa: 8, parallel: 3, virtiofs: 10,
};

/** The schema entry for a parameter name (`net3` → `net[n]`). */
export function schemaKey(name: string, props: Record<string, ParamDef>): string | undefined {
  if (props[name]) return name;
  const m = /^([a-z]+)(\d+)$/.exec(name);
  if (!m || String(Number(m[2])) !== m[2]) return undefined;
  const key = `${m[1]}[n]`;
  return props[key] && Number(m[2]) < (INDEXED_MAX[m[1]!] ?? 0) ? key : undefined;
}

const isInteger = (v: string) => /^[+-]?\d+$/.test(v);
const isNumber = (v: string) => /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.test(v);

// ---- named formats -------------------------------------------------------------------------

const NAME_RE = "[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?";
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const CONTENT_TYPES = ["images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"];

function isIPv6(v: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(v) || !v.includes(":")) return false;
  try {
    return new URL(`http://[${v}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

function checkCidr(v: string, family: 4 | 6): boolean {
  const [addr, mask, extra] = v.split("/");
  if (extra !== undefined || mask === undefined || !/^\d+$/.test(mask)) return false;
  return family === 4 ? IPV4_RE.test(addr!) && Number(mask) <= 32 : isIPv6(addr!) && Number(mask) <= 128;
}

/** Named hash formats that the API dump lists only by name. */
export const NAMED_PROPERTY_FORMATS: Record<string, Record<string, ParamDef>> = {
  "pve-qm-ipconfig": {
    ip: { type: "string", optional: 1, format: "pve-ipv4-config" },
    gw: { type: "string", optional: 1, format: "ipv4" },
    ip6: { type: "string", optional: 1, format: "pve-ipv6-config" },
    gw6: { type: "string", optional: 1, format: "ipv6" },
  },
  "pve-qm-cicustom": {
    meta: { type: "string", optional: 1, format: "pve-volume-id" },
    network: { type: "string", optional: 1, format: "pve-volume-id" },
    user: { type: "string", optional: 1, format: "pve-volume-id" },
    vendor: { type: "string", optional: 1, format: "pve-volume-id" },
  },
  "pve-qm-smbios1": {
    uuid: { type: "string", optional: 1, pattern: "[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}" },
    version: { type: "string", optional: 1 },
    serial: { type: "string", optional: 1 },
    manufacturer: { type: "string", optional: 1 },
    product: { type: "string", optional: 1 },
    sku: { type: "string", optional: 1 },
    family: { type: "string", optional: 1 },
    base64: { type: "boolean", optional: 1 },
  },
  "pve-qm-boot": {
    legacy: { type: "string", optional: 1, default_key: 1, pattern: "[acdn]{1,4}" },
    order: { type: "string", optional: 1 },
  },
};

/** Throws the format's error text (without the `invalid format - ` prefix). */
function checkNamedFormat(format: string, value: string, path: string): void {
  const list = format.endsWith("-list") ? format.slice(0, -5) : undefined;
  if (list && !NAMED_PROPERTY_FORMATS[format]) {
    for (const item of value.split(/[;,\s]+/).filter(Boolean)) checkNamedFormat(list, item, path);
    return;
  }
  const fail = (msg: string): never => {
    throw new Error(`${msg}\n`);
  };
  switch (format) {
    case "pve-vmid":
      if (!/^[1-9][0-9]{2,8}$/.test(value)) fail("value does not look like a valid VM ID");
      return;
    case "pve-userid":
      if (value.length < 3) fail(`user name '${value}' is too short`);
      if (value.length > 64) fail(`user name '${value}' is too long (${value.length} > 64)`);
      if (!/^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$/.test(value)) fail(`value '${value}' does not look like a valid user name`);
      return;
    case "pve-node":
      if (!new RegExp(`^${NAME_RE}$`).test(value)) fail("value does not look like a valid node name");
      return;
    case "dns-name":
      if (!new RegExp(`^(${NAME_RE}\\.)*${NAME_RE}$`).test(value)) fail("value does not look like a valid DNS name");
      return;
    case "pve-storage-id":
      if (!/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(value)) fail(`storage ID '${value}' contains illegal characters`);
      return;
    case "pve-configid":
      if (!/^[a-z][a-z0-9_-]+$/i.test(value)) fail(`invalid configuration ID '${value}'`);
      return;
    case "pve-tag":
      if (!/^[a-z0-9_][a-z0-9_\-+.]*$/i.test(value)) fail("invalid characters in tag");
      return;
    case "urlencoded":
      if (!/^[-%a-zA-Z0-9_.!~*'()]*$/.test(value)) fail(`invalid urlencoded string: ${value}`);
      return;
    case "address":
      if (!IPV4_RE.test(value) && !isIPv6(value)) fail(`value does not look like a valid address: ${value}`);
      return;
    case "ipv4":
      if (!IPV4_RE.test(value)) fail("value does not look like a valid IPv4 address");
      return;
    case "ipv6":
      if (!isIPv6(value)) fail("value does not look like a valid IPv6 address");
      return;
    case "pve-ipv4-config":
      if (value !== "dhcp" && !checkCidr(value, 4)) fail("value does not look like a valid ipv4 network configuration");
      return;
    case "pve-ipv6-config":
      if (value !== "dhcp" && value !== "auto" && !checkCidr(value, 6)) fail("value does not look like a valid ipv6 network configuration");
      return;
    case "mac-addr":
      if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(value) || (parseInt(value.slice(0, 2), 16) & 1) === 1) fail("value does not look like a valid unicast MAC address");
      return;
    case "pve-volume-id":
      if (!/^[a-z][a-z0-9\-_.]*[a-z0-9]:.+$/i.test(value)) fail(`unable to parse volume ID '${value}'`);
      return;
    case "pve-volume-id-or-qm-path":
      if (value !== "none" && value !== "cdrom" && !value.startsWith("/") && !/^[a-z][a-z0-9\-_.]*[a-z0-9]:.+$/i.test(value)) fail(`unable to parse volume ID '${value}'`);
      return;
    case "disk-size":
      if (!/^(\d+(\.\d+)?)([KMGT])?$/.test(value)) fail(`value does not look like a valid disk size: ${value}`);
      return;
    case "pve-storage-content":
      if (!CONTENT_TYPES.includes(value)) fail(`invalid content type '${value}'`);
      return;
    case "pve-bridge-id":
      if (!/^[-_.\w\d]+$/.test(value)) fail(`invalid bridge ID '${value}'`);
      return;
    default:
      if (NAMED_PROPERTY_FORMATS[format]) {
        checkPropertyString(NAMED_PROPERTY_FORMATS[format]!, value, path, format === "pve-qm-boot" ? "legacy" : undefined);
        return;
      }
      // A format the lab does not interpret is accepted as written.
      return;
  }
}

function checkPropertyString(format: Record<string, ParamDef>, value: string, path: string, defaultKey?: string): void {
  const dk = defaultKey ?? Object.keys(format).find((k) => format[k]!.default_key);
  let map: Record<string, string>;
  try {
    map = parsePropertyString(value, dk);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n`);
  }
  const resolved: Record<string, string> = {};
  for (const [k, v] of Object.entries(map)) {
    const def = format[k];
    if (!def) throw new Error(`invalid key in comma-separated list property: ${k}\n`);
    if (def.alias) {
      // `virtio=MAC` names the model by its key (PVE's keyAlias).
      if (format.model?.enum?.includes(k)) resolved.model = k;
      resolved[def.alias] = v;
    } else resolved[k] = v;
  }
  const errors: Record<string, string> = {};
  for (const [k, def] of Object.entries(format)) {
    if (def.alias) continue;
    const sub = `${path}.${k}`;
    const v = resolved[k];
    if (v === undefined) {
      if (!def.optional && !def.default_key) errors[sub] = "property is missing and it is not optional";
      continue;
    }
    let val = v;
    if (def.type === "boolean") {
      if (/^(1|on|yes|true)$/i.test(v)) val = "1";
      else if (/^(0|off|no|false)$/i.test(v)) val = "0";
    }
    const err = checkScalar(def, val, sub);
    if (err) errors[sub] = err;
  }
  const lines = Object.entries(errors).map(([k, m]) => `${k}: ${m.replace(/\n$/, "")}\n`);
  if (lines.length) throw new Error(`format error\n${lines.join("")}`);
}

/** Checks one wire value against its definition; returns PVE's error text or undefined. */
function checkScalar(def: ParamDef, value: string, path: string): string | undefined {
  const type = def.type ?? "string";
  if (type === "boolean" && value !== "1" && value !== "0") return `type check ('boolean') failed - got '${value}'`;
  if (type === "integer" && !isInteger(value)) return `type check ('integer') failed - got '${value}'`;
  if (type === "number" && !isNumber(value)) return `type check ('number') failed - got '${value}'`;
  if (def.format) {
    try {
      if (typeof def.format === "string") checkNamedFormat(def.format, value, path);
      else checkPropertyString(def.format, value, path);
    } catch (e) {
      return `invalid format - ${(e as Error).message}`;
    }
  }
  if (def.pattern && !new RegExp(`^(?:${perlPattern(def.pattern)})$`).test(value)) return "value does not match the regex pattern";
  if (def.maxLength !== undefined && value.length > def.maxLength) return `value may only be ${def.maxLength} characters long`;
  if (def.minLength !== undefined && value.length < def.minLength) return `value must be at least ${def.minLength} characters long`;
  if (isNumber(value)) {
    if (def.maximum !== undefined && Number(value) > def.maximum) return `value must have a maximum value of ${def.maximum}`;
    if (def.minimum !== undefined && Number(value) < def.minimum) return `value must have a minimum value of ${def.minimum}`;
  }
  if (def.enum && !def.enum.includes(value)) return `value '${value}' does not have a value in the enumeration '${def.enum.join(", ")}'`;
  return undefined;
}

/** Perl's stringified `qr//` (`(?^:...)`) as a JS pattern. */
function perlPattern(p: string): string {
  return p.replace(/\(\?\^:/g, "(?:");
}

function toWire(v: string | number | boolean): string {
  return v === true ? "1" : v === false ? "0" : String(v);
}

/**
 * Verifies `raw` (path parameters merged in) against the endpoint's schema. Returns typed values,
 * or throws a 400 naming every bad parameter.
 */
export function verifyParams(endpoint: LabEndpoint, raw: RawParams): Params {
  const def: EndpointDef = LAB_SCHEMA[endpoint] ?? ACCESS_SCHEMA[endpoint]!;
  const errors: Record<string, string> = {};
  const out: Params = {};
  for (const [name, rawValue] of Object.entries(raw)) {
    if (rawValue === undefined || rawValue === null) continue;
    const key = schemaKey(name, def.properties);
    const pdef = key ? def.properties[key] : undefined;
    if (!pdef) {
      if (!def.additionalProperties) errors[name] = "property is not defined in schema and the schema does not allow additional properties";
      else out[name] = Array.isArray(rawValue) ? rawValue.map(toWire) : toWire(rawValue);
      continue;
    }
    if (pdef.type === "array") {
      const items = (Array.isArray(rawValue) ? rawValue : [rawValue]).map(toWire);
      const bad = pdef.items ? items.map((v, i) => checkScalar(pdef.items!, v, `${name}[${i}]`)).find(Boolean) : undefined;
      if (bad) errors[name] = bad;
      else out[name] = items;
      continue;
    }
    if (Array.isArray(rawValue)) {
      errors[name] = `type check ('${pdef.type ?? "string"}') failed - got ARRAY`;
      continue;
    }
    const wire = toWire(rawValue);
    const err = checkScalar(pdef, wire, name);
    if (err) {
      errors[name] = err;
      continue;
    }
    out[name] = pdef.type === "integer" || pdef.type === "number" || pdef.type === "boolean" ? Number(wire) : wire;
  }
  for (const [name, pdef] of Object.entries(def.properties)) {
    if (name.endsWith("[n]") || pdef.optional || pdef.alias) continue;
    if (out[name] === undefined && !errors[name]) errors[name] = "property is missing and it is not optional";
  }
  for (const [name, pdef] of Object.entries(def.properties)) {
    if (pdef.requires && out[name] !== undefined && out[pdef.requires] === undefined) errors[pdef.requires] = `missing property required by '${name}'`;
  }
  if (Object.keys(errors).length) paramError(errors);
  return out;
}
