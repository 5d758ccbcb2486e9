import { describe, expect, test } from "bun:test";
import type { KObject } from "../../../lib/kobject.ts";
import { CONVERSION_DATA_ANNOTATION, withoutConversionData } from "../../capi/conversion/preserve.ts";
import { FIXTURES } from "./fixtures.ts";
import { capmoxConverters, INFRA_GROUP } from "./index.ts";
import { schemaReport, versionOf } from "./testing.ts";

const OTHER: Record<string, string> = { v1alpha1: "v1alpha2", v1alpha2: "v1alpha1" };

function convert(o: KObject, version: string): KObject {
  const c = capmoxConverters[`${INFRA_GROUP}/${o.kind}`];
  if (!c) throw new Error(`no converter for ${o.kind}`);
  return c(o, `${INFRA_GROUP}/${version}`);
}

describe("fully populated objects round-trip losslessly", () => {
  for (const { name, object } of FIXTURES) {
    const from = versionOf(object);
    const to = OTHER[from];
    test(`${name} → ${to} → ${from}`, () => {
      const before = structuredClone(object);
      const there = convert(object, to);
      expect(object).toEqual(before); // the input is never mutated
      expect(there.apiVersion).toBe(`${INFRA_GROUP}/${to}`);
      expect(there.kind).toBe(object.kind);
      const back = convert(there, from);
      if (from === "v1alpha2") expect(back.metadata.annotations?.[CONVERSION_DATA_ANNOTATION]).toBeUndefined();
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
    const to = OTHER[versionOf(object)];
    test(`${name} (source) is valid and prunes nothing`, () => {
      expect(schemaReport(object)).toEqual({ pruned: [], invalid: [] });
    });
    test(`${name} → ${to} prunes nothing`, () => {
      // Only fields of the target version may come out (the rest is in the annotation); a
      // down-converted v1alpha2 object need not satisfy v1alpha1's rules (upstream neither).
      expect(schemaReport(convert(object, to)).pruned).toEqual([]);
      if (to === "v1alpha2") expect(schemaReport(convert(object, to)).invalid).toEqual([]);
    });
  }
});
