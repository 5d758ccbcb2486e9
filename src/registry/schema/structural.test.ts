import { describe, expect, it } from "bun:test";
import { checkStructural } from "./structural.ts";
import type { JSONSchemaProps } from "./types.ts";

const R = "spec.validation.openAPIV3Schema";

/** A resource schema with `spec` set to the given node. */
const withSpec = (node: JSONSchemaProps): JSONSchemaProps => ({
  type: "object",
  properties: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" }, spec: node },
});

describe("checkStructural: types", () => {
  it("accepts a typical controller-gen schema", () => {
    const schema = withSpec({
      type: "object",
      required: ["name"],
      properties: {
        name: { type: "string", pattern: "^[a-z]+$", maxLength: 63 },
        replicas: { type: "integer", format: "int32", default: 1, minimum: 0 },
        maxSurge: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] },
        labels: { type: "object", additionalProperties: { type: "string" } },
        raw: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        ports: {
          type: "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name"],
          items: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
        },
      },
    });
    expect(checkStructural(schema)).toEqual([]);
  });

  it("requires a type on every node unless int-or-string or preserve-unknown-fields", () => {
    expect(checkStructural({ properties: {} })).toEqual([
      { reason: "FieldValueRequired", field: `${R}.type`, message: "Required value: must not be empty at the root" },
    ]);
    expect(checkStructural(withSpec({ type: "object", properties: { a: {} } }))).toEqual([
      { reason: "FieldValueRequired", field: `${R}.properties[spec].properties[a].type`, message: "Required value: must not be empty for specified object fields" },
    ]);
    expect(checkStructural(withSpec({ type: "array", items: {} }))).toEqual([
      { reason: "FieldValueRequired", field: `${R}.properties[spec].items.type`, message: "Required value: must not be empty for specified array items" },
    ]);
  });

  it("requires items on arrays and an object at the root", () => {
    expect(checkStructural(withSpec({ type: "array" }))).toEqual([
      { reason: "FieldValueRequired", field: `${R}.properties[spec].items`, message: "Required value: must be specified" },
    ]);
    expect(checkStructural({ type: "string" })).toEqual([{ reason: "FieldValueInvalid", field: `${R}.type`, message: 'Invalid value: "string": must be object at the root' }]);
  });

  it("rejects unknown types", () => {
    expect(checkStructural(withSpec({ type: "map" as JSONSchemaProps["type"] }))[0]).toEqual({
      reason: "FieldValueNotSupported",
      field: `${R}.properties[spec].type`,
      message: 'Unsupported value: "map": supported values: "array", "boolean", "integer", "number", "object", "string"',
    });
  });
});

describe("checkStructural: keywords", () => {
  it("forbids additionalProperties at the root and next to properties", () => {
    expect(checkStructural({ type: "object", additionalProperties: { type: "string" } })).toEqual([
      { reason: "FieldValueForbidden", field: `${R}.additionalProperties`, message: "Forbidden: must not be used at the root" },
    ]);
    expect(checkStructural(withSpec({ type: "object", properties: { a: { type: "string" } }, additionalProperties: { type: "string" } }))).toEqual([
      { reason: "FieldValueForbidden", field: `${R}.properties[spec].additionalProperties`, message: "Forbidden: additionalProperties and properties are mutual exclusive" },
    ]);
  });

  it("forbids uniqueItems and unsupported JSON-schema keywords", () => {
    expect(checkStructural(withSpec({ type: "array", items: { type: "string" }, uniqueItems: true }))).toEqual([
      {
        reason: "FieldValueForbidden",
        field: `${R}.properties[spec].uniqueItems`,
        message: "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
      },
    ]);
    const ref = withSpec({ type: "object", $ref: "#/x" } as JSONSchemaProps);
    expect(checkStructural(ref)).toEqual([{ reason: "FieldValueForbidden", field: `${R}.properties[spec].$ref`, message: "Forbidden: $ref is not supported" }]);
  });

  it("checks patterns with Go syntax", () => {
    expect(checkStructural(withSpec({ type: "string", pattern: "^(?i)[a-z]+$" }))).toEqual([]);
    expect(checkStructural(withSpec({ type: "string", pattern: "(?=x)" }))).toEqual([
      {
        reason: "FieldValueInvalid",
        field: `${R}.properties[spec].pattern`,
        message: 'Invalid value: "(?=x)": must be a valid regular expression, but isn\'t: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
      },
    ]);
  });
});

