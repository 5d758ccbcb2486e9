/**
 * ObjectMeta validation on create and update, worded as apimachinery's ValidateObjectMeta.
 * @module
 */
import { fieldError, type StatusCause } from "../../lib/api-errors.ts";
import { deepEqual, type ObjectMeta } from "../../lib/kobject.ts";
import { dns1123Label, dns1123Subdomain, labelValue, pathSegmentName, qualifiedName } from "./names.ts";

export type NameRule = "subdomain" | "label" | "path";

const ANNOTATIONS_MAX_BYTES = 256 * 1024;

function nameErrors(rule: NameRule, name: string): string[] {
  if (rule === "label") return dns1123Label(name);
  if (rule === "path") return pathSegmentName(name);
  return dns1123Subdomain(name);
}

export function validateObjectMeta(meta: ObjectMeta, namespaced: boolean, rule: NameRule): StatusCause[] {
  const causes: StatusCause[] = [];
  if (!meta.name && !meta.generateName) {
    causes.push(fieldError.required("metadata.name", "name or generateName is required"));
  }
  if (meta.name) {
    for (const msg of nameErrors(rule, meta.name)) causes.push(fieldError.invalid("metadata.name", meta.name, msg));
  }
  if (meta.generateName) {
    // A generateName may end in a dash; it is checked as a name with a suffix appended.
    const probe = meta.generateName.endsWith("-") ? `${meta.generateName}a` : meta.generateName;
    for (const msg of nameErrors(rule, probe)) causes.push(fieldError.invalid("metadata.generateName", meta.generateName, msg));
  }
  if (namespaced) {
    if (!meta.namespace) causes.push(fieldError.required("metadata.namespace"));
    else for (const msg of dns1123Label(meta.namespace)) causes.push(fieldError.invalid("metadata.namespace", meta.namespace, msg));
  }
  if (meta.generation !== undefined && (typeof meta.generation !== "number" || meta.generation < 0)) {
    causes.push(fieldError.invalid("metadata.generation", meta.generation, "must be greater than or equal to 0"));
  }
  causes.push(...validateLabels(meta.labels, "metadata.labels"));
  causes.push(...validateAnnotations(meta.annotations));
  causes.push(...validateOwnerReferences(meta));
  causes.push(...validateFinalizers(meta.finalizers));
  return causes;
}

export function validateLabels(labels: unknown, field: string): StatusCause[] {
  if (labels === undefined || labels === null) return [];
  if (typeof labels !== "object" || Array.isArray(labels)) return [fieldError.invalid(field, labels, "must be a map of string keys to string values")];
  const causes: StatusCause[] = [];
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    for (const msg of qualifiedName(k)) causes.push(fieldError.invalid(field, k, msg));
    if (typeof v !== "string") causes.push(fieldError.invalid(field, v, "label values must be strings"));
    else for (const msg of labelValue(v)) causes.push(fieldError.invalid(field, v, msg));
  }
  return causes;
}

export function validateAnnotations(annotations: unknown): StatusCause[] {
  const field = "metadata.annotations";
  if (annotations === undefined || annotations === null) return [];
  if (typeof annotations !== "object" || Array.isArray(annotations)) return [fieldError.invalid(field, annotations, "must be a map of string keys to string values")];
  const causes: StatusCause[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations as Record<string, unknown>)) {
    for (const msg of qualifiedName(k.toLowerCase())) causes.push(fieldError.invalid(field, k, msg));
    if (typeof v !== "string") causes.push(fieldError.invalid(field, v, "annotation values must be strings"));
    size += Buffer.byteLength(k) + (typeof v === "string" ? Buffer.byteLength(v) : 0);
  }
  if (size > ANNOTATIONS_MAX_BYTES) causes.push({ reason: "FieldValueTooLong", field, message: `Too long: must have at most ${ANNOTATIONS_MAX_BYTES} bytes` });
  return causes;
}

function validateOwnerReferences(meta: ObjectMeta): StatusCause[] {
  const refs = meta.ownerReferences;
  if (refs === undefined || refs === null) return [];
  const field = "metadata.ownerReferences";
  if (!Array.isArray(refs)) return [fieldError.invalid(field, refs, "must be a list")];
  const causes: StatusCause[] = [];
  let controllers = 0;
  refs.forEach((ref, i) => {
    const f = `${field}[${i}]`;
    if (typeof ref !== "object" || ref === null) {
      causes.push(fieldError.invalid(f, ref, "must be an object"));
      return;
    }
    if (!ref.apiVersion) causes.push(fieldError.invalid(`${f}.apiVersion`, ref.apiVersion ?? "", "version must not be empty"));
    if (!ref.kind) causes.push(fieldError.invalid(`${f}.kind`, ref.kind ?? "", "kind must not be empty"));
    if (!ref.name) causes.push(fieldError.invalid(`${f}.name`, ref.name ?? "", "name must not be empty"));
    if (!ref.uid) causes.push(fieldError.invalid(`${f}.uid`, ref.uid ?? "", "uid must not be empty"));
    if (ref.controller === true) controllers++;
  });
  if (controllers > 1) {
    causes.push(fieldError.invalid(field, refs, "Only one reference can have Controller set to true"));
  }
  return causes;
}

function validateFinalizers(finalizers: unknown): StatusCause[] {
  if (finalizers === undefined || finalizers === null) return [];
  const field = "metadata.finalizers";
  if (!Array.isArray(finalizers)) return [fieldError.invalid(field, finalizers, "must be a list of strings")];
  const causes: StatusCause[] = [];
  finalizers.forEach((f, i) => {
    if (typeof f !== "string") {
      causes.push(fieldError.invalid(`${field}[${i}]`, f, "must be a string"));
      return;
    }
    for (const msg of qualifiedName(f)) causes.push(fieldError.invalid(`${field}[${i}]`, f, msg));
  });
  return causes;
}

/** Rules for an update: identity is immutable; a terminating object takes no new finalizers. */
export function validateObjectMetaUpdate(meta: ObjectMeta, old: ObjectMeta): StatusCause[] {
  const causes: StatusCause[] = [];
  const immutable = (field: keyof ObjectMeta) => {
    if (meta[field] !== undefined && !deepEqual(meta[field], old[field])) {
      causes.push(fieldError.invalid(`metadata.${String(field)}`, meta[field], "field is immutable"));
    }
  };
  immutable("name");
  immutable("namespace");
  immutable("uid");
  immutable("creationTimestamp");
  if (old.deletionTimestamp) {
    const before = new Set(old.finalizers ?? []);
    const added = (meta.finalizers ?? []).filter((f) => !before.has(f));
    if (added.length) {
      causes.push(
        fieldError.forbidden(
          "metadata.finalizers",
          `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(", ")}}`,
        ),
      );
    }
  }
  return causes;
}
