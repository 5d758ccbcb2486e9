/**
 * The structural-schema checks kube-apiserver applies to a CRD's `openAPIV3Schema` when the CRD
 * is created or updated (apiextensions-apiserver schema/validation.go and the CRD validation),
 * the ones that matter in practice:
 *
 * - every node has a `type` (unless int-or-string or preserve-unknown-fields), arrays have
 *   `items`, the root is an object without `additionalProperties`;
 * - `additionalProperties` excludes `properties`; no `uniqueItems: true`; no `$ref`, `id`,
 *   `patternProperties`, `definitions`, `dependencies`, `additionalItems`;
 * - extensions: `x-kubernetes-list-type` only on arrays (`atomic|set|map`), map lists have
 *   `x-kubernetes-list-map-keys` naming required-or-defaulted, non-nullable scalar item
 *   properties; `x-kubernetes-map-type` only on objects; int-or-string excludes
 *   preserve-unknown-fields and embedded-resource; embedded resources are objects;
 * - at the root, `metadata` may only restrict `name` and `generateName`; `kind`/`apiVersion`
 *   are strings; no defaults inside top-level metadata;
 * - inside `allOf`/`anyOf`/`oneOf`/`not`: no type, default, description, title, nullable,
 *   additionalProperties or x-kubernetes extensions; properties named in the root's value
 *   validations exist in the structural part;
 * - `pattern`s compile (Go RE2);
 * - `default`s are pruned (no unknown fields) and valid against their schema (OpenAPI, then CEL).
 *
 * CEL rules are checked separately by `compileRules` (cel.ts).
 *
 * The schema is read as Go decodes it (schema-types.ts): `null` is the zero value, wrongly typed
 * keywords are ignored (`checkSchemaTypes` reports them), and no input shape makes the check
 * throw — anything unexpected becomes a cause at `path`.
 * @module
 */

import type { StatusCause } from "../../lib/api-errors.ts";
import { validateRules } from "./cel.ts";
import { cloneJSON } from "./defaults.ts";
import { goField, goQuote, goSharpV } from "../../lib/go-format.ts";
import { compileGoRegex } from "./go-regex.ts";
import { pruneUnknown } from "./prune.ts";
import { isObject } from "./own.ts";
import {
  additionalOf,
  hasDefault,
  hasProperties,
  itemsOf,
  propertyEntries,
  propertyOf,
  schemaList,
  schemaNode,
  stringList,
  stringOf,
  subSchema,
  validationRules,
} from "./schema-types.ts";
import type { JSONSchemaProps } from "./types.ts";
import { validateValue } from "./validate.ts";

type Level = "root" | "item" | "field";

const TYPES = ["array", "boolean", "integer", "number", "object", "string"];

interface Ctx {
  out: StatusCause[];
  /** Why `default` is forbidden here (`in top-level metadata`), if it is. */
  forbidDefaults?: string;
  insideMeta: boolean;
}

function raw(s: JSONSchemaProps): Record<string, unknown> {
  return s as unknown as Record<string, unknown>;
}

/** A keyword Go would decode to something non-zero (present and not null). */
function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** A map keyword with entries (Go checks `len(m) != 0`). */
function nonEmptyMap(v: unknown): boolean {
  return isObject(v) ? Object.keys(v).length > 0 : present(v);
}

function stringSliceRepr(v: string[]): string {
  return `[]string{${v.map(goQuote).join(", ")}}`;
}

function invalidRepr(field: string, rendered: string, detail: string): StatusCause {
  return { reason: "FieldValueInvalid", field, message: `Invalid value: ${rendered}: ${detail}` };
}

function isIntOrStringAnyOf(anyOf: JSONSchemaProps[]): boolean {
  if (anyOf.length !== 2) return false;
  const only = (s: JSONSchemaProps, type: string): boolean => Object.keys(s).length === 1 && s.type === type;
  return only(anyOf[0], "integer") && only(anyOf[1], "string");
}

