import { describe, expect, it } from "bun:test";
import type { JSONSchemaProps } from "./types.ts";
import { SKIPPED_RULES_MESSAGE, validateValue } from "./validate.ts";

const SKIPPED = { reason: "FieldValueInvalid", field: "<nil>", message: `Invalid value: "null": ${SKIPPED_RULES_MESSAGE}` };

/** A resource schema with one spec field `x` under test. */
function resource(x: JSONSchemaProps, extra: Partial<JSONSchemaProps> = {}): JSONSchemaProps {
  return {
    type: "object",
    properties: { spec: { type: "object", properties: { x }, ...extra } },
  };
}

function errs(x: JSONSchemaProps, value: unknown): ReturnType<typeof validateValue> {
  return validateValue({ apiVersion: "g/v1", kind: "K", metadata: { name: "n" }, spec: { x: value } }, resource(x), { root: true });
}

/** The single cause besides the CEL-skipped marker. */
function only(x: JSONSchemaProps, value: unknown): { reason: string; field?: string; message: string } {
  const list = errs(x, value).filter((e) => e.message !== SKIPPED.message);
  expect(list).toHaveLength(1);
  return list[0];
}

describe("validateValue: types", () => {
  it("reports a wrong type with the JSON type of the value", () => {
    expect(errs({ type: "integer" }, "string")).toEqual([
      {
        reason: "FieldValueTypeInvalid",
        field: "spec.x",
        message: 'Invalid value: "string": spec.x in body must be of type integer: "string"',
      },
      SKIPPED,
    ]);
  });

  it("accepts integral JSON numbers (1.0) as integers and integers as numbers", () => {
    expect(errs({ type: "integer" }, 1.0)).toEqual([]);
    expect(errs({ type: "number" }, 3)).toEqual([]);
    expect(only({ type: "integer" }, 1.5).message).toBe('Invalid value: "number": spec.x in body must be of type integer: "number"');
  });

  it("rejects null unless the schema is nullable", () => {
    expect(only({ type: "string" }, null)).toEqual({
      reason: "FieldValueTypeInvalid",
      field: "spec.x",
      message: 'Invalid value: "null": spec.x in body must be of type string: "null"',
    });
    expect(errs({ type: "string", nullable: true }, null)).toEqual([]);
  });

  it("accepts integers and strings for x-kubernetes-int-or-string", () => {
    const s: JSONSchemaProps = { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] };
    expect(errs(s, 3)).toEqual([]);
    expect(errs(s, "50%")).toEqual([]);
    expect(errs(s, true)).toEqual([
      {
        reason: "FieldValueTypeInvalid",
        field: "spec.x",
        message: 'Invalid value: "boolean": spec.x in body must be of type integer,string: "boolean"',
      },
      { reason: "FieldValueInvalid", field: "<nil>", message: 'Invalid value: "": "spec.x" must validate at least one schema (anyOf)' },
      {
        reason: "FieldValueTypeInvalid",
        field: "spec.x",
        message: 'Invalid value: "boolean": spec.x in body must be of type integer: "boolean"',
      },
      SKIPPED,
    ]);
  });

  it("accepts anything where the schema has no type (preserve-unknown-fields)", () => {
    expect(errs({ "x-kubernetes-preserve-unknown-fields": true }, { a: [1] })).toEqual([]);
  });
});

