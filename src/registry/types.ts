/**
 * What the registry knows about a served resource. Built-in kinds and CRDs are described the
 * same way — names, versions with one OpenAPI schema each, subresources, printer columns — so
 * discovery, OpenAPI, validation, tables and storage all derive from one source. Built-in kinds
 * add behaviour through `hooks`.
 * @module
 */
import type { StatusCause } from "../lib/api-errors.ts";
import type { KObject } from "../lib/kobject.ts";
import type { JSONSchemaProps } from "./schema/types.ts";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format?: string;
  description?: string;
  priority?: number;
  /** CRD additionalPrinterColumns jsonPath (`.status.phase`). */
  jsonPath?: string;
  /** Built-in kinds: a computed cell. */
  cell?: (obj: KObject, now: number) => unknown;
}

export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface ResourceVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  schema: JSONSchemaProps;
  printerColumns: PrinterColumn[];
  /** CRD selectableFields (jsonPaths such as `.spec.color`). */
  selectableFields?: string[];
  subresources: { status?: boolean; scale?: ScaleSubresource };
}

export type Verb = "create" | "delete" | "deletecollection" | "get" | "list" | "patch" | "update" | "watch";

export const ALL_VERBS: Verb[] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export type Operation = "CREATE" | "UPDATE" | "DELETE";

/** Behaviour specific to a built-in kind. Every hook is optional. */
export interface KindHooks {
  // Hooks see objects in the storage form (storageApiVersion), except printer-column cells.
  /**
   * Mutating admission (the defaulting webhooks of Cluster API and the providers): runs on the
   * storage form after schema defaults and before schema validation, on create and on updates
   * of the main resource. `old` is the stored object on update.
   */
  mutate?(obj: KObject, old: KObject | undefined): void;
  /** Called on create before validation: set defaults the schema cannot express. */
  prepareForCreate?(obj: KObject): void;
  /** Called on update (main resource) before validation. */
  prepareForUpdate?(obj: KObject, old: KObject): void;
  /** Kind-specific validation beyond the schema; `subresource` is set for status/scale writes. */
  validate?(obj: KObject, old: KObject | undefined, subresource?: string): StatusCause[];
  /** Extra field-selector labels (`involvedObject.name`, `type`, ...). Return undefined for unsupported. */
  fieldValue?(obj: KObject, field: string): string | undefined;
  /** Fields supported by `fieldValue`, for the error message. */
  selectableFields?: string[];
  /** Converts an object between the apiVersions this resource is served or stored in. */
  convert?(obj: KObject, toApiVersion: string): KObject;
  /** Paths (`data`, `spec.finalizers`) Go's omitempty drops when empty. */
  omitEmpty?: string[];
  /** Objects expire this long after their last write (Events: 1 h). */
  ttlMs?: number;
  /** Whether PUT may create a missing object (Events, Leases). */
  allowCreateOnUpdate?: boolean;
  /** Whether a PUT without metadata.resourceVersion is an unconditional update. */
  allowUnconditionalUpdate?: boolean;
  /**
   * Called when a DELETE finds the object without deletionTimestamp; may add finalizers or
   * conditions that make the deletion graceful (CRDs: instance cleanup). Return true if changed.
   */
  prepareForDelete?(obj: KObject): boolean;
  /** Resources such as SelfSubjectAccessReview: create computes a response and stores nothing. */
  virtualCreate?(obj: KObject, user: UserInfo): KObject;
}

export interface UserInfo {
  name: string;
  groups: string[];
}

export interface ResourceDefinition {
  group: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  versions: ResourceVersion[];
  verbs: Verb[];
  /** Custom resources (from a CRD): generation tracking, merge/json/apply patches only, PUT needs an RV. */
  custom: boolean;
  /** metadata.generation is kept (1 on create, +1 per spec change); defaults to `custom`. */
  tracksGeneration?: boolean;
  /** Set for custom resources: the name of the CRD that defines them. */
  crdName?: string;
  /**
   * Revision of the CRD's last write: objects last written before it may lack defaults its
   * current schema adds, so reads apply the storage version's defaults to them (kube-apiserver
   * does the same when it decodes from etcd).
   */
  schemaSinceRV?: number;
  /** Subresources that take a POST of another kind (pods/eviction → policy/v1 Eviction). */
  postSubresources?: Record<string, { group: string; version: string; kind: string }>;
  /** Stored under another resource (events.k8s.io Events live with core Events). */
  storage?: { resource: string; apiVersion: string };
  hooks?: KindHooks;
}

/** A definition plus derived lookups, as the registry serves it. */
export interface Resource extends ResourceDefinition {
  /** Store key prefix: `configmaps`, `clusters.cluster.x-k8s.io`. */
  qualified: string;
  /** The name clients see in messages: `clusters.cluster.x-k8s.io`, `events.events.k8s.io`. */
  displayName: string;
  storageVersion: string;
  /** apiVersion of stored bodies. */
  storageApiVersion: string;
  version(name: string): ResourceVersion | undefined;
}

export function makeResource(def: ResourceDefinition): Resource {
  const storage = def.versions.find((v) => v.storage) ?? def.versions[0];
  if (!storage) throw new Error(`resource ${def.plural}.${def.group} has no versions`);
  const byName = new Map(def.versions.map((v) => [v.name, v]));
  const displayName = def.group ? `${def.plural}.${def.group}` : def.plural;
  return {
    ...def,
    qualified: def.storage?.resource ?? displayName,
    displayName,
    storageVersion: storage.name,
    storageApiVersion: def.storage?.apiVersion ?? apiVersionOf(def.group, storage.name),
    version: (name) => byName.get(name),
  };
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf("/");
  return i < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}
