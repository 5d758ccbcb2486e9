import { describe, expect, it } from "bun:test";
import { compileRules, validateRules, validFieldPath } from "./cel.ts";
import type { JSONSchemaProps, ValidationRule } from "./types.ts";

const spec: JSONSchemaProps = {
  type: "object",
  properties: {
    replicas: { type: "integer" },
    ratio: { type: "number" },
    name: { type: "string" },
    port: { "x-kubernetes-int-or-string": true },
    data: { type: "string", format: "byte" },
    when: { type: "string", format: "date-time" },
    timeout: { type: "string", format: "duration" },
    labels: { type: "object", additionalProperties: { type: "string" } },
    tags: { type: "array", items: { type: "string" } },
    namespace: { type: "string" },
    "dash-ed": { type: "string" },
    ref: { type: "object", properties: { kind: { type: "string" }, name: { type: "string" } } },
    raw: { "x-kubernetes-preserve-unknown-fields": true },
    devices: {
      type: "array",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
      items: { type: "object", required: ["name"], properties: { name: { type: "string" }, size: { type: "integer" } } },
    },
  },
};

/** Causes of `rules` on `spec` at `spec` of a resource. */
function check(rules: ValidationRule[], value: Record<string, unknown>, old?: Record<string, unknown>) {
  const schema: JSONSchemaProps = {
    type: "object",
    properties: { spec: { ...spec, "x-kubernetes-validations": rules } },
  };
  const obj = { apiVersion: "g/v1", kind: "K", metadata: { name: "n" }, spec: value };
  const oldObj = old ? { apiVersion: "g/v1", kind: "K", metadata: { name: "n" }, spec: old } : undefined;
  return validateRules(obj, schema, { root: true, oldObj });
}

const passes = (rule: string, value: Record<string, unknown>): boolean => check([{ rule }], value).length === 0;

describe("CEL values typed by the schema", () => {
  it("binds integers as int and numbers as double", () => {
    expect(passes("type(self.replicas) == int && self.replicas + 1 == 4", { replicas: 3 })).toBe(true);
    expect(passes("type(self.ratio) == double && self.ratio == 2.0", { ratio: 2 })).toBe(true);
  });

  it("binds objects as maps, with has() for optional fields", () => {
    expect(passes("has(self.name) && !has(self.replicas)", { name: "x" })).toBe(true);
    expect(passes("self.ref.kind == 'A' && !has(self.ref.name)", { ref: { kind: "A" } })).toBe(true);
  });

  it("binds additionalProperties objects as maps with string keys", () => {
    expect(passes("self.labels['a.b/c'] == 'v' && 'a.b/c' in self.labels && self.labels.all(k, k.size() > 0)", { labels: { "a.b/c": "v" } })).toBe(true);
  });

  it("binds arrays as lists", () => {
    expect(passes("self.tags.size() == 2 && self.tags[1] == 'b' && 'a' in self.tags", { tags: ["a", "b"] })).toBe(true);
  });

  it("keeps int-or-string values dynamic", () => {
    expect(passes("type(self.port) == string && self.port.endsWith('%')", { port: "50%" })).toBe(true);
    expect(passes("type(self.port) == int && self.port > 8", { port: 9 })).toBe(true);
  });

  it("turns byte, date-time and duration strings into bytes, timestamps and durations", () => {
    expect(passes("self.data == b'hello'", { data: "aGVsbG8=" })).toBe(true);
    expect(passes("self.when > timestamp('2020-01-01T00:00:00Z')", { when: "2024-05-01T10:00:00Z" })).toBe(true);
    expect(passes("self.timeout == duration('90s')", { timeout: "1m30s" })).toBe(true);
  });

  it("escapes reserved and punctuated property names", () => {
    expect(passes("self.__namespace__ == 'ns' && self.dash__dash__ed == 'd'", { namespace: "ns", "dash-ed": "d" })).toBe(true);
  });

  it("shows only apiVersion, kind and metadata.name/generateName besides the schema at the root", () => {
    const root: JSONSchemaProps = {
      type: "object",
      properties: { spec: { type: "object" } },
      "x-kubernetes-validations": [{ rule: "self.metadata.name.startsWith('n') && self.kind == 'K' && self.apiVersion == 'g/v1'" }],
    };
    expect(validateRules({ apiVersion: "g/v1", kind: "K", metadata: { name: "n1", labels: { a: "b" } }, spec: {} }, root, { root: true })).toEqual([]);
  });
});

