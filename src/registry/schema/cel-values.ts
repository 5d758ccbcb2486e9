/**
 * JSON values as CEL sees them under a CRD schema (k8s.io/apiserver/pkg/cel/common values):
 * integers are CEL `int` (bigint), numbers `double`, objects maps keyed by their escaped property
 * names (`__namespace__`, `a__dash__b`; properties that cannot be escaped are invisible),
 * `additionalProperties` objects plain string-keyed maps, arrays lists, int-or-string and
 * preserve-unknown-fields values dynamic, `format: byte` strings bytes, `date`/`date-time`
 * timestamps and `duration` durations. At a resource root (and in an embedded resource) only
 * `apiVersion`, `kind` and `metadata.name`/`metadata.generateName` are visible besides the
 * schema's own properties.
 *
 * Also the JSON helpers rule evaluation and ratcheting share: deep equality and the correlation
 * of `x-kubernetes-list-type: map` items by key.
 * @module
 */

import type { CelInput } from "@bufbuild/cel";
import { parseGoDuration } from "./formats.ts";
import { getOwn, hasOwn, isObject } from "./own.ts";
import { additionalSchema, itemsOf, propertyOf, stringList, stringOf } from "./schema-types.ts";
import type { JSONSchemaProps } from "./types.ts";

// --- property name escaping -------------------------------------------------------------------

const RESERVED = new Set(
  "true false null in as break const continue else for function if import let loop package namespace return var void while".split(" "),
);

/** The CEL field name of an object property (k8s.io/apiserver/pkg/cel Escape), or undefined. */
export function celEscape(ident: string): string | undefined {
  if (ident === "" || (ident[0] >= "0" && ident[0] <= "9")) return undefined;
  if (RESERVED.has(ident)) return `__${ident}__`;
  if (!/^[A-Za-z0-9_./-]+$/.test(ident)) return undefined;
  return ident.replace(/__|[./-]/g, (m) =>
    m === "__" ? "__underscores__" : m === "." ? "__dot__" : m === "-" ? "__dash__" : "__slash__",
  );
}

// --- values -------------------------------------------------------------------------------------

export type Memo = Map<object, { s: JSONSchemaProps | undefined; embedded: boolean; v: CelInput }>;

function genericToCel(v: unknown): CelInput {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(genericToCel);
  if (isObject(v)) {
    const m = new Map<string, CelInput>();
    for (const k of Object.keys(v)) m.set(k, genericToCel(v[k]));
    return m;
  }
  return v as CelInput;
}

function timestampOf(s: string): CelInput | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?$/.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(m[2] ? `${m[1]}T${m[2]}${m[4].toUpperCase()}` : `${m[1]}T00:00:00Z`);
  if (Number.isNaN(ms)) return undefined;
  const nanos = m[3] ? Number(m[3].slice(1).padEnd(9, "0").slice(0, 9)) : 0;
  return { $typeName: "google.protobuf.Timestamp", seconds: BigInt(Math.floor(ms / 1000)), nanos } as unknown as CelInput;
}

function durationOf(s: string): CelInput | undefined {
  const ns = parseGoDuration(s);
  if (ns === null) return undefined;
  const seconds = Math.trunc(ns / 1e9);
  return { $typeName: "google.protobuf.Duration", seconds: BigInt(seconds), nanos: Math.round(ns - seconds * 1e9) } as unknown as CelInput;
}

function bytesOf(s: string): CelInput | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(s, "base64"));
}

function metaToCel(v: unknown): CelInput {
  const m = new Map<string, CelInput>();
  if (isObject(v)) {
    const name = getOwn(v, "name");
    const generateName = getOwn(v, "generateName");
    if (typeof name === "string") m.set("name", name);
    if (typeof generateName === "string") m.set("generateName", generateName);
  }
  return m;
}

/** Converts a JSON value to its CEL representation under a schema. */
export function toCel(v: unknown, s: JSONSchemaProps | undefined, embedded = false, memo?: Memo): CelInput {
  if (v === null || v === undefined) return null;
  if (!isObject(s)) return genericToCel(v);
  if (typeof v === "object" && memo) {
    const hit = memo.get(v as object);
    if (hit && hit.s === s && hit.embedded === embedded) return hit.v;
  }
  const out = convert(v, s, embedded, memo);
  if (typeof v === "object" && memo) memo.set(v as object, { s, embedded, v: out });
  return out;
}

function convert(v: unknown, s: JSONSchemaProps, embedded: boolean, memo?: Memo): CelInput {
  if (s["x-kubernetes-int-or-string"] === true) return genericToCel(v);
  switch (s.type) {
    case "integer":
      return typeof v === "number" && Number.isInteger(v) ? BigInt(v) : genericToCel(v);
    case "number":
      return typeof v === "number" ? v : genericToCel(v);
    case "string":
      if (typeof v !== "string") return genericToCel(v);
      switch (stringOf(s.format)) {
        case "byte":
          return bytesOf(v) ?? v;
        case "date":
        case "date-time":
          return timestampOf(v) ?? v;
        case "duration":
          return durationOf(v) ?? v;
      }
      return v;
    case "array": {
      if (!Array.isArray(v)) return genericToCel(v);
      const items = itemsOf(s);
      const itemEmbedded = items?.["x-kubernetes-embedded-resource"] === true;
      return v.map((x) => toCel(x, items, itemEmbedded, memo));
    }
    case "object": {
      if (!isObject(v)) return genericToCel(v);
      const m = new Map<string, CelInput>();
      const ap = additionalSchema(s);
      if (ap) {
        const apEmbedded = ap["x-kubernetes-embedded-resource"] === true;
        for (const k of Object.keys(v)) m.set(k, toCel(v[k], ap, apEmbedded, memo));
        return m;
      }
      if (!isObject(s.properties) && !embedded) return genericToCel(v);
      for (const k of Object.keys(v)) {
        if (embedded && (k === "apiVersion" || k === "kind")) {
          m.set(k, genericToCel(v[k]));
          continue;
        }
        if (embedded && k === "metadata") {
          m.set(k, metaToCel(v[k]));
          continue;
        }
        const prop = propertyOf(s, k);
        if (!prop) continue;
        const name = celEscape(k);
        if (name !== undefined) m.set(name, toCel(v[k], prop, prop["x-kubernetes-embedded-resource"] === true, memo));
      }
      return m;
    }
  }
  return genericToCel(v);
}

export function deepEqualJSON(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqualJSON(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!hasOwn(b, k) || !deepEqualJSON((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** Old items of a `x-kubernetes-list-type: map` list, looked up by the new item's keys. */
export function mapListLookup(s: JSONSchemaProps, old: unknown): ((item: unknown) => unknown) | undefined {
  const keys = stringList(s["x-kubernetes-list-map-keys"]);
  if (s["x-kubernetes-list-type"] !== "map" || !keys.length || !Array.isArray(old)) return undefined;
  const keyOf = (item: unknown): string | undefined => {
    if (!isObject(item)) return undefined;
    return JSON.stringify(keys.map((k) => getOwn(item, k) ?? null));
  };
  const index = new Map<string, unknown>();
  for (const item of old) {
    const k = keyOf(item);
    if (k !== undefined && !index.has(k)) index.set(k, item);
  }
  return (item) => {
    const k = keyOf(item);
    return k === undefined ? undefined : index.get(k);
  };
}
