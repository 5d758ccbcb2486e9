import { describe, expect, test } from "bun:test";
import { ApiError } from "../../lib/api-errors.ts";
import type { JSONSchemaProps } from "../schema/types.ts";
import { applyStrategicMergePatch } from "./strategic-merge-patch.ts";

const str: JSONSchemaProps = { type: "string" };
const stringMap: JSONSchemaProps = { type: "object", additionalProperties: str };

/** A Pod-like schema carrying the patch extensions of the built-in types. */
const podSchema: JSONSchemaProps = {
  type: "object",
  properties: {
    apiVersion: str,
    kind: str,
    metadata: { type: "object" }, // replaced by ObjectMeta (finalizers, ownerReferences strategies)
    spec: {
      type: "object",
      properties: {
        containers: {
          type: "array",
          "x-kubernetes-patch-strategy": "merge",
          "x-kubernetes-patch-merge-key": "name",
          items: {
            type: "object",
            properties: {
              name: str,
              image: str,
              args: { type: "array", items: str },
              ports: {
                type: "array",
                "x-kubernetes-patch-strategy": "merge",
                "x-kubernetes-patch-merge-key": "containerPort",
                items: { type: "object", properties: { containerPort: { type: "integer" }, protocol: str, name: str } },
              },
            },
          },
        },
        volumes: {
          type: "array",
          "x-kubernetes-patch-strategy": "merge,retainKeys",
          "x-kubernetes-patch-merge-key": "name",
          items: {
            type: "object",
            properties: { name: str, emptyDir: { type: "object", properties: { medium: str } }, hostPath: { type: "object", properties: { path: str } } },
          },
        },
        nodeSelector: stringMap,
        tolerations: { type: "array", items: { type: "object", properties: { key: str } } },
        template: {
          type: "object",
          "x-kubernetes-patch-strategy": "replace",
          properties: { a: str, b: str },
        },
      },
    },
  },
};

const configMapSchema: JSONSchemaProps = {
  type: "object",
  properties: { apiVersion: str, kind: str, metadata: { type: "object" }, data: stringMap, binaryData: stringMap, immutable: { type: "boolean" } },
};

const pod = () => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "p",
    finalizers: ["a", "b"],
    ownerReferences: [{ apiVersion: "v1", kind: "X", name: "o1", uid: "u1" }],
  },
  spec: {
    containers: [
      { name: "app", image: "app:1", ports: [{ containerPort: 80, protocol: "TCP" }] },
      { name: "side", image: "side:1" },
    ],
    volumes: [{ name: "v1", emptyDir: { medium: "Memory" } }],
    nodeSelector: { zone: "a" },
    tolerations: [{ key: "k1" }, { key: "k2" }],
    template: { a: "1", b: "2" },
  },
});

function fail(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("expected an ApiError");
}