function check(s: JSONSchemaProps, path: string, level: Level, embedded: boolean, ctx: Ctx): void {
  const out = ctx.out;
  const r = raw(s);
  const type = stringOf(s.type) || undefined;
  const embeddedResource = s["x-kubernetes-embedded-resource"] === true;
  const intOrString = s["x-kubernetes-int-or-string"] === true;
  const preserveUnknown = s["x-kubernetes-preserve-unknown-fields"] === true;

  // spec standard validation
  if (type === "null") out.push(goField.forbidden(`${path}.type`, "type cannot be set to null, use nullable as an alternative"));
  else if (type && !TYPES.includes(type)) out.push(goField.notSupported(`${path}.type`, type, TYPES));
  if (hasDefault(s) && ctx.forbidDefaults) out.push(goField.forbidden(`${path}.default`, `must not be set ${ctx.forbidDefaults}`));
  if (present(r.id) && r.id !== "") out.push(goField.forbidden(`${path}.id`, "id is not supported"));
  if (present(r.additionalItems)) out.push(goField.forbidden(`${path}.additionalItems`, "additionalItems is not supported"));
  if (nonEmptyMap(r.patternProperties)) out.push(goField.forbidden(`${path}.patternProperties`, "patternProperties is not supported"));
  if (nonEmptyMap(r.definitions)) out.push(goField.forbidden(`${path}.definitions`, "definitions is not supported"));
  if (present(r.dependencies)) out.push(goField.forbidden(`${path}.dependencies`, "dependencies is not supported"));
  if (present(r.$ref)) out.push(goField.forbidden(`${path}.$ref`, "$ref is not supported"));
  if (s.uniqueItems === true) out.push(goField.forbidden(`${path}.uniqueItems`, "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"));
  if (Array.isArray(s.items)) out.push(goField.forbidden(`${path}.items`, "items must be a schema object and not an array"));

  const ap = additionalOf(s);
  if (ap !== undefined) {
    if (level === "root") out.push(goField.forbidden(`${path}.additionalProperties`, "must not be used at the root"));
    if (hasProperties(s) && (ap === false || typeof ap === "object")) {
      out.push(goField.forbidden(`${path}.additionalProperties`, "additionalProperties and properties are mutual exclusive"));
    }
    if (embeddedResource) {
      out.push(goField.forbidden(`${path}.additionalProperties`, "must not be used if x-kubernetes-embedded-resource is set"));
    }
  }

  // types
  if (embeddedResource && type !== "object") {
    const detail = "must be object if x-kubernetes-embedded-resource is true";
    out.push(type ? goField.invalid(`${path}.type`, type, detail) : goField.required(`${path}.type`, detail));
  } else if (!type && !intOrString && !preserveUnknown) {
    const detail = { root: "must not be empty at the root", item: "must not be empty for specified array items", field: "must not be empty for specified object fields" }[level];
    out.push(goField.required(`${path}.type`, detail));
  }
  if (level === "root" && type && type !== "object") out.push(goField.invalid(`${path}.type`, type, "must be object at the root"));
  if (type === "array" && !itemsOf(s) && !Array.isArray(s.items)) out.push(goField.required(`${path}.items`, "must be specified"));
  if (embeddedResource && !preserveUnknown && !hasProperties(s)) {
    out.push(goField.required(`${path}.properties`, "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"));
  }

  // extensions
  if (r["x-kubernetes-preserve-unknown-fields"] === false) {
    out.push(goField.invalid(`${path}.x-kubernetes-preserve-unknown-fields`, false, "must be true or undefined"));
  }
  if (intOrString && preserveUnknown) {
    out.push(goField.invalid(`${path}.x-kubernetes-preserve-unknown-fields`, true, "must be false if x-kubernetes-int-or-string is true"));
  }
  if (intOrString && embeddedResource) {
    out.push(goField.invalid(`${path}.x-kubernetes-embedded-resource`, true, "must be false if x-kubernetes-int-or-string is true"));
  }
  const mapType = stringOf(s["x-kubernetes-map-type"]);
  if (mapType !== undefined) {
    const detail = "must be object if x-kubernetes-map-type is specified";
    if (type !== "object") out.push(type ? goField.invalid(`${path}.type`, type, detail) : goField.required(`${path}.type`, detail));
    if (mapType !== "atomic" && mapType !== "granular") out.push(goField.notSupported(`${path}.x-kubernetes-map-type`, mapType, ["atomic", "granular"]));
  }
  checkListType(s, path, out);

  checkPattern(s, path, out);

  // metadata, kind and apiVersion of resources
  const checkMeta = level === "root" || embedded;
  for (const k of ["kind", "apiVersion"]) {
    const p = propertyOf(s, k);
    if (p && checkMeta && p.type !== "string") out.push(goField.invalid(`${path}.properties[${k}].type`, stringOf(p.type) ?? "", "must be string"));
  }
  const meta = propertyOf(s, "metadata");
  if (meta) {
    if (checkMeta && meta.type !== "object") out.push(goField.invalid(`${path}.properties[metadata].type`, stringOf(meta.type) ?? "", "must be object"));
    if (level === "root" && !onlyNameAndGenerateName(meta)) {
      out.push(goField.forbidden(`${path}.properties[metadata]`, "must not specify anything other than name and generateName, but metadata is implicitly specified"));
    }
  }

  // value validations (allOf/anyOf/oneOf/not)
  nestedValueValidations(s, path, ctx);
  // Like upstream, only the root's value validations are checked for completeness.
  if (level === "root") completeness(s, s, path, path, out);

  // children
  for (const [k, prop] of propertyEntries(s)) {
    const sub: Ctx = { ...ctx };
    if (checkMeta && (k === "metadata" || k === "kind" || k === "apiVersion")) {
      sub.insideMeta = true;
      if (level === "root") sub.forbidDefaults = `in top-level ${k}`;
    }
    check(prop, `${path}.properties[${k}]`, "field", prop["x-kubernetes-embedded-resource"] === true, sub);
  }
  const items = itemsOf(s);
  if (items) check(items, `${path}.items`, "item", items["x-kubernetes-embedded-resource"] === true, { ...ctx });
  if (typeof ap === "object") {
    const sub: Ctx = { ...ctx };
    if (ctx.insideMeta) sub.forbidDefaults = "inside additionalProperties applying to object metadata";
    check(ap, `${path}.additionalProperties`, "field", ap["x-kubernetes-embedded-resource"] === true, sub);
  }
}