describe("optional accessors", () => {
  it("support x.?field and x[?key]", () => {
    expect(passes("self.?name.orValue('none') == 'none' && self.?replicas.value() == 2", { replicas: 2 })).toBe(true);
    expect(passes("self.labels[?'a'].hasValue() && !self.labels[?'b'].hasValue()", { labels: { a: "1" } })).toBe(true);
    expect(passes("self.tags[?0].value() == 'x' && !self.tags[?3].hasValue()", { tags: ["x"] })).toBe(true);
    expect(passes("self.?ref.?name.orValue('') == ''", { ref: { kind: "A" } })).toBe(true);
    expect(passes("!self.?ref.?name.hasValue()", {})).toBe(true);
  });

  it("check the selected field at compile time", () => {
    const schema: JSONSchemaProps = { type: "object", properties: { a: { type: "string" } }, "x-kubernetes-validations": [{ rule: "self.?b.hasValue()" }] };
    expect(compileRules(schema)[0].message).toContain("undefined field 'b'");
  });
});

describe("CEL rule failures", () => {
  it("reports the rule's message at the node's path with the schema type", () => {
    expect(check([{ rule: "self.replicas > 0", message: "replicas must be positive" }], { replicas: 0 })).toEqual([
      { reason: "FieldValueInvalid", field: "spec", message: 'Invalid value: "object": replicas must be positive' },
    ]);
  });

  it("falls back to `failed rule: <rule>`", () => {
    expect(check([{ rule: "self.replicas > 0" }], { replicas: 0 })).toEqual([
      { reason: "FieldValueInvalid", field: "spec", message: 'Invalid value: "object": failed rule: self.replicas > 0' },
    ]);
  });

  it("uses the rule's reason", () => {
    const [forbidden] = check([{ rule: "false", message: "no", reason: "FieldValueForbidden" }], {});
    expect(forbidden).toEqual({ reason: "FieldValueForbidden", field: "spec", message: "Forbidden: no" });
    const [required] = check([{ rule: "false", message: "needed", reason: "FieldValueRequired" }], {});
    expect(required).toEqual({ reason: "FieldValueRequired", field: "spec", message: "Required value: needed" });
    const [duplicate] = check([{ rule: "false", reason: "FieldValueDuplicate" }], {});
    expect(duplicate).toEqual({ reason: "FieldValueDuplicate", field: "spec", message: 'Duplicate value: "object"' });
  });

  it("reports at fieldPath below the node", () => {
    expect(check([{ rule: "false", message: "bad", fieldPath: ".ref.name" }], {})[0].field).toBe("spec.ref.name");
    expect(check([{ rule: "false", message: "bad", fieldPath: ".labels['a.b']" }], {})[0].field).toBe("spec.labels[a.b]");
  });

  it("evaluates messageExpression, falling back to message when it fails", () => {
    expect(check([{ rule: "self.replicas < 3", messageExpression: "'replicas is ' + string(self.replicas)" }], { replicas: 5 })[0].message).toBe(
      'Invalid value: "object": replicas is 5',
    );
    expect(check([{ rule: "self.replicas < 3", message: "static", messageExpression: "self.name" }], { replicas: 5 })[0].message).toBe(
      'Invalid value: "object": static',
    );
    expect(check([{ rule: "self.replicas < 3", messageExpression: "'  '" }], { replicas: 5 })[0].message).toBe(
      'Invalid value: "object": failed rule: self.replicas < 3',
    );
  });

  it("uses the scalar's type name for rules on scalar nodes", () => {
    const schema: JSONSchemaProps = { type: "object", properties: { mtu: { type: "integer", "x-kubernetes-validations": [{ rule: "self == 1 || (self >= 576 && self <= 65520)" }] } } };
    expect(validateRules({ mtu: 100 }, schema)).toEqual([
      { reason: "FieldValueInvalid", field: "mtu", message: 'Invalid value: "integer": failed rule: self == 1 || (self >= 576 && self <= 65520)' },
    ]);
  });

  it("prints a failure of a root rule at <nil>, as kube-apiserver does", () => {
    const root: JSONSchemaProps = { type: "object", properties: { spec: { type: "object" } }, "x-kubernetes-validations": [{ rule: "has(self.spec)", message: "spec is required" }] };
    expect(validateRules({ apiVersion: "g/v1", kind: "K", metadata: {} }, root, { root: true })).toEqual([
      { reason: "FieldValueInvalid", field: "<nil>", message: 'Invalid value: "object": spec is required' },
    ]);
  });

  it("reports evaluation errors instead of throwing", () => {
    expect(check([{ rule: "self.name == 'x'" }], {})).toEqual([
      { reason: "FieldValueInvalid", field: "spec", message: 'Invalid value: "object": no such key: name evaluating rule: self.name == \'x\'' },
    ]);
    expect(check([{ rule: "self.tags[5] == 'x'", message: "bad tag" }], { tags: [] })[0].message).toBe(
      'Invalid value: "object": index out of bounds: 5 evaluating rule: bad tag',
    );
    expect(check([{ rule: "self.port > 8" }], { port: "8%" })[0].message).toBe(
      "Invalid value: \"object\": 'no such overload': call arguments did not match a supported operator, function or macro signature for rule: self.port > 8",
    );
  });

  it("skips null values", () => {
    const schema: JSONSchemaProps = { type: "object", properties: { a: { type: "string", nullable: true, "x-kubernetes-validations": [{ rule: "false" }] } } };
    expect(validateRules({ a: null }, schema)).toEqual([]);
  });

  it("runs rules inside array items and additionalProperties", () => {
    const schema: JSONSchemaProps = {
      type: "object",
      properties: {
        list: { type: "array", items: { type: "string", "x-kubernetes-validations": [{ rule: "self != 'net0'" }] } },
        map: { type: "object", additionalProperties: { type: "integer", "x-kubernetes-validations": [{ rule: "self > 0" }] } },
      },
    };
    expect(validateRules({ list: ["net1", "net0"], map: { a: 1, b: 0 } }, schema).map((c) => c.field)).toEqual(["list[1]", "map[b]"]);
  });

  it("runs rules of allOf branches at the same node", () => {
    const schema: JSONSchemaProps = { type: "integer", allOf: [{ "x-kubernetes-validations": [{ rule: "self > 1" }] }] };
    expect(validateRules(1, schema)).toEqual([{ reason: "FieldValueInvalid", field: "<nil>", message: 'Invalid value: "": failed rule: self > 1' }]);
  });
});

