/**
 * Moving objects between the version a client speaks and the version they are stored in.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { apiVersionOf, type Resource } from "../types.ts";

export function requestApiVersion(resource: Resource, version: string): string {
  return apiVersionOf(resource.group, version);
}

/** Storage form → the served version `version`. Never mutates `obj`. */
export function toVersion(resource: Resource, obj: KObject, version: string): KObject {
  const target = requestApiVersion(resource, version);
  if (obj.apiVersion === target && obj.kind === resource.kind) return obj;
  if (resource.hooks?.convert) return resource.hooks.convert(obj, target);
  return { ...obj, apiVersion: target, kind: resource.kind };
}

/** Request form → storage form. Never mutates `obj`. */
export function toStorage(resource: Resource, obj: KObject): KObject {
  const target = resource.storageApiVersion;
  if (obj.apiVersion === target && (obj.kind === resource.kind || !resource.hooks?.convert)) return obj;
  if (resource.hooks?.convert) return resource.hooks.convert(obj, target);
  return { ...obj, apiVersion: target, kind: resource.storage ? obj.kind : resource.kind };
}
