/**
 * Strategic merge patch, as kube-apiserver applies it to built-in kinds
 * (k8s.io/apimachinery/pkg/util/strategicpatch StrategicMergeMapPatch: MergeParallelList and
 * IgnoreUnmatchedNulls on), driven by the schema's `x-kubernetes-patch-strategy` /
 * `x-kubernetes-patch-merge-key` instead of Go struct tags.
 *
 * - maps merge, `null` deletes; strategy "replace" on a map or list replaces it whole;
 * - lists with strategy "merge": maps merge by the merge key (new items appended), scalars union;
 *   the result order follows upstream: patch items in patch order, server-only items kept in
 *   their relative order and interleaved by their original positions; other lists replace;
 * - directives: `$patch: replace|delete` in a map, `$patch: delete|replace` in a merge-list
 *   item (`$patch: merge` is rejected as upstream does), `$retainKeys`,
 *   `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`; none is left in the result.
 *
 * Errors follow interpretStrategicMergePatchError: malformed directives → 400 BadRequest
 * ("invalid patch format of …"); lists of lists → 422. Deliberate difference from
 * kube-apiserver: the other failures (unknown `$patch` value, `$patch: merge` in a list, missing
 * merge key, `$setElementOrder` mismatch, mixed element types, …) are plain Go errors upstream,
 * which it answers with 500 and reason ""; here they are 400 BadRequest with upstream's message,
 * since bad input is always a client error with a reason.
 *
 * Object keys are data, as in Go maps: `__proto__`, `constructor`, … merge like any other key
 * (own properties only) and never reach a prototype.
 * @module
 */
import { ApiError } from "../../lib/api-errors.ts";
import type { JSONSchemaProps } from "../schema/types.ts";
import { OBJECT_META_SCHEMA } from "./atoms.ts";
import { goTypeName, goV, isObject, jsonKindName } from "../../lib/go-format.ts";
import { PATCH_REJECTED_MESSAGE } from "./json-patch.ts";
import { getOwn, hasOwn, setOwn } from "../schema/own.ts";
import { cloneData } from "../../lib/clone.ts";

const DIRECTIVE = "$patch";
const DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList";
const RETAIN_KEYS = "$retainKeys";
const SET_ELEMENT_ORDER = "$setElementOrder";

export const ERR_BAD_JSON_DOC = "invalid JSON document";
export const ERR_NO_LIST_OF_LISTS = "lists of lists are not supported";
export const ERR_BAD_PATCH_FORMAT_FOR_PRIMITIVE_LIST = "invalid patch format of primitive list";
export const ERR_BAD_PATCH_FORMAT_FOR_RETAIN_KEYS = "invalid patch format of retainKeys";
export const ERR_BAD_PATCH_FORMAT_FOR_SET_ELEMENT_ORDER_LIST = "invalid patch format of setElementOrder list";

const bad = (msg: string) => new ApiError(400, "BadRequest", msg);
const unprocessable = (detail: string) => {
  const e = new ApiError(422, "Invalid", PATCH_REJECTED_MESSAGE);
  (e as Error & { cause?: unknown }).cause = new Error(detail);
  return e;
};
/** A plain Go error upstream (500 there); a client error here. */
const goError = (msg: string) => new ApiError(400, "BadRequest", msg);

type JMap = Record<string, unknown>;
type Schema = JSONSchemaProps | undefined;

/**
 * Applies a strategic merge patch (parsed JSON) to `doc` using `schema` (the kind's schema);
 * neither input is modified.
 */
export function applyStrategicMergePatch(doc: object, patch: unknown, schema: JSONSchemaProps): object {
  if (!isObject(patch)) {
    throw bad(`json: cannot unmarshal ${jsonKindName(patch)} into Go value of type map[string]interface {}`);
  }
  if (!isObject(doc)) throw bad(ERR_BAD_JSON_DOC);
  const original = cloneData(doc) as JMap;
  const p = cloneData(patch) as JMap;
  return mergeMap(original, p, withObjectMeta(schema));
}

