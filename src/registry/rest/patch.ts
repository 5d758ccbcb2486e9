/**
 * PATCH: JSON patch, merge patch, strategic merge patch (built-in kinds only) and server-side
 * apply (an upsert), each applied to the current object and then written through the update path.
 * @module
 */
import { badRequest, methodNotAllowed, notFound, unsupportedMediaType } from "../../lib/api-errors.ts";
import { assertJsonValue } from "../../lib/json-value.ts";
import { isPlainObject, nowRfc3339, type KObject } from "../../lib/kobject.ts";
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, serverSideApply } from "../patch/index.ts";
import type { Resolved } from "../registry.ts";
import { checkIdentityMatchesUrl, checkShape, checkTypeMeta, pruneFields } from "./admission.ts";
import { toVersion } from "./codec.ts";
import type { RequestContext } from "./context.ts";
import { create } from "./create.ts";
import { getStored, type RestDeps } from "./deps.ts";
import { applyUpdate, conflictError, type Subresource } from "./update.ts";
import { resetFieldsFor } from "./write-helpers.ts";
import { cloneData } from "../../lib/clone.ts";

export type PatchType = "json" | "merge" | "strategic" | "apply";

export const CR_PATCH_UNSUPPORTED = `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`;

export const PATCH_CONTENT_TYPES: Record<string, PatchType> = {
  "application/json-patch+json": "json",
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
  "application/apply-patch+yaml": "apply",
  "application/apply-patch+cbor": "apply",
};


export interface PatchOptions {
  force?: boolean;
  subresource?: Subresource;
}

export function patch(
  d: RestDeps,
  r: Resolved,
  namespace: string,
  name: string,
  type: PatchType,
  body: unknown,
  ctx: RequestContext,
  opts: PatchOptions = {},
): { object: KObject; created: boolean } {
  const { resource, version } = r;
  if (!resource.verbs.includes("patch")) throw methodNotAllowed();
  if (type === "strategic" && resource.custom) {
    throw unsupportedMediaType(CR_PATCH_UNSUPPORTED);
  }
  if (type === "apply") return apply(d, r, namespace, name, body, ctx, opts);
  const old = getStored(d, resource, namespace, name);
  if (!old) throw notFound({ group: resource.group, resource: resource.plural }, name);
  const current = cloneData(toVersion(resource, old, version.name));
  let patched: unknown;
  if (type === "json") patched = applyJsonPatch(current, body);
  else if (type === "merge") patched = applyMergePatch(current, body);
  else patched = applyStrategicMergePatch(current, body, version.schema);
  // A patch can move a deep value under a deep path: the result gets the same bound as a body.
  assertJsonValue(patched, "the patched object");
  checkShape(resource, version.name, patched);
  checkTypeMeta(resource, version.name, patched);
  checkIdentity(patched, current, name);
  if (patched.metadata.resourceVersion && patched.metadata.resourceVersion !== current.metadata.resourceVersion) {
    throw conflictError(resource, name);
  }
  const stored = applyUpdate(d, r, old, patched, ctx, { subresource: opts.subresource });
  return { object: toVersion(resource, stored, version.name), created: false };
}

function checkIdentity(patched: KObject, current: KObject, name: string): void {
  if (patched.metadata.name !== current.metadata.name) {
    throw badRequest(`the name of the object (${String(patched.metadata.name)}) does not match the name on the URL (${name})`);
  }
  if (patched.metadata.namespace !== current.metadata.namespace) {
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
}

function apply(
  d: RestDeps,
  r: Resolved,
  namespace: string,
  name: string,
  body: unknown,
  ctx: RequestContext,
  opts: PatchOptions,
): { object: KObject; created: boolean } {
  const { resource, version } = r;
  if (!ctx.fieldManager) throw badRequest("PatchType is ApplyPatch, but fieldManager query param is empty");
  if (!isPlainObject(body)) throw badRequest("error decoding YAML: the apply configuration must be an object");
  const applied = body as KObject;
  if (!applied.apiVersion || !applied.kind) {
    throw badRequest(`error decoding apply configuration: Object 'Kind' is missing in '${JSON.stringify(body).slice(0, 200)}'`);
  }
  checkShape(resource, version.name, applied);
  checkTypeMeta(resource, version.name, applied);
  checkIdentityMatchesUrl(resource, applied, namespace, name);
  if (applied.metadata.managedFields !== undefined) throw badRequest("metadata.managedFields must be nil");
  applied.metadata.name = name;
  if (resource.namespaced) applied.metadata.namespace = namespace;
  pruneFields(resource, version, applied, ctx);
  const old = getStored(d, resource, namespace, name);
  const now = nowRfc3339(d.now());
  const common = {
    applied,
    manager: ctx.fieldManager,
    force: Boolean(opts.force),
    apiVersion: applied.apiVersion!,
    schema: version.schema,
    now,
    resetFields: resetFieldsFor(version, opts.subresource),
  };
  if (!old) {
    if (opts.subresource) throw notFound({ group: resource.group, resource: resource.plural }, name);
    const result = serverSideApply(common);
    return { object: create(d, r, namespace, result.object, ctx, { managedFields: result.managedFields }), created: true };
  }
  const live = cloneData(toVersion(resource, old, version.name));
  if (applied.metadata.resourceVersion && applied.metadata.resourceVersion !== live.metadata.resourceVersion) {
    throw conflictError(resource, name);
  }
  const result = serverSideApply({ ...common, live, subresource: opts.subresource });
  const stored = applyUpdate(d, r, old, result.object, ctx, { subresource: opts.subresource, managedFields: result.managedFields, pruned: true });
  return { object: toVersion(resource, stored, version.name), created: false };
}
