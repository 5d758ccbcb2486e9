import { describe, expect, test } from "bun:test";
import { ApiError } from "../../lib/api-errors.ts";
import { applyJsonPatch, PATCH_REJECTED_MESSAGE } from "./json-patch.ts";

const doc = () => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "c", labels: { app: "x" }, finalizers: ["a", "b"] },
  data: { k: "v" },
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

function expect422(fn: () => unknown) {
  const e = fail(fn);
  expect(e.code).toBe(422);
  expect(e.reason).toBe("Invalid");
  expect(e.message).toBe(PATCH_REJECTED_MESSAGE);
  expect(e.toStatus()).toEqual({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: "the server rejected our request due to an error in our request",
    reason: "Invalid",
    code: 422,
  });
  return e;
}

describe("applyJsonPatch: operations", () => {
  test("add, replace, remove, move, copy and test apply in order", () => {
    const out = applyJsonPatch(doc(), [
      { op: "add", path: "/metadata/labels/env", value: "dev" },
      { op: "replace", path: "/data/k", value: "w" },
      { op: "remove", path: "/metadata/labels/app" },
      { op: "copy", from: "/data/k", path: "/data/k2" },
      { op: "move", from: "/data/k2", path: "/data/k3" },
      { op: "test", path: "/data/k3", value: "w" },
    ]);
    expect(out).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c", labels: { env: "dev" }, finalizers: ["a", "b"] },
      data: { k: "w", k3: "w" },
    });
  });

  test("the input document is never mutated", () => {
    const d = doc();
    const before = structuredClone(d);
    applyJsonPatch(d, [
      { op: "add", path: "/metadata/finalizers/-", value: "c" },
      { op: "remove", path: "/data/k" },
    ]);
    expect(d).toEqual(before);
  });

  test("array indices: insert at index, append with -, negative indices count from the end", () => {
    expect((applyJsonPatch(doc(), [{ op: "add", path: "/metadata/finalizers/0", value: "z" }]) as any).metadata.finalizers).toEqual([
      "z",
      "a",
      "b",
    ]);
    expect((applyJsonPatch(doc(), [{ op: "add", path: "/metadata/finalizers/-", value: "z" }]) as any).metadata.finalizers).toEqual([
      "a",
      "b",
      "z",
    ]);
    expect((applyJsonPatch(doc(), [{ op: "remove", path: "/metadata/finalizers/-1" }]) as any).metadata.finalizers).toEqual(["a"]);
    expect((applyJsonPatch(doc(), [{ op: "add", path: "/metadata/finalizers/2", value: "z" }]) as any).metadata.finalizers).toEqual([
      "a",
      "b",
      "z",
    ]);
  });

  test("replace of a missing object key succeeds like add (evanphx/json-patch v4)", () => {
    const out = applyJsonPatch(doc(), [{ op: "replace", path: "/metadata/managedFields", value: [] }]) as any;
    expect(out.metadata.managedFields).toEqual([]);
  });

  test("the CSA→SSA upgrade patch kubectl sends applies", () => {
    const live = { ...doc(), metadata: { ...doc().metadata, resourceVersion: "112", managedFields: [{ manager: "x" }] } };
    const mf = [{ manager: "kubectl", operation: "Apply", apiVersion: "v1", fieldsType: "FieldsV1", fieldsV1: { "f:data": { "f:k": {} } } }];
    const out = applyJsonPatch(live, [
      { op: "replace", path: "/metadata/managedFields", value: mf },
      { op: "replace", path: "/metadata/resourceVersion", value: "112" },
    ]) as any;
    expect(out.metadata.managedFields).toEqual(mf);
    expect(out.metadata.resourceVersion).toBe("112");
  });

  test("~1 and ~0 escapes in path segments", () => {
    const out = applyJsonPatch(doc(), [{ op: "add", path: "/metadata/labels/example.com~1role", value: "a~0b" }]) as any;
    expect(out.metadata.labels["example.com/role"]).toBe("a~0b");
    const out2 = applyJsonPatch({ metadata: { annotations: { "a~b": "1" } } }, [{ op: "remove", path: "/metadata/annotations/a~0b" }]) as any;
    expect(out2.metadata.annotations).toEqual({});
  });

  test("replacing the root with an object", () => {
    expect(applyJsonPatch(doc(), [{ op: "replace", path: "", value: { a: 1 } }])).toEqual({ a: 1 });
  });

  test("test of a missing key passes against null", () => {
    expect(applyJsonPatch(doc(), [{ op: "test", path: "/data/nope", value: null }])).toEqual(doc());
  });

  test("an empty or null patch returns an equal copy", () => {
    const d = doc();
    const out = applyJsonPatch(d, []);
    expect(out).toEqual(d);
    expect(out).not.toBe(d);
    expect(applyJsonPatch(d, null)).toEqual(d);
  });
});