function withObjectMeta(schema: JSONSchemaProps): JSONSchemaProps {
  const meta = schema.properties && getOwn(schema.properties, "metadata");
  if (isObject(meta) && meta.properties) return schema;
  return { ...schema, properties: { ...(schema.properties ?? {}), metadata: OBJECT_META_SCHEMA } };
}

// --- schema lookups --------------------------------------------------------------------------

interface PatchMeta {
  strategies: string[];
  mergeKey: string;
}

function fieldSchema(schema: Schema, key: string): Schema {
  if (!schema) return undefined;
  const props = schema.properties;
  if (isObject(props) && hasOwn(props, key)) {
    const p = props[key];
    return isObject(p) ? p : undefined;
  }
  const ap = schema.additionalProperties;
  return isObject(ap) ? ap : undefined;
}

function patchMeta(s: Schema): PatchMeta {
  const strategy = s?.["x-kubernetes-patch-strategy"];
  const mergeKey = s?.["x-kubernetes-patch-merge-key"];
  return {
    strategies: typeof strategy === "string" && strategy ? strategy.split(",") : [],
    mergeKey: typeof mergeKey === "string" ? mergeKey : "",
  };
}

/** LookupPatchMetadataForStruct: the field's schema and its patch metadata. */
function lookupStruct(schema: Schema, key: string): { sub: Schema; meta: PatchMeta } {
  const s = fieldSchema(schema, key);
  return { sub: s, meta: patchMeta(s) };
}

/** LookupPatchMetadataForSlice: the items' schema and the list's patch metadata. */
function lookupSlice(schema: Schema, key: string): { sub: Schema; meta: PatchMeta } {
  const s = fieldSchema(schema, key);
  const items = s?.items;
  return { sub: isObject(items) ? items : undefined, meta: patchMeta(s) };
}

/** extractRetainKeysPatchStrategy: the non-retainKeys strategy. */
function otherStrategy(strategies: string[]): string {
  switch (strategies.length) {
    case 0:
      return "";
    case 1:
      return strategies[0] === "retainKeys" ? "" : strategies[0];
    case 2:
      if (strategies[0] === "retainKeys") return strategies[1];
      if (strategies[1] === "retainKeys") return strategies[0];
      throw goError(`unexpected patch strategy: ${goV(strategies)}`);
    default:
      throw goError(`unexpected patch strategy: ${goV(strategies)}`);
  }
}

// --- helpers ---------------------------------------------------------------------------------

function goEq(a: unknown, b: unknown): boolean {
  // Go's == on interface{} holding JSON scalars (maps/lists are not comparable: never equal here).
  if (typeof a === "object" && a !== null) return false;
  return a === b || (a === undefined && b === null) || (a === null && b === undefined);
}

function errNoMergeKey(m: unknown, k: string): ApiError {
  return goError(`map: ${goV(m)} does not contain declared merge key: ${k}`);
}

function errBadArgType(expected: string, actual: unknown): ApiError {
  return goError(`expected a ${expected}, but received a ${goTypeName(actual)}`);
}

function extractKey(s: string, prefix: string): string {
  const i = s.indexOf("/");
  if (i < 0 || s.slice(0, i) !== prefix) {
    if (prefix === DELETE_FROM_PRIMITIVE_LIST) throw bad(ERR_BAD_PATCH_FORMAT_FOR_PRIMITIVE_LIST);
    if (prefix === SET_ELEMENT_ORDER) throw bad(ERR_BAD_PATCH_FORMAT_FOR_SET_ELEMENT_ORDER_LIST);
    throw goError(`fail to find unknown prefix "${prefix}" in ${s}\n`);
  }
  return s.slice(i + 1);
}

function isDirectiveKey(k: string): boolean {
  return k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(`${SET_ELEMENT_ORDER}/`) || k.startsWith(`${DELETE_FROM_PRIMITIVE_LIST}/`);
}

