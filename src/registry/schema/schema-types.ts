/**
 * The Go types of a CRD's `openAPIV3Schema`, as kube-apiserver decodes it into
 * apiextensions/v1 `JSONSchemaProps` (sigs.k8s.io/json, case-sensitive field names), and the
 * readers the schema engine uses so that no schema shape can make it throw.
 *
 * `checkSchemaTypes` reports the first value whose JSON type does not fit the Go field, worded as
 * encoding/json's UnmarshalTypeError:
 * `json: cannot unmarshal <json type> into Go struct field <Struct>.<field path> of type <Go type>`,
 * where `<Struct>` is the innermost struct holding the field (`JSONSchemaProps`, `ValidationRule`,
 * `ExternalDocumentation`) and the path lists JSON field names from the CRD root (no indices, no
 * map keys). As in Go:
 * - `null` fits every field (it decodes to the zero value);
 * - integers (`minLength`, …) reject fractions as `number 1.5`;
 * - `default`, `example` and `enum` elements take any JSON;
 * - the first type error wins, except that an error below a field with its own decoder
 *   (`additionalProperties`, `additionalItems`, `items`, `dependencies`) stops decoding at once
 *   and is reported at that field (the nested decoder's path is replaced by the outer one);
 * - `additionalProperties`/`additionalItems` that are neither a boolean nor an object fail with
 *   the plain `boolean or JSON schema expected`.
 *
 * Deliberate difference: Go silently drops an `items` that is neither an object nor an array
 * (`items: 5`); here it is a type error (`… of type v1.JSONSchemaPropsOrArray`), so such a schema
 * is rejected instead of being stored with a keyword nothing honours. Number literals are only
 * seen as JSON.parse left them (`1.0` and `1e3` are integers here; Go rejects them for int64).
 * `x-kubernetes-patch-strategy`/`-merge-key` (types.ts, built-in kinds only) are no
 * JSONSchemaProps fields: unknown, hence unchecked, as in Go.
 *
 * The readers (`schemaNode`, `subSchema`, `schemaList`, `propertyEntries`, …) give the engine Go's
 * view of a decoded schema: `null` (or any non-object) where a schema object belongs is the zero
 * schema `{}` in lists and maps and absent for pointers (`items`, `not`, `additionalProperties`),
 * a wrongly typed keyword is ignored, and `default: null` is no default.
 * @module
 */

import type { JSONSchemaProps, ValidationRule } from "./types.ts";
import { getOwn, hasOwn, isObject } from "./own.ts";

// --- Go types -----------------------------------------------------------------------------------

type GoType =
  | { k: "string"; name: string }
  | { k: "bool" }
  | { k: "int64" }
  | { k: "float64" }
  /** apiextensions v1.JSON: any JSON value. */
  | { k: "json" }
  | { k: "slice"; name: string; elem: () => GoType }
  | { k: "map"; name: string; elem: () => GoType }
  | { k: "struct"; name: string; fields: () => Record<string, GoType> }
  /** *JSONSchemaPropsOrArray, *JSONSchemaPropsOrBool, JSONSchemaPropsOrStringArray (custom UnmarshalJSON). */
  | { k: "orArray" }
  | { k: "orBool" }
  | { k: "orStringArray" };

const STRING: GoType = { k: "string", name: "string" };
const BOOL: GoType = { k: "bool" };
const INT64: GoType = { k: "int64" };
const FLOAT64: GoType = { k: "float64" };
const JSON_ANY: GoType = { k: "json" };
const STRING_SLICE: GoType = { k: "slice", name: "[]string", elem: () => STRING };

const VALIDATION_RULE: GoType = {
  k: "struct",
  name: "ValidationRule",
  fields: () => ({
    rule: STRING,
    message: STRING,
    messageExpression: STRING,
    reason: { k: "string", name: "v1.FieldValueErrorReason" },
    fieldPath: STRING,
    optionalOldSelf: BOOL,
  }),
};

const EXTERNAL_DOCS: GoType = {
  k: "struct",
  name: "ExternalDocumentation",
  fields: () => ({ description: STRING, url: STRING }),
};

let schemaFields: Record<string, GoType> | undefined;

