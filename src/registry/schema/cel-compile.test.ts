import { describe, expect, it } from "bun:test";
import { type CT, compileExpr, prim, rewriteOptionalSyntax, schemaType } from "./cel-compile.ts";
import type { JSONSchemaProps } from "./types.ts";

const spec: JSONSchemaProps = {
  type: "object",
  properties: {
    name: { type: "string" },
    count: { type: "integer" },
    tags: { type: "array", items: { type: "string" } },
    labels: { type: "object", additionalProperties: { type: "string" } },
    raw: { "x-kubernetes-preserve-unknown-fields": true },
  },
};
const scope = (): Map<string, CT> => new Map([["self", schemaType(spec, false)]]);

describe("rewriteOptionalSyntax", () => {
  it("rewrites .? and [? outside string literals", () => {
    expect(rewriteOptionalSyntax("self.?a == 'x.?y' && m[?'k'] == [1][0]")).toBe(
      "self.__optional_select__('a') == 'x.?y' && m.__optional_index__('k') == [1][0]",
    );
    expect(rewriteOptionalSyntax('r"a[?b" + x.?y')).toBe("r\"a[?b\" + x.__optional_select__('y')");
  });

  it("leaves expressions without optionals unchanged", () => {
    expect(rewriteOptionalSyntax("a.b ? c : d")).toBe("a.b ? c : d");
  });
});

describe("compileExpr", () => {
  it("returns a program for valid expressions", () => {
    const c = compileExpr("self.count > 0 && self.tags.all(t, t.size() < 10) && self.labels['a'] == 'b'", scope(), "bool");
    expect(c.error).toBeUndefined();
    expect(typeof c.program).toBe("function");
  });

  it("reports syntax errors in cel-go's format", () => {
    expect(compileExpr("self.count >", scope(), "bool").error).toBe(
      "compilation failed: ERROR: <input>:1:12: Syntax error: found > but expecting end of input\n | self.count >\n | ...........^",
    );
  });

  it("locates issues on later lines", () => {
    expect(compileExpr("self.count > 0 &&\n  self.nme == ''", scope(), "bool").error).toBe(
      "compilation failed: ERROR: <input>:2:7: undefined field 'nme'\n |   self.nme == ''\n | ......^",
    );
  });

  it("types comprehension variables from the list's items", () => {
    expect(compileExpr("self.tags.exists(t, t.nope == 1)", scope(), "bool").error).toContain("type 'string' does not support field selection");
  });

  it("hides fields without a CEL type", () => {
    expect(compileExpr("has(self.raw)", scope(), "bool").error).toContain("undefined field 'raw'");
  });

  it("checks the result type", () => {
    expect(compileExpr("self.count + 1", scope(), "bool").error).toBe("cel expression must evaluate to a bool");
    expect(compileExpr("self.name + '!'", scope(), "string").error).toBeUndefined();
    expect(compileExpr("self.count", scope(), "string").error).toBe("messageExpression must evaluate to a string");
    expect(compileExpr("self.labels['a']", scope(), "string").error).toBeUndefined();
  });

  it("accepts the optional type for optionalOldSelf", () => {
    const s = scope();
    s.set("oldSelf", prim("optional"));
    expect(compileExpr("!oldSelf.hasValue() || oldSelf.value().count <= self.count", s, "bool").error).toBeUndefined();
  });
});