function checkPattern(s: JSONSchemaProps, path: string, out: StatusCause[]): void {
  const pattern = stringOf(s.pattern);
  if (pattern === undefined) return;
  try {
    compileGoRegex(pattern);
  } catch (e) {
    out.push(goField.invalid(`${path}.pattern`, pattern, `must be a valid regular expression, but isn't: ${errorText(e)}`));
  }
}

function onlyNameAndGenerateName(meta: JSONSchemaProps): boolean {
  for (const [k, v] of Object.entries(raw(meta))) {
    if (k === "type" || k === "default" || !present(v)) continue;
    if (k === "properties") {
      const names = isObject(v) ? Object.keys(v) : [];
      if (names.some((n) => n !== "name" && n !== "generateName")) return false;
      continue;
    }
    return false;
  }
  return true;
}

function checkListType(s: JSONSchemaProps, path: string, out: StatusCause[]): void {
  const listType = stringOf(s["x-kubernetes-list-type"]);
  const keys = stringList(s["x-kubernetes-list-map-keys"]);
  const type = stringOf(s.type) || undefined;
  const items = itemsOf(s);
  if (listType !== undefined) {
    const detail = "must be array if x-kubernetes-list-type is specified";
    if (type !== "array") out.push(type ? goField.invalid(`${path}.type`, type, detail) : goField.required(`${path}.type`, detail));
    else if (listType === "set" && items) {
      const is = items;
      if (is.type === "array" && is["x-kubernetes-list-type"] !== undefined && is["x-kubernetes-list-type"] !== "atomic") {
        out.push(goField.invalid(`${path}.items.x-kubernetes-list-type`, is["x-kubernetes-list-type"], "must be atomic as item of a list with x-kubernetes-list-type=set"));
      } else if (is.type === "object" && is["x-kubernetes-map-type"] !== "atomic") {
        out.push(goField.invalid(`${path}.items.x-kubernetes-map-type`, is["x-kubernetes-list-type"] ?? null, "must be atomic as item of a list with x-kubernetes-list-type=set"));
      }
    }
    if (listType !== "atomic" && listType !== "set" && listType !== "map") {
      out.push(goField.notSupported(`${path}.x-kubernetes-list-type`, listType, ["atomic", "set", "map"]));
    }
  }
  if (keys.length) {
    const detail = "must be map if x-kubernetes-list-map-keys is non-empty";
    if (listType === undefined) out.push(goField.required(`${path}.x-kubernetes-list-type`, detail));
    else if (listType !== "map") out.push(goField.invalid(`${path}.x-kubernetes-list-type`, listType, detail));
  }
  if (listType === "map") {
    if (!keys.length) out.push(goField.required(`${path}.x-kubernetes-list-map-keys`, "must not be empty if x-kubernetes-list-type is map"));
    if (!items) out.push(goField.required(`${path}.items`, "must have a schema if x-kubernetes-list-type is map"));
    else if (items.type !== "object") {
      out.push(goField.invalid(`${path}.items.type`, stringOf(items.type) ?? "", "must be object if parent array's x-kubernetes-list-type is map"));
    } else {
      const seen = new Set<string>();
      for (const k of keys) {
        const prop = propertyOf(items, k);
        if (prop) {
          if (prop.type === "array" || prop.type === "object") {
            out.push(goField.invalid(`${path}.items.properties[${k}].type`, items.type, "must be a scalar type if parent array's x-kubernetes-list-type is map"));
          }
        } else {
          out.push(invalidRepr(`${path}.x-kubernetes-list-map-keys`, stringSliceRepr(keys), "entries must all be names of item properties"));
        }
        if (seen.has(k)) out.push(invalidRepr(`${path}.x-kubernetes-list-map-keys`, stringSliceRepr(keys), "must not contain duplicate entries"));
        seen.add(k);
      }
    }
  }
  if ((listType === "set" || listType === "map") && items) {
    if (items.nullable === true) out.push(goField.forbidden(`${path}.items.nullable`, `cannot be nullable when x-kubernetes-list-type is ${listType}`));
    if (listType === "map") {
      const required = new Set(stringList(items.required));
      for (const k of keys) {
        const prop = propertyOf(items, k);
        if (!prop) continue;
        if (!required.has(k) && !hasDefault(prop)) {
          out.push(goField.required(`${path}.items.properties[${k}].default`, "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"));
        }
        if (prop.nullable === true) {
          out.push(goField.forbidden(`${path}.items.properties[${k}].nullable`, "this property is in x-kubernetes-list-map-keys, so it cannot be nullable"));
        }
      }
    }
  }
}