describe("CEL rules of the upstream CRDs", () => {
  it("exactly-one-of with exists_one on has()", () => {
    const rule = "[has(self.replicas), has(self.name)].exists_one(c, c)";
    expect(passes(rule, { replicas: 1 })).toBe(true);
    expect(passes(rule, { replicas: 1, name: "x" })).toBe(false);
    expect(passes(rule, {})).toBe(false);
  });

  it("unique names in a list", () => {
    const rule = "self.devices.all(x, self.devices.exists_one(y, x.name == y.name))";
    expect(passes(rule, { devices: [{ name: "a" }, { name: "b" }] })).toBe(true);
    expect(passes(rule, { devices: [{ name: "a" }, { name: "a" }] })).toBe(false);
  });

  it("negated membership and counting", () => {
    expect(passes("!(self.name in ['Ready', 'Available'])", { name: "Ready" })).toBe(false);
    expect(passes("[has(self.replicas), has(self.name)].filter(x, x == true).size() <= 1", { name: "a" })).toBe(true);
  });
});

describe("transition rules", () => {
  const immutable: ValidationRule = { rule: "self.name == oldSelf.name", message: "name is immutable" };

  it("do not run on create", () => {
    expect(check([immutable], { name: "a" })).toEqual([]);
  });

  it("run on update", () => {
    expect(check([immutable], { name: "b" }, { name: "a" })).toEqual([
      { reason: "FieldValueInvalid", field: "spec", message: 'Invalid value: "object": name is immutable' },
    ]);
    expect(check([immutable], { name: "a", replicas: 2 }, { name: "a" })).toEqual([]);
  });

  it("bind an optional oldSelf with optionalOldSelf, also on create", () => {
    const rule: ValidationRule = { rule: "!oldSelf.hasValue() || self.replicas >= oldSelf.value().replicas", optionalOldSelf: true, message: "no scale down" };
    expect(check([rule], { replicas: 1 })).toEqual([]);
    expect(check([rule], { replicas: 1 }, { replicas: 2 })[0].message).toBe('Invalid value: "object": no scale down');
    expect(check([{ rule: "oldSelf.orValue(self).replicas == self.replicas", optionalOldSelf: true }], { replicas: 1 })).toEqual([]);
  });

  it("correlate map-list items by key", () => {
    const schema: JSONSchemaProps = {
      type: "object",
      properties: {
        devices: {
          ...spec.properties!.devices,
          items: { ...spec.properties!.devices.items!, "x-kubernetes-validations": [{ rule: "self.size >= oldSelf.size", message: "cannot shrink" }] },
        },
      },
    };
    const old = { devices: [{ name: "a", size: 10 }, { name: "b", size: 5 }] };
    expect(validateRules({ devices: [{ name: "b", size: 6 }, { name: "a", size: 10 }, { name: "c", size: 1 }] }, schema, { oldObj: old })).toEqual([]);
    expect(validateRules({ devices: [{ name: "b", size: 4 }] }, schema, { oldObj: old })).toEqual([
      { reason: "FieldValueInvalid", field: "devices[0]", message: 'Invalid value: "object": cannot shrink' },
    ]);
  });

  it("ratchet failures of unchanged values on update", () => {
    const rule: ValidationRule = { rule: "self.replicas < 3" };
    expect(check([rule], { replicas: 5 }, { replicas: 5 })).toEqual([]);
    expect(check([rule], { replicas: 6 }, { replicas: 5 })).toHaveLength(1);
  });
});

