import { describe, expect, it } from "bun:test";
import { compileRules } from "./cel.ts";
import { applyDefaults, cloneJSON } from "./defaults.ts";
import { dropNulls, pruneUnknown } from "./prune.ts";
import { checkSchemaTypes } from "./schema-types.ts";
import { checkStructural } from "./structural.ts";
import type { JSONSchemaProps } from "./types.ts";
import { validateValue } from "./validate.ts";

const P = "spec.versions[0].schema.openAPIV3Schema";
const F = "spec.versions.schema.openAPIV3Schema";

/** `cannot unmarshal <value> into Go struct field <struct>.<F><field> of type <type>`. */
const typeError = (value: string, struct: string, field: string, type: string): string =>
  `json: cannot unmarshal ${value} into Go struct field ${struct}.${F}${field} of type ${type}`;

/** A resource schema with `spec` set to the given node. */
const withSpec = (spec: unknown): unknown => ({ type: "object", properties: { spec } });

/** Malformed schemas: [name, schema, the decoding error kube-apiserver reports]. */
const MALFORMED: [string, unknown, string][] = [
  ["rule is a number", withSpec({ type: "object", "x-kubernetes-validations": [{ rule: 5 }] }), typeError("number", "ValidationRule", ".properties.x-kubernetes-validations.rule", "string")],
  ["x-kubernetes-validations is a string", { type: "object", "x-kubernetes-validations": "x" }, typeError("string", "JSONSchemaProps", ".x-kubernetes-validations", "v1.ValidationRules")],
  ["a rule is a string", { type: "object", "x-kubernetes-validations": ["self.a"] }, typeError("string", "JSONSchemaProps", ".x-kubernetes-validations", "v1.ValidationRule")],
  ["message is an object", { type: "object", "x-kubernetes-validations": [{ rule: "true", message: {} }] }, typeError("object", "ValidationRule", ".x-kubernetes-validations.message", "string")],
  ["messageExpression is an array", { type: "object", "x-kubernetes-validations": [{ rule: "true", messageExpression: [] }] }, typeError("array", "ValidationRule", ".x-kubernetes-validations.messageExpression", "string")],
  ["reason is a number", { type: "object", "x-kubernetes-validations": [{ rule: "true", reason: 1 }] }, typeError("number", "ValidationRule", ".x-kubernetes-validations.reason", "v1.FieldValueErrorReason")],
  ["fieldPath is a bool", { type: "object", "x-kubernetes-validations": [{ rule: "true", fieldPath: true }] }, typeError("bool", "ValidationRule", ".x-kubernetes-validations.fieldPath", "string")],
  ["optionalOldSelf is a string", { type: "object", "x-kubernetes-validations": [{ rule: "oldSelf == self", optionalOldSelf: "yes" }] }, typeError("string", "ValidationRule", ".x-kubernetes-validations.optionalOldSelf", "bool")],
  ["properties is an array", { type: "object", properties: [] }, typeError("array", "JSONSchemaProps", ".properties", "map[string]v1.JSONSchemaProps")],
  ["a property is a string", { type: "object", properties: { a: "string" } }, typeError("string", "JSONSchemaProps", ".properties", "v1.JSONSchemaProps")],
  ["items is a number", withSpec({ type: "array", items: 5 }), typeError("number", "JSONSchemaProps", ".properties.items", "v1.JSONSchemaPropsOrArray")],
  ["items holds a number", withSpec({ type: "array", items: [5] }), typeError("number", "JSONSchemaProps", ".properties.items", "v1.JSONSchemaProps")],
  ["type inside items is a bool", withSpec({ type: "array", items: { type: true } }), typeError("bool", "JSONSchemaProps", ".properties.items", "string")],
  ["required is a string", { type: "object", required: "x" }, typeError("string", "JSONSchemaProps", ".required", "[]string")],
  ["required holds a number", { type: "object", required: [1] }, typeError("number", "JSONSchemaProps", ".required", "string")],
  ["enum is an object", withSpec({ type: "string", enum: {} }), typeError("object", "JSONSchemaProps", ".properties.enum", "[]v1.JSON")],
  ["pattern is a number", withSpec({ type: "string", pattern: 5 }), typeError("number", "JSONSchemaProps", ".properties.pattern", "string")],
  ["type is a number", { type: 5 }, typeError("number", "JSONSchemaProps", ".type", "string")],
  ["format is an array", withSpec({ type: "string", format: ["date"] }), typeError("array", "JSONSchemaProps", ".properties.format", "string")],
  ["minLength is a fraction", withSpec({ type: "string", minLength: 1.5 }), typeError("number 1.5", "JSONSchemaProps", ".properties.minLength", "int64")],
  ["maxItems is a string", withSpec({ type: "array", items: { type: "string" }, maxItems: "3" }), typeError("string", "JSONSchemaProps", ".properties.maxItems", "int64")],
  ["minimum is a string", withSpec({ type: "integer", minimum: "0" }), typeError("string", "JSONSchemaProps", ".properties.minimum", "float64")],
  ["nullable is a string", withSpec({ type: "string", nullable: "true" }), typeError("string", "JSONSchemaProps", ".properties.nullable", "bool")],
  ["preserve-unknown-fields is a number", withSpec({ type: "object", "x-kubernetes-preserve-unknown-fields": 1 }), typeError("number", "JSONSchemaProps", ".properties.x-kubernetes-preserve-unknown-fields", "bool")],
  ["list-map-keys is a string", withSpec({ type: "array", items: { type: "object" }, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": "name" }), typeError("string", "JSONSchemaProps", ".properties.x-kubernetes-list-map-keys", "[]string")],
  ["list-type is an object", withSpec({ type: "array", items: { type: "string" }, "x-kubernetes-list-type": {} }), typeError("object", "JSONSchemaProps", ".properties.x-kubernetes-list-type", "string")],
  ["allOf is an object", { type: "object", allOf: {} }, typeError("object", "JSONSchemaProps", ".allOf", "[]v1.JSONSchemaProps")],
  ["anyOf holds a bool", { type: "object", anyOf: [true] }, typeError("bool", "JSONSchemaProps", ".anyOf", "v1.JSONSchemaProps")],
  ["not is an array", { type: "object", not: [] }, typeError("array", "JSONSchemaProps", ".not", "v1.JSONSchemaProps")],
  ["additionalProperties is a number", withSpec({ type: "object", additionalProperties: 5 }), "boolean or JSON schema expected"],
  ["additionalProperties has a bad type", withSpec({ type: "object", additionalProperties: { type: "object", properties: { a: { type: 1 } } } }), typeError("number", "JSONSchemaProps", ".properties.additionalProperties", "string")],
  ["externalDocs.url is a number", { type: "object", externalDocs: { url: 5 } }, typeError("number", "ExternalDocumentation", ".externalDocs.url", "string")],
  ["definitions is a number", { type: "object", definitions: 5 }, typeError("number", "JSONSchemaProps", ".definitions", "v1.JSONSchemaDefinitions")],
  ["the schema is a string", "object", `json: cannot unmarshal string into Go struct field CustomResourceValidation.${F} of type v1.JSONSchemaProps`],
  ["the schema is an array", [], `json: cannot unmarshal array into Go struct field CustomResourceValidation.${F} of type v1.JSONSchemaProps`],
];

describe("checkSchemaTypes", () => {
  it("accepts well-typed schemas, nulls (Go zero values) and any JSON in default/example/enum", () => {
    expect(checkSchemaTypes({ type: "object", properties: { a: { type: "string", enum: ["x", 1, {}, null], default: { any: [1] }, example: 5 } } }, P)).toBeUndefined();
    expect(checkSchemaTypes({ type: "object", properties: { a: null }, required: null, items: null, not: null, allOf: [null], "x-kubernetes-validations": [null, { rule: null }] }, P)).toBeUndefined();
    expect(checkSchemaTypes({ type: "object", additionalProperties: false, unknownKeyword: 5 }, P)).toBeUndefined();
    expect(checkSchemaTypes(null, P)).toBeUndefined();
  });

  it.each(MALFORMED)("%s", (_name, schema, message) => {
    expect(checkSchemaTypes(schema, P)).toBe(message);
  });

  it("reports the first type error; an error below a field with its own decoder wins", () => {
    expect(checkSchemaTypes({ type: "object", pattern: 1, minimum: "x" }, P)).toBe(typeError("number", "JSONSchemaProps", ".pattern", "string"));
    expect(checkSchemaTypes({ type: "object", pattern: 1, additionalProperties: "x" }, P)).toBe("boolean or JSON schema expected");
    expect(checkSchemaTypes({ type: "object", pattern: 1, items: { type: 1 } }, P)).toBe(typeError("number", "JSONSchemaProps", ".items", "string"));
  });

  it("takes the path as given, without indices", () => {
    expect(checkSchemaTypes({ type: 1 }, "spec.validation.openAPIV3Schema")).toBe(
      "json: cannot unmarshal number into Go struct field JSONSchemaProps.spec.validation.openAPIV3Schema.type of type string",
    );
  });

  it("handles schemas nested 1000 deep", () => {
    let s: unknown = { type: 5 };
    for (let i = 0; i < 999; i++) s = i % 2 ? { type: "array", items: s } : { type: "object", properties: { a: s } };
    expect(checkSchemaTypes(s, P)).toMatch(/^json: cannot unmarshal number into Go struct field JSONSchemaProps\./);
  });
});

describe("malformed schemas never make the schema engine throw", () => {
  const never = (name: string, fn: () => unknown): void => {
    let thrown: unknown;
    try {
      fn();
    } catch (e) {
      thrown = e;
    }
    if (thrown !== undefined) throw new Error(`${name} threw: ${String((thrown as Error)?.message ?? thrown)}`);
  };

  it.each(MALFORMED)("%s", (_name, schema) => {
    const s = structuredClone(schema) as JSONSchemaProps;
    never("checkStructural", () => checkStructural(s, { path: P }));
    never("compileRules", () => compileRules(s, { path: P }));
    const obj = { spec: { a: "x", items: [1, { b: null }], name: null } };
    never("pruneUnknown", () => pruneUnknown(cloneJSON(obj), s, { root: true }));
    never("dropNulls", () => dropNulls(cloneJSON(obj), s));
    never("applyDefaults", () => applyDefaults(cloneJSON(obj), s));
    never("validateValue", () => validateValue(obj, s, { root: true }));
    never("validateValue (update)", () => validateValue(obj, s, { root: true, oldObj: { spec: {} } }));
  });

  it("schemas Go decodes (nulls as zero values) are checked, not thrown on", () => {
    const schema = JSON.parse(
      '{"type":"object","properties":{"spec":{"type":"object","properties":{"a":null,"b":{"type":"array","items":null}},' +
        '"allOf":[null,{"properties":{"c":null}}],"not":null,"required":[null],"additionalProperties":null,"default":null,' +
        '"x-kubernetes-validations":[null,{"rule":null,"message":null}],"x-kubernetes-list-map-keys":null}}}',
    );
    const causes = checkStructural(schema, { path: P });
    expect(causes).toContainEqual({
      reason: "FieldValueRequired",
      field: `${P}.properties[spec].properties[a].type`,
      message: "Required value: must not be empty for specified object fields",
    });
    expect(causes).toContainEqual({ reason: "FieldValueRequired", field: `${P}.properties[spec].properties[b].items`, message: "Required value: must be specified" });
    expect(compileRules(schema, { path: P })).toEqual([
      { reason: "FieldValueRequired", field: `${P}.properties[spec].x-kubernetes-validations[0].rule`, message: "Required value: rule is not specified" },
      { reason: "FieldValueRequired", field: `${P}.properties[spec].x-kubernetes-validations[1].rule`, message: "Required value: rule is not specified" },
    ]);
    const obj = { spec: { a: 1, b: [1], c: 2 } };
    expect(() => validateValue(obj, schema, { root: true })).not.toThrow();
    expect(() => pruneUnknown(cloneJSON(obj), schema, { root: true })).not.toThrow();
  });

  it("an array-form items is forbidden, as upstream", () => {
    expect(checkStructural(withSpec({ type: "array", items: [{ type: "string" }] }) as JSONSchemaProps, { path: P })).toEqual([
      { reason: "FieldValueForbidden", field: `${P}.properties[spec].items`, message: "Forbidden: items must be a schema object and not an array" },
    ]);
  });

  it("schemas nested 1000 deep are checked without overflowing the stack", () => {
    let s: JSONSchemaProps = { type: "string", "x-kubernetes-validations": [{ rule: "self.size() < 10" }] };
    let v: unknown = "x";
    for (let i = 0; i < 998; i++) {
      s = { type: "array", items: s };
      v = [v];
    }
    const root: JSONSchemaProps = { type: "object", properties: { spec: s } };
    expect(checkSchemaTypes(root, P)).toBeUndefined();
    expect(checkStructural(root, { path: P })).toEqual([]);
    expect(compileRules(root, { path: P })).toEqual([]);
    expect(validateValue({ spec: v }, root, { root: true })).toEqual([]);
    expect(pruneUnknown({ spec: v, x: 1 }, root, { root: true })).toEqual(["x"]);
  });
});
