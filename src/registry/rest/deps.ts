/**
 * What the verbs need: the store, the registry and a clock. Passing them explicitly keeps the
 * verbs plain functions, testable without HTTP.
 * @module
 */
import { forbidden, notFound } from "../../lib/api-errors.ts";
import type { KObject } from "../../lib/kobject.ts";
import type { ObjectStore, StoredRow } from "../../store/store.ts";
import type { Registry } from "../registry.ts";
import type { Resource } from "../types.ts";
import { withStoredDefaults } from "./codec.ts";

export interface RestDeps {
  store: ObjectStore;
  registry: Registry;
  now: () => Date;
}

export function parseRow(row: StoredRow): KObject {
  return JSON.parse(row.body) as KObject;
}

export function getStored(d: RestDeps, resource: Resource, namespace: string, name: string): KObject | undefined {
  const row = d.store.get(resource.qualified, resource.namespaced ? namespace : "", name);
  return row ? withStoredDefaults(resource, parseRow(row)) : undefined;
}

export function mustGetStored(d: RestDeps, resource: Resource, namespace: string, name: string): KObject {
  const obj = getStored(d, resource, namespace, name);
  if (!obj) throw notFound({ group: resource.group, resource: resource.plural }, name);
  return obj;
}

/** Creating into a missing namespace is 404, into a terminating one 403 (NamespaceTerminating). */
export function checkNamespaceWritable(d: RestDeps, resource: Resource, namespace: string, name: string): void {
  if (!resource.namespaced) return;
  const terminating = d.registry.namespaceTerminating(namespace);
  if (terminating === undefined) throw notFound({ group: "", resource: "namespaces" }, namespace);
  if (terminating) {
    const what = resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
    throw forbidden(`${what} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
      name,
      group: resource.group || undefined,
      kind: resource.plural,
      causes: [{ reason: "NamespaceTerminating", message: `namespace ${namespace} is being terminated`, field: "metadata.namespace" }],
    });
  }
}
