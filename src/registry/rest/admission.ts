/**
 * The admission pipeline every write goes through, for HTTP clients and in-process
 * controllers alike: shape checks, unknown-field handling (Strict/Warn/Ignore), null pruning,
 * defaulting, and validation (metadata, schema with CEL, kind rules).
 * @module
 */
import { badRequest, invalid, type StatusCause } from "../../lib/api-errors.ts";
import { isPlainObject, type KObject } from "../../lib/kobject.ts";
import { applyDefaults, dropNulls, pruneUnknown, validateValue } from "../schema/index.ts";
import type { JSONSchemaProps } from "../schema/types.ts";
import { apiVersionOf, type Resource, type ResourceVersion } from "../types.ts";
import { toStorage, toVersion } from "./codec.ts";
import { validateObjectMeta, validateObjectMetaUpdate, type NameRule } from "../validation/metadata.ts";
import type { RequestContext } from "./context.ts";
import { cloneData } from "../../lib/clone.ts";

const META_FIELDS = new Set([
  "name",
  "generateName",
  "namespace",
  "selfLink",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
]);

const STRING_META = ["name", "generateName", "namespace", "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp"];

function cannotHandle(resource: Resource, version: string, detail: string) {
  return badRequest(`${resource.kind} in version "${version}" cannot be handled as a ${resource.kind}: ${detail}`);
}

function typeError(resource: Resource, version: string, got: unknown, field: string, want: string) {
  const kind = Array.isArray(got) ? "array" : got === null ? "null" : typeof got === "object" ? "object" : typeof got;
  return cannotHandle(resource, version, `json: cannot unmarshal ${kind} into Go struct field ObjectMeta.metadata.${field} of type ${want}`);
}

/** Rejects bodies whose shape no Go client could have produced (400, like a decoding error). */
export function checkShape(resource: Resource, version: string, obj: unknown): asserts obj is KObject {
  if (!isPlainObject(obj)) throw cannotHandle(resource, version, "the body is not a JSON object");
  const meta = obj.metadata;
  if (meta === undefined || meta === null) {
    obj.metadata = {};
    return;
  }
  if (!isPlainObject(meta)) throw typeError(resource, version, meta, "", "v1.ObjectMeta");
  for (const f of STRING_META) {
    if (meta[f] !== undefined && meta[f] !== null && typeof meta[f] !== "string") throw typeError(resource, version, meta[f], f, "string");
  }
  for (const f of ["generation", "deletionGracePeriodSeconds"]) {
    if (meta[f] !== undefined && meta[f] !== null && !Number.isInteger(meta[f])) throw typeError(resource, version, meta[f], f, "int64");
  }
  for (const f of ["labels", "annotations"]) {
    const m = meta[f];
    if (m === undefined || m === null) continue;
    if (!isPlainObject(m)) throw typeError(resource, version, m, f, "map[string]string");
    for (const v of Object.values(m)) if (typeof v !== "string") throw typeError(resource, version, v, f, "string");
  }
  if (meta.finalizers !== undefined && meta.finalizers !== null) {
    if (!Array.isArray(meta.finalizers)) throw typeError(resource, version, meta.finalizers, "finalizers", "[]string");
    for (const v of meta.finalizers) if (typeof v !== "string") throw typeError(resource, version, v, "finalizers", "string");
  }
  for (const f of ["ownerReferences", "managedFields"]) {
    const l = meta[f];
    if (l === undefined || l === null) continue;
    if (!Array.isArray(l)) throw typeError(resource, version, l, f, "[]");
    for (const v of l) if (!isPlainObject(v)) throw typeError(resource, version, v, f, "struct");
  }
  if (Array.isArray(meta.managedFields)) {
    for (const e of meta.managedFields as Record<string, unknown>[]) {
      for (const k of ["manager", "operation", "apiVersion", "time", "fieldsType", "subresource"]) {
        if (e[k] !== undefined && e[k] !== null && typeof e[k] !== "string") throw typeError(resource, version, e[k], `managedFields.${k}`, "string");
      }
      if (e.fieldsV1 !== undefined && e.fieldsV1 !== null && !isPlainObject(e.fieldsV1)) throw typeError(resource, version, e.fieldsV1, "managedFields.fieldsV1", "v1.FieldsV1");
    }
  }
  if (Array.isArray(meta.ownerReferences)) {
    for (const ref of meta.ownerReferences as Record<string, unknown>[]) {
      for (const k of ["apiVersion", "kind", "name", "uid"]) {
        if (ref[k] !== undefined && typeof ref[k] !== "string") throw typeError(resource, version, ref[k], `ownerReferences.${k}`, "string");
      }
      for (const k of ["controller", "blockOwnerDeletion"]) {
        if (ref[k] !== undefined && ref[k] !== null && typeof ref[k] !== "boolean") throw typeError(resource, version, ref[k], `ownerReferences.${k}`, "bool");
      }
    }
  }
  // Go drops nulls of metadata fields while decoding.
  for (const [k, v] of Object.entries(meta)) if (v === null) delete meta[k];
  dropEmptyMeta(meta);
}

