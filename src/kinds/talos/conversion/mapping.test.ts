import { describe, expect, test } from "bun:test";
import type { KObject } from "../../../lib/kobject.ts";
import { CONVERSION_DATA_ANNOTATION, withoutConversionData } from "../../capi/conversion/preserve.ts";
import { configSpec, talosConfigTemplateV1Alpha3, talosConfigV1Alpha3, talosConfigV1Beta1 } from "./fixtures.ts";
import { BOOTSTRAP_GROUP, talosConverters } from "./index.ts";

const tc = talosConverters[`${BOOTSTRAP_GROUP}/TalosConfig`]!;
const tct = talosConverters[`${BOOTSTRAP_GROUP}/TalosConfigTemplate`]!;
const V1A3 = `${BOOTSTRAP_GROUP}/v1alpha3`;
const V1B1 = `${BOOTSTRAP_GROUP}/v1beta1`;

const data = (o: KObject) => JSON.parse(o.metadata.annotations?.[CONVERSION_DATA_ANNOTATION] ?? "null") as Record<string, unknown> | null;

describe("TalosConfig v1alpha3 → v1beta1", () => {
  const hub = tc(talosConfigV1Alpha3, V1B1);
  test("the spec is copied as is", () => {
    expect(hub.spec).toEqual(configSpec);
  });
  test("the status moves to the v1beta2-contract places", () => {
    const s = talosConfigV1Alpha3.status as Record<string, any>;
    expect(hub.status).toEqual({
      initialization: { dataSecretCreated: true },
      dataSecretName: "cp-0-bootstrap-data",
      observedGeneration: 2,
      conditions: s.v1beta2Status.conditions,
      deprecated: { v1beta: { conditions: s.conditions, failureReason: s.failureReason, failureMessage: s.failureMessage } },
    });
  });
  test("the deprecated talosConfig, which v1beta1 has no place for, travels in the annotation", () => {
    expect(data(hub)?.status).toMatchObject({ talosConfig: (talosConfigV1Alpha3.status as Record<string, unknown>).talosConfig });
  });
  test("ready false and an empty dataSecretName leave nothing behind", () => {
    const o: KObject = { ...talosConfigV1Alpha3, status: { ready: false, dataSecretName: "" } };
    const out = tc(o, V1B1);
    expect(out.status).toBeUndefined();
    expect(withoutConversionData(tc(out, V1A3))).toEqual(o); // and still come back
  });
});

describe("TalosConfig v1beta1 → v1alpha3", () => {
  const spoke = tc(talosConfigV1Beta1, V1A3);
  test("legacy fields come back from deprecated.v1beta, new conditions go to v1beta2Status", () => {
    const s = talosConfigV1Beta1.status as Record<string, any>;
    expect(spoke.status).toEqual({
      ready: true,
      dataSecretName: "worker-0-bootstrap-data",
      observedGeneration: 4,
      conditions: s.deprecated.v1beta.conditions,
      failureReason: "InvalidConfiguration",
      failureMessage: "bad patch",
      v1beta2Status: { conditions: s.conditions },
    });
  });
  test("the hub is always marshalled into the spoke, as CABPT does", () => {
    expect(data(spoke)).toMatchObject({ apiVersion: V1B1, kind: "TalosConfig", spec: talosConfigV1Beta1.spec });
    expect(spoke.metadata.annotations?.["example.com/note"]).toBe("kept");
  });
});

describe("TalosConfigTemplate", () => {
  test("converts without loss and without an annotation", () => {
    const hub = tct(talosConfigTemplateV1Alpha3, V1B1);
    expect(hub.spec).toEqual(talosConfigTemplateV1Alpha3.spec);
    expect(hub.metadata.annotations).toBeUndefined();
    expect(tct(hub, V1A3).metadata.annotations).toBeUndefined();
  });
  test("an unknown apiVersion is refused", () => {
    expect(() => tct(talosConfigTemplateV1Alpha3, `${BOOTSTRAP_GROUP}/v1alpha2`)).toThrow(/cannot convert/);
  });
});
