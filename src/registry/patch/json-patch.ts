/**
 * JSON patch (RFC 6902) as kube-apiserver applies it: gopkg.in/evanphx/json-patch.v4 v4.12.0
 * behind k8s.io/apiserver/pkg/endpoints/handlers/patch.go. Deliberately not fast-json-patch:
 * kube-apiserver's library differs from RFC 6902 in ways clients can observe, and this module
 * follows it:
 * - `replace` of a missing object key succeeds (acts as `add`); `remove` of one fails;
 * - negative array indices count from the end (SupportNegativeIndices defaults to true);
 * - `copy` from a missing key copies null; `test` of a missing key passes against null;
 * - a path without a leading "/" addresses the root's last segment.
 *
 * Errors, as upstream:
 * - body not a list / an operation not an object / a non-string op, path or from → 400
 *   BadRequest `error decoding patch: json: cannot unmarshal …`;
 * - more than 10000 operations → 413;
 * - any operation that does not apply (unknown op, missing path, failed test, bad index, …) →
 *   422 Invalid "the server rejected our request due to an error in our request" with empty
 *   details (upstream drops the library's message; it is kept here as the error's `cause`);
 * - unknown fields in an operation: a warning (fieldValidation Warn, the default) or 422 (Strict).
 *
 * Object keys are data, as in Go maps: `/__proto__/x`, `/constructor` address ordinary keys (own
 * properties only) and writes never reach a prototype.
 * @module
 */
import { ApiError, fieldError, invalid } from "../../lib/api-errors.ts";
import { deepEqual } from "../../lib/kobject.ts";
import { isObject, jsonKindName } from "../../lib/go-format.ts";
import { getOwn, hasOwn, setOwn } from "../schema/own.ts";
import { cloneData } from "../../lib/clone.ts";

export const MAX_JSON_PATCH_OPERATIONS = 10000;
export const JSON_PATCH_MAX_COPY_BYTES = 3 * 1024 * 1024;
export const PATCH_REJECTED_MESSAGE = "the server rejected our request due to an error in our request";

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export interface JsonPatchOptions {
  /** The request's fieldValidation (default Warn, as kube-apiserver). */
  fieldValidation?: FieldValidation;
  /** Receives warnings (unknown operation fields under Warn). */
  warnings?: string[];
}

class OpError extends Error {}

const KNOWN_OP_FIELDS = new Set(["op", "path", "from", "value"]);

function badRequest400(message: string): ApiError {
  return new ApiError(400, "BadRequest", message);
}

