import { describe, expect, it } from "bun:test";
import { celEscape, deepEqualJSON, mapListLookup, toCel } from "./cel-values.ts";
import type { JSONSchemaProps } from "./types.ts";

describe("celEscape", () => {
  it("escapes reserved words and punctuation as Kubernetes does", () => {
    expect(celEscape("namespace")).toBe("__namespace__");
    expect(celEscape("in")).toBe("__in__");
    expect(celEscape("a-b.c/d")).toBe("a__dash__b__dot__c__slash__d");
    expect(celEscape("a__b")).toBe("a__underscores__b");
    expect(celEscape("plain_name")).toBe("plain_name");
  });

  it("rejects names CEL cannot reach", () => {
    expect(celEscape("1st")).toBeUndefined();
    expect(celEscape("a b")).toBeUndefined();
    expect(celEscape("")).toBeUndefined();
  });
});

describe("toCel", () => {
  it("types scalars by the schema", () => {
    expect(toCel(3, { type: "integer" })).toBe(3n);
    expect(toCel(3, { type: "number" })).toBe(3);
    expect(toCel(3, { "x-kubernetes-int-or-string": true })).toBe(3n);
    expect(toCel("50%", { "x-kubernetes-int-or-string": true })).toBe("50%");
    expect(toCel(null, { type: "string" })).toBeNull();
  });

  it("converts formatted strings", () => {
    expect(toCel("aGk=", { type: "string", format: "byte" })).toEqual(new Uint8Array([104, 105]));
    expect(toCel("2024-01-02T03:04:05.5Z", { type: "string", format: "date-time" }) as unknown).toEqual({
      $typeName: "google.protobuf.Timestamp",
      seconds: 1704164645n,
      nanos: 500000000,
    });
    expect(toCel("1m30s", { type: "string", format: "duration" }) as unknown).toEqual({ $typeName: "google.protobuf.Duration", seconds: 90n, nanos: 0 });
    expect(toCel("not a date", { type: "string", format: "date" })).toBe("not a date");
  });

  it("keeps only declared, escaped properties of objects", () => {
    const s: JSONSchemaProps = { type: "object", properties: { namespace: { type: "string" }, n: { type: "integer" } } };
    expect(toCel({ namespace: "x", n: 1, other: true }, s) as unknown).toEqual(new Map<string, unknown>([["__namespace__", "x"], ["n", 1n]]));
  });

  it("shows only name and generateName of metadata at a resource root", () => {
    const value = toCel({ apiVersion: "g/v1", kind: "K", metadata: { name: "n1", labels: { a: "b" } } }, { type: "object" }, true) as unknown;
    expect(value).toEqual(new Map<string, unknown>([["apiVersion", "g/v1"], ["kind", "K"], ["metadata", new Map([["name", "n1"]])]]));
  });

  it("converts values without a schema generically", () => {
    expect(toCel({ a: 1, b: [2.5] }, undefined) as unknown).toEqual(new Map<string, unknown>([["a", 1n], ["b", [2.5]]]));
  });

  it("reuses conversions through the memo", () => {
    const memo = new Map();
    const obj = { a: 1 };
    const s: JSONSchemaProps = { type: "object", properties: { a: { type: "integer" } } };
    expect(toCel(obj, s, false, memo)).toBe(toCel(obj, s, false, memo));
  });
});

describe("deepEqualJSON", () => {
  it("compares JSON values structurally", () => {
    expect(deepEqualJSON({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(deepEqualJSON({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(deepEqualJSON([1], { 0: 1 })).toBe(false);
  });
});

describe("mapListLookup", () => {
  const s: JSONSchemaProps = { type: "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name", "port"], items: { type: "object" } };

  it("finds old items by their keys", () => {
    const lookup = mapListLookup(s, [{ name: "a", port: 1, v: "old" }, { name: "a", port: 2 }])!;
    expect(lookup({ name: "a", port: 1, v: "new" })).toEqual({ name: "a", port: 1, v: "old" });
    expect(lookup({ name: "b", port: 1 })).toBeUndefined();
  });

  it("does not correlate other lists", () => {
    expect(mapListLookup({ type: "array", items: { type: "string" } }, ["a"])).toBeUndefined();
  });
});