describe("checkStructural: extensions", () => {
  it("requires list-type map for list-map-keys", () => {
    expect(checkStructural(withSpec({ type: "array", "x-kubernetes-list-map-keys": ["name"], items: { type: "object", required: ["name"], properties: { name: { type: "string" } } } }))).toEqual([
      { reason: "FieldValueRequired", field: `${R}.properties[spec].x-kubernetes-list-type`, message: "Required value: must be map if x-kubernetes-list-map-keys is non-empty" },
    ]);
    expect(
      checkStructural(withSpec({ type: "array", "x-kubernetes-list-type": "atomic", "x-kubernetes-list-map-keys": ["name"], items: { type: "object", properties: { name: { type: "string" } } } })),
    ).toEqual([{ reason: "FieldValueInvalid", field: `${R}.properties[spec].x-kubernetes-list-type`, message: 'Invalid value: "atomic": must be map if x-kubernetes-list-map-keys is non-empty' }]);
  });

  it("requires map keys to be required-or-defaulted scalar item properties", () => {
    const list = (items: JSONSchemaProps, keys = ["name"]): JSONSchemaProps =>
      withSpec({ type: "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": keys, items });
    expect(checkStructural(list({ type: "object", properties: { name: { type: "string" } } }))).toEqual([
      {
        reason: "FieldValueRequired",
        field: `${R}.properties[spec].items.properties[name].default`,
        message: "Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
      },
    ]);
    expect(checkStructural(list({ type: "object", properties: { name: { type: "string", default: "a" } } }))).toEqual([]);
    expect(checkStructural(list({ type: "object", required: ["name"], properties: { name: { type: "string" } } }, ["nope"]))).toEqual([
      { reason: "FieldValueInvalid", field: `${R}.properties[spec].x-kubernetes-list-map-keys`, message: 'Invalid value: []string{"nope"}: entries must all be names of item properties' },
    ]);
    expect(checkStructural(list({ type: "object", required: ["name"], properties: { name: { type: "object" } } }))[0]).toEqual({
      reason: "FieldValueInvalid",
      field: `${R}.properties[spec].items.properties[name].type`,
      message: 'Invalid value: "object": must be a scalar type if parent array\'s x-kubernetes-list-type is map',
    });
    expect(checkStructural(list({ type: "string" }))[0]).toEqual({
      reason: "FieldValueInvalid",
      field: `${R}.properties[spec].items.type`,
      message: 'Invalid value: "string": must be object if parent array\'s x-kubernetes-list-type is map',
    });
  });

  it("requires list-map-keys on map lists and valid list and map types", () => {
    expect(checkStructural(withSpec({ type: "array", "x-kubernetes-list-type": "map", items: { type: "object" } }))).toEqual([
      { reason: "FieldValueRequired", field: `${R}.properties[spec].x-kubernetes-list-map-keys`, message: "Required value: must not be empty if x-kubernetes-list-type is map" },
    ]);
    expect(checkStructural(withSpec({ type: "string", "x-kubernetes-list-type": "set" }))[0].message).toBe('Invalid value: "string": must be array if x-kubernetes-list-type is specified');
    expect(checkStructural(withSpec({ type: "array", items: { type: "string" }, "x-kubernetes-list-type": "bag" as "set" }))[0].message).toBe(
      'Unsupported value: "bag": supported values: "atomic", "set", "map"',
    );
    expect(checkStructural(withSpec({ type: "array", items: { type: "string" }, "x-kubernetes-map-type": "atomic" }))[0].message).toBe(
      'Invalid value: "array": must be object if x-kubernetes-map-type is specified',
    );
  });

  it("rejects int-or-string combined with preserve-unknown-fields", () => {
    expect(checkStructural(withSpec({ "x-kubernetes-int-or-string": true, "x-kubernetes-preserve-unknown-fields": true }))).toEqual([
      {
        reason: "FieldValueInvalid",
        field: `${R}.properties[spec].x-kubernetes-preserve-unknown-fields`,
        message: "Invalid value: true: must be false if x-kubernetes-int-or-string is true",
      },
    ]);
  });

  it("requires embedded resources to be objects with properties", () => {
    expect(checkStructural(withSpec({ type: "object", "x-kubernetes-embedded-resource": true }))).toEqual([
      {
        reason: "FieldValueRequired",
        field: `${R}.properties[spec].properties`,
        message: "Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
      },
    ]);
    expect(checkStructural(withSpec({ type: "string", "x-kubernetes-embedded-resource": true }))[0].message).toBe(
      'Invalid value: "string": must be object if x-kubernetes-embedded-resource is true',
    );
  });
});