/** allOf/anyOf/oneOf/not may only carry value validations. */
function nestedValueValidations(s: JSONSchemaProps, path: string, ctx: Ctx): void {
  const anyOf = schemaList(s.anyOf);
  const allOf = schemaList(s.allOf);
  const skipAnyOf = isIntOrStringAnyOf(anyOf);
  const skipFirstAllOfAnyOf = allOf.length > 0 && isIntOrStringAnyOf(schemaList(allOf[0].anyOf));
  if (!skipAnyOf) anyOf.forEach((v, i) => nested(v, `${path}.anyOf[${i}]`, false, false, ctx.out));
  allOf.forEach((v, i) => nested(v, `${path}.allOf[${i}]`, i === 0 && skipFirstAllOfAnyOf, true, ctx.out));
  schemaList(s.oneOf).forEach((v, i) => nested(v, `${path}.oneOf[${i}]`, false, false, ctx.out));
  const not = subSchema(s.not);
  if (not) nested(not, `${path}.not`, false, false, ctx.out);
}

function nested(v: JSONSchemaProps, path: string, skipAnyOf: boolean, allowRules: boolean, out: StatusCause[]): void {
  const r = raw(v);
  if (!skipAnyOf) schemaList(v.anyOf).forEach((x, i) => nested(x, `${path}.anyOf[${i}]`, false, false, out));
  schemaList(v.allOf).forEach((x, i) => nested(x, `${path}.allOf[${i}]`, false, allowRules, out));
  schemaList(v.oneOf).forEach((x, i) => nested(x, `${path}.oneOf[${i}]`, false, false, out));
  const not = subSchema(v.not);
  if (not) nested(not, `${path}.not`, false, false, out);
  checkPattern(v, path, out);
  const items = itemsOf(v);
  if (items) nested(items, `${path}.items`, false, allowRules, out);
  for (const [k, p] of propertyEntries(v)) nested(p, `${path}.properties[${k}]`, false, allowRules, out);
  if (stringOf(v.type)) out.push(goField.forbidden(`${path}.type`, "must be empty to be structural"));
  if (present(v.additionalProperties)) out.push(goField.forbidden(`${path}.additionalProperties`, "must be undefined to be structural"));
  if (hasDefault(v)) out.push(goField.forbidden(`${path}.default`, "must be undefined to be structural"));
  if (stringOf(v.title)) out.push(goField.forbidden(`${path}.title`, "must be empty to be structural"));
  if (stringOf(v.description)) out.push(goField.forbidden(`${path}.description`, "must be empty to be structural"));
  if (v.nullable === true) out.push(goField.forbidden(`${path}.nullable`, "must be false to be structural"));
  if (r["x-kubernetes-preserve-unknown-fields"] === true) out.push(goField.forbidden(`${path}.x-kubernetes-preserve-unknown-fields`, "must be false to be structural"));
  if (v["x-kubernetes-embedded-resource"] === true) out.push(goField.forbidden(`${path}.x-kubernetes-embedded-resource`, "must be false to be structural"));
  if (v["x-kubernetes-int-or-string"] === true) out.push(goField.forbidden(`${path}.x-kubernetes-int-or-string`, "must be false to be structural"));
  if (stringList(v["x-kubernetes-list-map-keys"]).length) out.push(goField.forbidden(`${path}.x-kubernetes-list-map-keys`, "must be empty to be structural"));
  if (present(v["x-kubernetes-list-type"])) out.push(goField.forbidden(`${path}.x-kubernetes-list-type`, "must be undefined to be structural"));
  if (present(v["x-kubernetes-map-type"])) out.push(goField.forbidden(`${path}.x-kubernetes-map-type`, "must be undefined to be structural"));
  if (validationRules(v).length && !allowRules) out.push(goField.forbidden(`${path}.x-kubernetes-validations`, "must be empty to be structural"));
  if (propertyOf(v, "metadata")) out.push(goField.forbidden(`${path}.properties[metadata]`, "must not be specified in a nested context"));
}

