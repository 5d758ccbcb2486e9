import { describe, expect, it } from "bun:test";
import { decodeBody, findDuplicateKey } from "./decode.ts";

describe("findDuplicateKey", () => {
  it.each([
    ['{"a":1,"b":2}', undefined],
    ['{"a":1,"a":2}', "a"],
    ['{"metadata":{"name":"x","name":"y"}}', "metadata.name"],
    ['{"spec":{"items":[{"k":1},{"k":1,"k":2}]}}', "spec.items[1].k"],
    ['{"s":"a\\"b","s2":"{\\"x\\":1,\\"x\\":2}"}', undefined],
    ['{"esc\\u0061ped":1,"escaped":2}', "escaped"],
    ['{"a":{"b":1},"c":{"b":1}}', undefined],
  ])("%p → %p", (text, want) => {
    expect(findDuplicateKey(text as string)).toBe(want as string | undefined);
  });
});

describe("decodeBody", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it("refuses YAML-only values and excessive nesting", () => {
    expect(() => decodeBody(enc("a: !!binary aGVsbG8="), "application/yaml")).toThrow("binary data");
    expect(() => decodeBody(enc("a: 2001-12-14T00:00:00Z"), "application/yaml")).not.toThrow();
    expect(() => decodeBody(enc("a: !!timestamp 2001-12-14"), "application/yaml")).toThrow("a timestamp");
    expect(() => decodeBody(enc("[".repeat(1500) + "]".repeat(1500)), "application/json")).toThrow("nested more than 1000 levels");
  });

  it("takes patch media types only for patches", () => {
    expect(() => decodeBody(enc("{}"), "application/merge-patch+json")).toThrow("unknown format");
    expect(decodeBody(enc("{}"), "application/merge-patch+json", { patch: true }).value).toEqual({});
  });
});
