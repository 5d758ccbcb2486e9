/**
 * Structural defaulting of custom resources, as kube-apiserver applies `default`s on decode
 * (after pruning and dropping non-nullable nulls).
 * @module
 */

import type { JSONSchemaProps } from "./types.ts";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep copy of a JSON value. */
export function cloneJSON<T>(v: T): T {
  if (Array.isArray(v)) return v.map(cloneJSON) as T;
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[k] = cloneJSON(v[k]);
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
  if (!schema) return;
  if (Array.isArray(obj)) {
    const item = schema.items;
    if (!item) return;
    for (let i = 0; i < obj.length; i++) {
      if (isNonNullableNull(obj[i], item) && item.default !== undefined) obj[i] = cloneJSON(item.default);
      applyDefaults(obj[i], item);
    }
    return;
  }
  if (!isObject(obj)) return;
  const props = schema.properties;
  if (props) {
    for (const k of Object.keys(props)) {
      const prop = props[k];
      if (prop.default === undefined) continue;
      if (!Object.hasOwn(obj, k) || isNonNullableNull(obj[k], prop)) obj[k] = cloneJSON(prop.default);
    }
  }
  const ap = typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined;
  for (const k of Object.keys(obj)) {
    const prop = props && Object.hasOwn(props, k) ? props[k] : undefined;
    if (prop) {
      applyDefaults(obj[k], prop);
    } else if (ap) {
      if (isNonNullableNull(obj[k], ap) && ap.default !== undefined) obj[k] = cloneJSON(ap.default);
      applyDefaults(obj[k], ap);
    }
  }
}
