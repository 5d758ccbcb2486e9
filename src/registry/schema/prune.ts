/**
 * Structural pruning of custom resources: fields the schema does not specify are removed, as
 * kube-apiserver does on every decode (and reports under `fieldValidation=Strict|Warn`). Keys are
 * data: only own properties count (`__proto__`, `constructor`, … are ordinary keys).
 * @module
 */

import { isObject } from "./own.ts";
import { additionalOf as additionalKeyword, hasDefault, itemsOf, propertyOf } from "./schema-types.ts";
import type { JSONSchemaProps } from "./types.ts";

const META_FIELDS = new Set(["apiVersion", "kind", "metadata"]);

function childPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/** The schema for values under `additionalProperties`: a schema, or `null` for `true`/`false`. */
function additionalOf(s: JSONSchemaProps): JSONSchemaProps | null | undefined {
  const ap = additionalKeyword(s);
  if (ap === undefined) return undefined;
  return typeof ap === "object" ? ap : null;
}

function prune(x: unknown, s: JSONSchemaProps | undefined, embedded: boolean, path: string, unknown: string[]): void {
  if (s?.["x-kubernetes-preserve-unknown-fields"]) {
    skipPrune(x, s, embedded, path, unknown);
    return;
  }
  if (Array.isArray(x)) {
    const item = itemsOf(s);
    for (let i = 0; i < x.length; i++) {
      prune(x[i], item, item?.["x-kubernetes-embedded-resource"] === true, `${path}[${i}]`, unknown);
    }
    return;
  }
  if (!isObject(x)) return;
  if (!s) {
    for (const k of Object.keys(x)) {
      unknown.push(childPath(path, k));
      delete x[k];
    }
    return;
  }
  for (const k of Object.keys(x)) {
    if (embedded && META_FIELDS.has(k)) continue;
    const prop = propertyOf(s, k);
    if (prop) {
      prune(x[k], prop, prop["x-kubernetes-embedded-resource"] === true, childPath(path, k), unknown);
      continue;
    }
    const ap = additionalOf(s);
    if (ap !== undefined) {
      prune(x[k], ap ?? undefined, ap?.["x-kubernetes-embedded-resource"] === true, childPath(path, k), unknown);
      continue;
    }
    if (!META_FIELDS.has(k) || path !== "") unknown.push(childPath(path, k));
    delete x[k];
  }
}

/** Below `x-kubernetes-preserve-unknown-fields`: keep unknown fields, but prune inside known ones. */
function skipPrune(x: unknown, s: JSONSchemaProps, embedded: boolean, path: string, unknown: string[]): void {
  if (Array.isArray(x)) {
    const item = itemsOf(s);
    if (!item) return;
    for (let i = 0; i < x.length; i++) {
      skipPrune(x[i], item, item["x-kubernetes-embedded-resource"] === true, `${path}[${i}]`, unknown);
    }
    return;
  }
  if (!isObject(x)) return;
  for (const k of Object.keys(x)) {
    if (embedded && META_FIELDS.has(k)) continue;
    const prop = propertyOf(s, k);
    if (prop) {
      prune(x[k], prop, prop["x-kubernetes-embedded-resource"] === true, childPath(path, k), unknown);
      continue;
    }
    const ap = additionalOf(s);
    if (ap !== undefined) {
      prune(x[k], ap ?? undefined, ap?.["x-kubernetes-embedded-resource"] === true, childPath(path, k), unknown);
    }
  }
}

/**
 * Removes, in place, every field of `obj` the structural schema does not specify and returns
 * their paths sorted (`spec.foo`, `spec.items[0].bar`), as kube-apiserver reports them in
 * `strict decoding error: unknown field "spec.foo"`.
 *
 * `x-kubernetes-preserve-unknown-fields` keeps unknown fields (known ones are still pruned
 * inside); `additionalProperties` keeps every key; an `x-kubernetes-embedded-resource` keeps
 * `apiVersion`, `kind` and `metadata` untouched. With `root: true` the schema is the resource
 * root, which is treated as an embedded resource: `apiVersion`, `kind` and `metadata` are always
 * kept and never pruned inside (metadata has its own coercion).
 */
export function pruneUnknown(obj: unknown, schema: JSONSchemaProps | undefined, opts: { root?: boolean } = {}): string[] {
  const unknown: string[] = [];
  const given = isObject(schema) ? schema : undefined;
  const s = opts.root ? (given ?? {}) : given;
  const embedded = opts.root === true || s?.["x-kubernetes-embedded-resource"] === true;
  prune(obj, s, embedded, "", unknown);
  return unknown.sort(compareBytes);
}

/** Go's `sort.Strings` order (byte-wise on UTF-8). */
function compareBytes(a: string, b: string): number {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return Buffer.compare(ba, bb);
}

function nonNullableWithoutDefault(s: JSONSchemaProps | undefined): boolean {
  return s !== undefined && s.nullable !== true && !hasDefault(s);
}

/**
 * Removes, in place, `null` values of object fields whose schema is not `nullable: true`, as
 * kube-apiserver does after pruning (e.g. `selector: {matchLabels: }` in YAML templates). Nulls of
 * fields with a `default` are left for `applyDefaults`, which replaces them; nulls of fields the
 * schema does not specify and list items are left alone.
 */
export function dropNulls(obj: unknown, schema: JSONSchemaProps | undefined): void {
  if (!isObject(schema)) schema = undefined;
  if (Array.isArray(obj)) {
    const item = itemsOf(schema);
    for (const v of obj) dropNulls(v, item);
    return;
  }
  if (!isObject(obj)) return;
  for (const k of Object.keys(obj)) {
    let s: JSONSchemaProps | undefined;
    if (schema) {
      s = propertyOf(schema, k);
      if (!s) s = additionalOf(schema) ?? undefined;
    }
    const v = obj[k];
    if (v === null && nonNullableWithoutDefault(s)) delete obj[k];
    else dropNulls(v, s);
  }
}