/** removeDirectives: maps carrying `$patch` disappear (from maps and lists). */
function removeDirectives(v: unknown): [unknown, boolean] {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const x of v) {
      const [nv, keep] = removeDirectives(x);
      if (keep) out.push(nv);
    }
    return [out, true];
  }
  if (isObject(v)) {
    if (hasOwn(v, DIRECTIVE)) return [null, false];
    for (const k of Object.keys(v)) {
      const [nv, keep] = removeDirectives(v[k]);
      if (keep) setOwn(v, k, nv);
      else delete v[k];
    }
    return [v, true];
  }
  return [v, true];
}

/** discardNullValuesFromPatch. */
function discardNulls(v: unknown): void {
  if (Array.isArray(v)) for (const x of v) discardNulls(x);
  else if (isObject(v))
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else discardNulls(v[k]);
    }
}

/**
 * What decoding into the typed object does to patch content taken verbatim (replaced lists and
 * maps, appended list items): directive keys are unknown fields and disappear, nulls become
 * zero values (absent).
 */
function scrub(v: unknown): unknown {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = scrub(v[i]);
    return v;
  }
  if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (isDirectiveKey(k) || v[k] === null) delete v[k];
      else setOwn(v, k, scrub(v[k]));
    }
  }
  return v;
}

/** The value a key gets when the original has nothing to merge with. */
function takePatchValue(v: unknown): [unknown, boolean] {
  discardNulls(v);
  const [nv, keep] = removeDirectives(v);
  return keep ? [scrub(nv), true] : [undefined, false];
}

// --- maps ------------------------------------------------------------------------------------

function handleDirectiveInMergeMap(directive: unknown, patch: JMap): JMap {
  if (directive === "replace") {
    delete patch[DIRECTIVE];
    return scrub(patch) as JMap;
  }
  if (directive === "delete") return {};
  throw goError(`unknown patch type: ${goV(directive)} in map: ${goV(patch)}`);
}

function mergeMap(original: JMap | null, patch: JMap, schema: Schema): JMap {
  if (hasOwn(patch, DIRECTIVE)) return handleDirectiveInMergeMap(patch[DIRECTIVE], patch);
  const orig: JMap = original ?? {};
  applyRetainKeysDirective(orig, patch);
  mergePatchIntoOriginal(orig, patch, schema);

  const keys = Object.keys(patch);
  const ordered = [...keys.filter((k) => !k.startsWith(DELETE_FROM_PRIMITIVE_LIST)), ...keys.filter((k) => k.startsWith(DELETE_FROM_PRIMITIVE_LIST))];
  for (const k of ordered) {
    const patchV = patch[k];
    if (patchV === undefined) continue;
    let key = k;
    let isDeleteList = false;
    if (k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      key = extractKey(k, DELETE_FROM_PRIMITIVE_LIST);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete orig[key];
      continue;
    }
    if (!hasOwn(orig, key)) {
      if (!isDeleteList) {
        const [v, keep] = takePatchValue(patchV);
        if (keep) setOwn(orig, key, v);
        else delete orig[key];
      }
      continue;
    }
    const origV = orig[key];
    if (isObject(origV) && isObject(patchV)) {
      const { sub, meta } = lookupStruct(schema, key);
      const strategy = otherStrategy(meta.strategies);
      setOwn(orig, key, strategy !== "replace" ? mergeMap(origV, patchV, sub) : scrub(patchV));
    } else if (Array.isArray(origV) && Array.isArray(patchV)) {
      const { sub, meta } = lookupSlice(schema, key);
      const strategy = otherStrategy(meta.strategies);
      setOwn(orig, key, mergeSliceHandler(origV, patchV, sub, strategy, meta.mergeKey, isDeleteList, key));
    } else if (!isDeleteList) {
      // Different types (or scalars): the patch value replaces.
      const [v, keep] = takePatchValue(patchV);
      if (keep) setOwn(orig, key, v);
      else delete orig[key];
    }
  }
  return orig;
}

