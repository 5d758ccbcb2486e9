/**
 * The patch helper: a reconciler changes a copy of the object, then the difference to the
 * snapshot taken before is written — metadata and spec through the main resource, status through
 * the status subresource — as merge patches. Changes to metadata lists (finalizers, ownerRefs)
 * carry the resourceVersion, so a concurrent writer's entries are never overwritten: the write
 * gets 409 and the reconcile is retried.
 * @module
 */
import { deepEqual, isPlainObject, type KObject } from "../lib/kobject.ts";
import type { Client } from "./client.ts";

/** RFC 7386 patch turning `a` into `b` (null deletes; arrays replace). */
export function mergeDiff(a: unknown, b: unknown): unknown {
  if (!isPlainObject(a) || !isPlainObject(b)) return b === undefined ? null : b;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(a)) {
    if (a[k] !== undefined && (!(k in b) || b[k] === undefined)) out[k] = null;
  }
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    if (!deepEqual(a[k], v)) out[k] = isPlainObject(a[k]) && isPlainObject(v) ? mergeDiff(a[k], v) : v;
  }
  return out;
}

const LOCKED_META = ["finalizers", "ownerReferences"];

export interface PatchResult {
  object: KObject;
  changed: boolean;
}

/**
 * Writes what changed from `before` to `after`. Returns the latest stored object. The status
 * patch only goes out when the kind has a status subresource (`hasStatus`).
 */
export async function patchObject(client: Client, before: KObject, after: KObject, hasStatus = true): Promise<PatchResult> {
  const ref = { apiVersion: after.apiVersion!, kind: after.kind!, namespace: after.metadata.namespace, name: after.metadata.name! };
  const { status: statusBefore, metadata: metaBefore, ...restBefore } = before;
  const { status: statusAfter, metadata: metaAfter, ...restAfter } = after;
  let latest = before;
  let changed = false;

  const mainBefore = { ...restBefore, metadata: pickMeta(metaBefore) };
  const mainAfter = { ...restAfter, metadata: pickMeta(metaAfter) };
  if (!hasStatus) {
    (mainBefore as Record<string, unknown>).status = statusBefore;
    (mainAfter as Record<string, unknown>).status = statusAfter;
  }
  if (!deepEqual(mainBefore, mainAfter)) {
    const patch = mergeDiff(mainBefore, mainAfter) as Record<string, unknown> & { metadata?: Record<string, unknown> };
    delete patch.apiVersion;
    delete patch.kind;
    if (LOCKED_META.some((f) => patch.metadata && f in patch.metadata)) {
      patch.metadata = { ...patch.metadata, resourceVersion: before.metadata.resourceVersion };
    }
    latest = await client.patch(ref, "merge", patch);
    changed = true;
  }
  const status = hasStatus ? observingOwnSpecWrite(statusAfter, before, latest) : statusAfter;
  if (hasStatus && !deepEqual(statusBefore, status)) {
    latest = await client.patch(ref, "merge", { status: mergeDiff(statusBefore ?? {}, status ?? {}) }, { subresource: "status" });
    changed = true;
  }
  return { object: latest, changed };
}

/**
 * The status a reconcile computed, observing the spec it just wrote itself: where it says it
 * observed the generation it started from (`observedGeneration`, top level and on conditions), it
 * says the generation its own spec write produced. Without this each such write costs another
 * status write and reconcile that only move observedGeneration up by one.
 */
export function observingOwnSpecWrite<T>(status: T, before: KObject, latest: KObject): T {
  const from = before.metadata.generation;
  const to = latest.metadata.generation;
  if (from === undefined || to === undefined || from === to || !isPlainObject(status)) return status;
  const out = { ...(status as Record<string, unknown>) };
  if (out.observedGeneration === from) out.observedGeneration = to;
  const advance = (list: unknown) =>
    Array.isArray(list) ? list.map((c) => (isPlainObject(c) && c.observedGeneration === from ? { ...c, observedGeneration: to } : c)) : list;
  if (Array.isArray(out.conditions)) out.conditions = advance(out.conditions);
  return out as T;
}

function pickMeta(meta: KObject["metadata"]): Record<string, unknown> {
  return { labels: meta.labels, annotations: meta.annotations, finalizers: meta.finalizers, ownerReferences: meta.ownerReferences };
}
