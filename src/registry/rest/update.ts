/**
 * PUT, and the update path shared with PATCH, finalizer removal and the status/scale/finalize
 * subresources.
 * @module
 */
import { conflict, invalid, methodNotAllowed, notFound } from "../../lib/api-errors.ts";
import { nowRfc3339, type KObject, type ManagedFieldsEntry } from "../../lib/kobject.ts";
import { KeyNotFoundError, RevisionConflictError } from "../../store/store.ts";
import { updateManagedFields } from "../patch/index.ts";
import type { Resolved } from "../registry.ts";
import type { Resource } from "../types.ts";
import {
  checkIdentityMatchesUrl,
  checkShape,
  checkTypeMeta,
  defaultFields,
  dropEmptyMeta,
  mutateAdmission,
  pruneFields,
  validateAgainstSchema,
  validateStored,
} from "./admission.ts";
import { toStorageForWrite, toVersion } from "./codec.ts";
import type { RequestContext } from "./context.ts";
import { create } from "./create.ts";
import { getStored, type RestDeps } from "./deps.ts";
import { expiresAt, isNoop, omitEmpty, resetFieldsFor, setManagedFields, specChanged, tracksGeneration } from "./write-helpers.ts";
import { cloneData } from "../../lib/clone.ts";

export type Subresource = "status" | "finalize";

export interface ApplyUpdateOptions {
  subresource?: Subresource;
  /** Managed fields computed by server-side apply; otherwise derived as an Update. */
  managedFields?: ManagedFieldsEntry[];
  /** Skip unknown-field pruning (already done, e.g. by server-side apply). */
  pruned?: boolean;
}

function gr(resource: Resource) {
  return { group: resource.group, resource: resource.plural };
}

export function conflictError(resource: Resource, name: string) {
  return conflict(gr(resource), name);
}

/** An object is removed once it is terminating and nothing holds it any more. */
function readyToDelete(resource: Resource, obj: KObject): boolean {
  if (!obj.metadata.deletionTimestamp || (obj.metadata.finalizers?.length ?? 0) > 0) return false;
  if (resource.plural === "namespaces" && !resource.group) {
    return (((obj.spec as { finalizers?: string[] } | undefined)?.finalizers) ?? []).length === 0;
  }
  return true;
}

/**
 * Merges `candidate` (request form, typed and checked) over the stored `oldStored` according to
 * the subresource, admits it and writes it. Returns the stored result (storage form).
 */
