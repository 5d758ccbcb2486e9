import { describe, expect, it } from "bun:test";
import { applyDefaults, cloneJSON } from "./defaults.ts";
import type { JSONSchemaProps } from "./types.ts";

const schema: JSONSchemaProps = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        replicas: { type: "integer", default: 1 },
        strategy: {
          type: "object",
          default: { type: "RollingUpdate" },
          properties: {
            type: { type: "string" },
            rollingUpdate: { type: "object", properties: { maxSurge: { "x-kubernetes-int-or-string": true, default: 1 } } },
            maxUnavailable: { type: "integer", default: 0 },
          },
        },
        devices: {
          type: "array",
          items: { type: "object", properties: { name: { type: "string", default: "net0" }, model: { type: "string", default: "virtio" } } },
        },
        tags: { type: "array", items: { type: "string", default: "x" } },
        pools: { type: "object", additionalProperties: { type: "object", properties: { metric: { type: "integer", default: 100 } } } },
        absent: { type: "object", properties: { inner: { type: "string", default: "never" } } },
        nullable: { type: "string", nullable: true, default: "n" },
        list: { type: "array", default: ["a"], items: { type: "string" } },
      },
    },
  },
};

describe("applyDefaults", () => {
  it("defaults absent properties of existing objects", () => {
    const obj: Record<string, any> = { spec: {} };
    applyDefaults(obj, schema);
    expect(obj.spec.replicas).toBe(1);
    expect(obj.spec.list).toEqual(["a"]);
  });

  it("does not create properties of absent parents", () => {
    const obj: Record<string, any> = { spec: {} };
    applyDefaults(obj, schema);
    expect(obj.spec.absent).toBeUndefined();
    expect(obj.spec.devices).toBeUndefined();
  });

  it("recurses into freshly defaulted objects", () => {
    const obj: Record<string, any> = { spec: {} };
    applyDefaults(obj, schema);
    expect(obj.spec.strategy).toEqual({ type: "RollingUpdate", maxUnavailable: 0 });
  });

  it("keeps explicit values, including falsy ones", () => {
    const obj: Record<string, any> = { spec: { replicas: 0, strategy: { type: "Recreate" } } };
    applyDefaults(obj, schema);
    expect(obj.spec.replicas).toBe(0);
    expect(obj.spec.strategy).toEqual({ type: "Recreate", maxUnavailable: 0 });
  });

  it("defaults inside array items and additionalProperties values", () => {
    const obj: Record<string, any> = { spec: { devices: [{}, { name: "net1" }], pools: { a: {}, b: { metric: 5 } } } };
    applyDefaults(obj, schema);
    expect(obj.spec.devices).toEqual([
      { name: "net0", model: "virtio" },
      { name: "net1", model: "virtio" },
    ]);
    expect(obj.spec.pools).toEqual({ a: { metric: 100 }, b: { metric: 5 } });
  });

  it("replaces nulls of non-nullable fields and items with the default", () => {
    const obj: Record<string, any> = { spec: { replicas: null, tags: [null, "y"], nullable: null } };
    applyDefaults(obj, schema);
    expect(obj.spec.replicas).toBe(1);
    expect(obj.spec.tags).toEqual(["x", "y"]);
    expect(obj.spec.nullable).toBeNull();
  });

  it("deep-copies defaults so objects never share them", () => {
    const a: Record<string, any> = { spec: {} };
    const b: Record<string, any> = { spec: {} };
    applyDefaults(a, schema);
    applyDefaults(b, schema);
    a.spec.strategy.type = "changed";
    a.spec.list.push("b");
    expect(b.spec.strategy.type).toBe("RollingUpdate");
    expect(b.spec.list).toEqual(["a"]);
    expect((schema.properties!.spec.properties!.strategy.default as { type: string }).type).toBe("RollingUpdate");
  });

  it("ignores values that do not match the schema's shape", () => {
    const obj: Record<string, any> = { spec: { devices: "oops", pools: [1] } };
    applyDefaults(obj, schema);
    expect(obj.spec.devices).toBe("oops");
    expect(obj.spec.pools).toEqual([1]);
  });
});

