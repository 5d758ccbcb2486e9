/**
 * Value validation of custom resources against a CRD's structural schema, as kube-apiserver
 * 1.32 runs it on create and update:
 *
 * 1. OpenAPI v3 validation (kube-openapi): type, nullable, enum, pattern, format, bounds,
 *    lengths, item and property counts, uniqueItems, required, additionalProperties,
 *    allOf/anyOf/oneOf/not. Field paths and messages follow kube-openapi's wording
 *    (`spec.replicas in body should be greater than or equal to 0`) and its conversion to field
 *    errors in apiextensions-apiserver.
 * 2. `x-kubernetes-list-type` set (duplicates) and map (duplicate keys) invariants.
 * 3. `apiVersion`/`kind` of `x-kubernetes-embedded-resource` objects.
 * 4. `x-kubernetes-validations` CEL rules (cel.ts) — skipped, with upstream's
 *    `some validation rules were not checked...` cause, when 1–3 found a blocking error
 *    (unsupported value, required, too long, too many, wrong type).
 *
 * On update (`oldObj` given), unchanged values are ratcheted as with the CRDValidationRatcheting
 * gate (on by default in 1.32): errors of a value that deep-equals its correlated old value are
 * dropped; list invariants are only checked when the old object satisfied them.
 *
 * Keys are data: only own properties count (`__proto__`, `constructor`, … are ordinary keys).
 * @module
 */

import type { StatusCause } from "../../lib/api-errors.ts";
import { validateRules } from "./cel.ts";
import { deepEqualJSON, mapListLookup } from "./cel-values.ts";
import { checkFormat, isSupportedFormat } from "./formats.ts";
import { goFloat, goField, goQuote, jsonType } from "../../lib/go-format.ts";
import { compileGoRegex } from "./go-regex.ts";
import { getOwn, hasOwn, isObject, setOwn } from "./own.ts";
import {
  additionalOf,
  enumOf,
  hasDefault,
  itemsOf,
  numberOf,
  propertyEntries,
  propertyOf,
  schemaList,
  schemaNode,
  stringList,
  stringOf,
  subSchema,
} from "./schema-types.ts";
import type { JSONSchemaProps } from "./types.ts";

export interface ValidateOptions {
  /** The stored object on update: enables transition rules and ratcheting. */
  oldObj?: unknown;
  /** `obj` is a whole resource: `apiVersion`, `kind` and `metadata` are validated elsewhere. */
  root?: boolean;
  /** Field path of `obj` itself (e.g. `spec.validation.openAPIV3Schema.default`); none for a resource. */
  basePath?: string;
  /** Set to false to skip the `x-kubernetes-validations` rules. */
  rules?: boolean;
}

const META = new Set(["apiVersion", "kind", "metadata"]);
const NONE = Symbol("no correlated old value");
type Old = unknown | typeof NONE;

const BLOCKING = new Set(["FieldValueNotSupported", "FieldValueRequired", "FieldValueTooLong", "FieldValueTooMany", "FieldValueTypeInvalid"]);