describe("validateValue: scalars", () => {
  it("checks minimum and maximum, inclusive and exclusive", () => {
    expect(only({ type: "integer", minimum: 0 }, -1)).toEqual({
      reason: "FieldValueInvalid",
      field: "spec.x",
      message: "Invalid value: -1: spec.x in body should be greater than or equal to 0",
    });
    expect(only({ type: "integer", minimum: 0, exclusiveMinimum: true }, 0).message).toBe("Invalid value: 0: spec.x in body should be greater than 0");
    expect(only({ type: "integer", maximum: 65535 }, 70000).message).toBe("Invalid value: 70000: spec.x in body should be less than or equal to 65535");
    expect(only({ type: "integer", maximum: 10, exclusiveMaximum: true }, 10).message).toBe("Invalid value: 10: spec.x in body should be less than 10");
  });

  it("formats float bounds like Go", () => {
    expect(only({ type: "number", maximum: 1e6 }, 1e6 + 0.5).message).toBe(
      "Invalid value: 1.0000005e+06: spec.x in body should be less than or equal to 1e+06",
    );
    expect(only({ type: "number", minimum: 0.5 }, 0.25).message).toBe("Invalid value: 0.25: spec.x in body should be greater than or equal to 0.5");
  });

  it("checks multipleOf", () => {
    expect(only({ type: "integer", multipleOf: 5 }, 7).message).toBe("Invalid value: 7: spec.x in body should be a multiple of 5");
    expect(errs({ type: "integer", multipleOf: 5 }, 10)).toEqual([]);
    expect(errs({ type: "number", multipleOf: 0.1 }, 0.3)).toEqual([]);
    expect(only({ type: "number", multipleOf: 0.5 }, 0.75).message).toBe("Invalid value: 0.75: spec.x in body should be a multiple of 0.5");
  });

  it("checks enum with a NotSupported cause listing quoted values", () => {
    expect(only({ type: "string", enum: ["a", "b"] }, "c")).toEqual({
      reason: "FieldValueNotSupported",
      field: "spec.x",
      message: 'Unsupported value: "c": supported values: "a", "b"',
    });
    expect(only({ type: "integer", enum: [1, 2] }, 3).message).toBe('Unsupported value: 3: supported values: "1", "2"');
    expect(errs({ type: "string", enum: ["a", "b"] }, "b")).toEqual([]);
  });

  it("checks pattern with Go RE2 syntax", () => {
    expect(only({ type: "string", pattern: "^[a-z]+$" }, "A")).toEqual({
      reason: "FieldValueInvalid",
      field: "spec.x",
      message: "Invalid value: \"A\": spec.x in body should match '^[a-z]+$'",
    });
    expect(errs({ type: "string", pattern: "^(?i)[a-z]+$" }, "ABC")).toEqual([]);
    expect(only({ type: "string", pattern: "^[a" }, "x").message).toBe(
      "Invalid value: \"x\": spec.x in body should match '^[a, but pattern is invalid: error parsing regexp: missing closing ]: `[a`'",
    );
  });

  it("counts string length in code points and reports maxLength as too long", () => {
    expect(errs({ type: "string", maxLength: 3 }, "äöü")).toEqual([]);
    expect(errs({ type: "string", maxLength: 3 }, "😀😀😀")).toEqual([]);
    expect(only({ type: "string", maxLength: 3 }, "abcd")).toEqual({
      reason: "FieldValueTooLong",
      field: "spec.x",
      message: "Too long: may not be more than 3 bytes",
    });
    expect(only({ type: "string", minLength: 1 }, "").message).toBe('Invalid value: "": spec.x in body should be at least 1 chars long');
  });

  it("reports only the first string failure (length before pattern)", () => {
    expect(only({ type: "string", maxLength: 2, pattern: "^[0-9]+$" }, "abc").reason).toBe("FieldValueTooLong");
  });

  it("checks formats kube-apiserver supports and ignores the others", () => {
    expect(only({ type: "string", format: "uuid" }, "nope")).toEqual({
      reason: "FieldValueTypeInvalid",
      field: "spec.x",
      message: 'Invalid value: "nope": spec.x in body must be of type uuid: "nope"',
    });
    expect(only({ type: "string", format: "date-time" }, "yesterday").message).toBe(
      'Invalid value: "yesterday": spec.x in body must be of type date-time: "yesterday"',
    );
    expect(errs({ type: "string", format: "ipv4" }, "10.0.0.1")).toEqual([]);
    expect(only({ type: "string", format: "ipv6" }, "10.0.0.1").message).toContain("must be of type ipv6");
    expect(errs({ type: "string", format: "hostname" }, "node-1.example.com")).toEqual([]);
    expect(errs({ type: "string", format: "byte" }, "aGVsbG8=")).toEqual([]);
    expect(errs({ type: "string", format: "date" }, "2024-02-29")).toEqual([]);
    expect(errs({ type: "string", format: "cidr" }, "10.0.0.0/8")).toEqual([]);
    expect(errs({ type: "integer", format: "int32" }, 5_000_000_000)).toEqual([]);
    expect(errs({ type: "string", format: "something-custom" }, "x")).toEqual([]);
  });
});

