/**
 * DELETE and deletecollection: preconditions, graceful deletion through finalizers
 * (foregroundDeletion / orphan / kind-specific), immediate removal otherwise. Dependents are
 * handled afterwards by the garbage collector (lifecycle/gc.ts).
 * @module
 */
import { badRequest, conflict, methodNotAllowed, notFound } from "../../lib/api-errors.ts";
import { isPlainObject, nowRfc3339, type KObject } from "../../lib/kobject.ts";
import { KeyNotFoundError, RevisionConflictError } from "../../store/store.ts";
import type { Resolved } from "../registry.ts";
import type { Resource } from "../types.ts";
import { toVersion } from "./codec.ts";
import type { RequestContext } from "./context.ts";
import { getStored, type RestDeps } from "./deps.ts";
import { list, type ListOptions } from "./list.ts";
import { tracksGeneration } from "./write-helpers.ts";
import { cloneData } from "../../lib/clone.ts";

export const FOREGROUND_FINALIZER = "foregroundDeletion";
export const ORPHAN_FINALIZER = "orphan";

export type PropagationPolicy = "Background" | "Foreground" | "Orphan";

export interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  orphanDependents?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

/** Validates a DeleteOptions body (JSON object, possibly empty). */
export function parseDeleteOptions(body: unknown): DeleteOptions {
  if (body === undefined || body === null) return {};
  if (!isPlainObject(body)) throw badRequest("DeleteOptions must be a JSON object");
  const o = body as Record<string, unknown>;
  if (o.kind !== undefined && o.kind !== "DeleteOptions") throw badRequest(`expected DeleteOptions, got ${String(o.kind)}`);
  const policy = o.propagationPolicy;
  if (policy !== undefined && policy !== null && policy !== "Background" && policy !== "Foreground" && policy !== "Orphan") {
    throw badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"`);
  }
  if (o.orphanDependents !== undefined && o.orphanDependents !== null && typeof o.orphanDependents !== "boolean") {
    throw badRequest("orphanDependents must be a boolean");
  }
  if (o.orphanDependents !== undefined && o.orphanDependents !== null && policy) {
    throw badRequest("propagationPolicy: Invalid value: Cannot both set OrphanDependents and PropagationPolicy");
  }
  const grace = o.gracePeriodSeconds;
  if (grace !== undefined && grace !== null && (!Number.isInteger(grace) || (grace as number) < 0)) {
    throw badRequest("gracePeriodSeconds must be a non-negative integer");
  }
  const pre = o.preconditions;
  if (pre !== undefined && pre !== null && !isPlainObject(pre)) throw badRequest("preconditions must be an object");
  const dryRun = o.dryRun;
  if (dryRun !== undefined && dryRun !== null && (!Array.isArray(dryRun) || dryRun.some((v) => v !== "All"))) {
    throw badRequest(`dryRun: Unsupported value: ${JSON.stringify(dryRun)}: supported values: "All"`);
  }
  return {
    propagationPolicy: (policy as PropagationPolicy | undefined) ?? (o.orphanDependents === true ? "Orphan" : undefined),
    gracePeriodSeconds: grace as number | undefined,
    preconditions: pre as DeleteOptions["preconditions"],
    dryRun: dryRun as string[] | undefined,
  };
}

function gr(resource: Resource) {
  return { group: resource.group, resource: resource.plural };
}

export type DeleteResult = { kind: "deleted"; object: KObject } | { kind: "terminating"; object: KObject };

