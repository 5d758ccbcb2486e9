import { describe, expect, test } from "bun:test";
import type { KObject } from "../../../lib/kobject.ts";
import { FIXTURES } from "./fixtures.ts";
import { capiConverters, CONVERSION_DATA_ANNOTATION, withoutConversionData } from "./index.ts";
import { checkAgainstSchema, groupKindOf, referenceAvailable, upstreamSchema, versionOfObject } from "./testing.ts";

const haveReference = referenceAvailable();
if (!haveReference) console.log("note: /work/shared/reference is absent: schema checks of converted fixtures are skipped");

function converterFor(o: KObject) {
  const converter = capiConverters[groupKindOf(o)];
  if (!converter) throw new Error(`no converter for ${groupKindOf(o)}`);
  return converter;
}

describe("hand-written objects round-trip losslessly", () => {
  for (const fixture of FIXTURES) {
    const from = versionOfObject(fixture.object);
    const group = groupKindOf(fixture.object).split("/")[0];
    for (const to of fixture.versions) {
      if (to === from) continue;
      test(`${fixture.name} → ${to} → ${from}`, () => {
        const convert = converterFor(fixture.object);
        const before = structuredClone(fixture.object);
        const there = convert(fixture.object, `${group}/${to}`);
        expect(fixture.object).toEqual(before); // the input is never mutated
        expect(there.apiVersion).toBe(`${group}/${to}`);
        expect(there.kind).toBe(fixture.object.kind);
        const snapshot = structuredClone(there);
        const back = convert(there, fixture.object.apiVersion as string);
        expect(there).toEqual(snapshot);
        // A hub (v1beta2) result keeps no conversion data when it started as a hub object.
        if (from === "v1beta2") expect(back.metadata.annotations?.[CONVERSION_DATA_ANNOTATION]).toBeUndefined();
        expect(withoutConversionData(back)).toEqual(fixture.object);
      });
    }
  }
});

describe.skipIf(!haveReference)("hand-written objects and their conversions match the upstream schemas", () => {
  for (const fixture of FIXTURES) {
    const gk = groupKindOf(fixture.object);
    const group = gk.split("/")[0];
    test(`${fixture.name} (source) is valid`, () => {
      const schema = upstreamSchema(gk, versionOfObject(fixture.object));
      expect(schema).toBeDefined();
      expect(checkAgainstSchema(fixture.object, schema as object)).toEqual({ pruned: [], invalid: [] });
    });
    for (const to of fixture.versions) {
      if (to === versionOfObject(fixture.object)) continue;
      test(`${fixture.name} → ${to} is valid and prunes nothing`, () => {
        const out = converterFor(fixture.object)(fixture.object, `${group}/${to}`);
        const schema = upstreamSchema(gk, to);
        expect(schema).toBeDefined();
        expect(checkAgainstSchema(out, schema as object)).toEqual({ pruned: [], invalid: [] });
        // The plain conversion (no conversion data kept on the source) is valid as well.
        const plain = converterFor(fixture.object)(withoutConversionData(fixture.object), `${group}/${to}`);
        expect(checkAgainstSchema(plain, schema as object)).toEqual({ pruned: [], invalid: [] });
      });
    }
  }
});

describe("chains through several versions", () => {
  test("IPAddressClaim v1alpha1 → v1beta2 → v1beta1 → v1beta2 → v1alpha1", () => {
    const fixture = FIXTURES.find((f) => f.name === "IPAddressClaim v1alpha1")?.object as KObject;
    const convert = converterFor(fixture);
    let o = convert(fixture, "ipam.cluster.x-k8s.io/v1beta2");
    o = convert(o, "ipam.cluster.x-k8s.io/v1beta1");
    o = convert(o, "ipam.cluster.x-k8s.io/v1beta2");
    o = convert(o, "ipam.cluster.x-k8s.io/v1alpha1");
    expect(withoutConversionData(o)).toEqual(fixture);
  });

  test("v1beta2 → v1beta1 → v1beta2 → v1beta1 → v1beta2 keeps every kind stable", () => {
    for (const fixture of FIXTURES.filter((f) => f.object.apiVersion === "cluster.x-k8s.io/v1beta2")) {
      const convert = converterFor(fixture.object);
      let o = convert(fixture.object, "cluster.x-k8s.io/v1beta1");
      o = convert(o, "cluster.x-k8s.io/v1beta2");
      o = convert(o, "cluster.x-k8s.io/v1beta1");
      o = convert(o, "cluster.x-k8s.io/v1beta2");
      expect(withoutConversionData(o)).toEqual(fixture.object);
    }
  });

  test("v1beta1 → v1beta2 → v1beta1 → v1beta2 → v1beta1 keeps every kind stable", () => {
    for (const fixture of FIXTURES.filter((f) => f.object.apiVersion === "cluster.x-k8s.io/v1beta1")) {
      const convert = converterFor(fixture.object);
      let o = convert(fixture.object, "cluster.x-k8s.io/v1beta2");
      o = convert(o, "cluster.x-k8s.io/v1beta1");
      o = convert(o, "cluster.x-k8s.io/v1beta2");
      o = convert(o, "cluster.x-k8s.io/v1beta1");
      expect(withoutConversionData(o)).toEqual(fixture.object);
    }
  });
});