function applyRetainKeysDirective(original: JMap, patch: JMap): void {
  if (!hasOwn(patch, RETAIN_KEYS)) return;
  const retain = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain)) throw bad(ERR_BAD_PATCH_FORMAT_FOR_RETAIN_KEYS);
  const keep = new Set<unknown>(retain);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) throw bad(ERR_BAD_PATCH_FORMAT_FOR_RETAIN_KEYS);
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/** $setElementOrder/<field>: merges the field's list and enforces the given order. */
function mergePatchIntoOriginal(original: JMap, patch: JMap, schema: Schema): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const setOrder = patch[key];
    delete patch[key];
    if (!Array.isArray(setOrder)) throw errBadArgType("[]interface {}", setOrder);
    const origKey = extractKey(key, SET_ELEMENT_ORDER);
    const foundOrig = hasOwn(original, origKey);
    const foundPatch = hasOwn(patch, origKey);
    let origList: unknown[] | undefined;
    let patchList: unknown[] | undefined;
    if (foundOrig) {
      if (!Array.isArray(original[origKey])) throw errBadArgType("[]interface {}", original[origKey]);
      origList = original[origKey] as unknown[];
    }
    if (foundPatch) {
      if (!Array.isArray(patch[origKey])) throw errBadArgType("[]interface {}", patch[origKey]);
      patchList = patch[origKey] as unknown[];
    }
    const { sub, meta } = lookupSlice(schema, origKey);
    const strategy = otherStrategy(meta.strategies);
    const mergeKey = meta.mergeKey;
    validatePatchWithSetOrderList(patchList ?? [], setOrder, mergeKey);

    let merged: unknown[];
    if (foundOrig && !foundPatch) merged = origList!;
    else if (!foundOrig && foundPatch) merged = scrub(removeDirectives(patchList!)[0]) as unknown[];
    else if (foundOrig && foundPatch) merged = mergeSliceHandler(origList!, patchList!, sub, strategy, mergeKey, false, origKey);
    else continue;

    const [patchItems, serverOnly] = mergeKey === "" ? partitionPrimitives(merged, setOrder) : partitionMaps(merged, setOrder, mergeKey);
    const kind = sliceElementKind(origList ?? [], patchList ?? []);
    let serverOrder = origList ?? [];
    if (foundOrig && foundPatch && strategy === "merge" && kind === "map") serverOrder = aliasedServerOrder(serverOrder, patchList!, mergeKey);
    setOwn(original, origKey, normalizeElementOrder(patchItems, serverOnly, setOrder, serverOrder, mergeKey, kind));
    delete patch[origKey];
  }
}

/**
 * The live list as upstream's ordering step sees it after merging a list of maps. Upstream
 * deletes (`$patch: delete`) by shifting items left inside the live list's backing array and
 * appends new items into the room this frees, so the "server order" it sorts by afterwards has
 * the deleted slots overwritten by the tail and by the first appended items. kubectl's
 * client-side apply sends exactly such patches (delete + add + $setElementOrder); the result
 * order depends on this, so it is reproduced.
 */
function aliasedServerOrder(orig: unknown[], patch: unknown[], mergeKey: string): unknown[] {
  const view = [...orig];
  const n = view.length;
  let len = n;
  const find = (key: unknown) => {
    for (let i = 0; i < len; i++) {
      const it = view[i];
      if (isObject(it) && hasOwn(it, mergeKey) && goEq(it[mergeKey], key)) return i;
    }
    return -1;
  };
  let replace = false;
  for (const item of patch) {
    if (!isObject(item) || !hasOwn(item, DIRECTIVE)) continue;
    if (item[DIRECTIVE] === "replace") replace = true;
    if (item[DIRECTIVE] !== "delete" || !hasOwn(item, mergeKey)) continue;
    for (let i = find(item[mergeKey]); i >= 0; i = find(item[mergeKey])) {
      view.copyWithin(i, i + 1, len);
      len--;
    }
  }
  if (replace) return view;
  for (const item of patch) {
    if (!isObject(item) || hasOwn(item, DIRECTIVE)) continue;
    if (find(getOwn(item, mergeKey)) >= 0) continue;
    if (len >= n) break;
    view[len++] = item;
  }
  return view;
}

// --- lists -----------------------------------------------------------------------------------

type ElemKind = "map" | "other";