/** Deletes one object. "terminating": it now has a deletionTimestamp and waits for finalizers. */
export function deleteObject(
  d: RestDeps,
  r: Resolved,
  namespace: string,
  name: string,
  opts: DeleteOptions,
  ctx: RequestContext,
): DeleteResult {
  const { resource, version } = r;
  if (!resource.verbs.includes("delete")) throw methodNotAllowed();
  const dryRun = ctx.dryRun || Boolean(opts.dryRun?.includes("All"));
  for (let attempt = 0; ; attempt++) {
    const old = getStored(d, resource, namespace, name);
    if (!old) throw notFound(gr(resource), name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw conflict(gr(resource), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(
        gr(resource),
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
      );
    }
    const next = cloneData(old);
    const meta = next.metadata;
    const fin = new Set(meta.finalizers ?? []);
    let changed = false;
    if (!meta.deletionTimestamp && resource.hooks?.prepareForDelete?.(next)) changed = true;
    const policy = opts.propagationPolicy;
    if (policy === "Foreground" && !fin.has(FOREGROUND_FINALIZER) && !fin.has(ORPHAN_FINALIZER)) {
      meta.finalizers = [...(meta.finalizers ?? []), FOREGROUND_FINALIZER];
      changed = true;
    } else if (policy === "Orphan" && !fin.has(ORPHAN_FINALIZER)) {
      meta.finalizers = [...(meta.finalizers ?? []).filter((f) => f !== FOREGROUND_FINALIZER), ORPHAN_FINALIZER];
      changed = true;
    } else if (policy === "Background" && fin.has(FOREGROUND_FINALIZER)) {
      meta.finalizers = (meta.finalizers ?? []).filter((f) => f !== FOREGROUND_FINALIZER);
      changed = true;
    }
    const graceful = (meta.finalizers?.length ?? 0) > 0 || isNamespaceHeld(resource, next);
    if (!graceful) {
      if (dryRun) return { kind: "deleted", object: toVersion(resource, old, version.name) };
      try {
        const change = d.store.delete(resource.qualified, old.metadata.namespace ?? "", name, Number(old.metadata.resourceVersion));
        return { kind: "deleted", object: toVersion(resource, change.object, version.name) };
      } catch (e) {
        if (e instanceof RevisionConflictError && attempt < 3) continue;
        if (e instanceof KeyNotFoundError) throw notFound(gr(resource), name);
        throw e;
      }
    }
    if (!meta.deletionTimestamp) {
      meta.deletionTimestamp = nowRfc3339(d.now());
      meta.deletionGracePeriodSeconds = 0;
      if (tracksGeneration(resource)) meta.generation = (meta.generation ?? 1) + 1;
      if (resource.plural === "namespaces" && !resource.group) (next.status as Record<string, unknown>) = { ...(next.status as object), phase: "Terminating" };
      changed = true;
    }
    if (!changed || dryRun) return { kind: "terminating", object: toVersion(resource, next, version.name) };
    try {
      d.store.update(resource.qualified, next, Number(old.metadata.resourceVersion));
      return { kind: "terminating", object: toVersion(resource, next, version.name) };
    } catch (e) {
      if (e instanceof RevisionConflictError && attempt < 3) continue;
      throw e;
    }
  }
}

function isNamespaceHeld(resource: Resource, obj: KObject): boolean {
  if (resource.plural !== "namespaces" || resource.group) return false;
  return (((obj.spec as { finalizers?: string[] } | undefined)?.finalizers) ?? []).length > 0;
}

/** deletecollection: deletes every object the list options select; returns the list of what was deleted. */
export function deleteCollection(
  d: RestDeps,
  r: Resolved,
  namespace: string | undefined,
  listOpts: ListOptions,
  opts: DeleteOptions,
  ctx: RequestContext,
): KObject[] {
  if (!r.resource.verbs.includes("deletecollection")) throw methodNotAllowed();
  const items = list(d, r, namespace, { ...listOpts, limit: undefined, continue: undefined }).items;
  const out: KObject[] = [];
  for (const item of items) {
    try {
      out.push(deleteObject(d, r, item.metadata.namespace ?? "", item.metadata.name!, opts, ctx).object);
    } catch (e) {
      if ((e as { code?: number }).code === 404) continue;
      throw e;
    }
  }
  return out;
}
