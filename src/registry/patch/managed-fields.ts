/**
 * metadata.managedFields maintenance and server-side apply, mirroring kube-apiserver 1.32
 * (k8s.io/apimachinery/pkg/util/managedfields/internal + sigs.k8s.io/structured-merge-diff/v4).
 *
 * Upstream stacks small managers; the same steps, outermost first:
 * - decode the managedFields (Update: the request object's, unless empty, undecodable or on a
 *   subresource, then the live object's; `[]` or `[{}]` in the request resets them);
 * - version check (apply only): the applied apiVersion/kind must be the endpoint's;
 * - last-applied updater/manager (apply by manager "kubectl" only): a conflict on a field whose
 *   value still matches the client-side-apply annotation is allowed; the annotation is rewritten
 *   from the applied configuration when present;
 * - skip-non-applied: an object without managedFields is only tracked from its creation; an apply
 *   onto such an object first credits all existing fields to "before-first-apply" (Update);
 * - cap: more than 10 Update entries merge the oldest into "ancient-changes";
 * - manager identity: Update entries are keyed by (manager, apiVersion, subresource), Apply
 *   entries by (manager, subresource);
 * - times: an Update entry's time moves only when it took fields; an Apply entry's when the
 *   object changed;
 * - strip: apiVersion, kind, metadata.{name,namespace,uid,resourceVersion,generation,
 *   creationTimestamp,selfLink,clusterName,managedFields} and `metadata` itself are never owned;
 * - the structured-merge-diff updater: comparison, ownership transfer, conflicts, prune.
 *
 * Deliberate difference from kube-apiserver: an applied configuration that does not fit the
 * schema ("failed to create typed patch object …": undeclared fields, duplicate list keys, wrong
 * types) is a plain Go error upstream, answered with 500 and reason ""; here it is 400 BadRequest
 * with upstream's message, since bad input is always a client error with a reason. (Failures
 * about the stored object — its managedFields or its typed conversion — stay 500.)
 * @module
 */
import { ApiError, type StatusCause, badRequest, fieldError } from "../../lib/api-errors.ts";
import { type KObject, type ManagedFieldsEntry, deepEqual } from "../../lib/kobject.ts";
import type { JSONSchemaProps } from "../schema/types.ts";
import { type Atom, rootAtom } from "./atoms.ts";
import { FieldSet, type PathElement, fieldPE, renderPath, toFieldSet } from "./fieldpath.ts";
import { goJson, goJsonString, goQuote, isObject } from "../../lib/go-format.ts";
import { hasOwn } from "../schema/own.ts";
import {
  compareValues,
  ensureNamedFieldsAreMembers,
  formatValidationErrors,
  mergeValues,
  removeItems,
  validateValue,
} from "./typed.ts";
import { cloneData } from "../../lib/clone.ts";

export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";
export const MAX_UPDATE_MANAGERS = 10;
const BEFORE_FIRST_APPLY = "before-first-apply";
const ANCIENT_CHANGES = "ancient-changes";
const CURRENT_OPERATION = "current-operation";
const FIELD_MANAGER_MAX_LENGTH = 128;
const MAX_SUBRESOURCE_NAME_LENGTH = 256;
const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

// --- decoded form ----------------------------------------------------------------------------

export interface VersionedSet {
  set: FieldSet;
  apiVersion: string;
  applied: boolean;
}

/** managedFields decoded: manager identifier → owned set, plus each entry's time. */
export interface Managed {
  fields: Map<string, VersionedSet>;
  times: Map<string, string | undefined>;
}

export function emptyManaged(): Managed {
  return { fields: new Map(), times: new Map() };
}

function cloneManaged(m: Managed): Managed {
  return { fields: new Map(m.fields), times: new Map(m.times) };
}

