import { describe, expect, test } from "bun:test";
import { cloneData } from "./clone.ts";

describe("cloneData", () => {
  test("copies JSON data deeply, as structuredClone does", () => {
    const src = { a: 1, b: "x", c: [1, { d: null, e: [true] }], f: undefined, g: { h: { i: -0.5 } } };
    const copy = cloneData(src);
    expect(copy).toEqual(structuredClone(src));
    expect("f" in copy).toBe(true);
    copy.g.h.i = 2;
    (copy.c[1] as { e: boolean[] }).e.push(false);
    expect(src.g.h.i).toBe(-0.5);
    expect((src.c[1] as { e: boolean[] }).e).toEqual([true]);
  });

  test("a frozen object gives a writable copy", () => {
    const copy = cloneData(Object.freeze({ metadata: Object.freeze({ name: "a" }) })) as { metadata: { name: string } };
    copy.metadata.name = "b";
    expect(copy.metadata.name).toBe("b");
  });

  test("an own __proto__ key stays data and does not change the copy's prototype", () => {
    const src = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const copy = cloneData(src);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect((copy as { polluted?: boolean }).polluted).toBeUndefined();
    expect(Object.keys(copy)).toEqual(["__proto__", "a"]);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(src));
  });

  test("keys named like Object.prototype members are copied as data", () => {
    const src = JSON.parse('{"constructor": 1, "toString": "x", "hasOwnProperty": {"a": 1}}') as Record<string, unknown>;
    expect(cloneData(src)).toEqual(src);
    expect(Object.keys(cloneData(src))).toEqual(["constructor", "toString", "hasOwnProperty"]);
  });

  test("non-JSON values go through structuredClone (Map, Date, bytes)", () => {
    const src = { m: new Map([["k", { v: 1 }]]), d: new Date(0), b: new Uint8Array([1, 2]) };
    const copy = cloneData(src);
    expect(copy.m).not.toBe(src.m);
    expect(copy.m.get("k")).toEqual({ v: 1 });
    expect(copy.d.getTime()).toBe(0);
    expect([...copy.b]).toEqual([1, 2]);
  });
});