/** ObjectMeta round-trips through Go's omitempty: empty strings, maps and lists are not kept. */
export function dropEmptyMeta(meta: Record<string, unknown>): void {
  for (const f of STRING_META) if (meta[f] === "") delete meta[f];
  for (const f of ["labels", "annotations", "finalizers", "ownerReferences"]) {
    const v = meta[f];
    if (Array.isArray(v) ? v.length === 0 : isPlainObject(v) && Object.keys(v).length === 0) delete meta[f];
  }
}

/** The body's apiVersion and kind must name the resource the URL addresses. */
export function checkTypeMeta(resource: Resource, version: string, obj: KObject): void {
  const expected = apiVersionOf(resource.group, version);
  if (obj.apiVersion === undefined || obj.apiVersion === "") obj.apiVersion = expected;
  if (obj.kind === undefined || obj.kind === "") obj.kind = resource.kind;
  if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
    throw cannotHandle(resource, version, "apiVersion and kind must be strings");
  }
  if (obj.apiVersion !== expected) {
    throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${expected})`);
  }
  if (obj.kind !== resource.kind) {
    throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${resource.kind})`);
  }
}

/**
 * Removes unknown fields (and metadata fields ObjectMeta does not have), honouring
 * fieldValidation: Strict → 400 listing them, Warn → warnings, Ignore → silent.
 */
export function pruneFields(resource: Resource, version: ResourceVersion, obj: KObject, ctx: RequestContext): void {
  const unknown: string[] = [];
  for (const k of Object.keys(obj.metadata)) {
    if (!META_FIELDS.has(k)) {
      unknown.push(`metadata.${k}`);
      delete obj.metadata[k];
    }
  }
  delete obj.metadata.selfLink;
  unknown.push(...pruneUnknown(obj, version.schema, { root: true }));
  if (unknown.length === 0) return;
  const mode = ctx.fieldValidation ?? "Ignore";
  if (mode === "Strict") {
    const list = unknown.map((f) => `unknown field "${f}"`).join(", ");
    throw cannotHandle(resource, version.name, `strict decoding error: ${list}`);
  }
  if (mode === "Warn") for (const f of unknown) ctx.warnings.push(`unknown field "${f}"`);
}

/** Null pruning and schema defaults, in the given version's schema. */
export function defaultFields(schema: JSONSchemaProps, obj: KObject): void {
  const meta = obj.metadata;
  dropNulls(obj, schema);
  obj.metadata = meta;
  applyDefaults(obj, schema);
}

function nameRule(resource: Resource): NameRule {
  return resource.plural === "namespaces" ? "label" : "subdomain";
}

function throwInvalid(resource: Resource, obj: KObject, causes: StatusCause[]): void {
  if (causes.length) throw invalid(resource.kind, resource.group, obj.metadata.name ?? obj.metadata.generateName ?? "", causes);
}

/**
 * Schema validation of the object in the version the client sent (types, constraints, CEL with
 * transition rules against `old`). Runs before any kind hook, so hooks see well-typed objects.
 */
export function validateAgainstSchema(resource: Resource, version: ResourceVersion, obj: KObject, old?: KObject): void {
  throwInvalid(resource, obj, validateValue(obj, version.schema, { root: true, oldObj: old }));
}

/** Metadata rules and the kind's own rules, on the storage form; throws 422 Invalid. */
export function validateStored(resource: Resource, stored: KObject, oldStored: KObject | undefined, subresource?: string): void {
  const causes: StatusCause[] = validateObjectMeta(stored.metadata, resource.namespaced, nameRule(resource));
  if (oldStored) causes.push(...validateObjectMetaUpdate(stored.metadata, oldStored.metadata));
  if (resource.hooks?.validate) causes.push(...resource.hooks.validate(stored, oldStored, subresource));
  throwInvalid(resource, stored, causes);
}

/** A body sent to an object's URL must not name another object (name/namespace are optional in it). */
export function checkIdentityMatchesUrl(resource: Resource, obj: KObject, namespace: string, name: string): void {
  if (obj.metadata.name && obj.metadata.name !== name) {
    throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
  }
  if (resource.namespaced && obj.metadata.namespace && obj.metadata.namespace !== namespace) {
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
}

/**
 * Runs the kind's mutating admission on the storage form and returns the object back in the
 * request's version (for schema validation there). Objects of kinds without it pass through.
 */
export function mutateAdmission(resource: Resource, version: ResourceVersion, obj: KObject, oldStored: KObject | undefined): KObject {
  if (!resource.hooks?.mutate) return obj;
  const stored = cloneData(toStorage(resource, obj));
  resource.hooks.mutate(stored, oldStored);
  return toVersion(resource, stored, version.name);
}