/** Properties and items named in value validations must exist in the structural schema. */
function completeness(v: JSONSchemaProps, s: JSONSchemaProps | undefined, sPath: string, vPath: string, out: StatusCause[]): void {
  const groups: [string, JSONSchemaProps[]][] = [
    ["allOf", schemaList(v.allOf)],
    ["anyOf", schemaList(v.anyOf)],
    ["oneOf", schemaList(v.oneOf)],
  ];
  const not = subSchema(v.not);
  if (not) nestedCompleteness(not, s, sPath, `${vPath}.not`, out);
  for (const [name, list] of groups) list.forEach((x, i) => nestedCompleteness(x, s, sPath, `${vPath}.${name}[${i}]`, out));
}

function nestedCompleteness(v: JSONSchemaProps, s: JSONSchemaProps | undefined, sPath: string, vPath: string, out: StatusCause[]): void {
  if (!s) {
    out.push(goField.required(sPath, `because it is defined in ${vPath}`));
    return;
  }
  completeness(v, s, sPath, vPath, out);
  const items = itemsOf(v);
  if (items) nestedCompleteness(items, itemsOf(s), `${sPath}.items`, `${vPath}.items`, out);
  for (const [k, p] of propertyEntries(v)) {
    const sp = propertyOf(s, k);
    if (!sp) out.push(goField.required(`${sPath}.properties[${k}]`, `because it is defined in ${vPath}.properties[${k}]`));
    else nestedCompleteness(p, sp, `${sPath}.properties[${k}]`, `${vPath}.properties[${k}]`, out);
  }
}

/** Defaults must survive pruning unchanged and validate against their schema. */
function checkDefaults(s: JSONSchemaProps, path: string, embedded: boolean, insideMeta: boolean, out: StatusCause[]): void {
  if (hasDefault(s) && !insideMeta) {
    const pruned = cloneJSON(s.default);
    const unknown = pruneUnknown(pruned, s, { root: embedded });
    if (unknown.length) {
      out.push(invalidRepr(`${path}.default`, renderDefault(s.default), "must not have unknown fields"));
    }
    const errs = validateValue(s.default, s, { basePath: `${path}.default`, root: embedded, rules: false });
    if (errs.length) out.push(...errs);
    else out.push(...validateRules(s.default, s, { basePath: `${path}.default`, root: embedded }));
  }
  const items = itemsOf(s);
  if (items) checkDefaults(items, `${path}.items`, items["x-kubernetes-embedded-resource"] === true, insideMeta, out);
  for (const [k, prop] of propertyEntries(s)) {
    const meta = embedded && (k === "metadata" || k === "apiVersion" || k === "kind");
    checkDefaults(prop, `${path}.properties[${k}]`, prop["x-kubernetes-embedded-resource"] === true, insideMeta || meta, out);
  }
}

function renderDefault(v: unknown): string {
  if (v === null) return '"null"';
  if (typeof v === "object") return goSharpV(v);
  return typeof v === "string" ? goQuote(v) : String(v);
}

/**
 * Checks that `schema` is a valid structural schema for a CRD and returns the causes
 * kube-apiserver reports for it, at `path` (default `spec.validation.openAPIV3Schema`).
 */
export function checkStructural(schema: JSONSchemaProps, opts: { path?: string } = {}): StatusCause[] {
  const path = opts.path ?? "spec.validation.openAPIV3Schema";
  const ctx: Ctx = { out: [], insideMeta: false };
  const root = schemaNode(schema);
  try {
    check(root, path, "root", true, ctx);
    if (ctx.out.length === 0) checkDefaults(root, path, true, false, ctx.out);
  } catch (e) {
    // Never an exception for a schema, whatever its shape: report what could not be checked.
    ctx.out.push(goField.invalid(path, "", `schema could not be checked: ${errorText(e)}`));
  }
  return ctx.out;
}

function errorText(e: unknown): string {
  if (e instanceof RangeError) return "schema is nested too deeply";
  return e instanceof Error ? e.message : String(e);
}