/** sliceElementType: all elements must share one (non-list) type. */
function sliceElementKind(...slices: unknown[][]): ElemKind {
  let prev: string | undefined;
  for (const s of slices) {
    for (const v of s) {
      const t = goTypeName(v);
      if (prev === undefined) {
        prev = t;
        if (Array.isArray(v)) throw unprocessable(ERR_NO_LIST_OF_LISTS);
      } else if (prev !== t) {
        throw goError(`list element types are not identical: ${goV(slices)}`);
      }
    }
  }
  if (prev === undefined) throw goError("no elements in any of the given slices");
  return prev === "map[string]interface {}" ? "map" : "other";
}

function mergeSliceHandler(
  original: unknown[],
  patch: unknown[],
  schema: Schema,
  strategy: string,
  mergeKey: string,
  isDeleteList: boolean,
  name: string,
): unknown[] {
  if (strategy === "merge" || isDeleteList) return mergeSlice(original, patch, schema, mergeKey, isDeleteList, name);
  return scrub(patch) as unknown[];
}

function mergeSlice(original: unknown[], patch: unknown[], schema: Schema, mergeKey: string, isDeleteList: boolean, name: string): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementKind(original, patch);
  let merged: unknown[];
  if (kind !== "map") {
    if (isDeleteList) return deleteFromSlice(original, patch);
    merged = [];
    for (const v of [...original, ...patch]) if (!merged.some((x) => goEq(x, v))) merged.push(v);
  } else {
    if (mergeKey === "") throw goError(`cannot merge lists without merge key for ${name}`);
    [original, patch] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements(original, patch, mergeKey, schema);
  }
  const [patchItems, serverOnly] = mergeKey === "" ? partitionPrimitives(merged, patch) : partitionMaps(merged, patch, mergeKey);
  return normalizeElementOrder(patchItems, serverOnly, patch, original, mergeKey, kind);
}

function findMapByKey(list: unknown[], key: string, value: unknown): [JMap, number] | undefined {
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (!isObject(item)) throw goError(`value for key ${i} is not a map`);
    if (hasOwn(item, key) && goEq(item[key], value)) return [item, i];
  }
  return undefined;
}

function mergeSliceWithSpecialElements(original: unknown[], patch: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const rest: unknown[] = [];
  let replace = false;
  let orig = original;
  for (const v of patch) {
    if (!isObject(v)) throw errBadArgType("map[string]interface {}", v);
    const m = v;
    if (!hasOwn(m, DIRECTIVE)) {
      rest.push(v);
      continue;
    }
    switch (m[DIRECTIVE]) {
      case "delete":
        if (!hasOwn(m, mergeKey)) throw errNoMergeKey(m, mergeKey);
        for (;;) {
          const found = findMapByKey(orig, mergeKey, m[mergeKey]);
          if (!found) break;
          orig = [...orig.slice(0, found[1]), ...orig.slice(found[1] + 1)];
        }
        break;
      case "replace":
        replace = true;
        break;
      case "merge":
        throw goError("merging lists cannot yet be specified in the patch");
      default:
        throw goError(`unknown patch type: ${goV(m[DIRECTIVE])} in map: ${goV(m)}`);
    }
  }
  if (replace) return [scrub(rest) as unknown[], []];
  return [orig, rest];
}

function mergeSliceWithoutSpecialElements(original: unknown[], patch: unknown[], mergeKey: string, schema: Schema): unknown[] {
  const out = [...original];
  for (const v of patch) {
    if (!isObject(v)) throw errBadArgType("map[string]interface {}", v);
    const m = v;
    if (!hasOwn(m, mergeKey)) throw errNoMergeKey(m, mergeKey);
    const found = findMapByKey(out, mergeKey, m[mergeKey]);
    if (found) out[found[1]] = mergeMap(found[0], m, schema);
    else {
      const [nv, keep] = takePatchValue(m);
      if (keep) out.push(nv);
    }
  }
  return out;
}

function deleteFromSlice(current: unknown[], toDelete: unknown[]): unknown[] {
  return current.filter((v) => !toDelete.some((d) => goEq(d, v)));
}

