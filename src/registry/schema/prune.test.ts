import { describe, expect, it } from "bun:test";
import { dropNulls, pruneUnknown } from "./prune.ts";
import type { JSONSchemaProps } from "./types.ts";

/** Test documents are free-form JSON. */
type Doc = Record<string, any>;

const schema: JSONSchemaProps = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        replicas: { type: "integer" },
        items: { type: "array", items: { type: "object", properties: { name: { type: "string" } } } },
        labels: { type: "object", additionalProperties: { type: "string" } },
        nested: { type: "object", additionalProperties: { type: "object", properties: { a: { type: "string" } } } },
        raw: { type: "object", "x-kubernetes-preserve-unknown-fields": true, properties: { known: { type: "object", properties: { x: { type: "string" } } } } },
        port: { "x-kubernetes-int-or-string": true },
        template: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          properties: { spec: { type: "object", properties: { a: { type: "string" } } } },
        },
        free: { type: "object", additionalProperties: true },
      },
    },
    status: { type: "object", properties: { ready: { type: "boolean" } } },
  },
};

describe("pruneUnknown", () => {
  it("removes unknown fields and reports their paths", () => {
    const obj: Doc = { spec: { replicas: 1, foo: 1 }, bar: true };
    expect(pruneUnknown(obj, schema)).toEqual(["bar", "spec.foo"]);
    expect(obj).toEqual({ spec: { replicas: 1 } });
  });

  it("reports fields inside array items with their index", () => {
    const obj: Doc = { spec: { items: [{ name: "a" }, { name: "b", extra: 1 }] } };
    expect(pruneUnknown(obj, schema)).toEqual(["spec.items[1].extra"]);
    expect(obj.spec.items[1]).toEqual({ name: "b" });
  });

  it("returns paths sorted as Go's sort.Strings does", () => {
    const obj: Doc = { spec: { z: 1, a: 1, B: 1 }, c: 1 };
    expect(pruneUnknown(obj, schema)).toEqual(["c", "spec.B", "spec.a", "spec.z"]);
  });

  it("keeps every key under additionalProperties and prunes inside their values", () => {
    const obj: Doc = { spec: { labels: { "a.b/c": "x" }, nested: { k: { a: "1", b: "2" } } } };
    expect(pruneUnknown(obj, schema)).toEqual(["spec.nested.k.b"]);
    expect(obj.spec).toEqual({ labels: { "a.b/c": "x" }, nested: { k: { a: "1" } } });
  });

  it("keeps unknown fields under x-kubernetes-preserve-unknown-fields but prunes inside known ones", () => {
    const obj: Doc = { spec: { raw: { anything: { deep: [1, { x: 2 }] }, known: { x: "y", drop: 1 } } } };
    expect(pruneUnknown(obj, schema)).toEqual(["spec.raw.known.drop"]);
    expect(obj.spec.raw).toEqual({ anything: { deep: [1, { x: 2 }] }, known: { x: "y" } });
  });

  it("keeps int-or-string values whatever their type", () => {
    const obj: Doc = { spec: { port: "50%" } };
    expect(pruneUnknown(obj, schema)).toEqual([]);
    expect(obj.spec.port).toBe("50%");
  });

  it("keeps apiVersion, kind and metadata of embedded resources untouched", () => {
    const obj: Doc = { spec: { template: { apiVersion: "v1", kind: "Pod", metadata: { name: "x", whatever: 1 }, spec: { a: "b", c: "d" }, other: 1 } } };
    expect(pruneUnknown(obj, schema)).toEqual(["spec.template.other", "spec.template.spec.c"]);
    expect(obj.spec.template).toEqual({ apiVersion: "v1", kind: "Pod", metadata: { name: "x", whatever: 1 }, spec: { a: "b" } });
  });

  it("empties objects below additionalProperties: true, which has no schema", () => {
    const obj: Doc = { spec: { free: { a: 1, b: { c: 2 } } } };
    expect(pruneUnknown(obj, schema)).toEqual(["spec.free.b.c"]);
    expect(obj.spec.free).toEqual({ a: 1, b: {} });
  });

  it("always keeps apiVersion, kind and metadata at the resource root, without pruning inside metadata", () => {
    const obj: Doc = { apiVersion: "x/v1", kind: "X", metadata: { name: "a", labels: { l: "v" }, weird: true }, spec: {}, junk: 1 };
    expect(pruneUnknown(obj, schema, { root: true })).toEqual(["junk"]);
    expect(obj).toEqual({ apiVersion: "x/v1", kind: "X", metadata: { name: "a", labels: { l: "v" }, weird: true }, spec: {} });
  });

  it("prunes everything but the root meta fields when there is no schema", () => {
    const obj: Doc = { apiVersion: "x/v1", kind: "X", metadata: {}, spec: { a: 1 } };
    expect(pruneUnknown(obj, undefined, { root: true })).toEqual(["spec"]);
    expect(obj).toEqual({ apiVersion: "x/v1", kind: "X", metadata: {} });
  });

  it("prunes fields of objects where the schema expects a scalar", () => {
    const obj: Doc = { spec: { replicas: { a: 1 } } };
    expect(pruneUnknown(obj, schema)).toEqual(["spec.replicas.a"]);
    expect(obj.spec.replicas).toEqual({});
  });

  it("returns an empty list when nothing is unknown", () => {
    const obj: Doc = { spec: { replicas: 3 }, status: { ready: true } };
    expect(pruneUnknown(obj, schema)).toEqual([]);
  });
});

