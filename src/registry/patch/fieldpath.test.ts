import { describe, expect, test } from "bun:test";
import type { JSONSchemaProps } from "../schema/types.ts";
import { FieldSet, PathElementError, fieldPE, keyPE, renderPath, valuePE } from "./fieldpath.ts";

const str: JSONSchemaProps = { type: "string" };

const configMapSchema: JSONSchemaProps = {
  type: "object",
  properties: { data: { type: "object", additionalProperties: str }, binaryData: { type: "object", additionalProperties: str } },
};

/** A CR-like schema: list-map, set, atomic list, atomic map, preserve-unknown, defaulted keys. */
const crSchema: JSONSchemaProps = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        replicas: { type: "integer" },
        conditions: {
          type: "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["type"],
          items: { type: "object", properties: { type: str, status: str, reason: str } },
        },
        ports: {
          type: "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["protocol", "containerPort"],
          items: {
            type: "object",
            properties: { containerPort: { type: "integer" }, protocol: { type: "string", default: "TCP" }, name: str },
          },
        },
        tags: { type: "array", "x-kubernetes-list-type": "set", items: str },
        args: { type: "array", items: str },
        selector: { type: "object", "x-kubernetes-map-type": "atomic", properties: { a: str, b: str } },
        extra: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        empty: { type: "object", properties: { x: str } },
      },
    },
  },
};

describe("FieldSet.fromObject (ToFieldSet)", () => {
  test("ConfigMap: map entries are members, declared fields with content are not", () => {
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", labels: { app: "x" } }, data: { a: "1", b: "2" } };
    expect(FieldSet.fromObject(cm, configMapSchema).toFieldsV1()).toEqual({
      "f:apiVersion": {},
      "f:data": { "f:a": {}, "f:b": {} },
      "f:kind": {},
      "f:metadata": { "f:labels": { "f:app": {} }, "f:name": {} },
    });
  });

  test("list-map items are keyed k:{...} and own themselves ('.'); keys are sorted by name", () => {
    const obj = {
      spec: {
        conditions: [
          { type: "Ready", status: "True" },
          { type: "Synced", status: "False", reason: "x" },
        ],
        ports: [{ containerPort: 80, protocol: "UDP" }, { containerPort: 80 }],
      },
    };
    expect(FieldSet.fromObject(obj, crSchema).toFieldsV1()).toEqual({
      "f:spec": {
        "f:conditions": {
          'k:{"type":"Ready"}': { ".": {}, "f:status": {}, "f:type": {} },
          'k:{"type":"Synced"}': { ".": {}, "f:reason": {}, "f:status": {}, "f:type": {} },
        },
        "f:ports": {
          // protocol defaults to TCP in the key when omitted
          'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} },
          'k:{"containerPort":80,"protocol":"UDP"}': { ".": {}, "f:containerPort": {}, "f:protocol": {} },
        },
      },
    });
  });

  test("set items are v:<json>; atomic lists and atomic maps are leaves", () => {
    const obj = { spec: { tags: ["b", "a"], args: ["x", "y"], selector: { a: "1" } } };
    expect(FieldSet.fromObject(obj, crSchema).toFieldsV1()).toEqual({
      "f:spec": { "f:args": {}, "f:selector": {}, "f:tags": { 'v:"a"': {}, 'v:"b"': {} } },
    });
  });

  test("preserve-unknown parts: maps are granular, lists atomic; empty maps and nulls are leaves", () => {
    const obj = { spec: { extra: { a: { b: 1, c: [1, 2] }, d: {} }, empty: {}, replicas: null } };
    expect(FieldSet.fromObject(obj, crSchema).toFieldsV1()).toEqual({
      "f:spec": {
        "f:empty": {},
        "f:extra": { "f:a": { ".": {}, "f:b": {}, "f:c": {} }, "f:d": {} },
        "f:replicas": {},
      },
    });
  });

  test("duplicated list-map keys own only the item path", () => {
    const obj = { spec: { conditions: [{ type: "A", status: "1" }, { type: "A", status: "2" }] } };
    expect(FieldSet.fromObject(obj, crSchema).toFieldsV1()).toEqual({ "f:spec": { "f:conditions": { 'k:{"type":"A"}': {} } } });
  });

  test("metadata is always ObjectMeta: finalizers are a set, ownerReferences keyed by uid and atomic", () => {
    const obj = { metadata: { finalizers: ["f1"], ownerReferences: [{ apiVersion: "v1", kind: "X", name: "n", uid: "u1" }] } };
    expect(FieldSet.fromObject(obj, { type: "object", properties: { metadata: { type: "object" } } }).toFieldsV1()).toEqual({
      "f:metadata": { "f:finalizers": { 'v:"f1"': {} }, "f:ownerReferences": { 'k:{"uid":"u1"}': {} } },
    });
  });
});

describe("FieldSet operations", () => {
  const s = (...paths: string[][]) => FieldSet.fromPaths(paths.map((p) => p.map(fieldPE)));

  test("union, intersection, difference", () => {
    const a = s(["spec", "a"], ["spec", "b"], ["data", "x"]);
    const b = s(["spec", "b"], ["spec", "c"]);
    expect(a.union(b).paths()).toEqual([".data.x", ".spec.a", ".spec.b", ".spec.c"]);
    expect(a.intersection(b).paths()).toEqual([".spec.b"]);
    expect(a.difference(b).paths()).toEqual([".data.x", ".spec.a"]);
  });

  test("difference does not remove children of a removed member; recursiveDifference does", () => {
    const a = s(["spec"], ["spec", "a"], ["status", "x"]);
    const b = s(["spec"], ["status"]);
    expect(a.difference(b).paths()).toEqual([".spec.a", ".status.x"]);
    expect(a.recursiveDifference(b).paths()).toEqual([]);
  });

  test("has, size, isEmpty, leaves, equals", () => {
    const a = s(["spec"], ["spec", "a"]);
    expect(a.has([fieldPE("spec")])).toBe(true);
    expect(a.has([fieldPE("spec"), fieldPE("b")])).toBe(false);
    expect(a.size()).toBe(2);
    expect(FieldSet.empty().isEmpty()).toBe(true);
    expect(a.leaves().paths()).toEqual([".spec.a"]);
    expect(a.equals(s(["spec", "a"], ["spec"]))).toBe(true);
    expect(a.equals(s(["spec", "a"]))).toBe(false);
  });

  test("sets are immutable: operations return new sets", () => {
    const a = s(["a"]);
    const b = a.withPath([fieldPE("b")]);
    expect(a.paths()).toEqual([".a"]);
    expect(b.paths()).toEqual([".a", ".b"]);
  });
});