describe("applyStrategicMergePatch: merging", () => {
  test("ConfigMap client-side apply patch: null removes a key, others merge", () => {
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", annotations: { x: "old" } }, data: { a: "1", b: "2" } };
    expect(applyStrategicMergePatch(cm, { data: { b: null, c: "3" }, metadata: { annotations: { x: "new" } } }, configMapSchema)).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c", annotations: { x: "new" } },
      data: { a: "1", c: "3" },
    });
  });

  test("list of maps with strategy merge merges items by key; new items come first without $setElementOrder", () => {
    const out = applyStrategicMergePatch(
      pod(),
      { spec: { containers: [{ name: "app", image: "app:2" }, { name: "new", image: "n:1" }] } },
      podSchema,
    ) as any;
    expect(out.spec.containers).toEqual([
      { name: "app", image: "app:2", ports: [{ containerPort: 80, protocol: "TCP" }] },
      { name: "new", image: "n:1" },
      { name: "side", image: "side:1" },
    ]);
  });

  test("nested merge lists merge by their own key", () => {
    const out = applyStrategicMergePatch(pod(), { spec: { containers: [{ name: "app", ports: [{ containerPort: 80, name: "http" }] }] } }, podSchema) as any;
    expect(out.spec.containers[0].ports).toEqual([{ containerPort: 80, protocol: "TCP", name: "http" }]);
  });

  test("primitive list with strategy merge is a union; patch-only items go first", () => {
    expect((applyStrategicMergePatch(pod(), { metadata: { finalizers: ["c", "a"] } }, podSchema) as any).metadata.finalizers).toEqual(["c", "a", "b"]);
    const p = pod();
    p.metadata.finalizers = ["1", "2", "3"];
    expect((applyStrategicMergePatch(p, { metadata: { finalizers: ["3", "1"] } }, podSchema) as any).metadata.finalizers).toEqual(["2", "3", "1"]);
    expect((applyStrategicMergePatch(pod(), { metadata: { finalizers: ["c"] } }, podSchema) as any).metadata.finalizers).toEqual(["c", "a", "b"]);
  });

  test("ownerReferences merge by uid (ObjectMeta strategies apply whatever the kind's schema says)", () => {
    const out = applyStrategicMergePatch(pod(), { metadata: { ownerReferences: [{ apiVersion: "v1", kind: "Y", name: "o2", uid: "u2" }] } }, podSchema) as any;
    expect(out.metadata.ownerReferences.map((r: any) => r.uid)).toEqual(["u2", "u1"]);
  });

  test("lists without a merge strategy are replaced", () => {
    expect((applyStrategicMergePatch(pod(), { spec: { tolerations: [{ key: "k3" }] } }, podSchema) as any).spec.tolerations).toEqual([{ key: "k3" }]);
  });

  test("a map with strategy replace is replaced", () => {
    expect((applyStrategicMergePatch(pod(), { spec: { template: { a: "9" } } }, podSchema) as any).spec.template).toEqual({ a: "9" });
  });

  test("null deletes a field and nulls in new values are dropped", () => {
    const out = applyStrategicMergePatch(pod(), { spec: { nodeSelector: null, extra: { a: null, b: 1 } } }, podSchema) as any;
    expect(out.spec.nodeSelector).toBeUndefined();
    expect(out.spec.extra).toEqual({ b: 1 });
  });

  test("a value of another type replaces", () => {
    expect((applyStrategicMergePatch(pod(), { spec: { nodeSelector: "x" } }, podSchema) as any).spec.nodeSelector).toBe("x");
  });

  test("the inputs are never mutated", () => {
    const p = pod();
    const patch = {
      spec: { containers: [{ name: "side", $patch: "delete" }, { name: "app", image: "x", args: [null] }], nodeSelector: { zone: null } },
      metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] },
    };
    const patchCopy = structuredClone(patch);
    applyStrategicMergePatch(p, patch, podSchema);
    expect(p).toEqual(pod());
    expect(patch).toEqual(patchCopy);
  });
});

describe("applyStrategicMergePatch: directives", () => {
  test("$patch: delete in a merge-list item removes the item", () => {
    const out = applyStrategicMergePatch(pod(), { spec: { containers: [{ name: "side", $patch: "delete" }] } }, podSchema) as any;
    expect(out.spec.containers.map((c: any) => c.name)).toEqual(["app"]);
  });

  test("$patch: replace in a merge list replaces the list", () => {
    const out = applyStrategicMergePatch(pod(), { spec: { containers: [{ name: "only", image: "o" }, { $patch: "replace" }] } }, podSchema) as any;
    expect(out.spec.containers).toEqual([{ name: "only", image: "o" }]);
  });

  test("$patch: replace in a map replaces the map; $patch: delete empties it", () => {
    expect((applyStrategicMergePatch(pod(), { spec: { nodeSelector: { $patch: "replace", b: "2" } } }, podSchema) as any).spec.nodeSelector).toEqual({
      b: "2",
    });
    expect((applyStrategicMergePatch(pod(), { spec: { nodeSelector: { $patch: "delete" } } }, podSchema) as any).spec.nodeSelector).toEqual({});
  });

  test("a new value carrying $patch is not added", () => {
    const out = applyStrategicMergePatch(pod(), { spec: { newMap: { $patch: "delete" } } }, podSchema) as any;
    expect("newMap" in out.spec).toBe(false);
  });

  test("$deleteFromPrimitiveList removes items from a primitive list", () => {
    const out = applyStrategicMergePatch(pod(), { metadata: { "$deleteFromPrimitiveList/finalizers": ["a", "zz"] } }, podSchema) as any;
    expect(out.metadata.finalizers).toEqual(["b"]);
    expect(Object.keys(out.metadata)).not.toContain("$deleteFromPrimitiveList/finalizers");
  });

  test("$setElementOrder orders patch items; server-only items interleave by their live positions", () => {
    const p = pod();
    p.spec.containers = [{ name: "a" }, { name: "b" }, { name: "x" }, { name: "c" }] as any;
    const out = applyStrategicMergePatch(
      p,
      { spec: { "$setElementOrder/containers": [{ name: "c" }, { name: "a" }, { name: "b" }], containers: [{ name: "a", image: "new" }] } },
      podSchema,
    ) as any;
    expect(out.spec.containers).toEqual([{ name: "x" }, { name: "c" }, { name: "a", image: "new" }, { name: "b" }]);
    expect(Object.keys(out.spec)).not.toContain("$setElementOrder/containers");
  });

  test("$setElementOrder with a deleted and an added item follows upstream's order", () => {
    const p = pod();
    p.spec.containers = [{ name: "1" }, { name: "2", image: "b" }, { name: "4", image: "c" }] as any;
    const out = applyStrategicMergePatch(
      p,
      { spec: { "$setElementOrder/containers": [{ name: "2" }, { name: "3" }], containers: [{ name: "3" }, { name: "1", $patch: "delete" }] } },
      podSchema,
    ) as any;
    expect(out.spec.containers).toEqual([{ name: "2", image: "b" }, { name: "4", image: "c" }, { name: "3" }]);
  });

  test("$setElementOrder on a primitive list", () => {
    const out = applyStrategicMergePatch(
      pod(),
      { metadata: { "$setElementOrder/finalizers": ["c", "b", "a"], finalizers: ["c"] } },
      podSchema,
    ) as any;
    expect(out.metadata.finalizers).toEqual(["c", "b", "a"]);
  });

  test("$retainKeys clears the keys not listed", () => {
    const out = applyStrategicMergePatch(
      pod(),
      { spec: { volumes: [{ name: "v1", $retainKeys: ["name", "hostPath"], hostPath: { path: "/x" } }] } },
      podSchema,
    ) as any;
    expect(out.spec.volumes).toEqual([{ name: "v1", hostPath: { path: "/x" } }]);
  });
});