const SCHEMA: GoType = {
  k: "struct",
  name: "JSONSchemaProps",
  fields: () =>
    (schemaFields ??= {
      id: STRING,
      $schema: { k: "string", name: "v1.JSONSchemaURL" },
      $ref: STRING,
      description: STRING,
      type: STRING,
      format: STRING,
      title: STRING,
      default: JSON_ANY,
      maximum: FLOAT64,
      exclusiveMaximum: BOOL,
      minimum: FLOAT64,
      exclusiveMinimum: BOOL,
      maxLength: INT64,
      minLength: INT64,
      pattern: STRING,
      maxItems: INT64,
      minItems: INT64,
      uniqueItems: BOOL,
      multipleOf: FLOAT64,
      enum: { k: "slice", name: "[]v1.JSON", elem: () => JSON_ANY },
      maxProperties: INT64,
      minProperties: INT64,
      required: STRING_SLICE,
      items: { k: "orArray" },
      allOf: SCHEMA_SLICE,
      oneOf: SCHEMA_SLICE,
      anyOf: SCHEMA_SLICE,
      not: SCHEMA,
      properties: { k: "map", name: "map[string]v1.JSONSchemaProps", elem: () => SCHEMA },
      additionalProperties: { k: "orBool" },
      patternProperties: { k: "map", name: "map[string]v1.JSONSchemaProps", elem: () => SCHEMA },
      dependencies: { k: "map", name: "v1.JSONSchemaDependencies", elem: () => ({ k: "orStringArray" }) },
      additionalItems: { k: "orBool" },
      definitions: { k: "map", name: "v1.JSONSchemaDefinitions", elem: () => SCHEMA },
      externalDocs: EXTERNAL_DOCS,
      example: JSON_ANY,
      nullable: BOOL,
      "x-kubernetes-preserve-unknown-fields": BOOL,
      "x-kubernetes-embedded-resource": BOOL,
      "x-kubernetes-int-or-string": BOOL,
      "x-kubernetes-list-map-keys": STRING_SLICE,
      "x-kubernetes-list-type": STRING,
      "x-kubernetes-map-type": STRING,
      "x-kubernetes-validations": { k: "slice", name: "v1.ValidationRules", elem: () => VALIDATION_RULE },
      // x-kubernetes-patch-strategy/-merge-key are no JSONSchemaProps fields: unknown, ignored.
    }),
};

const SCHEMA_SLICE: GoType = { k: "slice", name: "[]v1.JSONSchemaProps", elem: () => SCHEMA };

function typeName(t: GoType): string {
  switch (t.k) {
    case "string":
    case "slice":
    case "map":
      return t.name;
    case "struct":
      return `v1.${t.name}`;
    case "json":
      return "v1.JSON";
    case "orArray":
      return "v1.JSONSchemaPropsOrArray";
    case "orBool":
      return "v1.JSONSchemaPropsOrBool";
    case "orStringArray":
      return "v1.JSONSchemaPropsOrStringArray";
    default:
      return t.k;
  }
}

// --- decoding -----------------------------------------------------------------------------------

/** An error as encoding/json builds it: an UnmarshalTypeError (with context) or a plain error. */
type DecodeError = { value: string; type: string; struct?: string; field?: string } | { message: string };

interface Ctx {
  /** errorContext.Struct: the struct whose field is being decoded. */
  struct?: string;
  /** errorContext.FieldStack. */
  stack: string[];
}

interface Decoder {
  /** The first saved (non-fatal) error. */
  saved?: DecodeError;
  depth: number;
}

class Abort {
  constructor(readonly err: DecodeError) {}
}

/** Go's nesting limit of its JSON scanner (never reached: request bodies are limited far below). */
const MAX_DEPTH = 10000;

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  switch (typeof v) {
    case "string":
      return "string";
    case "number":
    case "bigint":
      return "number";
    case "boolean":
      return "bool";
  }
  return "object";
}

/** addErrorContext: an UnmarshalTypeError takes the decoder's current struct and field path. */
function withContext(err: DecodeError, ctx: Ctx): DecodeError {
  if (!("value" in err)) return err;
  if (ctx.struct === undefined && ctx.stack.length === 0) return err;
  return { value: err.value, type: err.type, struct: ctx.struct ?? "", field: ctx.stack.join(".") };
}

function save(d: Decoder, ctx: Ctx, value: string, t: GoType): void {
  d.saved ??= withContext({ value, type: typeName(t) }, ctx);
}

function decode(d: Decoder, v: unknown, t: GoType, ctx: Ctx): void {
  if (v === null || v === undefined) return; // null decodes to the zero value
  if (++d.depth > MAX_DEPTH) throw new Abort({ message: "exceeded max depth" });
  try {
    decodeValue(d, v, t, ctx);
  } finally {
    d.depth--;
  }
}