describe("validateValue: arrays and objects", () => {
  it("checks minItems, maxItems and uniqueItems", () => {
    const s: JSONSchemaProps = { type: "array", items: { type: "string" }, minItems: 1, maxItems: 2 };
    expect(only(s, []).message).toBe("Invalid value: 0: spec.x in body should have at least 1 items");
    expect(only(s, ["a", "b", "c"])).toEqual({ reason: "FieldValueTooMany", field: "spec.x", message: "Too many: 3: must have at most 2 items" });
    expect(only({ type: "array", items: { type: "string" }, uniqueItems: true }, ["a", "a"]).message).toBe(
      'Invalid value: "": spec.x in body shouldn\'t contain duplicates',
    );
  });

  it("validates items with indexed paths", () => {
    expect(only({ type: "array", items: { type: "integer", minimum: 1 } }, [1, 0]).field).toBe("spec.x[1]");
  });

  it("checks minProperties and maxProperties", () => {
    const s: JSONSchemaProps = { type: "object", additionalProperties: { type: "string" }, minProperties: 1, maxProperties: 1 };
    expect(only(s, {}).message).toBe("Invalid value: 0: spec.x in body should have at least 1 properties");
    expect(only(s, { a: "1", b: "2" }).message).toBe("Too many: 2: must have at most 1 items");
  });

  it("reports missing required properties", () => {
    expect(only({ type: "object", required: ["name"], properties: { name: { type: "string" } } }, {})).toEqual({
      reason: "FieldValueRequired",
      field: "spec.x.name",
      message: "Required value",
    });
  });

  it("accepts a present-but-null required property type-wise only if nullable", () => {
    expect(errs({ type: "object", required: ["name"], properties: { name: { type: "string", nullable: true } } }, { name: null })).toEqual([]);
  });

  it("validates additionalProperties values with dotted paths", () => {
    expect(only({ type: "object", additionalProperties: { type: "string", maxLength: 1 } }, { "a.b": "xy" })).toEqual({
      reason: "FieldValueTooLong",
      field: "spec.x.a.b",
      message: "Too long: may not be more than 1 bytes",
    });
  });

  it("forbids properties with additionalProperties: false", () => {
    expect(only({ type: "object", properties: { a: { type: "string" } }, additionalProperties: false }, { a: "1", b: "2" })).toEqual({
      reason: "FieldValueInvalid",
      field: "spec.x",
      message: 'Invalid value: "b": spec.x.b in body is a forbidden property',
    });
  });

  it("reports required fields at the top of the spec", () => {
    const s: JSONSchemaProps = { type: "object", required: ["spec"], properties: { spec: { type: "object" } } };
    expect(validateValue({ apiVersion: "g/v1", kind: "K", metadata: {} }, s, { root: true })).toEqual([
      { reason: "FieldValueRequired", field: "spec", message: "Required value" },
      SKIPPED,
    ]);
  });

  it("skips apiVersion, kind and metadata at the resource root", () => {
    const s: JSONSchemaProps = {
      type: "object",
      required: ["metadata"],
      properties: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" } },
    };
    expect(validateValue({ apiVersion: 1, kind: 2, metadata: "x" }, s, { root: true })).toEqual([]);
    expect(validateValue({ apiVersion: 1 }, s)).toHaveLength(3);
  });

  it("prints errors of a non-resource value at <nil> when it has no path", () => {
    expect(validateValue("x", { type: "integer" })).toEqual([
      { reason: "FieldValueTypeInvalid", field: "<nil>", message: 'Invalid value: "string":  in body must be of type integer: "string"' },
      SKIPPED,
    ]);
  });

  it("puts errors below basePath", () => {
    const errors = validateValue({ a: -1 }, { type: "object", properties: { a: { type: "integer", minimum: 0 } } }, { basePath: "spec.default" });
    expect(errors).toEqual([{ reason: "FieldValueInvalid", field: "spec.default.a", message: "Invalid value: -1: a in body should be greater than or equal to 0" }]);
  });
});