export function applyUpdate(
  d: RestDeps,
  r: Resolved,
  oldStored: KObject,
  candidate: KObject,
  ctx: RequestContext,
  opts: ApplyUpdateOptions = {},
): KObject {
  const { resource, version } = r;
  const asRequested = (o: KObject) => toVersion(resource, o, version.name);
  const oldReq = cloneData(asRequested(oldStored));
  if (!opts.pruned) pruneFields(resource, version, candidate, ctx);
  defaultFields(version.schema, candidate);

  let next: KObject;
  if (opts.subresource === "status") {
    next = { ...cloneData(oldReq), metadata: { ...cloneData(oldReq.metadata), managedFields: oldReq.metadata.managedFields } };
    if ("status" in candidate) next.status = candidate.status;
    else delete next.status;
  } else if (opts.subresource === "finalize") {
    next = cloneData(oldReq);
    const spec = (next.spec ??= {}) as Record<string, unknown>;
    spec.finalizers = (candidate.spec as { finalizers?: unknown } | undefined)?.finalizers ?? [];
  } else {
    next = candidate;
    if (version.subresources.status) {
      if ("status" in oldReq) next.status = oldReq.status;
      else delete next.status;
    }
  }

  const meta = next.metadata;
  const oldMeta = oldReq.metadata;
  if (meta.uid && meta.uid !== oldMeta.uid) {
    throw conflict(gr(resource), oldMeta.name!, `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${oldMeta.uid}`);
  }
  meta.name = oldMeta.name;
  if (resource.namespaced) meta.namespace = oldMeta.namespace;
  else delete meta.namespace;
  meta.uid = oldMeta.uid;
  meta.creationTimestamp = oldMeta.creationTimestamp;
  if (oldMeta.deletionTimestamp) {
    meta.deletionTimestamp = oldMeta.deletionTimestamp;
    meta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
  } else {
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
  }
  delete meta.generateName;
  if (oldMeta.generateName) meta.generateName = oldMeta.generateName;
  meta.resourceVersion = oldMeta.resourceVersion;

  if (!opts.subresource) next = mutateAdmission(resource, version, next, oldStored);
  validateAgainstSchema(resource, version, next, oldReq);
  const stored = toStorageForWrite(resource, next);
  if (!opts.subresource) resource.hooks?.prepareForUpdate?.(stored, oldStored);
  dropEmptyMeta(stored.metadata);
  omitEmpty(resource, stored);
  if (tracksGeneration(resource)) {
    const oldGen = oldStored.metadata.generation ?? 1;
    stored.metadata.generation = !opts.subresource && specChanged(stored, oldStored) ? oldGen + 1 : oldGen;
  } else {
    delete stored.metadata.generation;
  }
  setManagedFields(
    stored,
    opts.managedFields ??
      updateManagedFields({
        oldObj: oldReq,
        newObj: asRequested(stored),
        manager: ctx.fieldManager ?? "unknown",
        operation: "Update",
        apiVersion: next.apiVersion ?? oldReq.apiVersion!,
        subresource: opts.subresource === "status" ? "status" : undefined,
        schema: version.schema,
        now: nowRfc3339(d.now()),
        resetFields: resetFieldsFor(version, opts.subresource),
      }),
  );
  validateStored(resource, stored, oldStored, opts.subresource);

  if (isNoop(stored, oldStored)) return oldStored;
  if (ctx.dryRun) return stored;
  const expectedRv = Number(oldStored.metadata.resourceVersion);
  try {
    if (readyToDelete(resource, stored)) {
      d.store.delete(resource.qualified, stored.metadata.namespace ?? "", stored.metadata.name!, expectedRv, stored);
    } else {
      d.store.update(resource.qualified, stored, expectedRv, { expiresAt: expiresAt(resource, d.now()) });
    }
  } catch (e) {
    if (e instanceof RevisionConflictError) throw conflictError(resource, stored.metadata.name!);
    if (e instanceof KeyNotFoundError) throw notFound(gr(resource), stored.metadata.name!);
    throw e;
  }
  return stored;
}

/** Checks a body's resourceVersion against the stored one (PUT semantics). */
export function checkResourceVersion(resource: Resource, body: KObject, oldStored: KObject, allowUnconditional: boolean): void {
  const rv = body.metadata.resourceVersion;
  if (!rv) {
    if (allowUnconditional) return;
    throw invalid(resource.kind, resource.group, oldStored.metadata.name!, [
      { reason: "FieldValueInvalid", field: "metadata.resourceVersion", message: "Invalid value: 0x0: must be specified for an update" },
    ]);
  }
  if (rv !== oldStored.metadata.resourceVersion) throw conflictError(resource, oldStored.metadata.name!);
}

/** PUT on the main resource or a subresource. */
export function update(
  d: RestDeps,
  r: Resolved,
  namespace: string,
  name: string,
  body: unknown,
  ctx: RequestContext,
  subresource?: Subresource,
): { object: KObject; created: boolean } {
  const { resource, version } = r;
  if (!resource.verbs.includes("update")) throw methodNotAllowed();
  checkShape(resource, version.name, body);
  checkTypeMeta(resource, version.name, body);
  checkIdentityMatchesUrl(resource, body, namespace, name);
  const old = getStored(d, resource, namespace, name);
  if (!old) {
    if (!subresource && resource.hooks?.allowCreateOnUpdate) {
      body.metadata.name = name;
      return { object: create(d, r, namespace, body, ctx), created: true };
    }
    throw notFound(gr(resource), name);
  }
  const unconditional = !resource.custom && Boolean(resource.hooks?.allowUnconditionalUpdate);
  checkResourceVersion(resource, body, old, unconditional);
  const stored = applyUpdate(d, r, old, body, ctx, { subresource });
  return { object: toVersion(resource, stored, version.name), created: false };
}