describe("compileRules", () => {
  const schemaWith = (rules: ValidationRule[], node: JSONSchemaProps = spec): JSONSchemaProps => ({
    type: "object",
    properties: { spec: { ...node, "x-kubernetes-validations": rules } },
  });
  const P = "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0]";
  const repr = (rule: string) =>
    `apiextensions.ValidationRule{Rule:"${rule}", Message:"", MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}`;

  it("accepts valid rules", () => {
    expect(compileRules(schemaWith([{ rule: "self.replicas > 0" }, { rule: "self.name == oldSelf.name" }]))).toEqual([]);
  });

  it("reports syntax errors at the rule's path", () => {
    const [e] = compileRules(schemaWith([{ rule: "self.replicas >" }]));
    expect(e.field).toBe(`${P}.rule`);
    expect(e.reason).toBe("FieldValueInvalid");
    expect(e.message.startsWith(`Invalid value: ${repr("self.replicas >")}: compilation failed: ERROR: <input>:1:`)).toBe(true);
  });

  it("reports undefined fields, including inside has()", () => {
    expect(compileRules(schemaWith([{ rule: "self.replica > 0" }]))).toEqual([
      {
        reason: "FieldValueInvalid",
        field: `${P}.rule`,
        message: `Invalid value: ${repr("self.replica > 0")}: compilation failed: ERROR: <input>:1:5: undefined field 'replica'\n | self.replica > 0\n | ....^`,
      },
    ]);
    expect(compileRules(schemaWith([{ rule: "has(self.ref.namespace)" }]))[0].message).toContain("undefined field 'namespace'");
    expect(compileRules(schemaWith([{ rule: "has(self.raw)" }]))[0].message).toContain("undefined field 'raw'");
  });

  it("reports unknown variables and functions", () => {
    expect(compileRules(schemaWith([{ rule: "other > 0" }]))[0].message).toContain("undeclared reference to 'other' (in container '')");
    expect(compileRules(schemaWith([{ rule: "self.name.shout() == ''" }]))[0].message).toContain("undeclared reference to 'shout' (in container '')");
  });

  it("validates regex, duration and timestamp literals", () => {
    expect(compileRules(schemaWith([{ rule: "self.name.matches('(?=x)')" }]))[0].message).toContain("ERROR: <input>:1:19: invalid matches argument");
    expect(compileRules(schemaWith([{ rule: "duration('forever') > duration('1s')" }]))[0].message).toContain("invalid duration argument");
    expect(compileRules(schemaWith([{ rule: "timestamp('yesterday') < timestamp('2024-01-01T00:00:00Z')" }]))[0].message).toContain("invalid timestamp argument");
    expect(compileRules(schemaWith([{ rule: "self.name.matches('^(?i)[a-z]+$') && duration('1h') > duration('1m')" }]))).toEqual([]);
  });

  it("requires a bool result", () => {
    expect(compileRules(schemaWith([{ rule: "self.replicas" }]))[0].message).toBe(`Invalid value: ${repr("self.replicas")}: cel expression must evaluate to a bool`);
  });

  it("checks messageExpression", () => {
    expect(compileRules(schemaWith([{ rule: "true", messageExpression: "self.replicas" }]))[0]).toEqual({
      reason: "FieldValueInvalid",
      field: `${P}.messageExpression`,
      message:
        'Invalid value: apiextensions.ValidationRule{Rule:"true", Message:"", MessageExpression:"self.replicas", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}: messageExpression must evaluate to a string',
    });
  });

  it("checks the static fields of a rule", () => {
    expect(compileRules(schemaWith([{ rule: " " }]))).toEqual([{ reason: "FieldValueRequired", field: `${P}.rule`, message: "Required value: rule is not specified" }]);
    expect(compileRules(schemaWith([{ rule: "true", message: "a\nb" }]))[0].message).toBe('Invalid value: "a\\nb": message must not contain line breaks');
    expect(compileRules(schemaWith([{ rule: "true &&\ntrue" }]))[0].message).toBe("Required value: message must be specified if rule contains line breaks");
    expect(compileRules(schemaWith([{ rule: "true", reason: "Nope" as ValidationRule["reason"] }]))[0]).toEqual({
      reason: "FieldValueNotSupported",
      field: `${P}.reason`,
      message: 'Unsupported value: "Nope": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"',
    });
    expect(compileRules(schemaWith([{ rule: "true", fieldPath: ".nope" }]))[0]).toEqual({
      reason: "FieldValueInvalid",
      field: `${P}.fieldPath`,
      message: 'Invalid value: ".nope": fieldPath must be a valid path',
    });
  });

  it("forbids oldSelf below lists that are not map lists", () => {
    const schema: JSONSchemaProps = {
      type: "object",
      properties: { tags: { type: "array", items: { type: "string", "x-kubernetes-validations": [{ rule: "self == oldSelf" }] } } },
    };
    expect(compileRules(schema)).toEqual([
      {
        reason: "FieldValueInvalid",
        field: "spec.validation.openAPIV3Schema.properties[tags].items.x-kubernetes-validations[0].rule",
        message: 'Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema within spec.validation.openAPIV3Schema.properties[tags]',
      },
    ]);
  });

  it("rejects optionalOldSelf on rules without oldSelf", () => {
    expect(compileRules(schemaWith([{ rule: "true", optionalOldSelf: true }]))[0]).toEqual({
      reason: "FieldValueInvalid",
      field: `${P}.optionalOldSelf`,
      message: "Invalid value: true: may not be set if oldSelf is not used in rule",
    });
  });

  it("uses the given path for per-version schemas", () => {
    const [e] = compileRules(schemaWith([{ rule: "nope(" }]), { path: "spec.versions[1].schema.openAPIV3Schema" });
    expect(e.field).toBe("spec.versions[1].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule");
  });
});