describe("validateValue: allOf, anyOf, oneOf, not", () => {
  it("requires every allOf schema", () => {
    const s: JSONSchemaProps = { type: "integer", allOf: [{ minimum: 1 }, { maximum: 3 }] };
    expect(errs(s, 2)).toEqual([]);
    expect(errs(s, 5)).toEqual([
      { reason: "FieldValueInvalid", field: "spec.x", message: "Invalid value: 5: spec.x in body should be less than or equal to 3" },
      { reason: "FieldValueInvalid", field: "<nil>", message: 'Invalid value: "": "spec.x" must validate all the schemas (allOf)' },
    ]);
  });

  it("requires exactly one oneOf schema", () => {
    const s: JSONSchemaProps = { type: "object", oneOf: [{ required: ["a"] }, { required: ["b"] }], properties: { a: { type: "string" }, b: { type: "string" } } };
    expect(errs(s, { a: "1" })).toEqual([]);
    expect(errs(s, { a: "1", b: "2" })).toEqual([
      {
        reason: "FieldValueInvalid",
        field: "<nil>",
        message: 'Invalid value: "": "spec.x" must validate one and only one schema (oneOf). Found 2 valid alternatives',
      },
    ]);
    expect(errs(s, {})[0].message).toBe('Invalid value: "": "spec.x" must validate one and only one schema (oneOf). Found none valid');
  });

  it("rejects values matching not", () => {
    expect(errs({ type: "string", not: { enum: ["forbidden"] } }, "forbidden")).toEqual([
      { reason: "FieldValueInvalid", field: "<nil>", message: 'Invalid value: "": "spec.x" must not validate the schema (not)' },
    ]);
    expect(errs({ type: "string", not: { enum: ["forbidden"] } }, "fine")).toEqual([]);
  });
});

describe("validateValue: list types", () => {
  it("reports duplicates in set lists at the repeated index", () => {
    expect(errs({ type: "array", "x-kubernetes-list-type": "set", items: { type: "string" } }, ["a", "b", "a", "a"])).toEqual([
      { reason: "FieldValueDuplicate", field: "spec.x[2]", message: 'Duplicate value: "a"' },
    ]);
  });

  it("reports duplicate keys in map lists with the key as a Go map", () => {
    const s: JSONSchemaProps = {
      type: "array",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
      items: { type: "object", required: ["name"], properties: { name: { type: "string" }, v: { type: "integer" } } },
    };
    expect(errs(s, [{ name: "a", v: 1 }, { name: "a", v: 2 }])).toEqual([
      { reason: "FieldValueDuplicate", field: "spec.x[1]", message: 'Duplicate value: map[string]interface {}{"name":"a"}' },
    ]);
  });

  it("compares compound keys", () => {
    const s: JSONSchemaProps = {
      type: "array",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["port", "protocol"],
      items: {
        type: "object",
        required: ["port"],
        properties: { port: { type: "integer" }, protocol: { type: "string", default: "TCP" } },
      },
    };
    expect(errs(s, [{ port: 80, protocol: "TCP" }, { port: 80, protocol: "UDP" }])).toEqual([]);
    expect(errs(s, [{ port: 80, protocol: "TCP" }, { port: 80, protocol: "TCP" }])[0].message).toBe(
      'Duplicate value: map[string]interface {}{"port":80, "protocol":"TCP"}',
    );
  });

  it("requires map keys that are neither required nor defaulted", () => {
    const s: JSONSchemaProps = {
      type: "array",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
      items: { type: "object", properties: { name: { type: "string" } } },
    };
    expect(only(s, [{}])).toEqual({ reason: "FieldValueRequired", field: "spec.x[0].name", message: "Required value" });
  });

  it("rejects non-object items of map lists", () => {
    const s: JSONSchemaProps = {
      type: "array",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
      items: { "x-kubernetes-preserve-unknown-fields": true },
    };
    expect(only(s, ["a"])).toEqual({ reason: "FieldValueInvalid", field: "spec.x[0]", message: 'Invalid value: "a": must be an object for an array of list-type map' });
  });

  it("uses [key] paths below additionalProperties", () => {
    const s: JSONSchemaProps = { type: "object", additionalProperties: { type: "array", "x-kubernetes-list-type": "set", items: { type: "string" } } };
    expect(only(s, { k: ["a", "a"] }).field).toBe("spec.x[k][1]");
  });
});