describe("applyStrategicMergePatch: errors", () => {
  test("a patch that is not an object is 400", () => {
    const e = fail(() => applyStrategicMergePatch(pod(), [1], podSchema));
    expect(e.code).toBe(400);
    expect(e.message).toBe("json: cannot unmarshal array into Go value of type map[string]interface {}");
  });

  test("$retainKeys that is not a list is 400", () => {
    const e = fail(() => applyStrategicMergePatch(pod(), { spec: { $retainKeys: "x" } }, podSchema));
    expect(e.code).toBe(400);
    expect(e.reason).toBe("BadRequest");
    expect(e.message).toBe("invalid patch format of retainKeys");
  });

  test("a patch key missing from $retainKeys is 400", () => {
    const e = fail(() => applyStrategicMergePatch(pod(), { spec: { $retainKeys: ["a"], b: 1 } }, podSchema));
    expect(e.code).toBe(400);
    expect(e.message).toBe("invalid patch format of retainKeys");
  });

  test("$deleteFromPrimitiveList without /field is 400", () => {
    const e = fail(() => applyStrategicMergePatch(pod(), { metadata: { $deleteFromPrimitiveListfinalizers: ["a"] } }, podSchema));
    expect(e.code).toBe(400);
    expect(e.message).toBe("invalid patch format of primitive list");
  });

  test("$setElementOrder without /field is 400", () => {
    const e = fail(() => applyStrategicMergePatch(pod(), { metadata: { $setElementOrderfinalizers: ["a"] } }, podSchema));
    expect(e.code).toBe(400);
    expect(e.message).toBe("invalid patch format of setElementOrder list");
  });

  test("an unknown $patch value in a map is 400 with upstream's message (upstream: plain error, 500)", () => {
    const e = fail(() => applyStrategicMergePatch(pod(), { spec: { nodeSelector: { $patch: "frob", a: "1" } } }, podSchema));
    expect(e.code).toBe(400);
    expect(e.reason).toBe("BadRequest");
    expect(e.message).toBe("unknown patch type: frob in map: map[$patch:frob a:1]");
  });

  test("$patch: merge is not supported in a list or a map", () => {
    const e = fail(() => applyStrategicMergePatch(pod(), { spec: { containers: [{ name: "app", $patch: "merge" }] } }, podSchema));
    expect(e.code).toBe(400);
    expect(e.reason).toBe("BadRequest");
    expect(e.message).toBe("merging lists cannot yet be specified in the patch");
    const e2 = fail(() => applyStrategicMergePatch(pod(), { spec: { nodeSelector: { $patch: "merge" } } }, podSchema));
    expect(e2.code).toBe(400);
    expect(e2.message).toBe("unknown patch type: merge in map: map[$patch:merge]");
  });

  test("a merge-list item without the merge key fails", () => {
    const e = fail(() => applyStrategicMergePatch(pod(), { spec: { containers: [{ image: "x" }] } }, podSchema));
    expect(e.code).toBe(400);
    expect(e.reason).toBe("BadRequest");
    expect(e.message).toBe("map: map[image:x] does not contain declared merge key: name");
  });

  test("$setElementOrder that contradicts the patch list fails", () => {
    const e = fail(() =>
      applyStrategicMergePatch(
        pod(),
        { spec: { "$setElementOrder/containers": [{ name: "app" }, { name: "side" }], containers: [{ name: "side" }, { name: "app" }] } },
        podSchema,
      ),
    );
    expect(e.code).toBe(400);
    expect(e.reason).toBe("BadRequest");
    expect(e.message).toBe(
      "The order in patch list:\n[map[name:side] map[name:app]]\n doesn't match $setElementOrder list:\n[map[name:app] map[name:side]]\n",
    );
  });

  test("a list of lists in a merge list is 422", () => {
    const p = pod();
    p.metadata.finalizers = [];
    const e = fail(() => applyStrategicMergePatch(p, { metadata: { finalizers: [["x"]] } }, podSchema));
    expect(e.code).toBe(422);
    expect(e.reason).toBe("Invalid");
  });
});

