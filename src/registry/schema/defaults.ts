/**
 * Structural defaulting of custom resources, as kube-apiserver applies `default`s on decode
 * (after pruning and dropping non-nullable nulls). Keys are data (`__proto__` included: own
 * properties only, never a prototype); `default: null` is no default, as Go decodes it.
 * @module
 */

import { hasOwn, isObject, setOwn } from "./own.ts";
import { additionalSchema, hasDefault, itemsOf, propertyEntries, propertyOf } from "./schema-types.ts";
import type { JSONSchemaProps } from "./types.ts";

/** Deep copy of a JSON value (own keys only; `__proto__` stays a data key). */
export function cloneJSON<T>(v: T): T {
  if (Array.isArray(v)) return v.map(cloneJSON) as T;
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) setOwn(out, k, cloneJSON(v[k]));
    return out as T;
  }
  return v;
}

function isNonNullableNull(v: unknown, s: JSONSchemaProps | undefined): boolean {
  return v === null && s !== undefined && s.nullable !== true;
}

/**
 * Applies `default` values in place: an absent property of an existing object gets its schema's
 * default (deep-copied), and so does a `null` where the schema is not nullable; then defaulting
 * recurses into every property (including freshly defaulted ones), `additionalProperties` values
 * and array items. Properties of absent objects are not created.
 */
export function applyDefaults(obj: unknown, schema: JSONSchemaProps | undefined): void {
  if (!isObject(schema)) return;
  if (Array.isArray(obj)) {
    const item = itemsOf(schema);
    if (!item) return;
    for (let i = 0; i < obj.length; i++) {
      if (isNonNullableNull(obj[i], item) && hasDefault(item)) obj[i] = cloneJSON(item.default);
      applyDefaults(obj[i], item);
    }
    return;
  }
  if (!isObject(obj)) return;
  for (const [k, prop] of propertyEntries(schema)) {
    if (!hasDefault(prop)) continue;
    if (!hasOwn(obj, k) || isNonNullableNull(obj[k], prop)) setOwn(obj, k, cloneJSON(prop.default));
  }
  const ap = additionalSchema(schema);
  for (const k of Object.keys(obj)) {
    const prop = propertyOf(schema, k);
    if (prop) {
      applyDefaults(obj[k], prop);
    } else if (ap) {
      if (isNonNullableNull(obj[k], ap) && hasDefault(ap)) setOwn(obj, k, cloneJSON(ap.default));
      applyDefaults(obj[k], ap);
    }
  }
}