describe("applyJsonPatch: errors as kube-apiserver returns them", () => {
  test("a body that is not a list is 400 BadRequest", () => {
    const e = fail(() => applyJsonPatch(doc(), { op: "add" }));
    expect(e.code).toBe(400);
    expect(e.reason).toBe("BadRequest");
    expect(e.message).toBe("error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp");
  });

  test("a body that is not a list, fieldValidation=Ignore wording", () => {
    const e = fail(() => applyJsonPatch(doc(), "x", { fieldValidation: "Ignore" }));
    expect(e.code).toBe(400);
    expect(e.message).toBe("json: cannot unmarshal string into Go value of type jsonpatch.Patch");
  });

  test("an operation that is not an object is 400", () => {
    const e = fail(() => applyJsonPatch(doc(), ["add"]));
    expect(e.code).toBe(400);
    expect(e.message).toBe("error decoding patch: json: cannot unmarshal string into Go value of type handlers.jsonPatchOp");
  });

  test("a non-string op is 400", () => {
    const e = fail(() => applyJsonPatch(doc(), [{ op: 1, path: "/a" }]));
    expect(e.code).toBe(400);
    expect(e.message).toBe("error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string");
  });

  test("an unknown op is 422 Invalid with the generic message", () => {
    const e = expect422(() => applyJsonPatch(doc(), [{ op: "frobnicate", path: "/data/k" }]));
    expect(String((e as Error & { cause?: Error }).cause?.message)).toBe("Unexpected kind: frobnicate");
  });

  test("a failed test is 422", () => {
    const e = expect422(() => applyJsonPatch(doc(), [{ op: "test", path: "/data/k", value: "nope" }]));
    expect(String((e as Error & { cause?: Error }).cause?.message)).toBe("testing value /data/k failed: test failed");
  });

  test("removing a missing key is 422", () => {
    expect422(() => applyJsonPatch(doc(), [{ op: "remove", path: "/data/missing" }]));
  });

  test("a path through a missing parent is 422", () => {
    expect422(() => applyJsonPatch(doc(), [{ op: "add", path: "/spec/replicas", value: 1 }]));
    expect422(() => applyJsonPatch(doc(), [{ op: "replace", path: "/spec/replicas", value: 1 }]));
  });

  test("an out-of-range index is 422", () => {
    expect422(() => applyJsonPatch(doc(), [{ op: "add", path: "/metadata/finalizers/3", value: "z" }]));
    expect422(() => applyJsonPatch(doc(), [{ op: "replace", path: "/metadata/finalizers/2", value: "z" }]));
    expect422(() => applyJsonPatch(doc(), [{ op: "remove", path: "/metadata/finalizers/x" }]));
  });

  test("a missing path field is 422", () => {
    expect422(() => applyJsonPatch(doc(), [{ op: "add", value: 1 }]));
  });

  test("a failing operation leaves the input untouched (all or nothing)", () => {
    const d = doc();
    expect422(() =>
      applyJsonPatch(d, [
        { op: "add", path: "/data/x", value: "1" },
        { op: "remove", path: "/data/missing" },
      ]),
    );
    expect(d).toEqual(doc());
  });

  test("more than 10000 operations is 413", () => {
    const ops = Array.from({ length: 10001 }, () => ({ op: "test", path: "/data/k", value: "v" }));
    const e = fail(() => applyJsonPatch(doc(), ops));
    expect(e.code).toBe(413);
    expect(e.reason).toBe("RequestEntityTooLarge");
    expect(e.message).toBe("Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001");
  });

  test("unknown operation fields warn by default and fail under Strict", () => {
    const warnings: string[] = [];
    applyJsonPatch(doc(), [{ op: "add", path: "/data/x", value: "1", extra: true }], { warnings });
    expect(warnings).toEqual(['json patch unknown field "extra"']);
    const e = fail(() => applyJsonPatch(doc(), [{ op: "add", path: "/data/x", value: "1", extra: true }], { fieldValidation: "Strict" }));
    expect(e.code).toBe(422);
    expect(e.message).toContain('strict decoding error: json patch unknown field "extra"');
  });
});