describe("dropNulls", () => {
  const s: JSONSchemaProps = {
    type: "object",
    properties: {
      selector: { type: "object", properties: { matchLabels: { type: "object", additionalProperties: { type: "string" } } } },
      optional: { type: "string", nullable: true },
      withDefault: { type: "string", default: "d" },
      list: { type: "array", items: { type: "object", properties: { a: { type: "string" } } } },
      labels: { type: "object", additionalProperties: { type: "string" } },
    },
  };

  it("removes nulls of non-nullable fields (`selector: {matchLabels: }` in templates)", () => {
    const obj: Doc = { selector: { matchLabels: null } };
    dropNulls(obj, s);
    expect(obj).toEqual({ selector: {} });
  });

  it("keeps nulls of nullable fields and of fields with a default", () => {
    const obj: Doc = { optional: null, withDefault: null };
    dropNulls(obj, s);
    expect(obj).toEqual({ optional: null, withDefault: null });
  });

  it("recurses into array items and additionalProperties, but keeps null items", () => {
    const obj: Doc = { list: [{ a: null }, null], labels: { x: null, y: "v" } };
    dropNulls(obj, s);
    expect(obj).toEqual({ list: [{}, null], labels: { y: "v" } });
  });

  it("leaves nulls of unknown fields alone", () => {
    const obj: Doc = { unknown: null };
    dropNulls(obj, s);
    expect(obj).toEqual({ unknown: null });
  });
});

// --- keys named like Object.prototype members, deep values ----------------------------------

function expectCleanPrototype(): void {
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("polluted");
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

describe("keys are data, as in Go maps", () => {
  const protoSchema = JSON.parse(
    '{"type":"object","properties":{"spec":{"type":"object","properties":{"__proto__":{"type":"object","properties":{"a":{"type":"string"}}},"constructor":{"type":"string"}}}}}',
  ) as JSONSchemaProps;

  it("prunes by own declared properties: __proto__ and constructor when declared, toString when not", () => {
    const obj = JSON.parse('{"spec":{"__proto__":{"a":"x","polluted":"yes"},"constructor":"c","toString":"t","hasOwnProperty":{"x":1}}}') as Doc;
    expect(pruneUnknown(obj, protoSchema, { root: true })).toEqual(["spec.__proto__.polluted", "spec.hasOwnProperty", "spec.toString"]);
    expect(JSON.stringify(obj)).toBe('{"spec":{"__proto__":{"a":"x"},"constructor":"c"}}');
    expectCleanPrototype();
  });

  it("undeclared keys named like Object.prototype members are unknown fields", () => {
    const obj = JSON.parse('{"spec":{"replicas":1,"__proto__":{"polluted":"yes"},"constructor":{"prototype":1},"valueOf":2}}') as Doc;
    expect(pruneUnknown(obj, schema, { root: true })).toEqual(["spec.__proto__", "spec.constructor", "spec.valueOf"]);
    expect(obj).toEqual({ spec: { replicas: 1 } });
    expect(Object.getPrototypeOf(obj.spec)).toBe(Object.prototype);
    expectCleanPrototype();
  });

  it("dropNulls uses the own property schema of a __proto__ key", () => {
    const obj = JSON.parse('{"spec":{"__proto__":null,"constructor":null,"toString":null}}') as Doc;
    dropNulls(obj, protoSchema);
    // declared, non-nullable → dropped; undeclared → left alone
    expect(JSON.stringify(obj)).toBe('{"spec":{"toString":null}}');
    expectCleanPrototype();
  });
});

describe("values nested 1000 deep", () => {
  const deep = (leaf: unknown): unknown => {
    let v = leaf;
    for (let i = 0; i < 998; i++) v = i % 2 ? [v, null] : { a: v, n: null };
    return v;
  };
  const pu: JSONSchemaProps = { type: "object", properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } };

  it("pruneUnknown and dropNulls walk 1000-deep maps and arrays", () => {
    const obj = { spec: deep(1), junk: deep(2) } as Doc;
    expect(pruneUnknown(obj, pu, { root: true })).toEqual(["junk"]);
    expect(obj.spec).toEqual(deep(1));
    dropNulls(obj, pu);
    expect(obj.spec).toEqual(deep(1));
    const typed = { spec: deep(1) } as Doc;
    expect(pruneUnknown(typed, schema, { root: true })).toEqual(["spec[0].a", "spec[0].n"]);
  });

  it("pruneUnknown walks a schema and value nested as deep as a request allows", () => {
    // Each schema level takes two JSON levels (properties.a), so ~500 schema levels.
    let s: JSONSchemaProps = { type: "object", properties: { keep: { type: "string" } } };
    let v: Doc = { keep: "k", drop: 1 };
    for (let i = 0; i < 497; i++) {
      s = { type: "object", properties: { a: s } };
      v = { a: v };
    }
    const root: JSONSchemaProps = { type: "object", properties: { spec: s } };
    const obj = { spec: v } as Doc;
    const unknown = pruneUnknown(obj, root, { root: true });
    expect(unknown).toEqual([`spec${".a".repeat(497)}.drop`]);
    dropNulls(obj, root);
  });
});