function decodeValue(d: Decoder, v: unknown, t: GoType, ctx: Ctx): void {
  switch (t.k) {
    case "json":
      return;
    case "string":
      if (typeof v !== "string") save(d, ctx, jsonKind(v), t);
      return;
    case "bool":
      if (typeof v !== "boolean") save(d, ctx, jsonKind(v), t);
      return;
    case "float64":
      if (typeof v !== "number") save(d, ctx, jsonKind(v), t);
      return;
    case "int64":
      if (typeof v !== "number") save(d, ctx, jsonKind(v), t);
      else if (!Number.isInteger(v) || v >= 2 ** 63 || v < -(2 ** 63)) save(d, ctx, `number ${String(v)}`, t);
      return;
    case "slice":
      if (!Array.isArray(v)) {
        save(d, ctx, jsonKind(v), t);
        return;
      }
      for (const x of v) decode(d, x, t.elem(), ctx);
      return;
    case "map": {
      if (!isObject(v)) {
        save(d, ctx, jsonKind(v), t);
        return;
      }
      const elem = t.elem();
      for (const k of Object.keys(v)) decode(d, v[k], elem, ctx);
      return;
    }
    case "struct": {
      if (!isObject(v)) {
        save(d, ctx, jsonKind(v), t);
        return;
      }
      const fields = t.fields();
      for (const k of Object.keys(v)) {
        if (!hasOwn(fields, k)) continue; // unknown fields are dropped (strict decoding reports them elsewhere)
        decode(d, v[k], fields[k], { struct: t.name, stack: [...ctx.stack, k] });
      }
      return;
    }
    case "orBool":
      if (typeof v === "boolean") return;
      if (!isObject(v)) throw new Abort({ message: "boolean or JSON schema expected" });
      nested(d, v, SCHEMA, ctx);
      return;
    case "orArray":
      if (isObject(v)) nested(d, v, SCHEMA, ctx);
      else if (Array.isArray(v)) nested(d, v, SCHEMA_SLICE, ctx);
      else save(d, ctx, jsonKind(v), t); // deliberate: Go ignores such an `items`
      return;
    case "orStringArray":
      if (isObject(v)) nested(d, v, SCHEMA, ctx);
      else if (Array.isArray(v)) nested(d, v, STRING_SLICE, ctx);
      return;
  }
}

/**
 * A custom UnmarshalJSON calling json.Unmarshal: a fresh decoder whose error (its first fatal
 * one, else its first saved one) aborts the outer decoding, re-contextualised at the outer field.
 */
function nested(d: Decoder, v: unknown, t: GoType, ctx: Ctx): void {
  const inner: Decoder = { depth: d.depth };
  let err: DecodeError | undefined;
  try {
    decode(inner, v, t, { stack: [] });
    err = inner.saved;
  } catch (e) {
    if (!(e instanceof Abort)) throw e;
    err = e.err;
  }
  if (err) throw new Abort(withContext(err, ctx));
}

function render(err: DecodeError): string {
  if ("message" in err) return err.message;
  if (err.struct || err.field) {
    return `json: cannot unmarshal ${err.value} into Go struct field ${err.struct ?? ""}.${err.field ?? ""} of type ${err.type}`;
  }
  return `json: cannot unmarshal ${err.value} into Go value of type ${err.type}`;
}

/**
 * Checks that `schema` decodes into apiextensions/v1 JSONSchemaProps and returns the decoding
 * error kube-apiserver reports otherwise (undefined when it decodes). `path` is where the schema
 * sits in the CRD, as for checkStructural (`spec.versions[0].schema.openAPIV3Schema`); indices and
 * map keys are dropped from it, as Go's field paths have none. Never throws.
 */
export function checkSchemaTypes(schema: unknown, path: string): string | undefined {
  const stack = path
    .replace(/\[[^\]]*\]/g, "")
    .split(".")
    .filter((p) => p !== "");
  const d: Decoder = { depth: 0 };
  try {
    decode(d, schema, SCHEMA, { struct: "CustomResourceValidation", stack });
  } catch (e) {
    if (e instanceof Abort) return render(e.err);
    if (e instanceof RangeError) return "exceeded max depth";
    return `cannot decode schema: ${(e as Error)?.message ?? String(e)}`;
  }
  return d.saved ? render(d.saved) : undefined;
}

// --- readers ------------------------------------------------------------------------------------

const EMPTY: JSONSchemaProps = Object.freeze({}) as JSONSchemaProps;