/** JSON with sorted keys, like Go's encoding/json for maps. */
function stableJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJSON).join(",")}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJSON(v[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/** swag.IsFloat64AJSONInteger. */
function isJSONInteger(f: number): boolean {
  if (!Number.isFinite(f)) return false;
  if (Number.isInteger(f)) return true;
  const g = Math.trunc(f);
  const diff = Math.abs(f - g);
  return diff / Math.min(Math.abs(f) + Math.abs(g), Number.MAX_VALUE) < 1e-9;
}

class OpenAPIValidator {
  readonly errs: StatusCause[] = [];
  constructor(
    private readonly base: string | undefined,
    private readonly update: boolean,
    private readonly root: boolean,
  ) {}

  /** errPath of a kube-openapi error named `name`. */
  private field(name: string): string {
    const n = name.startsWith(".") ? name.slice(1) : name;
    if (n === "") return this.base ?? "<nil>";
    return this.base ? `${this.base}.${n}` : n;
  }

  private composite(detail: string): void {
    this.errs.push(goField.invalid(this.base ?? "<nil>", "", detail));
  }

  /** Validates `v` at kube-openapi path `path`; `old` is the correlated old value, if any. */
  node(v: unknown, s: JSONSchemaProps, path: string, old: Old, atRoot = false): void {
    if (this.update && old !== NONE && deepEqualJSON(v, old)) return;
    const f = this.field(path);
    const intOrString = s["x-kubernetes-int-or-string"] === true;
    const type = stringOf(s.type);
    const types = intOrString ? ["integer", "string"] : type ? [type] : [];
    const enumValues = enumOf(s);
    if (v === null || v === undefined) {
      if (types.length && s.nullable !== true) {
        this.errs.push(goField.typeInvalid(f, "null", `${path} in body must be of type ${types.join(",")}: "null"`));
      }
      if (enumValues?.length) this.enumFail(f, null, enumValues);
      return;
    }
    const t = jsonType(v);
    if (types.length && !(types.includes(t) || (t === "integer" && types.includes("number")))) {
      this.errs.push(goField.typeInvalid(f, t, `${path} in body must be of type ${types.join(",")}: "${t}"`));
    }
    this.schemaProps(v, s, path);
    if (typeof v === "string") {
      this.string(v, s, path, f);
      const format = stringOf(s.format);
      if (format && isSupportedFormat(format) && checkFormat(format, v) === false) {
        this.errs.push(goField.typeInvalid(f, v, `${path} in body must be of type ${format}: ${goQuote(v)}`));
      }
    } else if (typeof v === "number") {
      this.number(v, s, path, f);
    } else if (Array.isArray(v)) {
      this.array(v, s, path, f, old);
    }
    if (enumValues?.length && !enumValues.some((e) => deepEqualJSON(e, v))) this.enumFail(f, v, enumValues);
    if (isObject(v)) this.object(v, s, path, f, old, atRoot);
  }

  private enumFail(f: string, v: unknown, values: unknown[]): void {
    this.errs.push(goField.notSupported(f, v, values.map((e) => (typeof e === "string" ? e : stableJSON(e)))));
  }

  private sub(v: unknown, s: JSONSchemaProps, path: string): StatusCause[] {
    const sub = new OpenAPIValidator(this.base, false, this.root);
    sub.node(v, s, path, NONE);
    return sub.errs;
  }

  private schemaProps(v: unknown, s: JSONSchemaProps, path: string): void {
    const anyOf = schemaList(s.anyOf);
    const oneOf = schemaList(s.oneOf);
    const allOf = schemaList(s.allOf);
    const not = subSchema(s.not);
    if (anyOf.length) {
      let best: StatusCause[] | undefined;
      let ok = false;
      for (const branch of anyOf) {
        const errs = this.sub(v, branch, path);
        if (!errs.length) {
          ok = true;
          break;
        }
        if (!best || errs.length < best.length) best = errs;
      }
      if (!ok) {
        this.composite(`${goQuote(path)} must validate at least one schema (anyOf)`);
        this.errs.push(...(best ?? []));
      }
    }
    if (oneOf.length) {
      let valid = 0;
      let best: StatusCause[] | undefined;
      for (const branch of oneOf) {
        const errs = this.sub(v, branch, path);
        if (!errs.length) valid++;
        else if (valid === 0 && (!best || errs.length < best.length)) best = errs;
      }
      if (valid !== 1) {
        this.composite(
          `${goQuote(path)} must validate one and only one schema (oneOf). ${valid === 0 ? "Found none valid" : `Found ${valid} valid alternatives`}`,
        );
        if (valid === 0) this.errs.push(...(best ?? []));
      }
    }
    if (allOf.length) {
      let valid = 0;
      for (const branch of allOf) {
        const errs = this.sub(v, branch, path);
        if (!errs.length) valid++;
        this.errs.push(...errs);
      }
      if (valid !== allOf.length) {
        this.composite(`${goQuote(path)} must validate all the schemas (allOf)${valid === 0 ? ". None validated" : ""}`);
      }
    }
    if (not && !this.sub(v, not, path).length) {
      this.composite(`${goQuote(path)} must not validate the schema (not)`);
    }
  }

  private string(v: string, s: JSONSchemaProps, path: string, f: string): void {
    const maxLength = numberOf(s.maxLength);
    const minLength = numberOf(s.minLength);
    if (maxLength !== undefined || minLength !== undefined) {
      let len = 0;
      for (const _ of v) len++;
      if (maxLength !== undefined && len > maxLength) {
        this.errs.push(goField.tooLong(f, maxLength));
        return;
      }
      if (minLength !== undefined && len < minLength) {
        this.errs.push(goField.invalid(f, v, `${path} in body should be at least ${minLength} chars long`));
        return;
      }
    }
    const pattern = stringOf(s.pattern);
    if (pattern) {
      let re: RegExp;
      try {
        re = compileGoRegex(pattern);
      } catch (e) {
        this.errs.push(goField.invalid(f, v, `${path} in body should match '${pattern}, but pattern is invalid: ${(e as Error).message}'`));
        return;
      }
      if (!re.test(v)) this.errs.push(goField.invalid(f, v, `${path} in body should match '${pattern}'`));
    }
  }

  private number(v: number, s: JSONSchemaProps, path: string, f: string): void {
    const isInt = Number.isInteger(v);
    const fmt = (n: number): string => (isInt ? String(Math.trunc(n)) : goFloat(n));
    const multipleOf = numberOf(s.multipleOf);
    const minimum = numberOf(s.minimum);
    const maximum = numberOf(s.maximum);
    if (multipleOf !== undefined) {
      const factor = isInt ? Math.trunc(multipleOf) : multipleOf;
      if (factor <= 0) {
        this.errs.push(goField.invalid(f, factor, `factor MultipleOf declared for ${path} must be positive: ${fmt(factor)}`));
      } else if (isInt ? v % factor !== 0 : !isJSONInteger(factor < 1 ? (1 / factor) * v : v / factor)) {
        this.errs.push(goField.invalid(f, v, `${path} in body should be a multiple of ${fmt(factor)}`));
      }
    }
    if (minimum !== undefined) {
      const min = isInt ? Math.trunc(minimum) : minimum;
      const exclusive = s.exclusiveMinimum === true;
      if (exclusive ? v <= min : v < min) {
        this.errs.push(goField.invalid(f, v, `${path} in body should be greater than ${exclusive ? "" : "or equal to "}${fmt(min)}`));
      }
    }
    if (maximum !== undefined) {
      const max = isInt ? Math.trunc(maximum) : maximum;
      const exclusive = s.exclusiveMaximum === true;
      if (exclusive ? v >= max : v > max) {
        this.errs.push(goField.invalid(f, v, `${path} in body should be less than ${exclusive ? "" : "or equal to "}${fmt(max)}`));
      }
    }
  }

  private array(v: unknown[], s: JSONSchemaProps, path: string, f: string, old: Old): void {
    const items = itemsOf(s);
    if (items) {
      const lookup = old !== NONE ? mapListLookup(s, old) : undefined;
      for (let i = 0; i < v.length; i++) {
        const oldItem = lookup?.(v[i]);
        this.node(v[i], items, `${path}[${i}]`, oldItem === undefined ? NONE : oldItem);
      }
    }
    const minItems = numberOf(s.minItems);
    const maxItems = numberOf(s.maxItems);
    if (minItems !== undefined && v.length < minItems) {
      this.errs.push(goField.invalid(f, v.length, `${path} in body should have at least ${minItems} items`));
    }
    if (maxItems !== undefined && v.length > maxItems) this.errs.push(goField.tooMany(f, v.length, maxItems));
    if (s.uniqueItems === true) {
      const seen = new Set<string>();
      for (const x of v) {
        const k = stableJSON(x);
        if (seen.has(k)) {
          this.errs.push(goField.invalid(f, "", `${path} in body shouldn't contain duplicates`));
          break;
        }
        seen.add(k);
      }
    }
  }

  private object(v: Record<string, unknown>, s: JSONSchemaProps, path: string, f: string, old: Old, atRoot: boolean): void {
    const keys = Object.keys(v);
    const minProperties = numberOf(s.minProperties);
    const maxProperties = numberOf(s.maxProperties);
    if (minProperties !== undefined && keys.length < minProperties) {
      this.errs.push(goField.invalid(f, keys.length, `${path} in body should have at least ${minProperties} properties`));
    }
    if (maxProperties !== undefined && keys.length > maxProperties) this.errs.push(goField.tooMany(f, keys.length, maxProperties));
    const oldObj = old !== NONE && isObject(old) ? old : undefined;
    const oldOf = (k: string): Old => (oldObj && hasOwn(oldObj, k) ? oldObj[k] : NONE);
    const ap = additionalOf(s);
    if (ap === false) {
      for (const k of keys) {
        if (propertyOf(s, k) || (atRoot && META.has(k))) continue;
        this.errs.push(goField.invalid(f, k, `${path}.${k} in body is a forbidden property`));
      }
    } else if (typeof ap === "object") {
      for (const k of keys) {
        if (propertyOf(s, k) || (atRoot && META.has(k))) continue;
        this.node(v[k], ap, `${path}.${k}`, oldOf(k));
      }
    }
    for (const [k, prop] of propertyEntries(s)) {
      if (atRoot && META.has(k)) continue;
      if (!hasOwn(v, k)) continue;
      this.node(v[k], prop, path ? `${path}.${k}` : k, oldOf(k));
    }
    for (const k of stringList(s.required)) {
      if (atRoot && META.has(k)) continue;
      if (!hasOwn(v, k)) this.errs.push(goField.required(this.field(`${path}.${k}`)));
    }
  }
}

// --- list-type and embedded-resource invariants ------------------------------------------------

const listTypesBelow = new WeakMap<JSONSchemaProps, boolean>();

function hasListTypes(s: JSONSchemaProps | undefined): boolean {
  if (!s) return false;
  let hit = listTypesBelow.get(s);
  if (hit !== undefined) return hit;
  listTypesBelow.set(s, false);
  hit =
    s["x-kubernetes-list-type"] === "set" ||
    s["x-kubernetes-list-type"] === "map" ||
    s["x-kubernetes-embedded-resource"] === true ||
    hasListTypes(itemsOf(s)) ||
    hasListTypes(subSchema(s.additionalProperties)) ||
    propertyEntries(s).some(([, p]) => hasListTypes(p));
  listTypesBelow.set(s, hit);
  return hit;
}

const keyPath = (path: string | null, k: string): string => `${path ?? ""}[${k}]`;
const childPath = (path: string | null, k: string): string => (path === null ? k : `${path}.${k}`);

interface InvariantErrors {
  list: StatusCause[];
  embedded: StatusCause[];
}

function listInvariants(v: unknown, s: JSONSchemaProps, path: string | null, atRoot: boolean, out: InvariantErrors): void {
  if (!hasListTypes(s)) return;
  if (Array.isArray(v)) {
    const p = path ?? "";
    const lt = s["x-kubernetes-list-type"];
    if (lt === "set") {
      const seen = new Map<string, number>();
      v.forEach((x, i) => {
        const k = stableJSON(x);
        const n = seen.get(k) ?? 0;
        if (n === 1) out.list.push(goField.duplicate(`${p}[${i}]`, x));
        seen.set(k, n + 1);
      });
    } else if (lt === "map") {
      listMap(v, s, p, out.list);
    }
    const items = itemsOf(s);
    if (items) v.forEach((x, i) => listInvariants(x, items, `${p}[${i}]`, false, out));
    return;
  }
  if (!isObject(v)) return;
  if (s["x-kubernetes-embedded-resource"] === true && !atRoot) embeddedResource(v, path, out.embedded);
  const ap = subSchema(s.additionalProperties);
  if (ap) for (const k of Object.keys(v)) listInvariants(v[k], ap, keyPath(path, k), false, out);
  for (const k of Object.keys(v)) {
    if (atRoot && META.has(k)) continue;
    const prop = propertyOf(s, k);
    if (prop) listInvariants(v[k], prop, childPath(path, k), false, out);
  }
}

function listMap(v: unknown[], s: JSONSchemaProps, p: string, out: StatusCause[]): void {
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== null && !isObject(v[i])) {
      out.push(goField.invalid(`${p}[${i}]`, v[i], "must be an object for an array of list-type map"));
      return;
    }
  }
  const keys = stringList(s["x-kubernetes-list-map-keys"]);
  const items = itemsOf(s);
  const required = new Set(stringList(items?.required));
  v.forEach((x, i) => {
    if (!isObject(x)) return;
    for (const k of keys) {
      if (!hasOwn(x, k) && !required.has(k) && !hasDefault(propertyOf(items, k))) {
        out.push(goField.required(`${p}[${i}].${k}`));
      }
    }
  });
  if (v.length <= 1) return;
  const seen = new Map<string, number>();
  v.forEach((x, i) => {
    const key: Record<string, unknown> = {};
    if (isObject(x)) for (const k of keys) if (hasOwn(x, k)) setOwn(key, k, x[k]);
    const id = stableJSON(keys.length === 1 ? (hasOwn(key, keys[0]) ? { v: getOwn(key, keys[0]) } : {}) : key);
    const n = seen.get(id) ?? 0;
    if (n === 1) out.push(goField.duplicate(`${p}[${i}]`, key));
    seen.set(id, n + 1);
  });
}