describe("validFieldPath", () => {
  const s: JSONSchemaProps = { type: "object", properties: { a: { type: "object", properties: { b: { type: "string" } } }, m: { type: "object", additionalProperties: { type: "string" } } } };

  it("resolves properties and map keys", () => {
    expect(validFieldPath(".a.b", s)).toBe("a.b");
    expect(validFieldPath(".m['x.y']", s)).toBe("m[x.y]");
    expect(validFieldPath("['a'].b", s)).toBe("a.b");
  });

  it("rejects paths that do not name a field", () => {
    expect(() => validFieldPath(".a.c", s)).toThrow("does not refer to a valid field");
    expect(() => validFieldPath("a.b", s)).toThrow("expected [ or . but got: a");
    expect(() => validFieldPath(".m[x]", s)).toThrow("expected single quoted string but got x");
  });
});

// --- keys named like Object.prototype members ------------------------------------------------

describe("keys are data, as in Go maps", () => {
  it("map keys __proto__, constructor and toString are ordinary entries; absent ones are absent", () => {
    expect(passes("'__proto__' in self.labels && self.labels['__proto__'] == 'p' && self.labels.size() == 1", { labels: JSON.parse('{"__proto__":"p"}') })).toBe(
      true,
    );
    expect(passes("!('constructor' in self.labels) && !('toString' in self.labels) && !('__proto__' in self.labels)", { labels: { a: "b" } })).toBe(true);
    expect(check([{ rule: "self.labels['constructor'] == 'x'" }], { labels: {} })).toEqual([
      { reason: "FieldValueInvalid", field: "spec", message: 'Invalid value: "object": no such key: constructor evaluating rule: self.labels[\'constructor\'] == \'x\'' },
    ]);
  });

  it("properties named __proto__ are escaped and typed by their own schema", () => {
    const schema = JSON.parse(
      '{"type":"object","properties":{"spec":{"type":"object","properties":{"__proto__":{"type":"integer"}},' +
        '"x-kubernetes-validations":[{"rule":"self.__underscores__proto__underscores__ > 1"}]}}}',
    ) as JSONSchemaProps;
    expect(compileRules(schema)).toEqual([]);
    expect(validateRules({ spec: JSON.parse('{"__proto__":2}') }, schema, { root: true })).toEqual([]);
    expect(validateRules({ spec: JSON.parse('{"__proto__":1}') }, schema, { root: true })).toHaveLength(1);
    // `constructor` is not a declared property, so it is not a field
    const undeclared = { type: "object", properties: { spec: { type: "object", properties: {}, "x-kubernetes-validations": [{ rule: "has(self.constructor)" }] } } } as JSONSchemaProps;
    expect(compileRules(undeclared)[0]?.message).toContain("undefined field 'constructor'");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