/** Applies a JSON patch (already parsed from the body) to `doc`; `doc` is not modified. */
export function applyJsonPatch(doc: object, ops: unknown, opts: JsonPatchOptions = {}): object {
  const validation = opts.fieldValidation ?? "Warn";
  const strictDecode = validation !== "Ignore";
  const strictErrors: string[] = [];
  // Decoding (kjson.UnmarshalStrict into []jsonPatchOp, then jsonpatch.DecodePatch).
  if (ops !== null && !Array.isArray(ops)) {
    throw badRequest400(
      strictDecode
        ? `error decoding patch: json: cannot unmarshal ${jsonKindName(ops)} into Go value of type []handlers.jsonPatchOp`
        : `json: cannot unmarshal ${jsonKindName(ops)} into Go value of type jsonpatch.Patch`,
    );
  }
  const list = (ops ?? []) as unknown[];
  for (const op of list) {
    if (op === null) continue;
    if (!isObject(op)) {
      throw badRequest400(
        strictDecode
          ? `error decoding patch: json: cannot unmarshal ${jsonKindName(op)} into Go value of type handlers.jsonPatchOp`
          : `json: cannot unmarshal ${jsonKindName(op)} into Go value of type jsonpatch.Operation`,
      );
    }
    if (!strictDecode) continue;
    for (const f of ["op", "path", "from"]) {
      const v = getOwn(op, f);
      if (v !== undefined && v !== null && typeof v !== "string") {
        throw badRequest400(`error decoding patch: json: cannot unmarshal ${jsonKindName(v)} into Go struct field jsonPatchOp.${f} of type string`);
      }
    }
    for (const k of Object.keys(op)) if (!KNOWN_OP_FIELDS.has(k)) strictErrors.push(`json patch unknown field "${k}"`);
  }
  if (list.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new ApiError(
      413,
      "RequestEntityTooLarge",
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${list.length}`,
    );
  }

  const root = { v: cloneData(doc) as unknown };
  let copied = 0;
  try {
    for (const op of list) {
      const o = (op ?? {}) as Record<string, unknown>;
      const opName = getOwn(o, "op");
      const kind = typeof opName === "string" ? opName : "unknown";
      switch (kind) {
        case "add":
          opAdd(root, o);
          break;
        case "remove":
          opRemove(root, o);
          break;
        case "replace":
          opReplace(root, o);
          break;
        case "move":
          opMove(root, o);
          break;
        case "test":
          opTest(root, o);
          break;
        case "copy":
          copied += opCopy(root, o);
          if (copied > JSON_PATCH_MAX_COPY_BYTES) {
            throw new OpError(
              `Unable to complete the copy, the accumulated size increase of copy is ${copied}, exceeding the limit ${JSON_PATCH_MAX_COPY_BYTES}`,
            );
          }
          break;
        default:
          throw new OpError(`Unexpected kind: ${kind}`);
      }
    }
  } catch (e) {
    if (!(e instanceof OpError)) throw e;
    const err = new ApiError(422, "Invalid", PATCH_REJECTED_MESSAGE);
    (err as Error & { cause?: unknown }).cause = e;
    throw err;
  }

  const result = root.v;
  if (!isObject(result)) {
    throw invalid("", "", "", [
      fieldError.invalid("patch", JSON.stringify(result), `cannot restore object from patched JSON: expected an object, got ${jsonKindName(result)}`),
    ]);
  }
  if (strictErrors.length > 0) {
    if (validation === "Strict") {
      throw invalid("", "", "", [fieldError.invalid("patch", JSON.stringify(result), `strict decoding error: ${strictErrors.join(", ")}`)]);
    }
    opts.warnings?.push(...strictErrors);
  }
  return result;
}

// --- evanphx/json-patch v4 container semantics -----------------------------------------------

type Container = Record<string, unknown> | unknown[];

function decodeKey(k: string): string {
  return k.replace(/~1/g, "/").replace(/~0/g, "~");
}

function atoi(key: string): number | undefined {
  if (!/^[+-]?\d+$/.test(key)) return undefined;
  const n = Number.parseInt(key, 10);
  return Number.isSafeInteger(n) ? n : undefined;
}

function pathOf(op: Record<string, unknown>, field: "path" | "from", what: string): string {
  const p = getOwn(op, field);
  if (typeof p !== "string") throw new OpError(`${what} operation failed to decode ${field}`);
  return p;
}

function findObject(root: { v: unknown }, path: string): [Container, string] | undefined {
  const split = path.split("/");
  if (split.length < 2) return undefined;
  let doc = root.v;
  for (const part of split.slice(1, -1)) {
    const next = get(doc as Container, decodeKey(part));
    if (next === undefined || next === null) return undefined;
    if (typeof next !== "object") return undefined;
    doc = next;
  }
  if (typeof doc !== "object" || doc === null) return undefined;
  return [doc as Container, decodeKey(split[split.length - 1])];
}

/** container.get: an object's missing key is undefined (no error); a bad array index throws. */
function get(c: Container, key: string): unknown {
  if (!Array.isArray(c)) return getOwn(c, key);
  let idx = atoi(key);
  if (idx === undefined) throw new OpError(`strconv.Atoi: parsing "${key}": invalid syntax`);
  if (idx < 0) {
    if (idx < -c.length) throw new OpError(`Unable to access invalid index: ${idx}`);
    idx += c.length;
  }
  if (idx >= c.length) throw new OpError(`Unable to access invalid index: ${idx}`);
  return c[idx];
}

function add(c: Container, key: string, val: unknown): void {
  if (!Array.isArray(c)) {
    setOwn(c, key, val);
    return;
  }
  if (key === "-") {
    c.push(val);
    return;
  }
  let idx = atoi(key);
  if (idx === undefined) throw new OpError(`value was not a proper array index: '${key}'`);
  const sz = c.length + 1;
  if (idx >= sz) throw new OpError(`Unable to access invalid index: ${idx}`);
  if (idx < 0) {
    if (idx < -sz) throw new OpError(`Unable to access invalid index: ${idx}`);
    idx += sz;
  }
  c.splice(idx, 0, val);
}

function remove(c: Container, key: string): void {
  if (!Array.isArray(c)) {
    if (!hasOwn(c, key)) throw new OpError(`Unable to remove nonexistent key: ${key}: missing value`);
    delete c[key];
    return;
  }
  let idx = atoi(key);
  if (idx === undefined) throw new OpError(`strconv.Atoi: parsing "${key}": invalid syntax`);
  if (idx >= c.length) throw new OpError(`Unable to access invalid index: ${idx}`);
  if (idx < 0) {
    if (idx < -c.length) throw new OpError(`Unable to access invalid index: ${idx}`);
    idx += c.length;
  }
  c.splice(idx, 1);
}

function set(c: Container, key: string, val: unknown): void {
  if (!Array.isArray(c)) {
    setOwn(c, key, val);
    return;
  }
  let idx = atoi(key)!;
  if (idx < 0) idx += c.length;
  c[idx] = val;
}

function valueOf(op: Record<string, unknown>): unknown {
  const v = getOwn(op, "value");
  return v === undefined ? null : cloneData(v);
}

function opAdd(root: { v: unknown }, op: Record<string, unknown>): void {
  const path = pathOf(op, "path", "add");
  const found = findObject(root, path);
  if (!found) throw new OpError(`add operation does not apply: doc is missing path: "${path}": missing value`);
  add(found[0], found[1], valueOf(op));
}

function opRemove(root: { v: unknown }, op: Record<string, unknown>): void {
  const path = pathOf(op, "path", "remove");
  const found = findObject(root, path);
  if (!found) throw new OpError(`remove operation does not apply: doc is missing path: "${path}": missing value`);
  remove(found[0], found[1]);
}

function opReplace(root: { v: unknown }, op: Record<string, unknown>): void {
  const path = pathOf(op, "path", "replace");
  if (path === "") {
    const v = getOwn(op, "value");
    if (typeof v !== "object" || v === null) throw new OpError("replace operation value must be object or array");
    root.v = cloneData(v);
    return;
  }
  const found = findObject(root, path);
  if (!found) throw new OpError(`replace operation does not apply: doc is missing path: ${path}: missing value`);
  get(found[0], found[1]); // a bad array index fails; a missing object key does not
  set(found[0], found[1], valueOf(op));
}

function opMove(root: { v: unknown }, op: Record<string, unknown>): void {
  const from = pathOf(op, "from", "move");
  const src = findObject(root, from);
  if (!src) throw new OpError(`move operation does not apply: doc is missing from path: ${from}: missing value`);
  const val = get(src[0], src[1]);
  remove(src[0], src[1]);
  const path = pathOf(op, "path", "move");
  const dst = findObject(root, path);
  if (!dst) throw new OpError(`move operation does not apply: doc is missing destination path: ${path}: missing value`);
  add(dst[0], dst[1], val === undefined ? null : val);
}

function opTest(root: { v: unknown }, op: Record<string, unknown>): void {
  const path = pathOf(op, "path", "test");
  if (path === "") {
    if (deepEqual(root.v, getOwn(op, "value"))) return;
    throw new OpError(`testing value ${path} failed: test failed`);
  }
  const found = findObject(root, path);
  if (!found) throw new OpError(`test operation does not apply: is missing path: ${path}: missing value`);
  const val = get(found[0], found[1]);
  const want = getOwn(op, "value");
  if (val === undefined || val === null) {
    if (want === undefined || want === null) return;
    throw new OpError(`testing value ${path} failed: test failed`);
  }
  if (want === undefined || !deepEqual(val, want)) throw new OpError(`testing value ${path} failed: test failed`);
}

function opCopy(root: { v: unknown }, op: Record<string, unknown>): number {
  const from = pathOf(op, "from", "copy");
  const src = findObject(root, from);
  if (!src) throw new OpError(`copy operation does not apply: doc is missing from path: ${from}: missing value`);
  const val = get(src[0], src[1]);
  const path = pathOf(op, "path", "copy");
  const dst = findObject(root, path);
  if (!dst) throw new OpError(`copy operation does not apply: doc is missing destination path: ${path}: missing value`);
  if (val === undefined) {
    add(dst[0], dst[1], null);
    return 0;
  }
  const json = JSON.stringify(val);
  add(dst[0], dst[1], JSON.parse(json));
  return Buffer.byteLength(json);
}