function embeddedResource(v: Record<string, unknown>, path: string | null, out: StatusCause[]): void {
  for (const k of ["apiVersion", "kind"]) {
    const f = childPath(path, k);
    if (!hasOwn(v, k)) out.push(goField.required(f, "must not be empty"));
    else if (typeof v[k] !== "string") out.push(goField.invalid(f, v[k], "must be a string"));
    else if (v[k] === "") out.push(goField.invalid(f, "", "must not be empty"));
  }
}

// --- entry point ------------------------------------------------------------------------------

export const SKIPPED_RULES_MESSAGE =
  "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

/**
 * Validates `obj` against `schema` (after pruning and defaulting) and returns kube-apiserver's
 * field causes, in the order upstream produces them: OpenAPI errors, list-type errors, CEL
 * rule failures. With `root: true`, `apiVersion`, `kind` and `metadata` are skipped.
 */
export function validateValue(obj: unknown, given: JSONSchemaProps, opts: ValidateOptions = {}): StatusCause[] {
  const schema = schemaNode(given);
  const update = opts.oldObj !== undefined;
  const root = opts.root === true;
  const v = new OpenAPIValidator(opts.basePath, update, root);
  v.node(obj, schema, "", update ? opts.oldObj : NONE, root);
  const causes = v.errs;

  const inv: InvariantErrors = { list: [], embedded: [] };
  listInvariants(obj, schema, opts.basePath ?? null, root, inv);
  causes.push(...inv.embedded);
  if (inv.list.length && update) {
    // Ratcheting: list invariants only apply when the stored object satisfied them.
    const old: InvariantErrors = { list: [], embedded: [] };
    listInvariants(opts.oldObj, schema, opts.basePath ?? null, root, old);
    if (old.list.length) inv.list.length = 0;
  }
  causes.push(...inv.list);

  if (opts.rules === false) return causes;
  if (causes.some((c) => BLOCKING.has(c.reason))) {
    causes.push(goField.invalid("<nil>", null, SKIPPED_RULES_MESSAGE));
    return causes;
  }
  causes.push(...validateRules(obj, schema, { oldObj: opts.oldObj, root, basePath: opts.basePath }));
  return causes;
}