// --- keys named like Object.prototype members, deep values ----------------------------------

/** The own value of `k` (never an inherited one). */
const own = (o: unknown, k: string): unknown => Object.getOwnPropertyDescriptor(o as object, k)?.value;

function expectCleanPrototype(): void {
  for (const k of ["polluted", "x", "y", "z"]) expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain(k);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

describe("applyJsonPatch: keys are data, as in Go maps", () => {
  test("add, replace, move and copy through /__proto__ address an own key", () => {
    const out = applyJsonPatch(doc(), [
      { op: "add", path: "/__proto__", value: { polluted: "yes" } },
      { op: "add", path: "/__proto__/x", value: 1 },
      { op: "replace", path: "/__proto__/polluted", value: "still data" },
      { op: "copy", from: "/__proto__", path: "/data/__proto__" },
      { op: "move", from: "/data/__proto__/x", path: "/data/__proto__/y" },
      { op: "add", path: "/metadata/labels/constructor", value: "c" },
      { op: "replace", path: "/metadata/labels/toString", value: "t" },
      { op: "test", path: "/data/__proto__", value: { polluted: "still data", y: 1 } },
    ]) as Record<string, Record<string, unknown>>;
    expectCleanPrototype();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(own(out, "__proto__")).toEqual({ polluted: "still data", x: 1 });
    expect(own(out.data, "__proto__")).toEqual({ polluted: "still data", y: 1 });
    expect(own(out.metadata.labels, "constructor")).toBe("c");
    expect(own(out.metadata.labels, "toString")).toBe("t");
  });

  test("a path through an absent __proto__ or constructor key is missing, not Object.prototype", () => {
    for (const path of ["/__proto__/polluted", "/constructor/prototype/polluted", "/data/hasOwnProperty/x"]) {
      const e = fail(() => applyJsonPatch(doc(), [{ op: "add", path, value: "yes" }]));
      expect(e.code).toBe(422);
    }
    const e = fail(() => applyJsonPatch(doc(), [{ op: "remove", path: "/toString" }]));
    expect(e.code).toBe(422);
    // test of an absent key compares against null, never against the inherited function
    expect(fail(() => applyJsonPatch(doc(), [{ op: "test", path: "/constructor", value: {} }])).code).toBe(422);
    expectCleanPrototype();
  });

  test("operation fields are own properties only", () => {
    const op = JSON.parse('{"op":"add","path":"/z","__proto__":{"value":"inherited?"}}');
    const out = applyJsonPatch(doc(), [op]) as Record<string, unknown>;
    expect(out.z).toBeNull();
    expectCleanPrototype();
  });
});

describe("applyJsonPatch: values nested 1000 deep", () => {
  test("add, copy, test and move of 1000-deep maps and arrays", () => {
    let v: unknown = "leaf";
    for (let i = 0; i < 1000; i++) v = i % 2 ? [v] : { a: v };
    const out = applyJsonPatch(doc(), [
      { op: "add", path: "/deep", value: v },
      { op: "copy", from: "/deep", path: "/copy" },
      { op: "test", path: "/copy", value: v },
      { op: "move", from: "/copy", path: "/moved" },
    ]) as Record<string, unknown>;
    expect(out.moved).toEqual(v);
    expect(out.copy).toBeUndefined();
  });
});
