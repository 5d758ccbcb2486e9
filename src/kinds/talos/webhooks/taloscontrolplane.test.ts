import { describe, expect, test } from "bun:test";
import type { KObject } from "../../../lib/kobject.ts";
import { talosControlPlane } from "../conversion/fixtures.ts";
import { mutateTalosControlPlane, validateTalosControlPlane } from "./taloscontrolplane.ts";

type Spec = Record<string, any>;

function tcp(spec: Spec): KObject {
  return { apiVersion: "controlplane.cluster.x-k8s.io/v1alpha3", kind: "TalosControlPlane", metadata: { name: "cp", namespace: "ns1" }, spec };
}

function defaulted(spec: Spec): Spec {
  const o = tcp(structuredClone(spec));
  mutateTalosControlPlane(o, undefined);
  return o.spec as Spec;
}

const MINIMAL = { version: "v1.33.0", infrastructureTemplate: { kind: "ProxmoxMachineTemplate", name: "t" }, controlPlaneConfig: { controlplane: { generateType: "controlplane" } } };

describe("TalosControlPlane defaulting", () => {
  test("fills replicas 1, the template namespace and RollingUpdate with maxSurge 1", () => {
    expect(defaulted(MINIMAL)).toEqual({
      ...MINIMAL,
      replicas: 1,
      infrastructureTemplate: { kind: "ProxmoxMachineTemplate", name: "t", namespace: "ns1" },
      rolloutStrategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } },
    });
  });

  test("prepends v to the version when missing, also to an empty one (as upstream)", () => {
    expect(defaulted({ ...MINIMAL, version: "1.33.0" }).version).toBe("v1.33.0");
    expect(defaulted({ ...MINIMAL, version: "v1.33.0" }).version).toBe("v1.33.0");
    expect(defaulted({ ...MINIMAL, version: "" }).version).toBe("v");
  });

  test("keeps what is set", () => {
    const full = talosControlPlane.spec as Spec;
    expect(defaulted({ ...full, replicas: 0, rolloutStrategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "0" } } })).toEqual({
      ...full,
      replicas: 0,
      rolloutStrategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "0" } },
    });
    expect(defaulted({ ...MINIMAL, infrastructureTemplate: { kind: "K", name: "t", namespace: "other" } }).infrastructureTemplate.namespace).toBe("other");
  });

  test("OnDelete gets no rollingUpdate; a RollingUpdate without maxSurge gets 1", () => {
    expect(defaulted({ ...MINIMAL, rolloutStrategy: { type: "OnDelete" } }).rolloutStrategy).toEqual({ type: "OnDelete" });
    expect(defaulted({ ...MINIMAL, rolloutStrategy: { rollingUpdate: {} } }).rolloutStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } });
  });
});

describe("TalosControlPlane validation", () => {
  test("accepts RollingUpdate, OnDelete and no type", () => {
    for (const type of ["RollingUpdate", "OnDelete", ""]) expect(validateTalosControlPlane(tcp({ ...MINIMAL, rolloutStrategy: { type } }), undefined)).toEqual([]);
    expect(validateTalosControlPlane(tcp(MINIMAL), undefined)).toEqual([]);
  });

  test("refuses another strategy at spec.rolloutStrategy with upstream's message, on create and update", () => {
    const bad = tcp({ ...MINIMAL, rolloutStrategy: { type: "Recreate" } });
    const expected = [{ reason: "FieldValueInvalid", field: "spec.rolloutStrategy", message: 'Invalid value: "Recreate": valid values are: ["RollingUpdate" "OnDelete"]' }];
    expect(validateTalosControlPlane(bad, undefined)).toEqual(expected);
    expect(validateTalosControlPlane(bad, tcp(MINIMAL))).toEqual(expected);
  });
});
