/**
 * Small rules shared by the write verbs.
 * @module
 */
import { deepEqual, type KObject, type ManagedFieldsEntry } from "../../lib/kobject.ts";
import type { Resource, ResourceVersion } from "../types.ts";

/**
 * Fields a write may not own through this endpoint: with a status subresource, the main
 * resource resets `status` and the status subresource resets `spec` (field-manager rules).
 */
export function resetFieldsFor(version: ResourceVersion, subresource: string | undefined): string[] | undefined {
  if (subresource === "status") return undefined;
  return version.subresources.status ? ["status"] : undefined;
}

export function tracksGeneration(resource: Resource): boolean {
  return resource.tracksGeneration ?? resource.custom;
}

export function expiresAt(resource: Resource, now: Date): number | null {
  return resource.hooks?.ttlMs ? now.getTime() + resource.hooks.ttlMs : null;
}

/** Everything but metadata and status: a change here bumps metadata.generation. */
export function specChanged(a: KObject, b: KObject): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (k === "metadata" || k === "status" || k === "apiVersion" || k === "kind") continue;
    if (!deepEqual(a[k], b[k])) return true;
  }
  return false;
}

function withoutTimes(entries: ManagedFieldsEntry[] | undefined): unknown {
  return (entries ?? []).map(({ time: _t, ...rest }) => rest);
}

/**
 * A write that changes nothing (managedFields timestamps aside) is not stored: no new
 * resourceVersion, no watch event — as upstream.
 */
export function isNoop(next: KObject, old: KObject): boolean {
  const { managedFields: a, resourceVersion: _r1, ...metaA } = next.metadata;
  const { managedFields: b, resourceVersion: _r2, ...metaB } = old.metadata;
  if (!deepEqual(metaA, metaB)) return false;
  if (!deepEqual(withoutTimes(a), withoutTimes(b))) return false;
  const { metadata: _m1, ...restA } = next;
  const { metadata: _m2, ...restB } = old;
  return deepEqual(restA, restB);
}

/** Built-in kinds serialise through Go types: fields tagged omitempty vanish when empty. */
export function omitEmpty(resource: Resource, obj: KObject): void {
  for (const path of resource.hooks?.omitEmpty ?? []) {
    const parts = path.split(".");
    let cur: Record<string, unknown> | undefined = obj;
    for (let i = 0; i < parts.length - 1 && cur; i++) cur = cur[parts[i]!] as Record<string, unknown> | undefined;
    const last = parts.at(-1)!;
    const v = cur?.[last];
    if (cur && (v === null || (Array.isArray(v) ? v.length === 0 : typeof v === "object" && v !== null && Object.keys(v).length === 0))) delete cur[last];
  }
}

/** managedFields as Go serialises them: an empty list is omitted. */
export function setManagedFields(obj: KObject, entries: ManagedFieldsEntry[]): void {
  if (entries.length) obj.metadata.managedFields = entries;
  else delete obj.metadata.managedFields;
}
