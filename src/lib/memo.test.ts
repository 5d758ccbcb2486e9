import { describe, expect, test } from "bun:test";
import { memoByText } from "./memo.ts";

describe("memoByText", () => {
  test("parses a text once, hands out one frozen result, forgets the oldest beyond max, remembers no error", () => {
    let calls = 0;
    const parse = memoByText((t: string) => {
      calls++;
      if (t === "bad") throw new Error("unreadable");
      return { text: t, list: [t], bytes: new Uint8Array([1]) };
    }, 2);
    const a = parse("a");
    expect(parse("a" + "")).toBe(a);
    expect(calls).toBe(1);
    expect(Object.isFrozen(a) && Object.isFrozen(a.list)).toBe(true);
    expect(() => (a.list as string[]).push("x")).toThrow();
    parse("b");
    parse("c"); // "a" is forgotten
    parse("a");
    expect(calls).toBe(4);
    expect(() => parse("bad")).toThrow("unreadable");
    expect(() => parse("bad")).toThrow("unreadable");
    expect(calls).toBe(6);
  });
});
