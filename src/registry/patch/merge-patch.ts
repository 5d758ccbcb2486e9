/**
 * JSON merge patch (RFC 7386) as kube-apiserver applies it (evanphx/json-patch v4 MergePatch):
 * - an object patch merges recursively; `null` deletes a key; any non-object value (arrays
 *   included) replaces;
 * - a value that lands where the document had no object has its `null` members pruned
 *   recursively (including inside objects nested in arrays; null array elements are kept);
 * - a patch that is JSON `null`, a string, a number or a boolean is rejected with 400
 *   "Invalid JSON Patch";
 * - an array patch replaces the whole document (kube-apiserver then fails to decode it).
 *
 * Keys are data, as in Go maps: `__proto__`, `constructor`, … are merged like any other key and
 * never reach a prototype.
 * @module
 */
import { ApiError } from "../../lib/api-errors.ts";
import { isObject } from "../../lib/go-format.ts";
import { getOwn, setOwn } from "../schema/own.ts";
import { cloneData } from "../../lib/clone.ts";

export const INVALID_JSON_PATCH = "Invalid JSON Patch";

/** Applies a merge patch to `doc`; neither input is modified. */
export function applyMergePatch(doc: object, patch: unknown): object {
  if (Array.isArray(patch)) return pruneNulls(cloneData(patch)) as unknown[];
  if (!isObject(patch)) throw new ApiError(400, "BadRequest", INVALID_JSON_PATCH);
  if (!isObject(doc)) return pruneNulls(cloneData(patch)) as object;
  return mergeDocs(cloneData(doc) as Record<string, unknown>, patch);
}

/** Merges `patch` into `out` in place (`out` is a private copy). */
function mergeDocs(out: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(patch)) {
    const v = patch[k];
    if (v === undefined) continue;
    if (v === null) {
      delete out[k];
      continue;
    }
    const cur = getOwn(out, k);
    if (cur === undefined || cur === null) setOwn(out, k, pruneNulls(cloneData(v)));
    else setOwn(out, k, mergeValue(cur, v));
  }
  return out;
}

function mergeValue(cur: unknown, patch: unknown): unknown {
  if (!isObject(cur)) return pruneNulls(cloneData(patch));
  if (!isObject(patch)) return cloneData(patch);
  return mergeDocs(cur, patch);
}

/** pruneNulls: drops null members of objects, recursively (arrays keep null elements). */
function pruneNulls(v: unknown): unknown {
  if (Array.isArray(v)) {
    for (const x of v) if (x !== null) pruneNulls(x);
    return v;
  }
  if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else pruneNulls(v[k]);
    }
  }
  return v;
}
