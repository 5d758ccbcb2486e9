/**
 * Keeping what one version cannot express, in the `cluster.x-k8s.io/conversion-data` annotation.
 *
 * Upstream (`util/conversion.MarshalData`): converting a hub (v1beta2) object down to a spoke
 * stores the JSON of the hub object without its metadata in the spoke's annotation; converting
 * that spoke up again reads it back (`UnmarshalData`), restores the hub-only values and drops the
 * annotation. Upstream only goes this way, so v1beta1 → v1beta2 → v1beta1 loses data (reference
 * uid/namespace/version, `"10m"` becoming `"10m0s"`, dropped fields …).
 *
 * Here both directions are kept, with one format: the annotation holds the JSON (sans metadata)
 * of the object as it was in the *other* version, `apiVersion` included, so it says which
 * version it restores: on a spoke it is the hub object (exactly upstream's payload); on a hub it
 * is the original spoke object, written only when the plain conversion would lose something.
 *
 * Restoring is a three-way merge in the target version's own shape, so stale data never wins:
 * `base` = the plain conversion of the kept object there and back, `orig` = the kept object,
 * `current` = the plain conversion of the object being converted. Every difference base → orig
 * is applied to `current` only where `current` still equals `base`; where the object changed
 * since the data was kept, the new value stays. References (objects with `kind` and `name`) are
 * compared as a whole, so a kept uid or apiVersion only comes back for the same referent.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { clone, isObj, type J, jsonEqual } from "./util.ts";

export const CONVERSION_DATA_ANNOTATION = "cluster.x-k8s.io/conversion-data";

const META_KEYS = new Set(["apiVersion", "kind", "metadata"]);

/** The object without apiVersion, kind and metadata (a shallow view; do not mutate). */
export function bodyOf(o: J): J {
  const out: J = {};
  for (const [k, v] of Object.entries(o)) if (!META_KEYS.has(k) && v !== undefined) out[k] = v;
  return out;
}

/** Whether the non-metadata parts of two objects are equal. */
export function sameBody(a: J, b: J): boolean {
  return jsonEqual(bodyOf(a), bodyOf(b));
}

/**
 * Removes the conversion-data annotation from `o` (mutating its metadata; drops the annotations
 * map when that leaves it empty) and returns the parsed payload, if it is a JSON object.
 */
export function takeConversionData(o: KObject): J | undefined {
  const annotations = o.metadata?.annotations;
  if (!annotations || !Object.prototype.hasOwnProperty.call(annotations, CONVERSION_DATA_ANNOTATION)) return undefined;
  const raw = annotations[CONVERSION_DATA_ANNOTATION];
  delete annotations[CONVERSION_DATA_ANNOTATION];
  if (Object.keys(annotations).length === 0) delete o.metadata.annotations;
  try {
    const data: unknown = JSON.parse(raw ?? "");
    return isObj(data) ? data : undefined;
  } catch {
    return undefined;
  }
}

/** A copy of `o` without the conversion-data annotation (what round-trip comparisons use). */
export function withoutConversionData(o: KObject): KObject {
  const c = clone(o);
  takeConversionData(c);
  return c;
}

/**
 * Stores `source` (apiVersion, kind and body; never its metadata) as the conversion data of `o`.
 * The JSON starts with kind and apiVersion, as Go marshals a typed object.
 */
export function putConversionData(o: KObject, source: J): void {
  const payload: J = {};
  if (source.kind !== undefined) payload.kind = source.kind;
  if (source.apiVersion !== undefined) payload.apiVersion = source.apiVersion;
  Object.assign(payload, bodyOf(source));
  o.metadata ??= {};
  o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [CONVERSION_DATA_ANNOTATION]: JSON.stringify(payload) };
}

type PathKey = string | number;

export interface RestoreOp {
  path: PathKey[];
  /** The value the plain conversion produces there (undefined: absent). */
  from: unknown;
  /** The value to restore (undefined: remove). */
  to: unknown;
}

/** A reference is restored as a unit: kind+name identify the referent. */
function isReferenceLike(v: unknown): boolean {
  return isObj(v) && typeof v.kind === "string" && typeof v.name === "string";
}

/** The changes that turn `base` into `orig`, as fine-grained as the shapes allow. */
export function diffOps(base: unknown, orig: unknown, path: PathKey[] = [], ops: RestoreOp[] = []): RestoreOp[] {
  if (jsonEqual(base, orig)) return ops;
  if (isObj(base) && isObj(orig) && !isReferenceLike(base) && !isReferenceLike(orig)) {
    const keys = new Set([...Object.keys(base), ...Object.keys(orig)]);
    for (const k of keys) diffOps(base[k], orig[k], [...path, k], ops);
    return ops;
  }
  if (Array.isArray(base) && Array.isArray(orig) && base.length === orig.length) {
    for (let i = 0; i < base.length; i++) diffOps(base[i], orig[i], [...path, i], ops);
    return ops;
  }
  ops.push({ path, from: clone(base), to: clone(orig) });
  return ops;
}

/**
 * Applies each op to `target` where the value at its path still equals `op.from` and the parent
 * exists (nothing is re-created under a parent the target no longer has). Mutates `target`.
 */
export function applyOps(target: J, ops: RestoreOp[]): void {
  for (const op of ops) {
    if (op.path.length === 0) continue;
    let parent: unknown = target;
    for (const k of op.path.slice(0, -1)) {
      parent = Array.isArray(parent) && typeof k === "number" ? parent[k] : isObj(parent) && typeof k === "string" ? parent[k] : undefined;
      if (parent === undefined) break;
    }
    const last = op.path[op.path.length - 1] as PathKey;
    if (Array.isArray(parent) && typeof last === "number") {
      if (last >= parent.length || !jsonEqual(parent[last], op.from) || op.to === undefined) continue;
      parent[last] = clone(op.to);
    } else if (isObj(parent) && typeof last === "string") {
      if (!jsonEqual(parent[last], op.from)) continue;
      if (op.to === undefined) delete parent[last];
      else parent[last] = clone(op.to);
    }
  }
}

/** Restores into `current` (mutated) the differences between `base` and `orig` (bodies only). */
export function restoreInto(current: J, base: J, orig: J): void {
  applyOps(current, diffOps(bodyOf(base), bodyOf(orig)));
}