/** BuildManagerIdentifier: the JSON of the entry without fields, time, and (Apply) apiVersion. */
export function managerIdentifier(e: { manager?: string; operation?: string; apiVersion?: string; subresource?: string }): string {
  const parts: string[] = [];
  if (e.manager) parts.push(`"manager":${goJsonString(e.manager)}`);
  if (e.operation) parts.push(`"operation":${goJsonString(e.operation)}`);
  if (e.apiVersion && e.operation !== "Apply") parts.push(`"apiVersion":${goJsonString(e.apiVersion)}`);
  if (e.subresource) parts.push(`"subresource":${goJsonString(e.subresource)}`);
  return `{${parts.join(",")}}`;
}

interface ParsedIdentifier {
  manager?: string;
  operation?: "Apply" | "Update";
  apiVersion?: string;
  subresource?: string;
}

function parseIdentifier(id: string): ParsedIdentifier {
  try {
    const v = JSON.parse(id);
    return isObject(v) ? (v as ParsedIdentifier) : {};
  } catch {
    return {};
  }
}

/** RFC 3339 (seconds, UTC) as metav1.Time writes it; undefined when unparsable. */
function normalizeTime(t: unknown): string | undefined {
  if (typeof t !== "string") return undefined;
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) return undefined;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function unixSeconds(t: string | undefined): number {
  if (!t) return 0;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

export class ManagedFieldsDecodeError extends Error {}

/** DecodeManagedFields; throws ManagedFieldsDecodeError on an entry upstream would reject. */
export function decodeManagedFields(entries: unknown): Managed {
  const m = emptyManaged();
  if (entries === undefined || entries === null) return m;
  if (!Array.isArray(entries)) throw new ManagedFieldsDecodeError("managedFields must be a list");
  entries.forEach((e, i) => {
    if (!isObject(e)) throw new ManagedFieldsDecodeError(`managed fields entry ${i} is not an object`);
    const op = e.operation;
    if (op !== "Apply" && op !== "Update") throw new ManagedFieldsDecodeError("operation must be `Apply` or `Update`");
    const apiVersion = e.apiVersion;
    if (typeof apiVersion !== "string" || apiVersion.length < 1) throw new ManagedFieldsDecodeError("apiVersion must not be empty");
    const ft = e.fieldsType;
    if (ft === undefined || ft === null || ft === "") throw new ManagedFieldsDecodeError(`missing fieldsType in managed fields entry ${i}`);
    if (ft !== "FieldsV1") throw new ManagedFieldsDecodeError(`invalid fieldsType ${goQuote(String(ft))} in managed fields entry ${i}`);
    for (const k of ["manager", "subresource"] as const) {
      if (e[k] !== undefined && e[k] !== null && typeof e[k] !== "string") throw new ManagedFieldsDecodeError(`${k} must be a string`);
    }
    let time: string | undefined;
    if (e.time !== undefined && e.time !== null) {
      time = normalizeTime(e.time);
      if (time === undefined) throw new ManagedFieldsDecodeError(`invalid time ${String(e.time)}`);
    }
    let set: FieldSet;
    try {
      set = FieldSet.fromFieldsV1(e.fieldsV1);
    } catch (err) {
      throw new ManagedFieldsDecodeError(`error decoding set: ${(err as Error).message}`);
    }
    const id = managerIdentifier({
      manager: (e.manager as string | undefined) ?? "",
      operation: op,
      apiVersion,
      subresource: (e.subresource as string | undefined) ?? "",
    });
    m.fields.set(id, { set, apiVersion, applied: op === "Apply" });
    m.times.set(id, time);
  });
  return m;
}

/** encodeManagedFields: entries sorted by operation, time, manager, apiVersion, subresource. */
export function encodeManagedFields(m: Managed): ManagedFieldsEntry[] {
  const out: ManagedFieldsEntry[] = [];
  for (const [id, vs] of m.fields) {
    const p = parseIdentifier(id);
    const e: ManagedFieldsEntry = {};
    if (p.manager) e.manager = p.manager;
    e.operation = vs.applied ? "Apply" : (p.operation ?? "Update");
    e.apiVersion = vs.apiVersion;
    const t = m.times.get(id);
    if (t) e.time = t;
    e.fieldsType = "FieldsV1";
    e.fieldsV1 = vs.set.toFieldsV1();
    if (p.subresource) e.subresource = p.subresource;
    out.push(e);
  }
  out.sort((a, b) => {
    if (a.operation !== b.operation) return (a.operation ?? "") < (b.operation ?? "") ? -1 : 1;
    const ta = unixSeconds(a.time);
    const tb = unixSeconds(b.time);
    if (ta !== tb) return ta - tb;
    for (const k of ["manager", "apiVersion", "subresource"] as const) {
      const x = a[k] ?? "";
      const y = b[k] ?? "";
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
  return out;
}

/** `[]` or `[{}]` in a written object resets managedFields (isResetManagedFields). */
export function isResetManagedFields(mf: unknown): boolean {
  if (!Array.isArray(mf)) return false;
  if (mf.length === 0) return true;
  if (mf.length !== 1) return false;
  const e = mf[0];
  if (!isObject(e)) return false;
  for (const v of Object.values(e)) if (v !== undefined && v !== null && v !== "") return false;
  return true;
}

/** ValidateManagedFields (object metadata validation); field paths as `metadata.managedFields[0].operation`. */
export function validateManagedFields(entries: ManagedFieldsEntry[] | undefined, path = "metadata.managedFields"): StatusCause[] {
  const causes: StatusCause[] = [];
  (entries ?? []).forEach((e, i) => {
    const p = `${path}[${i}]`;
    if (e.operation !== "Apply" && e.operation !== "Update") causes.push(fieldError.invalid(`${p}.operation`, e.operation ?? "", "must be `Apply` or `Update`"));
    if (e.fieldsType && e.fieldsType !== "FieldsV1") causes.push(fieldError.invalid(`${p}.fieldsType`, e.fieldsType, "must be `FieldsV1`"));
    const manager = e.manager ?? "";
    if (Buffer.byteLength(manager) > FIELD_MANAGER_MAX_LENGTH) causes.push(fieldError.tooLong(`${p}.manager`, FIELD_MANAGER_MAX_LENGTH));
    let pos = 0;
    for (const ch of manager) {
      if (!isPrintable(ch)) {
        const cp = ch.codePointAt(0)!;
        const u = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
        causes.push(fieldError.invalid(`${p}.manager`, manager, `invalid character ${u} (at position ${pos})`));
      }
      pos += Buffer.byteLength(ch);
    }
    if (Buffer.byteLength(e.subresource ?? "") > MAX_SUBRESOURCE_NAME_LENGTH) causes.push(fieldError.tooLong(`${p}.subresource`, MAX_SUBRESOURCE_NAME_LENGTH));
  });
  return causes;
}

function isPrintable(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) return false;
  return !/[\p{Cc}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(ch) && (ch === " " || !/\p{Z}/u.test(ch));
}

/** prefixFromUserAgent: the field manager a request without ?fieldManager gets. */
export function managerFromUserAgent(userAgent: string): string {
  const prefix = userAgent.split("/")[0];
  let out = "";
  let bytes = 0;
  for (const ch of prefix) {
    if (!isPrintable(ch)) continue;
    const n = Buffer.byteLength(ch);
    if (bytes + n > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
    bytes += n;
  }
  return out;
}

// --- shared context --------------------------------------------------------------------------

interface Ctx {
  root: Atom;
  apiVersion: string;
  subresource: string;
  now: string;
  /** Reset fields: excluded from every set and comparison (status on the main resource, ...). */
  exclude: FieldSet | undefined;
}

function makeCtx(schema: JSONSchemaProps, apiVersion: string, subresource: string | undefined, now: string, resetFields: string[] | undefined): Ctx {
  const reset = resetFields ?? (subresource === "status" ? ["spec"] : []);
  return {
    root: rootAtom(schema),
    apiVersion,
    subresource: subresource ?? "",
    now: normalizeTime(now) ?? now,
    exclude: reset.length ? FieldSet.fromPaths(reset.map((f) => [fieldPE(f)])) : undefined,
  };
}

function filter(ctx: Ctx, s: FieldSet): FieldSet {
  return ctx.exclude ? s.recursiveDifference(ctx.exclude) : s;
}

const STRIP_SET = FieldSet.fromPaths([
  [fieldPE("apiVersion")],
  [fieldPE("kind")],
  [fieldPE("metadata")],
  ...["name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation", "managedFields", "resourceVersion"].map((f) => [
    fieldPE("metadata"),
    fieldPE(f),
  ]),
]);

function strip(fields: Map<string, VersionedSet>, id: string): void {
  const vs = fields.get(id);
  if (!vs) return;
  const set = vs.set.difference(STRIP_SET);
  if (set.isEmpty()) fields.delete(id);
  else fields.set(id, { ...vs, set });
}

/** The object without metadata.managedFields (a shallow copy; inputs are never mutated). */
function withoutManagedFields(o: KObject): KObject {
  if (!o.metadata || !hasOwn(o.metadata, "managedFields")) return o;
  const { managedFields: _drop, ...meta } = o.metadata;
  return { ...o, metadata: meta };
}

function emptyObjectFor(o: { apiVersion?: string; kind?: string }): KObject {
  const e = {} as KObject;
  if (o.apiVersion !== undefined) e.apiVersion = o.apiVersion;
  if (o.kind !== undefined) e.kind = o.kind;
  return e;
}

// --- structured-merge-diff updater -----------------------------------------------------------

export interface Conflict {
  manager: string; // identifier
  path: PathElement[];
}

export class ConflictsError extends Error {
  constructor(readonly conflicts: Conflict[]) {
    super("conflicts");
  }
}

/** Updater.update: conflicts/removals against every other manager; returns the comparison. */
function smdUpdate(
  ctx: Ctx,
  oldV: unknown,
  newV: unknown,
  fields: Map<string, VersionedSet>,
  workflow: string,
  force: boolean,
): { added: FieldSet; modified: FieldSet; removed: FieldSet } {
  const cmp = compareValues(oldV, newV, ctx.root);
  const c = { added: filter(ctx, cmp.added), modified: filter(ctx, cmp.modified), removed: filter(ctx, cmp.removed) };
  const changed = c.modified.union(c.added);
  const conflicts = new Map<string, FieldSet>();
  const ids = [...fields.keys()].filter((id) => id !== workflow).sort();
  for (const id of ids) {
    const cs = fields.get(id)!.set.intersection(changed);
    if (!cs.isEmpty()) conflicts.set(id, cs);
  }
  if (!force && conflicts.size > 0) {
    const list: Conflict[] = [];
    for (const [id, cs] of conflicts) for (const path of cs.pathList()) list.push({ manager: id, path });
    throw new ConflictsError(list);
  }
  for (const id of ids) {
    const vs = fields.get(id)!;
    let set = vs.set;
    const cs = conflicts.get(id);
    if (cs) set = set.difference(cs);
    if (!c.removed.isEmpty()) set = set.difference(c.removed);
    if (set.isEmpty()) fields.delete(id);
    else if (set !== vs.set) fields.set(id, { ...vs, set });
  }
  return c;
}

/** Updater.Update for one manager (the `workflow`), force always on. */
function smdUpdateManager(ctx: Ctx, oldV: unknown, newV: unknown, fields: Map<string, VersionedSet>, workflow: string): void {
  const c = smdUpdate(ctx, oldV, newV, fields, workflow, true);
  const prev = fields.get(workflow)?.set ?? new FieldSet();
  const set = filter(ctx, prev.difference(c.removed).union(c.modified).union(c.added));
  if (set.isEmpty()) fields.delete(workflow);
  else fields.set(workflow, { set, apiVersion: ctx.apiVersion, applied: false });
}

/** prune: drop what the applier owned last time, no longer applies, and nobody else owns. */
function prune(ctx: Ctx, merged: unknown, fields: Map<string, VersionedSet>, last: VersionedSet | undefined, applied: FieldSet): unknown {
  if (!last || last.set.isEmpty()) return merged;
  // Nothing applied last time is missing now: every step below would remove nothing.
  if (last.set.difference(applied).isEmpty()) return merged;
  const root = ctx.root;
  const enf = (s: FieldSet) => ensureNamedFieldsAreMembers(s, root);
  const lastENF = enf(last.set);
  let pruned = removeItems(merged, lastENF, root);
  // addBackOwnedItems
  let managedAll = new FieldSet();
  for (const vs of fields.values()) managedAll = managedAll.union(vs.set);
  const mergedSet = toFieldSet(merged, root, true);
  const prunedSet = toFieldSet(pruned, root, true);
  pruned = removeItems(merged, mergedSet.difference(prunedSet.union(enf(managedAll))), root);
  // addBackDanglingItems
  const prunedSet2 = toFieldSet(pruned, root, true);
  return removeItems(merged, mergedSet.difference(prunedSet2).intersection(lastENF), root);
}

/** Updater.Apply: returns the new object (undefined when unchanged) and the new sets. */
function smdApply(
  ctx: Ctx,
  liveV: KObject,
  config: KObject,
  fields: Map<string, VersionedSet>,
  id: string,
  force: boolean,
): { object: KObject | undefined } {
  const merged = mergeValues(liveV, config, ctx.root);
  const last = fields.get(id);
  const set = filter(ctx, toFieldSet(config, ctx.root));
  fields.set(id, { set, apiVersion: ctx.apiVersion, applied: true });
  const newObj = prune(ctx, merged, fields, last, set) as KObject;
  smdUpdate(ctx, liveV, newObj, fields, id, force);
  return { object: deepEqual(liveV, newObj) ? undefined : newObj };
}

/** The Update stack below skip-non-applied: cap ∘ manager info ∘ times ∘ strip ∘ smd. */
function updateStack(ctx: Ctx, oldV: unknown, newV: unknown, managed: Managed, rawManager: string): Managed {
  const m = cloneManaged(managed);
  const id = managerIdentifier({ manager: rawManager || "unknown", operation: "Update", apiVersion: ctx.apiVersion, subresource: ctx.subresource });
  smdUpdateManager(ctx, oldV, newV, m.fields, CURRENT_OPERATION);
  strip(m.fields, CURRENT_OPERATION);
  const vs = m.fields.get(CURRENT_OPERATION);
  if (vs) {
    m.fields.delete(CURRENT_OPERATION);
    const prev = m.fields.get(id);
    m.fields.set(id, prev ? { set: vs.set.union(prev.set), apiVersion: vs.apiVersion, applied: vs.applied } : vs);
    m.times.set(id, ctx.now);
  }
  capUpdateManagers(m);
  return m;
}

/** capUpdateManagers: merge the oldest Update entries into per-version "ancient-changes". */
function capUpdateManagers(m: Managed): void {
  const updaters = [...m.fields.entries()].filter(([, vs]) => !vs.applied).map(([id]) => id);
  if (updaters.length <= MAX_UPDATE_MANAGERS) return;
  updaters.sort((a, b) => {
    const ta = unixSeconds(m.times.get(a));
    const tb = unixSeconds(m.times.get(b));
    if (ta !== tb) return ta - tb;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const firstByVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > MAX_UPDATE_MANAGERS; i++) {
    const id = updaters[i];
    const vs = m.fields.get(id)!;
    const time = m.times.get(id);
    const version = vs.apiVersion;
    const bucket = managerIdentifier({ manager: ANCIENT_CHANGES, operation: "Update", apiVersion: version });
    const first = firstByVersion.get(version);
    if (first !== undefined) {
      if (!m.fields.has(bucket)) {
        const s = m.fields.get(first)!;
        m.fields.delete(first);
        m.fields.set(bucket, s);
      }
      m.fields.set(bucket, { set: vs.set.union(m.fields.get(bucket)!.set), apiVersion: vs.apiVersion, applied: vs.applied });
      m.fields.delete(id);
      length--;
      m.times.set(bucket, time);
    } else firstByVersion.set(version, id);
  }
}

// --- Update (create / update / patch) --------------------------------------------------------

export interface UpdateManagedFieldsOptions {
  /** The stored object; undefined for a create. */
  oldObj?: KObject;
  /** The object about to be stored (its managedFields, if any, are what the client wrote). */
  newObj: KObject;
  manager: string;
  operation?: "Update";
  /** The request's group/version (`v1`, `cluster.x-k8s.io/v1beta1`). */
  apiVersion: string;
  subresource?: string;
  schema: JSONSchemaProps;
  /** RFC 3339 timestamp of the request. */
  now: string;
  /**
   * Top-level fields the endpoint resets (not owned, not compared): pass `["status"]` for the
   * main resource of a kind with a status subresource. Default: `["spec"]` for subresource
   * "status", none otherwise.
   */
  resetFields?: string[];
  /** What a create compares against (the kind's empty object); default `{apiVersion, kind}`. */
  emptyObject?: KObject;
}

/**
 * The managedFields to store for a create/update/patch (FieldManager.UpdateNoErrors). An empty
 * array means the object carries no managedFields (remove the field).
 */
export function updateManagedFields(opts: UpdateManagedFieldsOptions): ManagedFieldsEntry[] {
  const ctx = makeCtx(opts.schema, opts.apiVersion, opts.subresource, opts.now, opts.resetFields);
  const live = opts.oldObj;
  const liveMF = live?.metadata?.managedFields;
  // decodeLiveOrNew
  let managed: Managed;
  const fromLive = () => {
    try {
      return decodeManagedFields(liveMF);
    } catch {
      return emptyManaged();
    }
  };
  if (opts.subresource) managed = fromLive();
  else {
    const newMF = opts.newObj.metadata?.managedFields;
    if (isResetManagedFields(newMF)) managed = emptyManaged();
    else {
      let decoded: Managed | undefined;
      try {
        decoded = decodeManagedFields(newMF);
      } catch {
        decoded = undefined;
      }
      managed = decoded && decoded.fields.size > 0 ? decoded : fromLive();
    }
  }
  // skip-non-applied: untracked objects stay untracked, except on create.
  const isCreate = !live || !live.metadata?.uid;
  if (managed.fields.size === 0 && !isCreate) return [];
  const oldV = withoutManagedFields(live ?? opts.emptyObject ?? emptyObjectFor(opts.newObj));
  const newV = withoutManagedFields(opts.newObj);
  // UpdateNoErrors: a failed typed conversion clears managedFields.
  const vopts = { allowDuplicates: true, lenientUndeclared: true };
  if (validateValue(newV, ctx.root, vopts).length > 0 || validateValue(oldV, ctx.root, vopts).length > 0) return [];
  return encodeManagedFields(updateStack(ctx, oldV, newV, managed, opts.manager));
}

// --- Apply -----------------------------------------------------------------------------------

export interface ServerSideApplyOptions {
  /** The stored object; undefined when the apply creates it. */
  live?: KObject;
  /** The applied configuration (the request body). */
  applied: KObject;
  manager: string;
  force: boolean;
  /** The endpoint's group/version. */
  apiVersion: string;
  /** The endpoint's kind; default: the live object's, else the applied one's. */
  kind?: string;
  subresource?: string;
  schema: JSONSchemaProps;
  now: string;
  /** See UpdateManagedFieldsOptions.resetFields. */
  resetFields?: string[];
  /** The kind's empty object (create, and the base of "before-first-apply"). */
  emptyObject?: KObject;
}

export interface ServerSideApplyResult {
  /** The object to store, with metadata.managedFields set (absent when there are none). */
  object: KObject;
  managedFields: ManagedFieldsEntry[];
  /** False when nothing at all changed (the write is a no-op). */
  changed: boolean;
}

function parseGV(apiVersion: unknown): { group: string; version: string } | undefined {
  if (typeof apiVersion !== "string") return apiVersion === undefined ? { group: "", version: "" } : undefined;
  if (apiVersion === "") return { group: "", version: "" };
  const parts = apiVersion.split("/");
  if (parts.length === 1) return { group: "", version: parts[0] };
  if (parts.length === 2) return { group: parts[0], version: parts[1] };
  return undefined;
}

function gvkString(apiVersion: unknown, kind: unknown): string {
  const gv = parseGV(apiVersion);
  if (!gv) return "/, Kind=";
  return `${gv.group}/${gv.version}, Kind=${typeof kind === "string" ? kind : ""}`;
}

function objectGVKNN(o: KObject): string {
  const ns = typeof o.metadata?.namespace === "string" ? o.metadata.namespace : "";
  const name = typeof o.metadata?.name === "string" ? o.metadata.name : "";
  return `${ns}/${name}; ${gvkString(o.apiVersion, o.kind)}`;
}

function serverError(message: string): ApiError {
  // A plain Go error reaching the handler: 500 with StatusReasonUnknown ("").
  return new ApiError(500, "", message);
}

/** printManager of the conflict message. */
export function printManager(id: string): string {
  let p: ParsedIdentifier;
  try {
    p = JSON.parse(id) as ParsedIdentifier;
  } catch {
    return goQuote(id);
  }
  let s = goQuote(p.manager ?? "");
  if (p.subresource) s += ` with subresource ${goQuote(p.subresource)}`;
  if (p.operation === "Update") s += ` using ${p.apiVersion ?? ""}`;
  return s;
}

/** NewConflictError: 409 Conflict with one FieldManagerConflict cause per conflicting field. */
export function conflictError(conflicts: Conflict[]): ApiError {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: "FieldManagerConflict",
    message: `conflict with ${printManager(c.manager)}`,
    field: renderPath(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0].manager)}: ${renderPath(conflicts[0].path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const l = byManager.get(c.manager) ?? [];
      l.push(renderPath(c.path));
      byManager.set(c.manager, l);
    }
    const lines: string[] = [];
    for (const id of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${printManager(id)}:`);
      for (const p of byManager.get(id)!) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
  }
  return new ApiError(409, "Conflict", message, { causes });
}

/**
 * Server-side apply (FieldManager.Apply): merges `applied` into `live`, moves ownership, prunes
 * what the manager stopped applying, and throws the 409 of upstream on conflicts unless `force`.
 * Also throws 400 for a wrong apiVersion/kind, applied managedFields, or an applied object that
 * does not fit the schema (upstream: 500 with reason "" for the latter).
 */
export function serverSideApply(opts: ServerSideApplyOptions): ServerSideApplyResult {
  const ctx = makeCtx(opts.schema, opts.apiVersion, opts.subresource, opts.now, opts.resetFields);
  const { live, applied } = opts;
  let managed: Managed;
  try {
    managed = decodeManagedFields(live?.metadata?.managedFields);
  } catch (e) {
    throw serverError(`failed to decode managed fields: ${(e as Error).message}`);
  }
  // version check
  const expectedKind = opts.kind ?? live?.kind ?? applied.kind;
  const gv = parseGV(applied.apiVersion);
  const want = parseGV(opts.apiVersion);
  if (!gv || !want || gv.group !== want.group || gv.version !== want.version || applied.kind !== expectedKind) {
    throw badRequest(`invalid object type: ${gvkString(applied.apiVersion, applied.kind)}`);
  }
  if (Array.isArray(applied.metadata?.managedFields)) throw badRequest("metadata.managedFields must be nil");
  // typed conversions
  const patchErrs = validateValue(applied, ctx.root, { allowDuplicates: false, lenientUndeclared: false });
  if (patchErrs.length > 0) throw badRequest(`failed to create typed patch object (${objectGVKNN(applied)}): ${formatValidationErrors(patchErrs)}`);
  const empty = opts.emptyObject ?? emptyObjectFor(applied);
  const liveV = withoutManagedFields(live ?? empty);
  const liveErrs = validateValue(liveV, ctx.root, { allowDuplicates: true, lenientUndeclared: true });
  if (liveErrs.length > 0) throw serverError(`failed to create typed live object (${objectGVKNN(liveV)}): ${formatValidationErrors(liveErrs)}`);
  const config = applied;

  const attempt = (force: boolean): { object: KObject; managed: Managed } => {
    let m = cloneManaged(managed);
    // skip-non-applied: credit existing fields to before-first-apply.
    if (m.fields.size === 0) m = updateStack(ctx, withoutManagedFields(empty), liveV, m, BEFORE_FIRST_APPLY);
    const id = managerIdentifier({ manager: opts.manager || "unknown", operation: "Apply", subresource: ctx.subresource });
    const res = smdApply(ctx, liveV, config, m.fields, id, force);
    strip(m.fields, id);
    if (res.object !== undefined) m.times.set(id, ctx.now);
    return { object: res.object ?? liveV, managed: m };
  };

  let result: { object: KObject; managed: Managed };
  try {
    result = attempt(opts.force);
  } catch (e) {
    if (!(e instanceof ConflictsError)) throw e;
    if (opts.manager !== "kubectl") throw conflictError(e.conflicts);
    // lastAppliedManager: conflicts on fields still matching the CSA annotation are allowed.
    const allowed = allowedConflictsFromLastApplied(ctx, liveV);
    if (!allowed) throw conflictError(e.conflicts);
    const remaining = e.conflicts.filter((c) => !allowed.has(c.path));
    if (remaining.length > 0) throw conflictError(remaining);
    result = attempt(true);
  }

  let object = cloneData(result.object) as KObject;
  // lastAppliedUpdater: keep the CSA annotation in sync for kubectl's server-side apply.
  if (opts.manager === "kubectl" && hasLastApplied(object)) setLastApplied(object, buildLastApplied(applied));
  const managedFields = encodeManagedFields(result.managed);
  object = withManagedFields(object, managedFields);
  return { object, managedFields, changed: !live || !deepEqual(live, object) };
}

/** A copy of `o` with metadata.managedFields set to `entries` (removed when empty). */
export function withManagedFields(o: KObject, entries: ManagedFieldsEntry[]): KObject {
  const meta = { ...(o.metadata ?? {}) };
  if (entries.length > 0) meta.managedFields = entries;
  else delete meta.managedFields;
  return { ...o, metadata: meta };
}

// --- client-side apply interplay -------------------------------------------------------------

function hasLastApplied(o: KObject): boolean {
  const v = o.metadata?.annotations?.[LAST_APPLIED_ANNOTATION];
  return typeof v === "string" && v.length > 0;
}

/** buildLastApplied: the applied object without the annotation, JSON with sorted keys + "\n". */
export function buildLastApplied(applied: KObject): string {
  const obj = cloneData(applied) as KObject;
  const anns = obj.metadata?.annotations;
  if (anns && typeof anns === "object") delete anns[LAST_APPLIED_ANNOTATION];
  return `${goJson(obj)}\n`;
}

function setLastApplied(o: KObject, value: string): void {
  const anns: Record<string, string> = { ...(o.metadata.annotations ?? {}) };
  anns[LAST_APPLIED_ANNOTATION] = value;
  let total = 0;
  for (const [k, v] of Object.entries(anns)) total += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) delete anns[LAST_APPLIED_ANNOTATION];
  o.metadata = { ...o.metadata, annotations: anns };
}

function allowedConflictsFromLastApplied(ctx: Ctx, liveV: KObject): FieldSet | undefined {
  const raw = liveV.metadata?.annotations?.[LAST_APPLIED_ANNOTATION];
  if (typeof raw !== "string" || raw === "") return undefined;
  let last: unknown;
  try {
    last = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isObject(last) || typeof last.kind !== "string" || last.apiVersion !== ctx.apiVersion) return undefined;
  if (validateValue(last, ctx.root, { allowDuplicates: false, lenientUndeclared: false }).length > 0) return undefined;
  const set = toFieldSet(last, ctx.root);
  const cmp = compareValues(last, liveV, ctx.root);
  return set.difference(cmp.modified).difference(cmp.added).difference(cmp.removed);
}
