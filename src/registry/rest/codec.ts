/**
 * Moving objects between the version a client speaks and the version they are stored in.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { applyDefaults } from "../schema/index.ts";
import type { JSONSchemaProps } from "../schema/types.ts";
import { apiVersionOf, type Resource } from "../types.ts";
import { cloneData } from "../../lib/clone.ts";

const schemaHasDefaults = new WeakMap<JSONSchemaProps, boolean>();

function hasDefaults(schema: JSONSchemaProps): boolean {
  let known = schemaHasDefaults.get(schema);
  if (known === undefined) {
    known = JSON.stringify(schema).includes('"default":');
    schemaHasDefaults.set(schema, known);
  }
  return known;
}

/**
 * A stored object written before its CRD's schema last changed, with the storage version's
 * defaults applied (a copy); any other object as it is.
 */
export function withStoredDefaults(resource: Resource, obj: KObject): KObject {
  const since = resource.schemaSinceRV;
  if (since === undefined || !(Number(obj.metadata?.resourceVersion) < since)) return obj;
  if (obj.apiVersion !== resource.storageApiVersion) return obj;
  const schema = resource.version(resource.storageVersion)?.schema;
  if (!schema || !hasDefaults(schema)) return obj;
  const copy = cloneData(obj);
  applyDefaults(copy, schema);
  return copy;
}

export function requestApiVersion(resource: Resource, version: string): string {
  return apiVersionOf(resource.group, version);
}

/** Storage form → the served version `version`. Never mutates `obj`. */
export function toVersion(resource: Resource, stored: KObject, version: string): KObject {
  const obj = withStoredDefaults(resource, stored);
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

/**
 * Request form → storage form for a write, with the storage version's schema defaults applied
 * when the request came in another version (kube-apiserver applies them when it next reads the
 * object from etcd; applying them before the write shows clients the same object).
 */
export function toStorageForWrite(resource: Resource, obj: KObject): KObject {
  const stored = toStorage(resource, obj);
  if (obj.apiVersion === resource.storageApiVersion) return stored;
  const schema = resource.version(resource.storageVersion)?.schema;
  if (!schema || !hasDefaults(schema)) return stored;
  const copy = stored === obj || !resource.hooks?.convert ? cloneData(stored) : stored;
  applyDefaults(copy, schema);
  return copy;
}
