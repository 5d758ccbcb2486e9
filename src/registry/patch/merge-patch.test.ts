import { describe, expect, test } from "bun:test";
import { ApiError } from "../../lib/api-errors.ts";
import { applyMergePatch } from "./merge-patch.ts";

const doc = () => ({
  metadata: { name: "c", labels: { app: "x", tier: "a" } },
  spec: { replicas: 1, list: [1, 2, 3], nested: { a: 1, b: 2 } },
});

describe("applyMergePatch", () => {
  test("merges maps recursively and null deletes", () => {
    expect(applyMergePatch(doc(), { metadata: { labels: { tier: null, env: "dev" } }, spec: { nested: { b: null, c: 3 } } })).toEqual({
      metadata: { name: "c", labels: { app: "x", env: "dev" } },
      spec: { replicas: 1, list: [1, 2, 3], nested: { a: 1, c: 3 } },
    });
  });

  test("arrays replace wholesale", () => {
    expect((applyMergePatch(doc(), { spec: { list: [9] } }) as any).spec.list).toEqual([9]);
  });

  test("a scalar replaces a map and a map replaces a scalar", () => {
    expect((applyMergePatch(doc(), { spec: { nested: "flat" } }) as any).spec.nested).toBe("flat");
    expect((applyMergePatch(doc(), { spec: { replicas: { x: 1, y: null } } }) as any).spec.replicas).toEqual({ x: 1 });
  });

  test("nulls inside newly added values are pruned, also in objects inside arrays", () => {
    const out = applyMergePatch(doc(), { spec: { added: { a: null, b: { c: null, d: 1 } }, items: [{ x: null, y: 2 }, null] } }) as any;
    expect(out.spec.added).toEqual({ b: { d: 1 } });
    expect(out.spec.items).toEqual([{ y: 2 }, null]);
  });

  test("label removal as kubectl label app- sends it", () => {
    expect((applyMergePatch(doc(), { metadata: { labels: { app: null } } }) as any).metadata.labels).toEqual({ tier: "a" });
  });

  test("deleting a key that does not exist is a no-op", () => {
    expect(applyMergePatch(doc(), { spec: { nope: null } })).toEqual(doc());
  });

  test("inputs are never mutated and the result shares nothing with them", () => {
    const d = doc();
    const p = { spec: { nested: { c: { deep: 1 } } } };
    const out = applyMergePatch(d, p) as any;
    expect(d).toEqual(doc());
    expect(p).toEqual({ spec: { nested: { c: { deep: 1 } } } });
    out.metadata.labels.app = "changed";
    out.spec.nested.c.deep = 2;
    expect(d.metadata.labels.app).toBe("x");
    expect(p.spec.nested.c.deep).toBe(1);
  });

  test("a null, string, number or boolean patch is 400 Invalid JSON Patch", () => {
    for (const p of [null, "x", 1, true]) {
      let err: unknown;
      try {
        applyMergePatch(doc(), p);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe(400);
      expect((err as ApiError).reason).toBe("BadRequest");
      expect((err as ApiError).message).toBe("Invalid JSON Patch");
    }
  });

  test("an array patch replaces the document", () => {
    expect(applyMergePatch(doc(), [1, { a: null }])).toEqual([1, {}]);
  });
});

// --- keys named like Object.prototype members, deep values ----------------------------------

/** The own value of `k` (never an inherited one). */
const own = (o: unknown, k: string): unknown => Object.getOwnPropertyDescriptor(o as object, k)?.value;

function expectCleanPrototype(): void {
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("polluted");
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

function deep(n: number, leaf: unknown = 1, key = "a"): unknown {
  let v = leaf;
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { [key]: v };
  return v;
}

describe("applyMergePatch: keys are data, as in Go maps", () => {
  test("__proto__ in a patch is merged as a key and never reaches Object.prototype", () => {
    const out = applyMergePatch(doc(), JSON.parse('{"__proto__":{"polluted":"yes"}}')) as Record<string, unknown>;
    expectCleanPrototype();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(own(out, "__proto__")).toEqual({ polluted: "yes" });
    expect(JSON.stringify(out)).toContain('"__proto__":{"polluted":"yes"}');
  });

  test("constructor, prototype, hasOwnProperty and toString are ordinary keys", () => {
    const patch = JSON.parse('{"spec":{"constructor":{"a":1,"b":null},"prototype":"p","hasOwnProperty":1,"toString":{"x":{"y":null}}}}');
    const out = applyMergePatch(doc(), patch) as Record<string, Record<string, unknown>>;
    expectCleanPrototype();
    expect(own(out.spec, "constructor")).toEqual({ a: 1 });
    expect(own(out.spec, "prototype")).toBe("p");
    expect(own(out.spec, "hasOwnProperty")).toBe(1);
    expect(own(out.spec, "toString")).toEqual({ x: {} });
  });

  test("an existing __proto__ key merges and deletes like any other", () => {
    const base = JSON.parse('{"spec":{"__proto__":{"a":1,"b":2}}}');
    const merged = applyMergePatch(base, JSON.parse('{"spec":{"__proto__":{"b":null,"c":3}}}')) as Record<string, object>;
    expect(own(merged.spec, "__proto__")).toEqual({ a: 1, c: 3 });
    expect(Object.getPrototypeOf(merged.spec)).toBe(Object.prototype);
    const deleted = applyMergePatch(base, JSON.parse('{"spec":{"__proto__":null}}')) as Record<string, object>;
    expect(Object.hasOwn(deleted.spec, "__proto__")).toBe(false);
    expect(Object.getPrototypeOf(deleted.spec)).toBe(Object.prototype);
    expectCleanPrototype();
  });
});

describe("applyMergePatch: values nested 1000 deep", () => {
  test("merges and replaces 1000-deep maps and arrays", () => {
    const out = applyMergePatch({ spec: deep(1000) }, { spec: deep(1000, 2), other: deep(1000, null) }) as Record<string, unknown>;
    expect(out.spec).toEqual(deep(1000, 2));
    // null members of a new value are pruned at any depth
    expect(JSON.stringify(out.other)).toBe(JSON.stringify(deep(1000, null)).replace('{"a":null}', "{}"));
    const chain = (n: number, leaf: unknown): unknown => (n === 0 ? leaf : { a: chain(n - 1, leaf) });
    const maps = applyMergePatch({ spec: chain(998, { x: 1 }) }, { spec: chain(998, { y: 2, z: null }) }) as Record<string, unknown>;
    expect(maps.spec).toEqual(chain(998, { x: 1, y: 2 }));
  });
});