/** A schema in a list or map (allOf elements, properties values): a non-object is the zero schema. */
export function schemaNode(v: unknown): JSONSchemaProps {
  return isObject(v) ? (v as JSONSchemaProps) : EMPTY;
}

/** A schema behind a pointer (`items`, `not`, `additionalProperties` schema): undefined unless an object. */
export function subSchema(v: unknown): JSONSchemaProps | undefined {
  return isObject(v) ? (v as JSONSchemaProps) : undefined;
}

/** `allOf`/`anyOf`/`oneOf`: the schemas of a list (null elements are zero schemas); [] otherwise. */
export function schemaList(v: unknown): JSONSchemaProps[] {
  return Array.isArray(v) ? v.map(schemaNode) : [];
}

const entriesCache = new WeakMap<object, [string, JSONSchemaProps][]>();

/**
 * The `properties` of a schema as [name, schema] pairs, in order. Cached per schema object
 * (schemas are not mutated once served); callers must not modify the returned list.
 */
export function propertyEntries(s: JSONSchemaProps | undefined): [string, JSONSchemaProps][] {
  const props = s?.properties as unknown;
  if (!isObject(props)) return [];
  let entries = entriesCache.get(props);
  if (!entries) {
    entries = Object.keys(props).map((k) => [k, schemaNode(props[k])]);
    entriesCache.set(props, entries);
  }
  return entries;
}

/** Whether a schema declares properties at all (a non-empty `properties` object). */
export function hasProperties(s: JSONSchemaProps | undefined): boolean {
  const props = s?.properties as unknown;
  return isObject(props) && Object.keys(props).length > 0;
}

/** The schema of property `name`, or undefined when not declared (own keys only). */
export function propertyOf(s: JSONSchemaProps | undefined, name: string): JSONSchemaProps | undefined {
  const props = s?.properties as unknown;
  if (!isObject(props) || !hasOwn(props, name)) return undefined;
  return schemaNode(props[name]);
}

/** `additionalProperties`: a schema, a boolean, or undefined (absent, null or wrongly typed). */
export function additionalOf(s: JSONSchemaProps | undefined): JSONSchemaProps | boolean | undefined {
  const ap = s?.additionalProperties as unknown;
  if (typeof ap === "boolean") return ap;
  return subSchema(ap);
}

/** `additionalProperties` when it is a schema. */
export function additionalSchema(s: JSONSchemaProps | undefined): JSONSchemaProps | undefined {
  return subSchema(s?.additionalProperties);
}

/** `items` when it is a schema object (an array form or anything else: undefined). */
export function itemsOf(s: JSONSchemaProps | undefined): JSONSchemaProps | undefined {
  return subSchema(s?.items);
}

/** A string-valued keyword, or undefined. */
export function stringOf(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** A number-valued keyword, or undefined. */
export function numberOf(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}

/** A []string keyword (`required`, `x-kubernetes-list-map-keys`): null elements are "". */
export function stringList(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.map((x) => (typeof x === "string" ? x : ""));
}

/** `enum` values, or undefined when absent or not a list. */
export function enumOf(s: JSONSchemaProps): unknown[] | undefined {
  return Array.isArray(s.enum) ? s.enum : undefined;
}

/** Whether the schema has a default (`default: null` decodes to none). */
export function hasDefault(s: JSONSchemaProps | undefined): boolean {
  return s !== undefined && s.default !== undefined && s.default !== null;
}

/** `x-kubernetes-validations` as well-typed rules (null entries are empty rules; bad fields dropped). */
export function validationRules(s: JSONSchemaProps): ValidationRule[] {
  const list = s["x-kubernetes-validations"] as unknown;
  if (!Array.isArray(list)) return [];
  return list.map((r) => {
    if (!isObject(r)) return { rule: "" };
    const out: ValidationRule = { rule: stringOf(getOwn(r, "rule")) ?? "" };
    const message = stringOf(getOwn(r, "message"));
    if (message !== undefined) out.message = message;
    const messageExpression = stringOf(getOwn(r, "messageExpression"));
    if (messageExpression !== undefined) out.messageExpression = messageExpression;
    const reason = stringOf(getOwn(r, "reason"));
    if (reason !== undefined) out.reason = reason as ValidationRule["reason"];
    const fieldPath = stringOf(getOwn(r, "fieldPath"));
    if (fieldPath !== undefined) out.fieldPath = fieldPath;
    const optionalOldSelf = getOwn(r, "optionalOldSelf");
    if (typeof optionalOldSelf === "boolean") out.optionalOldSelf = optionalOldSelf;
    return out;
  });
}
