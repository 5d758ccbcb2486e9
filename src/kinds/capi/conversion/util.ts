/**
 * Plain-JSON helpers for the Cluster API conversions: reading optional values defensively and
 * building output objects the way Go's `encoding/json` renders the upstream types (a field that
 * is `undefined` is simply not written, so `omitempty` fields vanish when unset).
 * @module
 */
import { cloneData } from "../../../lib/clone.ts";

export type J = Record<string, unknown>;

export function isObj(v: unknown): v is J {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `v` when it is a plain object, else undefined. */
export function obj(v: unknown): J | undefined {
  return isObj(v) ? v : undefined;
}

/** `v` when it is a string, else undefined. */
export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** `v` when it is a non-empty string, else undefined (Go: `*string` / omitempty string). */
export function nonEmptyStr(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** `v` when it is a number, else undefined. */
export function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** `v` when it is an array, else undefined. */
export function arr(v: unknown): unknown[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

/** A deep copy of a JSON value (undefined stays undefined). */
export function clone<T>(v: T): T {
  return v === undefined ? v : cloneData(v);
}

/** Sets `o[k]` to a copy of `v` unless `v` is undefined. */
export function put(o: J, k: string, v: unknown): void {
  if (v !== undefined) o[k] = clone(v);
}

/** Copies the listed keys of `from` that are present (not undefined) into `to`. */
export function copyKeys(to: J, from: J | undefined, keys: readonly string[]): void {
  if (!from) return;
  for (const k of keys) put(to, k, from[k]);
}

/** `o` when it has at least one key, else undefined (Go: `omitzero` on a struct). */
export function orUndef(o: J): J | undefined {
  return Object.keys(o).length > 0 ? o : undefined;
}

/** Structural equality of JSON values; keys whose value is undefined count as absent. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as J;
  const bo = b as J;
  const ka = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const kb = Object.keys(bo).filter((k) => bo[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(bo, k)) return false;
    if (!jsonEqual(ao[k], bo[k])) return false;
  }
  return true;
}

/** The group of an apiVersion (`infrastructure.cluster.x-k8s.io/v1alpha1` → the group; `v1` → ""). */
export function groupOf(apiVersion: string): string {
  const i = apiVersion.lastIndexOf("/");
  return i < 0 ? "" : apiVersion.slice(0, i);
}

