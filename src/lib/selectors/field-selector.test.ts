import { describe, expect, test } from "bun:test";
import { ApiError } from "../api-errors.ts";
import {
  checkFieldSelectorFields,
  escapeFieldValue,
  type FieldRequirement,
  fieldSelectorRequiresExactMatch,
  fieldSelectorToString,
  matchFieldSelector,
  parseFieldSelector,
  unescapeFieldValue,
} from "./index.ts";

function errorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    const err = e as ApiError;
    expect(err.code).toBe(400);
    expect(err.reason).toBe("BadRequest");
    return err;
  }
  throw new Error("expected an error");
}

const req = (field: string, op: FieldRequirement["op"], value: string): FieldRequirement => ({ field, op, value });

describe("parseFieldSelector", () => {
  const cases: [input: string, want: FieldRequirement[]][] = [
    ["", []],
    [",", []],
    [",,", []],
    ["metadata.name=c1", [req("metadata.name", "=", "c1")]],
    ["metadata.name==c1", [req("metadata.name", "==", "c1")]],
    ["status.phase!=Running", [req("status.phase", "!=", "Running")]],
    // terms come back sorted by their raw text
    ["x=a,y=b,z=c", [req("x", "=", "a"), req("y", "=", "b"), req("z", "=", "c")]],
    ["b==x,a!=y", [req("a", "!=", "y"), req("b", "==", "x")]],
    [
      "involvedObject.kind=Cluster,involvedObject.apiVersion=cluster.x-k8s.io/v1beta1,involvedObject.name=c1",
      [
        req("involvedObject.apiVersion", "=", "cluster.x-k8s.io/v1beta1"),
        req("involvedObject.kind", "=", "Cluster"),
        req("involvedObject.name", "=", "c1"),
      ],
    ],
    ["a=a,", [req("a", "=", "a")]],
    [",a=a", [req("a", "=", "a")]],
    // escapes
    [`k=\\,,k2=v2`, [req("k2", "=", "v2"), req("k", "=", ",")]],
    [`k=\\\\,k2=v2`, [req("k2", "=", "v2"), req("k", "=", "\\")]],
    [`k=\\\\\\,,k2=v2`, [req("k2", "=", "v2"), req("k", "=", "\\,")]],
    [`x=a||y\\=b`, [req("x", "=", "a||y=b")]],
    [`x=a\\=\\=b`, [req("x", "=", "a==b")]],
    // the first operator wins: "!=" is tried before "==" and "=" at each position
    ["a!=b", [req("a", "!=", "b")]],
    ["a=!b", [req("a", "=", "!b")]],
    ["a==", [req("a", "==", "")]],
    ["a=", [req("a", "=", "")]],
    ["a!=", [req("a", "!=", "")]],
    ["=v", [req("", "=", "v")]],
    // neither field nor value: dropped
    ["=", []],
    ["!=", []],
    ["==,a=b", [req("a", "=", "b")]],
    // nothing is trimmed
    [" a = b ", [req(" a ", "=", " b ")]],
    // multi-byte, sorted by code point
    ["함=수,목=록", [req("목", "=", "록"), req("함", "=", "수")]],
    ["spec.nodeName=😀,a=b", [req("a", "=", "b"), req("spec.nodeName", "=", "😀")]],
  ];
  for (const [input, want] of cases) {
    test(JSON.stringify(input), () => expect(parseFieldSelector(input)).toEqual(want));
  }

  const errors: [input: string, message: string][] = [
    ["x", "invalid selector: 'x'; can't understand 'x'"],
    ["x=a,b", "invalid selector: 'x=a,b'; can't understand 'b'"],
    ["x in (a)", "invalid selector: 'x in (a)'; can't understand 'x in (a)'"],
    ["x in (a,b,c)", "invalid selector: 'x in (a,b,c)'; can't understand 'b'"],
    ["x==a==b", "invalid field selector: unescaped character in value: 61"],
    ["x=a=b", "invalid field selector: unescaped character in value: 61"],
    ["x=a||y=b", "invalid field selector: unescaped character in value: 61"],
    [`k=\\a`, "invalid field selector: invalid escape sequence: \\a"],
    [`k=\\`, "invalid field selector: invalid escape sequence: \\"],
    [`k=\\\\\\`, "invalid field selector: invalid escape sequence: \\"],
    [`k=\\😀`, "invalid field selector: invalid escape sequence: \\😀"],
    // the first failing term in sorted order is reported
    [`z,a=\\q`, "invalid field selector: invalid escape sequence: \\q"],
  ];
  for (const [input, message] of errors) {
    test(`error ${JSON.stringify(input)}`, () => expect(errorOf(() => parseFieldSelector(input)).message).toBe(message));
  }
});

