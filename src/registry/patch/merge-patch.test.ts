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
