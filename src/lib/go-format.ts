/**
 * Go-compatible rendering of JSON values, so messages read exactly as kube-apiserver prints
 * them (field errors, patch and server-side-apply errors): `field.Error` formats a bad value with `%v` (numbers, booleans), `%q` (strings) or `%#v`
 * (maps and slices decoded from JSON), and numbers in kube-openapi messages use `%v`/`%d`.
 * @module
 */

import type { StatusCause } from "./api-errors.ts";

/** Go `%v` of a float64 (strconv 'g', shortest): exponent form when the decimal exponent is < -4 or >= 6. */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const [mant, expText] = v.toExponential().split("e");
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? "-" : "+";
    const abs = Math.abs(exp);
    return `${mant}e${sign}${abs < 10 ? "0" : ""}${abs}`;
  }
  return String(v);
}

/** Go `%v` of a JSON number as unstructured decoding yields it: int64 when integral, else float64. */
export function goNumber(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 9.223372036854776e18) return BigInt(v).toString();
  return goFloat(v);
}

const NON_PRINTABLE = /[\p{C}\p{Z}]/u;

/** Go `strconv.Quote`. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\x07":
        out += "\\a";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) {
      out += `\\x${cp.toString(16).padStart(2, "0")}`;
    } else if (cp !== 0x20 && NON_PRINTABLE.test(ch)) {
      out += cp > 0xffff ? `\\U${cp.toString(16).padStart(8, "0")}` : `\\u${cp.toString(16).padStart(4, "0")}`;
    } else {
      out += ch;
    }
  }
  return `${out}"`;
}

/** Go `%#v` of a value decoded from JSON into `interface{}`. */
export function goSharpV(v: unknown, nested = false): string {
  if (v === null || v === undefined) return nested ? "interface {}(nil)" : "<nil>";
  switch (typeof v) {
    case "string":
      return goQuote(v);
    case "number":
      return goNumber(v);
    case "bigint":
      return v.toString();
    case "boolean":
      return String(v);
  }
  if (Array.isArray(v)) return `[]interface {}{${v.map((x) => goSharpV(x, true)).join(", ")}}`;
  if (typeof v === "object") {
    const entries = Object.keys(v as object)
      .sort()
      .map((k) => `${goQuote(k)}:${goSharpV((v as Record<string, unknown>)[k], true)}`);
    return `map[string]interface {}{${entries.join(", ")}}`;
  }
  return String(v);
}

/** The bad value of a `field.Error` as `ErrorBody` renders it (nil prints as the string "null"). */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return '"null"';
  switch (typeof v) {
    case "string":
      return goQuote(v);
    case "number":
      return goNumber(v);
    case "bigint":
    case "boolean":
      return String(v);
  }
  return goSharpV(v);
}

/** JSON type name of a value as kube-openapi infers it from unstructured data. */
export function jsonType(v: unknown): "null" | "boolean" | "string" | "integer" | "number" | "array" | "object" {
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "boolean":
      return "boolean";
    case "string":
      return "string";
    case "number":
      return Number.isInteger(v) ? "integer" : "number";
    case "bigint":
      return "integer";
  }
  return Array.isArray(v) ? "array" : "object";
}

/** Causes worded like k8s.io/apimachinery field errors, with Go value rendering. */
export const goField = {
  invalid(field: string, value: unknown, detail: string): StatusCause {
    return { reason: "FieldValueInvalid", field, message: `Invalid value: ${goValue(value)}${detail ? `: ${detail}` : ""}` };
  },
  typeInvalid(field: string, value: unknown, detail: string): StatusCause {
    return { reason: "FieldValueTypeInvalid", field, message: `Invalid value: ${goValue(value)}: ${detail}` };
  },
  required(field: string, detail = ""): StatusCause {
    return { reason: "FieldValueRequired", field, message: detail ? `Required value: ${detail}` : "Required value" };
  },
  forbidden(field: string, detail: string): StatusCause {
    return { reason: "FieldValueForbidden", field, message: detail ? `Forbidden: ${detail}` : "Forbidden" };
  },
  duplicate(field: string, value: unknown): StatusCause {
    return { reason: "FieldValueDuplicate", field, message: `Duplicate value: ${goValue(value)}` };
  },
  /** `supported` are already strings, quoted as `field.NotSupported` does. */
  notSupported(field: string, value: unknown, supported: string[]): StatusCause {
    const detail = supported.length ? `: supported values: ${supported.map(goQuote).join(", ")}` : "";
    return { reason: "FieldValueNotSupported", field, message: `Unsupported value: ${goValue(value)}${detail}` };
  },
  tooLong(field: string, max: number): StatusCause {
    return {
      reason: "FieldValueTooLong",
      field,
      message: max >= 0 ? `Too long: may not be more than ${max} bytes` : "Too long: value is too long",
    };
  },
  tooMany(field: string, actual: number, max: number): StatusCause {
    const detail = max >= 0 ? `must have at most ${max} items` : "has too many items";
    return { reason: "FieldValueTooMany", field, message: actual >= 0 ? `Too many: ${actual}: ${detail}` : `Too many: ${detail}` };
  },
};

/** JSON string literal as Go's encoding/json (and jsoniter's std-compatible config) writes it. */
export function goJsonString(s: string): string {
  const j = JSON.stringify(s);
  if (!/[<>&\u2028\u2029]/.test(j)) return j;
  return j.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** JSON text of a decoded JSON value, Go style (HTML-escaped strings, map keys in given order). */
export function goJson(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return goJsonString(v);
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) return `[${v.map(goJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${goJsonString(k)}:${goJson(o[k])}`)
    .join(",")}}`;
}

/** Go's `%v` of a value decoded from JSON into interface{} (maps print with sorted keys). */
export function goV(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  if (typeof v === "string") return v;
  if (typeof v === "number") return goNumber(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) return `[${v.map(goV).join(" ")}]`;
  const o = v as Record<string, unknown>;
  return `map[${Object.keys(o)
    .sort()
    .map((k) => `${k}:${goV(o[k])}`)
    .join(" ")}]`;
}

/** The Go type name a JSON value decodes to (for `%T` and reflect-based messages). */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  if (typeof v === "string") return "string";
  if (typeof v === "number") return Number.isInteger(v) ? "int64" : "float64";
  if (typeof v === "boolean") return "bool";
  if (Array.isArray(v)) return "[]interface {}";
  return "map[string]interface {}";
}

/** encoding/json's name for a JSON value kind in "cannot unmarshal X into Go value" errors. */
export function jsonKindName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  return typeof v; // string, number, boolean
}

export { isPlainObject as isObject } from "./kobject.ts";