describe("checkStructural: metadata", () => {
  it("allows restricting only name and generateName at the root", () => {
    const ok: JSONSchemaProps = { type: "object", properties: { metadata: { type: "object", properties: { name: { type: "string", maxLength: 63 } } } } };
    expect(checkStructural(ok)).toEqual([]);
    const bad: JSONSchemaProps = { type: "object", properties: { metadata: { type: "object", properties: { labels: { type: "object" } } } } };
    expect(checkStructural(bad)).toEqual([
      {
        reason: "FieldValueForbidden",
        field: `${R}.properties[metadata]`,
        message: "Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
      },
    ]);
  });

  it("requires kind and apiVersion to be strings and forbids defaults in top-level metadata", () => {
    expect(checkStructural({ type: "object", properties: { kind: { type: "integer" } } })[0]).toEqual({
      reason: "FieldValueInvalid",
      field: `${R}.properties[kind].type`,
      message: 'Invalid value: "integer": must be string',
    });
    expect(checkStructural({ type: "object", properties: { apiVersion: { type: "string", default: "v1" } } })).toEqual([
      { reason: "FieldValueForbidden", field: `${R}.properties[apiVersion].default`, message: "Forbidden: must not be set in top-level apiVersion" },
    ]);
  });
});

describe("checkStructural: value validations", () => {
  it("forbids structure inside anyOf, oneOf and not, but allows the int-or-string pattern", () => {
    expect(checkStructural(withSpec({ type: "object", properties: { a: { type: "string" } }, anyOf: [{ type: "object", description: "x", required: ["a"] }] }))).toEqual([
      { reason: "FieldValueForbidden", field: `${R}.properties[spec].anyOf[0].type`, message: "Forbidden: must be empty to be structural" },
      { reason: "FieldValueForbidden", field: `${R}.properties[spec].anyOf[0].description`, message: "Forbidden: must be empty to be structural" },
    ]);
    expect(checkStructural(withSpec({ type: "object", oneOf: [{ required: ["a"] }], properties: { a: { type: "string" } } }))).toEqual([]);
  });

  it("requires properties named in the root's value validations to be specified", () => {
    const schema: JSONSchemaProps = {
      type: "object",
      properties: { spec: { type: "object", properties: { a: { type: "string" } } } },
      oneOf: [{ properties: { spec: { properties: { b: { minLength: 1 } } } } }],
    };
    expect(checkStructural(schema)).toEqual([
      {
        reason: "FieldValueRequired",
        field: `${R}.properties[spec].properties[b]`,
        message: `Required value: because it is defined in ${R}.oneOf[0].properties[spec].properties[b]`,
      },
    ]);
  });
});

describe("checkStructural: defaults", () => {
  it("validates defaults against their schema", () => {
    expect(checkStructural(withSpec({ type: "object", properties: { replicas: { type: "integer", minimum: 0, default: -1 } } }))).toEqual([
      {
        reason: "FieldValueInvalid",
        field: `${R}.properties[spec].properties[replicas].default`,
        message: "Invalid value: -1:  in body should be greater than or equal to 0",
      },
    ]);
    expect(checkStructural(withSpec({ type: "object", properties: { mode: { type: "string", enum: ["a"], default: "b" } } }))[0]).toEqual({
      reason: "FieldValueNotSupported",
      field: `${R}.properties[spec].properties[mode].default`,
      message: 'Unsupported value: "b": supported values: "a"',
    });
  });

  it("validates object defaults with nested paths and rejects unknown fields", () => {
    const node: JSONSchemaProps = { type: "object", default: { a: "x", extra: 1 }, properties: { a: { type: "integer" } } };
    expect(checkStructural(withSpec({ type: "object", properties: { o: node } }))).toEqual([
      {
        reason: "FieldValueInvalid",
        field: `${R}.properties[spec].properties[o].default`,
        message: 'Invalid value: map[string]interface {}{"a":"x", "extra":1}: must not have unknown fields',
      },
      {
        reason: "FieldValueTypeInvalid",
        field: `${R}.properties[spec].properties[o].default.a`,
        message: 'Invalid value: "string": a in body must be of type integer: "string"',
      },
    ]);
  });

  it("evaluates CEL rules on defaults", () => {
    const node: JSONSchemaProps = { type: "integer", default: 5, "x-kubernetes-validations": [{ rule: "self < 3", message: "too big" }] };
    expect(checkStructural(withSpec({ type: "object", properties: { n: node } }))).toEqual([
      { reason: "FieldValueInvalid", field: `${R}.properties[spec].properties[n].default`, message: 'Invalid value: "integer": too big' },
    ]);
  });

  it("uses the given path", () => {
    expect(checkStructural({ properties: {} }, { path: "spec.versions[0].schema.openAPIV3Schema" })[0].field).toBe("spec.versions[0].schema.openAPIV3Schema.type");
  });
});