// --- keys named like Object.prototype members, deep values ----------------------------------

/** The own value of `k` (never an inherited one). */
const own = (o: unknown, k: string): unknown => Object.getOwnPropertyDescriptor(o as object, k)?.value;

function expectCleanPrototype(): void {
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("polluted");
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

describe("applyStrategicMergePatch: keys are data, as in Go maps", () => {
  test("__proto__, constructor and toString keys merge as data and never reach Object.prototype", () => {
    const patch = JSON.parse(
      '{"__proto__":{"polluted":"yes"},"metadata":{"labels":{"__proto__":"l","constructor":"c"}},' +
        '"spec":{"nodeSelector":{"toString":"t","__proto__":"n"},"template":{"__proto__":{"polluted":"yes"}},' +
        '"containers":[{"name":"__proto__","image":"i","__proto__":{"polluted":"yes"}}]}}',
    );
    const out = applyStrategicMergePatch(pod(), patch, podSchema) as any;
    expectCleanPrototype();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(own(out, "__proto__")).toEqual({ polluted: "yes" });
    expect(own(out.metadata.labels, "__proto__")).toBe("l");
    expect(own(out.metadata.labels, "constructor")).toBe("c");
    expect(own(out.spec.nodeSelector, "toString")).toBe("t");
    expect(own(out.spec.nodeSelector, "__proto__")).toBe("n");
    expect(out.spec.nodeSelector.zone).toBe("a");
    expect(own(out.spec.template, "__proto__")).toEqual({ polluted: "yes" });
    const added = out.spec.containers.find((c: any) => c.name === "__proto__");
    expect(added.image).toBe("i");
    expect(own(added, "__proto__")).toEqual({ polluted: "yes" });
  });

  test("an existing __proto__ key merges; null deletes it; directives on such keys work", () => {
    const base = JSON.parse('{"metadata":{"name":"p","finalizers":["a","__proto__"]},"spec":{"nodeSelector":{"__proto__":"x","zone":"a"}}}');
    const out = applyStrategicMergePatch(
      base,
      JSON.parse('{"metadata":{"$deleteFromPrimitiveList/finalizers":["__proto__"]},"spec":{"nodeSelector":{"__proto__":null,"constructor":"c"}}}'),
      podSchema,
    ) as any;
    expect(out.metadata.finalizers).toEqual(["a"]);
    expect(Object.hasOwn(out.spec.nodeSelector, "__proto__")).toBe(false);
    expect(Object.getPrototypeOf(out.spec.nodeSelector)).toBe(Object.prototype);
    expect(own(out.spec.nodeSelector, "constructor")).toBe("c");
    expectCleanPrototype();
  });

  test("a merge key that is only inherited is missing (400)", () => {
    const e = fail(() => applyStrategicMergePatch(pod(), { spec: { containers: [JSON.parse('{"__proto__":{"name":"app"},"image":"x"}')] } }, podSchema));
    expect(e.code).toBe(400);
    expect(e.message).toContain("does not contain declared merge key: name");
    expectCleanPrototype();
  });
});

describe("applyStrategicMergePatch: values nested 1000 deep", () => {
  test("merges 1000-deep maps and arrays under a preserve-unknown-fields schema", () => {
    const schema: JSONSchemaProps = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
    const deep = (n: number, leaf: unknown): unknown => {
      let v = leaf;
      for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v, [`k${i % 3}`]: i };
      return v;
    };
    const chain = (n: number, leaf: unknown): unknown => (n === 0 ? leaf : { a: chain(n - 1, leaf) });
    const out = applyStrategicMergePatch({ spec: deep(999, 1), maps: chain(998, { x: 1 }) }, { spec: deep(999, 2), maps: chain(998, { y: 2, x: null }), added: deep(999, 3) }, schema) as any;
    expect(out.spec).toEqual(deep(999, 2));
    expect(out.maps).toEqual(chain(998, { y: 2 }));
    expect(out.added).toEqual(deep(999, 3));
  });
});
