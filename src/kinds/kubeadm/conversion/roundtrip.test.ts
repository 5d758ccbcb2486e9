import { describe, expect, test } from "bun:test";
import { CONVERSION_DATA_ANNOTATION, withoutConversionData } from "../../capi/conversion/preserve.ts";
import { FIXTURES } from "./fixtures.ts";
import { convert, schemaReport, versionOf } from "./testing.ts";

const OTHER: Record<string, string> = { v1beta1: "v1beta2", v1beta2: "v1beta1" };

describe("fully populated objects round-trip losslessly", () => {
  for (const { name, object } of FIXTURES) {
    const from = versionOf(object);
    const to = OTHER[from] as string;
    test(`${name} → ${to} → ${from}`, () => {
      const before = structuredClone(object);
      const there = convert(object, to);
      expect(object).toEqual(before); // the input is never mutated
      expect(String(there.apiVersion)).toEndWith(`/${to}`);
      expect(there.kind).toBe(object.kind);
      const back = convert(there, from);
      if (from === "v1beta2") expect(back.metadata.annotations?.[CONVERSION_DATA_ANNOTATION]).toBeUndefined();
      expect(withoutConversionData(back)).toEqual(object);
    });

    test(`${name} → ${to} → ${from} → ${to} → ${from} stays stable`, () => {
      let o = convert(object, to);
      o = convert(o, from);
      o = convert(o, to);
      o = convert(o, from);
      expect(withoutConversionData(o)).toEqual(object);
    });
  }
});

describe("fixtures and their conversions are valid in the bundled schemas", () => {
  for (const { name, object } of FIXTURES) {
    const to = OTHER[versionOf(object)] as string;
    test(`${name} (source) is valid and prunes nothing`, () => {
      expect(schemaReport(object)).toEqual({ pruned: [], invalid: [] });
    });
    test(`${name} → ${to} is valid and prunes nothing`, () => {
      expect(schemaReport(convert(object, to))).toEqual({ pruned: [], invalid: [] });
    });
    test(`${name} → ${to} without the kept data, back to ${versionOf(object)}, is valid`, () => {
      expect(schemaReport(convert(withoutConversionData(convert(object, to)), versionOf(object)))).toEqual({ pruned: [], invalid: [] });
    });
  }
});
