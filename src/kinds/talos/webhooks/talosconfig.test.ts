import { describe, expect, test } from "bun:test";
import { ApiError } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { talosConfigTemplateV1Beta1, talosConfigV1Beta1 } from "../conversion/fixtures.ts";
import { validateTalosConfig, validateTalosConfigTemplate } from "./talosconfig.ts";

const withSpec = (o: KObject, spec: Record<string, unknown>): KObject => ({ ...structuredClone(o), spec });

function thrown(f: () => unknown): ApiError {
  try {
    f();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("expected an ApiError");
}

describe("TalosConfig validation", () => {
  test("accepts every hostname source upstream knows, and none", () => {
    for (const source of ["", "MachineName", "InfrastructureName"]) {
      expect(validateTalosConfig(withSpec(talosConfigV1Beta1, { generateType: "worker", hostname: { source } }), undefined)).toEqual([]);
    }
    expect(validateTalosConfig(withSpec(talosConfigV1Beta1, { generateType: "worker" }), undefined)).toEqual([]);
  });

  test("refuses another hostname source with upstream's message", () => {
    expect(validateTalosConfig(withSpec(talosConfigV1Beta1, { generateType: "worker", hostname: { source: "NodeName" } }), undefined)).toEqual([
      { reason: "FieldValueInvalid", field: "spec.hostname.source", message: 'Invalid value: "NodeName": valid values are: ["MachineName" "InfrastructureName"]' },
    ]);
  });

  test("the spec is immutable: a plain 400 from the webhook", () => {
    const old = talosConfigV1Beta1;
    const changed = withSpec(old, { ...(old.spec as Record<string, unknown>), talosVersion: "v1.12" });
    const err = thrown(() => validateTalosConfig(changed, old));
    expect(err.code).toBe(400);
    expect(err.message).toBe('admission webhook "vtalosconfig.cluster.x-k8s.io" denied the request: TalosConfig.Spec is immutable');
  });

  test("updates that leave the spec alone pass (labels, status)", () => {
    const old = talosConfigV1Beta1;
    const relabelled: KObject = { ...structuredClone(old), metadata: { ...old.metadata, labels: { a: "b" } }, status: {} };
    expect(validateTalosConfig(relabelled, old)).toEqual([]);
  });
});

describe("TalosConfigTemplate validation", () => {
  test("any spec is accepted on create", () => {
    expect(validateTalosConfigTemplate(talosConfigTemplateV1Beta1, undefined)).toEqual([]);
  });

  test("the spec is immutable: a plain 400 from the webhook", () => {
    const old = talosConfigTemplateV1Beta1;
    const changed = withSpec(old, { template: { spec: { generateType: "worker" } } });
    const err = thrown(() => validateTalosConfigTemplate(changed, old));
    expect(err.code).toBe(400);
    expect(err.message).toBe('admission webhook "vtalosconfigtemplate.cluster.x-k8s.io" denied the request: TalosConfigTemplate.Spec is immutable');
    expect(validateTalosConfigTemplate(structuredClone(old), old)).toEqual([]);
  });
});
