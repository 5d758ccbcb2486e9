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
