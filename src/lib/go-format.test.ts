import { describe, expect, it } from "bun:test";
import { goField, goFloat, goNumber, goQuote, goSharpV, goValue, jsonType } from "./go-format.ts";

describe("goFloat (Go %v of a float64)", () => {
  it("prints short decimals as JavaScript does", () => {
    expect(goFloat(0.5)).toBe("0.5");
    expect(goFloat(1.25)).toBe("1.25");
    expect(goFloat(123456)).toBe("123456");
    expect(goFloat(-3.5)).toBe("-3.5");
  });

  it("switches to exponent form at 1e6 and below 1e-4, with a two-digit exponent", () => {
    expect(goFloat(1e6)).toBe("1e+06");
    expect(goFloat(1.5e7)).toBe("1.5e+07");
    expect(goFloat(0.0001)).toBe("0.0001");
    expect(goFloat(0.00001)).toBe("1e-05");
    expect(goFloat(1e21)).toBe("1e+21");
    expect(goFloat(1.2345e-120)).toBe("1.2345e-120");
  });

  it("renders zero, negative zero and non-finite values like Go", () => {
    expect(goFloat(0)).toBe("0");
    expect(goFloat(-0)).toBe("-0");
    expect(goFloat(Number.NaN)).toBe("NaN");
    expect(goFloat(Infinity)).toBe("+Inf");
    expect(goFloat(-Infinity)).toBe("-Inf");
  });
});

describe("goNumber (JSON number as unstructured decoding types it)", () => {
  it("prints integral numbers as int64 digits", () => {
    expect(goNumber(1000000)).toBe("1000000");
    expect(goNumber(-7)).toBe("-7");
    expect(goNumber(1e18)).toBe("1000000000000000000");
  });

  it("prints fractional numbers as float64", () => {
    expect(goNumber(2.5)).toBe("2.5");
    expect(goNumber(1234567.5)).toBe("1.2345675e+06");
  });
});

describe("goQuote (strconv.Quote)", () => {
  it("escapes quotes, backslashes and control characters", () => {
    expect(goQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goQuote("a\nb\tc\x07\x00")).toBe('"a\\nb\\tc\\a\\x00"');
  });

  it("keeps printable Unicode and escapes non-printable code points", () => {
    expect(goQuote("héllo ✓")).toBe('"héllo ✓"');
    expect(goQuote("a\u200bb")).toBe('"a\\u200bb"');
  });
});

describe("goSharpV (Go %#v of decoded JSON)", () => {
  it("renders maps with sorted keys and slices of interfaces", () => {
    expect(goSharpV({ name: "a", b: 1 })).toBe('map[string]interface {}{"b":1, "name":"a"}');
    expect(goSharpV(["a", 1, true, null])).toBe('[]interface {}{"a", 1, true, interface {}(nil)}');
    expect(goSharpV({})).toBe("map[string]interface {}{}");
  });

  it("nests maps inside maps", () => {
    expect(goSharpV({ a: { b: [1.5] } })).toBe('map[string]interface {}{"a":map[string]interface {}{"b":[]interface {}{1.5}}}');
  });
});

describe("goValue (field.Error bad value)", () => {
  it("quotes strings, prints numbers and booleans bare", () => {
    expect(goValue("x")).toBe('"x"');
    expect(goValue(-1)).toBe("-1");
    expect(goValue(1.5)).toBe("1.5");
    expect(goValue(false)).toBe("false");
  });

  it('prints nil as the quoted string "null"', () => {
    expect(goValue(null)).toBe('"null"');
    expect(goValue(undefined)).toBe('"null"');
  });

  it("prints composite values with %#v", () => {
    expect(goValue({ k: "v" })).toBe('map[string]interface {}{"k":"v"}');
  });
});

describe("jsonType", () => {
  it("names the JSON type kube-openapi infers", () => {
    expect(jsonType(null)).toBe("null");
    expect(jsonType(1)).toBe("integer");
    expect(jsonType(1.0)).toBe("integer");
    expect(jsonType(1.5)).toBe("number");
    expect(jsonType("s")).toBe("string");
    expect(jsonType(true)).toBe("boolean");
    expect(jsonType([])).toBe("array");
    expect(jsonType({})).toBe("object");
  });
});

describe("goField", () => {
  it("words causes as k8s.io/apimachinery field errors", () => {
    expect(goField.invalid("spec.x", "object", "failed rule: x")).toEqual({
      reason: "FieldValueInvalid",
      field: "spec.x",
      message: 'Invalid value: "object": failed rule: x',
    });
    expect(goField.required("spec.x")).toEqual({ reason: "FieldValueRequired", field: "spec.x", message: "Required value" });
    expect(goField.required("spec.x", "why")).toEqual({ reason: "FieldValueRequired", field: "spec.x", message: "Required value: why" });
    expect(goField.forbidden("f", "no")).toEqual({ reason: "FieldValueForbidden", field: "f", message: "Forbidden: no" });
    expect(goField.duplicate("f[1]", { name: "a" })).toEqual({
      reason: "FieldValueDuplicate",
      field: "f[1]",
      message: 'Duplicate value: map[string]interface {}{"name":"a"}',
    });
    expect(goField.notSupported("f", 3, ["1", "2"])).toEqual({
      reason: "FieldValueNotSupported",
      field: "f",
      message: 'Unsupported value: 3: supported values: "1", "2"',
    });
    expect(goField.tooLong("f", 5).message).toBe("Too long: may not be more than 5 bytes");
    expect(goField.tooMany("f", 4, 3).message).toBe("Too many: 4: must have at most 3 items");
    expect(goField.typeInvalid("f", "string", "d")).toEqual({ reason: "FieldValueTypeInvalid", field: "f", message: 'Invalid value: "string": d' });
  });
});
