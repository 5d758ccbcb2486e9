import { describe, expect, test } from "bun:test";
import type { KObject } from "../../../lib/kobject.ts";
import { CONVERSION_DATA_ANNOTATION, withoutConversionData } from "../../capi/conversion/preserve.ts";
import { FIXTURES, talosControlPlane } from "./fixtures.ts";
import { BOOTSTRAP_GROUP, talosConverters } from "./index.ts";
import { schemaReport, versionOf } from "./testing.ts";

const OTHER: Record<string, string> = { v1alpha3: "v1beta1", v1beta1: "v1alpha3" };

function convert(o: KObject, version: string): KObject {
  const c = talosConverters[`${BOOTSTRAP_GROUP}/${o.kind}`];
  if (!c) throw new Error(`no converter for ${o.kind}`);
  return c(o, `${BOOTSTRAP_GROUP}/${version}`);
}

describe("fully populated objects round-trip losslessly", () => {
  for (const { name, object } of FIXTURES) {
    const from = versionOf(object);
    const to = OTHER[from] as string;
    test(`${name} → ${to} → ${from}`, () => {
      const before = structuredClone(object);
      const there = convert(object, to);
      expect(object).toEqual(before); // the input is never mutated
      expect(there.apiVersion).toBe(`${BOOTSTRAP_GROUP}/${to}`);
      expect(there.kind).toBe(object.kind);
      const back = convert(there, from);
      if (from === "v1beta1") expect(back.metadata.annotations?.[CONVERSION_DATA_ANNOTATION]).toBeUndefined();
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
  }
  test("TalosControlPlane fixture is valid and prunes nothing", () => {
    expect(schemaReport(talosControlPlane)).toEqual({ pruned: [], invalid: [] });
  });
});