describe("FieldsV1 encoding", () => {
  test("'.' marks a member with children; keys sort fields < keys < values", () => {
    const set = FieldSet.fromPaths([
      [fieldPE("spec"), fieldPE("list")],
      [fieldPE("spec"), fieldPE("list"), keyPE([["name", "b"]])],
      [fieldPE("spec"), fieldPE("list"), keyPE([["name", "a"]]), fieldPE("x")],
      [fieldPE("spec"), fieldPE("list"), fieldPE("zzz")],
      [fieldPE("spec"), fieldPE("tags"), valuePE(2)],
      [fieldPE("spec"), fieldPE("tags"), valuePE("a")],
      [fieldPE("spec"), fieldPE("tags"), valuePE(10)],
    ]);
    const v1 = set.toFieldsV1();
    expect(JSON.stringify(v1)).toBe(
      JSON.stringify({
        "f:spec": {
          "f:list": { ".": {}, "f:zzz": {}, 'k:{"name":"a"}': { "f:x": {} }, 'k:{"name":"b"}': {} },
          "f:tags": { "v:2": {}, "v:10": {}, 'v:"a"': {} },
        },
      }),
    );
  });

  test("round-trips and canonicalises keys read from clients", () => {
    const v1 = { "f:spec": { "f:ports": { 'k:{ "protocol": "TCP", "containerPort": 80 }': { ".": {}, "f:name": {} } } }, "x:unknown": {} };
    const set = FieldSet.fromFieldsV1(v1);
    expect(set.toFieldsV1()).toEqual({ "f:spec": { "f:ports": { 'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:name": {} } } } });
    expect(FieldSet.fromFieldsV1(set.toFieldsV1()).equals(set)).toBe(true);
  });

  test("a key with only children is not a member", () => {
    const set = FieldSet.fromFieldsV1({ "f:spec": { "f:a": {} } });
    expect(set.paths()).toEqual([".spec.a"]);
  });

  test("strings are HTML-escaped inside keys as Go writes them", () => {
    expect(keyPE([["name", "a<b&c"]])).toBe('k:{"name":"a\\u003cb\\u0026c"}');
  });

  test("malformed content throws PathElementError", () => {
    expect(() => FieldSet.fromFieldsV1({ "f:a": 1 })).toThrow(PathElementError);
    expect(() => FieldSet.fromFieldsV1({ "k:{bad": {} })).toThrow(PathElementError);
    expect(() => FieldSet.fromFieldsV1({ x: {} })).toThrow(PathElementError);
    expect(() => FieldSet.fromFieldsV1("x")).toThrow(PathElementError);
  });
});

describe("rendered paths (conflict messages)", () => {
  test("fields, keys, set values and indices", () => {
    expect(renderPath([fieldPE("spec"), fieldPE("replicas")])).toBe(".spec.replicas");
    expect(renderPath([fieldPE("spec"), fieldPE("conditions"), keyPE([["type", "Ready"]]), fieldPE("status")])).toBe(
      '.spec.conditions[type="Ready"].status',
    );
    expect(
      renderPath([
        fieldPE("ports"),
        keyPE([
          ["containerPort", 80],
          ["protocol", "TCP"],
        ]),
      ]),
    ).toBe('.ports[containerPort=80,protocol="TCP"]');
    expect(renderPath([fieldPE("metadata"), fieldPE("finalizers"), valuePE("f1")])).toBe('.metadata.finalizers[="f1"]');
    expect(renderPath([fieldPE("metadata"), fieldPE("labels"), fieldPE("app")])).toBe(".metadata.labels.app");
    expect(FieldSet.fromFieldsV1({ "f:args": { "i:3": {} } }).paths()).toEqual([".args[3]"]);
  });

  test("paths() lists a node's members before its children", () => {
    const set = FieldSet.fromFieldsV1({ "f:spec": { "f:z": {}, "f:a": { "f:b": {} } }, "f:data": { "f:x": {} } });
    expect(set.paths()).toEqual([".data.x", ".spec.z", ".spec.a.b"]);
  });
});

describe("keys named like Object.prototype members", () => {
  test("field sets hold __proto__, constructor and toString as ordinary fields, round-tripping FieldsV1", () => {
    const obj = JSON.parse('{"data":{"__proto__":"p","constructor":"c","toString":"t"},"__proto__":{"x":1}}');
    const set = FieldSet.fromObject(obj, configMapSchema);
    const v1 = set.toFieldsV1();
    expect(Object.getPrototypeOf(v1)).toBe(Object.prototype);
    expect(JSON.stringify(v1)).toBe('{"f:__proto__":{},"f:data":{"f:__proto__":{},"f:constructor":{},"f:toString":{}}}');
    expect(FieldSet.fromFieldsV1(JSON.parse(JSON.stringify(v1))).equals(set)).toBe(true);
    expect(set.paths()).toContain(".data.__proto__");
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
