/**
 * The scale subresource (autoscaling/v1 Scale) of resources whose version declares one.
 * @module
 */
import { badRequest, conflict, notFound, unsupportedMediaType } from "../../lib/api-errors.ts";
import { jsonPathFirst, setSimplePath } from "../../lib/jsonpath.ts";
import { isPlainObject, type KObject } from "../../lib/kobject.ts";
import { labelSelectorFromObject } from "../../lib/selectors/index.ts";
import { applyJsonPatch, applyMergePatch } from "../patch/index.ts";
import type { Resolved } from "../registry.ts";
import type { ScaleSubresource } from "../types.ts";
import { toVersion } from "./codec.ts";
import type { RequestContext } from "./context.ts";
import { getStored, type RestDeps } from "./deps.ts";
import type { PatchType } from "./patch.ts";
import { applyUpdate } from "./update.ts";
import { cloneData } from "../../lib/clone.ts";

function scaleSpec(r: Resolved): ScaleSubresource {
  const s = r.version.subresources.scale;
  if (!s) throw notFound({ group: r.resource.group, resource: `${r.resource.plural}/scale` }, "");
  return s;
}

function selectorString(v: unknown): string {
  if (typeof v === "string") return v;
  if (isPlainObject(v)) {
    try {
      return labelSelectorFromObject(v as Parameters<typeof labelSelectorFromObject>[0]).toString();
    } catch {
      return "";
    }
  }
  return "";
}

export function toScale(r: Resolved, obj: KObject): KObject {
  const s = scaleSpec(r);
  const spec = Number(jsonPathFirst(obj, s.specReplicasPath) ?? 0);
  const status = Number(jsonPathFirst(obj, s.statusReplicasPath) ?? 0);
  const selector = s.labelSelectorPath ? selectorString(jsonPathFirst(obj, s.labelSelectorPath)) : "";
  const m = obj.metadata;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: m.name,
      ...(m.namespace ? { namespace: m.namespace } : {}),
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: spec },
    status: { replicas: status, selector },
  };
}

function load(d: RestDeps, r: Resolved, namespace: string, name: string): KObject {
  scaleSpec(r);
  const old = getStored(d, r.resource, namespace, name);
  if (!old) throw notFound({ group: r.resource.group, resource: r.resource.plural }, name);
  return old;
}

export function getScale(d: RestDeps, r: Resolved, namespace: string, name: string): KObject {
  return toScale(r, toVersion(r.resource, load(d, r, namespace, name), r.version.name));
}

function checkScale(body: unknown, name: string): { replicas: number; resourceVersion?: string } {
  if (!isPlainObject(body)) throw badRequest("Scale must be a JSON object");
  const b = body as { kind?: unknown; apiVersion?: unknown; metadata?: { name?: unknown; resourceVersion?: unknown }; spec?: { replicas?: unknown } };
  if (b.kind !== undefined && b.kind !== "Scale") throw badRequest(`the kind in the data (${String(b.kind)}) does not match the expected kind (Scale)`);
  if (b.metadata?.name !== undefined && b.metadata.name !== name) {
    throw badRequest(`the name of the object (${String(b.metadata.name)}) does not match the name on the URL (${name})`);
  }
  const replicas = b.spec?.replicas ?? 0;
  if (!Number.isInteger(replicas) || (replicas as number) < 0) {
    throw badRequest(`Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
  }
  const rv = b.metadata?.resourceVersion;
  return { replicas: replicas as number, resourceVersion: typeof rv === "string" && rv ? rv : undefined };
}

function write(d: RestDeps, r: Resolved, old: KObject, scale: { replicas: number; resourceVersion?: string }, ctx: RequestContext): KObject {
  const current = cloneData(toVersion(r.resource, old, r.version.name));
  if (scale.resourceVersion && scale.resourceVersion !== current.metadata.resourceVersion) {
    throw conflict({ group: r.resource.group, resource: r.resource.plural }, current.metadata.name!);
  }
  setSimplePath(current as Record<string, unknown>, scaleSpec(r).specReplicasPath, scale.replicas);
  const stored = applyUpdate(d, r, old, current, { ...ctx, fieldValidation: "Ignore" });
  return toScale(r, toVersion(r.resource, stored, r.version.name));
}

export function updateScale(d: RestDeps, r: Resolved, namespace: string, name: string, body: unknown, ctx: RequestContext): KObject {
  const old = load(d, r, namespace, name);
  return write(d, r, old, checkScale(body, name), ctx);
}

export function patchScale(d: RestDeps, r: Resolved, namespace: string, name: string, type: PatchType, body: unknown, ctx: RequestContext): KObject {
  if (type === "apply") throw unsupportedMediaType("server-side apply is not supported on the scale subresource; use a merge patch");
  const old = load(d, r, namespace, name);
  const current = toScale(r, toVersion(r.resource, old, r.version.name));
  const patched = type === "json" ? applyJsonPatch(current, body) : applyMergePatch(current, body);
  return write(d, r, old, checkScale(patched, name), ctx);
}