function partitionPrimitives(list: unknown[], by: unknown[]): [unknown[], unknown[]] {
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of list) (by.some((b) => goEq(b, v)) ? inPatch : serverOnly).push(v);
  return [inPatch, serverOnly];
}

function partitionMaps(list: unknown[], by: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of list) {
    if (!isObject(v)) throw errBadArgType("map[string]interface {}", v);
    if (!hasOwn(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    (findMapByKey(by, mergeKey, v[mergeKey]) ? inPatch : serverOnly).push(v);
  }
  return [inPatch, serverOnly];
}

function keyOf(v: unknown, mergeKey: string, kind: ElemKind): unknown {
  return kind === "map" ? (isObject(v) ? getOwn(v, mergeKey) : undefined) : v;
}

function indexIn(list: unknown[], v: unknown, mergeKey: string, kind: ElemKind): number {
  const want = keyOf(v, mergeKey, kind);
  for (let i = 0; i < list.length; i++) if (goEq(keyOf(list[i], mergeKey, kind), want)) return i;
  return -1;
}

function validateMergeKeyInLists(mergeKey: string, ...lists: unknown[][]): void {
  for (const l of lists)
    for (const v of l) {
      if (!isObject(v)) throw errBadArgType("map[string]interface {}", v);
      if (!hasOwn(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    }
}

function normalizeSliceOrder(toSort: unknown[], order: unknown[], mergeKey: string, kind: ElemKind): unknown[] {
  let items = toSort;
  let toDelete: unknown[] = [];
  if (kind === "map") {
    validateMergeKeyInLists(mergeKey, toSort, order);
    items = toSort.filter((v) => getOwn(v as JMap, DIRECTIVE) !== "delete");
    toDelete = toSort.filter((v) => getOwn(v as JMap, DIRECTIVE) === "delete");
  }
  const idx = items.map((v, i) => ({ v, i, o: indexIn(order, v, mergeKey, kind) }));
  idx.sort((a, b) => (a.o >= 0 && b.o >= 0 && a.o !== b.o ? a.o - b.o : a.i - b.i));
  return [...idx.map((x) => x.v), ...toDelete];
}

/** mergeSortedSlice: server-only items (left) interleaved into patch items (right). */
function normalizeElementOrder(
  patch: unknown[],
  serverOnly: unknown[],
  patchOrder: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  kind: ElemKind,
): unknown[] {
  const right = normalizeSliceOrder(patch, patchOrder, mergeKey, kind);
  const left = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, kind);
      const ri = indexIn(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

function validatePatchWithSetOrderList(patchList: unknown[], setOrder: unknown[], mergeKey: string): void {
  if (setOrder.length === 0 || patchList.length === 0) return;
  let nonDelete = patchList;
  if (mergeKey) {
    for (const v of patchList) if (!isObject(v)) throw errBadArgType("map[string]interface {}", v);
    nonDelete = patchList.filter((v) => getOwn(v as JMap, DIRECTIVE) !== "delete");
  }
  let pi = 0;
  let si = 0;
  while (pi < nonDelete.length && si < setOrder.length) {
    const item = nonDelete[pi];
    if (isObject(item) && hasOwn(item, DIRECTIVE)) {
      pi++;
      continue;
    }
    let eq: boolean;
    if (!mergeKey) eq = goEq(item, setOrder[si]);
    else {
      const a = item as JMap;
      const b = setOrder[si];
      if (!isObject(b)) throw errBadArgType("map[string]interface {}", b);
      if (!hasOwn(a, mergeKey)) throw errNoMergeKey(a, mergeKey);
      if (!hasOwn(b, mergeKey)) throw errNoMergeKey(b, mergeKey);
      eq = goEq(a[mergeKey], b[mergeKey]);
    }
    if (eq) pi++;
    si++;
  }
  if (pi < nonDelete.length && si >= setOrder.length) {
    throw goError(`The order in patch list:\n${goV(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goV(setOrder)}\n`);
  }
}