describe("validateValue: embedded resources", () => {
  it("requires apiVersion and kind", () => {
    const s: JSONSchemaProps = { type: "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true };
    expect(errs(s, { kind: "" })).toEqual([
      { reason: "FieldValueRequired", field: "spec.x.apiVersion", message: "Required value: must not be empty" },
      { reason: "FieldValueInvalid", field: "spec.x.kind", message: 'Invalid value: "": must not be empty' },
      SKIPPED,
    ]);
  });
});

describe("validateValue: CEL rules", () => {
  const s = resource(
    { type: "integer" },
    { "x-kubernetes-validations": [{ rule: "self.x > 0", message: "x must be positive" }] },
  );

  it("runs rules after schema validation", () => {
    const obj = { apiVersion: "g/v1", kind: "K", metadata: {}, spec: { x: -1 } };
    expect(validateValue(obj, s, { root: true })).toEqual([{ reason: "FieldValueInvalid", field: "spec", message: 'Invalid value: "object": x must be positive' }]);
  });

  it("skips rules when the schema found a blocking error", () => {
    const obj = { apiVersion: "g/v1", kind: "K", metadata: {}, spec: { x: "a" } };
    expect(validateValue(obj, s, { root: true })).toEqual([
      { reason: "FieldValueTypeInvalid", field: "spec.x", message: 'Invalid value: "string": spec.x in body must be of type integer: "string"' },
      SKIPPED,
    ]);
  });

  it("still runs rules after non-blocking errors", () => {
    const s2 = resource({ type: "integer", minimum: 5 }, { "x-kubernetes-validations": [{ rule: "self.x > 3" }] });
    const obj = { apiVersion: "g/v1", kind: "K", metadata: {}, spec: { x: 1 } };
    expect(validateValue(obj, s2, { root: true }).map((e) => e.message)).toEqual([
      "Invalid value: 1: spec.x in body should be greater than or equal to 5",
      'Invalid value: "object": failed rule: self.x > 3',
    ]);
  });

  it("can skip rules entirely", () => {
    const obj = { apiVersion: "g/v1", kind: "K", metadata: {}, spec: { x: -1 } };
    expect(validateValue(obj, s, { root: true, rules: false })).toEqual([]);
  });
});

describe("validateValue: ratcheting on update", () => {
  const s = resource({ type: "string", pattern: "^[a-z]+$" }, { properties: { x: { type: "string", pattern: "^[a-z]+$" }, y: { type: "integer" } } });

  it("drops errors of values that did not change", () => {
    const old = { apiVersion: "g/v1", kind: "K", metadata: {}, spec: { x: "BAD", y: 1 } };
    const obj = { apiVersion: "g/v1", kind: "K", metadata: {}, spec: { x: "BAD", y: 2 } };
    expect(validateValue(obj, s, { root: true, oldObj: old })).toEqual([]);
    expect(validateValue(obj, s, { root: true })).toHaveLength(1);
  });

  it("reports errors of changed values", () => {
    const old = { apiVersion: "g/v1", kind: "K", metadata: {}, spec: { x: "BAD" } };
    const obj = { apiVersion: "g/v1", kind: "K", metadata: {}, spec: { x: "WORSE" } };
    expect(validateValue(obj, s, { root: true, oldObj: old })).toHaveLength(1);
  });

  it("correlates map-list items by key", () => {
    const list: JSONSchemaProps = {
      type: "object",
      properties: {
        spec: {
          type: "object",
          properties: {
            items: {
              type: "array",
              "x-kubernetes-list-type": "map",
              "x-kubernetes-list-map-keys": ["name"],
              items: { type: "object", required: ["name"], properties: { name: { type: "string" }, v: { type: "integer", maximum: 1 } } },
            },
          },
        },
      },
    };
    const old = { spec: { items: [{ name: "a", v: 5 }] } };
    const obj = { spec: { items: [{ name: "b", v: 1 }, { name: "a", v: 5 }] } };
    expect(validateValue(obj, list, { root: true, oldObj: old })).toEqual([]);
    expect(validateValue({ spec: { items: [{ name: "a", v: 6 }] } }, list, { root: true, oldObj: old })[0].field).toBe("spec.items[0].v");
  });

  it("keeps list duplicates when the stored object already had them", () => {
    const set: JSONSchemaProps = { type: "object", properties: { l: { type: "array", "x-kubernetes-list-type": "set", items: { type: "string" } } } };
    expect(validateValue({ l: ["a", "a", "b"] }, set, { oldObj: { l: ["a", "a"] } })).toEqual([]);
    expect(validateValue({ l: ["a", "a", "b"] }, set, { oldObj: { l: ["a"] } })).toHaveLength(1);
  });
});

// --- keys named like Object.prototype members, deep values ----------------------------------

function expectCleanPrototype(): void {
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("polluted");
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

describe("validateValue: keys are data, as in Go maps", () => {
  it("validates properties named __proto__ and constructor against their own schemas", () => {
    const x = JSON.parse('{"type":"object","properties":{"__proto__":{"type":"integer"},"constructor":{"type":"string","enum":["c"]}}}') as JSONSchemaProps;
    expect(errs(x, JSON.parse('{"__proto__":1,"constructor":"c"}'))).toEqual([]);
    expect(errs(x, JSON.parse('{"__proto__":"one","constructor":"d"}'))).toEqual([
      { reason: "FieldValueTypeInvalid", field: "spec.x.__proto__", message: 'Invalid value: "string": spec.x.__proto__ in body must be of type integer: "string"' },
      { reason: "FieldValueNotSupported", field: "spec.x.constructor", message: 'Unsupported value: "d": supported values: "c"' },
      SKIPPED,
    ]);
    expectCleanPrototype();
  });

  it("required keys must be own keys: toString and __proto__ are missing unless set", () => {
    const x: JSONSchemaProps = { type: "object", required: ["toString", "__proto__", "a"], properties: { a: { type: "string" } } };
    expect(errs(x, { a: "1" })).toEqual([
      { reason: "FieldValueRequired", field: "spec.x.toString", message: "Required value" },
      { reason: "FieldValueRequired", field: "spec.x.__proto__", message: "Required value" },
      SKIPPED,
    ]);
    expect(errs(x, JSON.parse('{"a":"1","toString":1,"__proto__":{}}'))).toEqual([]);
  });

  it("additionalProperties: false forbids keys named like Object.prototype members", () => {
    const x: JSONSchemaProps = { type: "object", properties: { a: { type: "string" } }, additionalProperties: false };
    expect(errs(x, JSON.parse('{"constructor":1,"__proto__":{}}')).map((e) => e.message)).toEqual([
      'Invalid value: "constructor": spec.x.constructor in body is a forbidden property',
      'Invalid value: "__proto__": spec.x.__proto__ in body is a forbidden property',
    ]);
  });

  it("map lists keyed by a __proto__ field detect duplicates as data", () => {
    const x: JSONSchemaProps = {
      type: "array",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["__proto__"],
      items: JSON.parse('{"type":"object","required":["__proto__"],"properties":{"__proto__":{"type":"string"}}}'),
    };
    expect(errs(x, JSON.parse('[{"__proto__":"a"},{"__proto__":"b"}]'))).toEqual([]);
    expect(errs(x, JSON.parse('[{"__proto__":"a"},{"__proto__":"a"}]'))).toEqual([
      { reason: "FieldValueDuplicate", field: "spec.x[1]", message: 'Duplicate value: map[string]interface {}{"__proto__":"a"}' },
    ]);
    expectCleanPrototype();
  });
});

describe("validateValue: values nested 1000 deep", () => {
  it("validates 1000-deep maps and arrays under x-kubernetes-preserve-unknown-fields, on create and update", () => {
    const deep = (leaf: unknown): unknown => {
      let v = leaf;
      for (let i = 0; i < 998; i++) v = i % 2 ? [v, i] : { a: v, i };
      return v;
    };
    const schema: JSONSchemaProps = {
      type: "object",
      properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true, "x-kubernetes-validations": [{ rule: "self == self" }] } },
    };
    expect(validateValue({ spec: { v: deep(1) } }, schema, { root: true })).toEqual([]);
    expect(validateValue({ spec: { v: deep(1) } }, schema, { root: true, oldObj: { spec: { v: deep(2) } } })).toEqual([]);
  });

  it("validates against a schema as deep as a request allows", () => {
    let s: JSONSchemaProps = { type: "integer", maximum: 3 };
    let v: unknown = 5;
    for (let i = 0; i < 997; i++) {
      s = { type: "array", items: s };
      v = [v];
    }
    const errors = validateValue({ spec: v }, { type: "object", properties: { spec: s } }, { root: true });
    expect(errors).toEqual([
      { reason: "FieldValueInvalid", field: `spec${"[0]".repeat(997)}`, message: `Invalid value: 5: spec${"[0]".repeat(997)} in body should be less than or equal to 3` },
    ]);
  });
});