describe("escapeFieldValue / unescapeFieldValue", () => {
  const pairs: [raw: string, escaped: string][] = [
    ["", ""],
    ["a", "a"],
    ["=", "\\="],
    [",", "\\,"],
    ["\\", "\\\\"],
    ["\\=\\,\\", "\\\\\\=\\\\\\,\\\\"],
    ["=value\\,\\", "\\=value\\\\\\,\\\\"],
  ];
  for (const [raw, escaped] of pairs) {
    test(JSON.stringify(raw), () => {
      expect(escapeFieldValue(raw)).toBe(escaped);
      expect(unescapeFieldValue(escaped)).toBe(raw);
    });
  }
  test("invalid escapes", () => {
    for (const bad of ["\\", "\\\\\\", "\\a"]) {
      expect(errorOf(() => unescapeFieldValue(bad)).message).toStartWith("invalid field selector: invalid escape sequence: ");
    }
    expect(errorOf(() => unescapeFieldValue("a,b")).message).toBe("invalid field selector: unescaped character in value: 44");
  });
});

describe("matchFieldSelector", () => {
  const fields: Record<string, string> = { foo: "bar", baz: "blah", complex: "=value\\,\\", "metadata.name": "c1" };
  const get = (f: string) => fields[f];
  const cases: [selector: string, match: boolean][] = [
    ["", true],
    ["foo=bar", true],
    ["foo==bar", true],
    ["baz=blah", true],
    ["foo=bar,baz=blah", true],
    ["foo=bar,baz=blah,complex=\\=value\\\\\\,\\\\", true],
    ["foo=blah", false],
    ["baz=bar", false],
    ["foo=bar,foobar=bar,baz=blah", false],
    ["foo!=bar", false],
    ["foo!=x", true],
    // missing fields compare as ""
    ["missing=", true],
    ["missing==", true],
    ["missing!=", false],
    ["missing!=x", true],
    ["missing=x", false],
    ["metadata.name=c1", true],
  ];
  for (const [selector, match] of cases) {
    test(`${selector} → ${match}`, () => expect(matchFieldSelector(parseFieldSelector(selector), get)).toBe(match));
  }

  test("upstream table: Set{x: z, z: a} etc.", () => {
    const m = (s: string, set: Record<string, string>) => matchFieldSelector(parseFieldSelector(s), (f) => set[f]);
    expect(m("x=y", { x: "y" })).toBe(true);
    expect(m("x=y,z=w", { x: "y", z: "w" })).toBe(true);
    expect(m("x!=y,z!=w", { x: "z", z: "a" })).toBe(true);
    expect(m("notin=in", { notin: "in" })).toBe(true);
    expect(m("x=y", { x: "z" })).toBe(false);
    expect(m("x=y,z=w", { x: "w", z: "w" })).toBe(false);
    expect(m("x!=y,z!=w", { x: "z", z: "w" })).toBe(false);
  });
});

describe("canonical string and helpers", () => {
  const cases: [input: string, canonical: string][] = [
    ["x=a,y=b,z=c", "x=a,y=b,z=c"],
    ["", ""],
    ["x!=a,y=b", "x!=a,y=b"],
    ["x=a||y\\=b", "x=a||y\\=b"],
    ["x=a\\=\\=b", "x=a\\=\\=b"],
    ["b==x,a!=y", "a!=y,b=x"],
    ["k=\\,,k2=v2", "k2=v2,k=\\,"],
  ];
  for (const [input, canonical] of cases) {
    test(JSON.stringify(input), () => {
      expect(fieldSelectorToString(parseFieldSelector(input))).toBe(canonical);
    });
  }

  test("requiresExactMatch", () => {
    const reqs = parseFieldSelector("metadata.name=c1,metadata.namespace!=x,spec.a==b");
    expect(fieldSelectorRequiresExactMatch(reqs, "metadata.name")).toBe("c1");
    expect(fieldSelectorRequiresExactMatch(reqs, "spec.a")).toBe("b");
    expect(fieldSelectorRequiresExactMatch(reqs, "metadata.namespace")).toBeUndefined();
    expect(fieldSelectorRequiresExactMatch(reqs, "other")).toBeUndefined();
  });

  test("checkFieldSelectorFields", () => {
    const reqs = parseFieldSelector("metadata.name=c1,spec.foo=x");
    expect(() => checkFieldSelectorFields(reqs, ["metadata.name", "spec.foo"])).not.toThrow();
    expect(() => checkFieldSelectorFields(reqs, new Set(["metadata.name", "spec.foo"]))).not.toThrow();
    expect(errorOf(() => checkFieldSelectorFields(reqs, ["metadata.name", "metadata.namespace"])).message).toBe(
      "field label not supported: spec.foo",
    );
  });
});