describe("cloneJSON", () => {
  it("copies nested objects and arrays", () => {
    const v = { a: [1, { b: 2 }], c: null };
    const c = cloneJSON(v);
    expect(c).toEqual(v);
    expect(c.a).not.toBe(v.a);
    expect(c.a[1]).not.toBe(v.a[1]);
  });
});

// --- keys named like Object.prototype members, deep values ----------------------------------

/** The own value of `k` (never an inherited one). */
const own = (o: unknown, k: string): unknown => Object.getOwnPropertyDescriptor(o as object, k)?.value;

function expectCleanPrototype(): void {
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("polluted");
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

describe("keys are data, as in Go maps", () => {
  it("defaults properties named __proto__, constructor and toString as own keys", () => {
    const s = JSON.parse(
      '{"type":"object","properties":{"__proto__":{"type":"object","default":{"polluted":"yes"}},' +
        '"constructor":{"type":"string","default":"c"},"toString":{"type":"object","properties":{"__proto__":{"type":"string","default":"d"}},"default":{}}}}',
    ) as JSONSchemaProps;
    const obj: Record<string, unknown> = {};
    applyDefaults(obj, s);
    expectCleanPrototype();
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(own(obj, "__proto__")).toEqual({ polluted: "yes" });
    expect(own(obj, "constructor")).toBe("c");
    expect(own(own(obj, "toString"), "__proto__")).toBe("d");
    expect(JSON.stringify(obj)).toBe('{"__proto__":{"polluted":"yes"},"constructor":"c","toString":{"__proto__":"d"}}');
  });

  it("an undeclared key named like an Object.prototype member gets no default and is not recursed into by its name", () => {
    const obj = JSON.parse('{"spec":{"constructor":{},"hasOwnProperty":null}}');
    applyDefaults(obj, schema);
    expect(JSON.stringify(obj.spec)).toBe(
      '{"constructor":{},"hasOwnProperty":null,"replicas":1,"strategy":{"type":"RollingUpdate","maxUnavailable":0},"nullable":"n","list":["a"]}',
    );
    expectCleanPrototype();
  });

  it("additionalProperties defaults a __proto__ entry's null as data", () => {
    const s: JSONSchemaProps = { type: "object", additionalProperties: { type: "object", default: { polluted: "yes" } } };
    const obj = JSON.parse('{"__proto__":null,"a":null}');
    applyDefaults(obj, s);
    expectCleanPrototype();
    expect(own(obj, "__proto__")).toEqual({ polluted: "yes" });
    expect(obj.a).toEqual({ polluted: "yes" });
  });

  it("cloneJSON keeps __proto__ an own key", () => {
    const c = cloneJSON(JSON.parse('{"__proto__":{"polluted":"yes"},"a":[{"__proto__":1}]}'));
    expectCleanPrototype();
    expect(Object.getPrototypeOf(c)).toBe(Object.prototype);
    expect(JSON.stringify(c)).toBe('{"__proto__":{"polluted":"yes"},"a":[{"__proto__":1}]}');
  });

  it("default: null is no default, as Go decodes it", () => {
    const obj: Record<string, unknown> = { a: null };
    applyDefaults(obj, { type: "object", properties: { a: { type: "string", default: null }, b: { type: "string", default: null } } });
    expect(obj).toEqual({ a: null });
  });
});

describe("values nested 1000 deep", () => {
  it("applyDefaults and cloneJSON walk 1000-deep maps and arrays", () => {
    let v: unknown = 1;
    for (let i = 0; i < 998; i++) v = i % 2 ? [v] : { a: v };
    const s: JSONSchemaProps = { type: "object", properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true }, d: { type: "string", default: "x" } } };
    const obj = { spec: v } as Record<string, unknown>;
    applyDefaults(obj, s);
    expect(obj.d).toBe("x");
    expect(cloneJSON(obj)).toEqual(obj);
    // a schema as deep as a request allows (additionalProperties takes two JSON levels per level)
    let deepSchema: JSONSchemaProps = { type: "object", properties: { x: { type: "integer", default: 7 } } };
    let value: Record<string, unknown> = {};
    for (let i = 0; i < 497; i++) {
      deepSchema = { type: "object", additionalProperties: deepSchema };
      value = { k: value };
    }
    applyDefaults(value, deepSchema);
    expect(JSON.stringify(value)).toBe(`${'{"k":'.repeat(497)}{"x":7}${"}".repeat(497)}`);
  });
});
