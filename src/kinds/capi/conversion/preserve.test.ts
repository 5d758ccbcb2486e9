import { describe, expect, test } from "bun:test";
import type { KObject } from "../../../lib/kobject.ts";
import * as F from "./fixtures.ts";
import { capiConverters, CONVERSION_DATA_ANNOTATION, withoutConversionData } from "./index.ts";
import { applyOps, diffOps } from "./preserve.ts";

type Any = KObject & Record<string, any>;

const md = capiConverters["cluster.x-k8s.io/MachineDeployment"] as (o: KObject, v: string) => KObject;
const machine = capiConverters["cluster.x-k8s.io/Machine"] as (o: KObject, v: string) => KObject;
const mhc = capiConverters["cluster.x-k8s.io/MachineHealthCheck"] as (o: KObject, v: string) => KObject;
const V1 = "cluster.x-k8s.io/v1beta1";
const V2 = "cluster.x-k8s.io/v1beta2";

describe("conversion data kept on the hub (v1beta1 writes)", () => {
  test("is written only when the plain mapping would lose something", () => {
    // Canonical durations, a namespaced ref at the resolved version: nothing to keep.
    const canonical: KObject = {
      apiVersion: V1,
      kind: "MachineHealthCheck",
      metadata: { name: "m", namespace: "n" },
      spec: {
        clusterName: "c",
        selector: { matchLabels: { a: "b" } },
        unhealthyConditions: [{ type: "Ready", status: "False", timeout: "5m0s" }],
        nodeStartupTimeout: "10m0s",
        remediationTemplate: { kind: "T", namespace: "n", name: "t", apiVersion: "x.io/v1" },
      },
    };
    const hub = mhc(canonical, V2);
    expect(hub.metadata.annotations).toBeUndefined();
    // "10m" instead of "10m0s" is not what v1beta1 gives back: kept.
    const shortForm = structuredClone(canonical);
    (shortForm.spec as Any).nodeStartupTimeout = "10m";
    const kept = mhc(shortForm, V2);
    const payload = JSON.parse(kept.metadata.annotations?.[CONVERSION_DATA_ANNOTATION] ?? "{}");
    expect(payload.apiVersion).toBe(V1);
    expect(payload.spec.nodeStartupTimeout).toBe("10m");
    expect((mhc(kept, V1).spec as Any).nodeStartupTimeout).toBe("10m");
  });

  test("a change made in v1beta2 wins over the kept v1beta1 value; untouched values still come back", () => {
    const hub = md(F.machineDeploymentV1Beta1, V2) as Any;
    // A v1beta2 client changes the infrastructure template and the drain timeout.
    hub.spec.template.spec.infrastructureRef.name = "t2";
    hub.spec.template.spec.deletion.nodeDrainTimeoutSeconds = 900;
    const spoke = md(hub, V1) as Any;
    expect(spoke.spec.template.spec.infrastructureRef).toEqual({
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
      kind: "ProxmoxMachineTemplate",
      namespace: "ns1",
      name: "t2",
    });
    expect(spoke.spec.template.spec.nodeDrainTimeout).toBe("15m0s");
    // Unchanged: the original spellings and the fields v1beta2 has no place for.
    expect(spoke.spec.template.spec.bootstrap.configRef).toEqual({ apiVersion: "bootstrap.cluster.x-k8s.io/v1beta1", kind: "KubeadmConfigTemplate", name: "t" });
    expect(spoke.spec.template.spec.nodeDeletionTimeout).toBe("45s");
    expect(spoke.spec.revisionHistoryLimit).toBe(1);
    expect(spoke.spec.progressDeadlineSeconds).toBe(600);
  });

  test("a removed structure is not resurrected from kept data", () => {
    const hub = md(F.machineDeploymentV1Beta1, V2) as Any;
    delete hub.spec.rollout; // strategy and rolloutAfter gone
    delete hub.spec.deletion;
    delete hub.spec.remediation;
    const spoke = md(hub, V1) as Any;
    expect(spoke.spec.strategy).toBeUndefined();
    expect(spoke.spec.rolloutAfter).toBeUndefined();
  });

  test("status written by v1beta2 controllers after a v1beta1 create is shown as is", () => {
    const created = structuredClone(F.machineV1Beta1);
    delete created.status;
    const hub = machine(created, V2) as Any;
    hub.status = { initialization: { infrastructureProvisioned: true }, phase: "Running", nodeRef: { name: "n9" } };
    const spoke = machine(hub, V1) as Any;
    expect(spoke.status).toEqual({ nodeRef: { apiVersion: "v1", kind: "Node", name: "n9" }, phase: "Running", bootstrapReady: false, infrastructureReady: true });
    expect(spoke.spec.infrastructureRef.uid).toBe("u-2");
  });
});

describe("conversion data kept on v1beta1 objects (upstream's direction)", () => {
  test("a change made through v1beta1 wins; hub-only values not visible in v1beta1 come back", () => {
    const spoke = machine(F.machineV1Beta2, V1) as Any;
    spoke.spec.version = "v1.33.0";
    spoke.status.phase = "Deleting";
    const hub = machine(spoke, V2) as Any;
    expect(hub.spec.version).toBe("v1.33.0");
    expect(hub.status.phase).toBe("Deleting");
    expect(hub.spec.minReadySeconds).toBe(30);
    expect(hub.status.failureDomain).toBe("fd2");
    expect(hub.metadata.annotations).toBeUndefined();
  });

  test("setting v1beta1 paused/readiness to true is not undone by a kept false", () => {
    const c = capiConverters["cluster.x-k8s.io/Cluster"] as (o: KObject, v: string) => KObject;
    const spoke = c(F.clusterV1Beta2, V1) as Any;
    spoke.spec.paused = true;
    spoke.status.infrastructureReady = true;
    const hub = c(spoke, V2) as Any;
    expect(hub.spec.paused).toBe(true);
    expect(hub.status.initialization).toEqual({ infrastructureProvisioned: true, controlPlaneInitialized: true });
  });

  test("an unreadable annotation is dropped and ignored", () => {
    const spoke = withoutConversionData(machine(F.machineV1Beta2, V1));
    spoke.metadata.annotations = { [CONVERSION_DATA_ANNOTATION]: "{not json", keep: "me" };
    const hub = machine(spoke, V2);
    expect(hub.metadata.annotations).toEqual({ keep: "me" });
  });
});

describe("converter contract", () => {
  test("same version returns an equal copy", () => {
    const out = md(F.machineDeploymentV1Beta2, V2);
    expect(out).toEqual(F.machineDeploymentV1Beta2);
    expect(out).not.toBe(F.machineDeploymentV1Beta2);
  });

  test("unknown versions and groups throw", () => {
    expect(() => md(F.machineDeploymentV1Beta2, "cluster.x-k8s.io/v1alpha4")).toThrow();
    expect(() => md({ ...F.machineDeploymentV1Beta2, apiVersion: "other.io/v1beta2" }, V1)).toThrow();
  });

  test("the input is never mutated (deep-frozen input)", () => {
    const freeze = (v: unknown): unknown => {
      if (v && typeof v === "object") {
        for (const x of Object.values(v)) freeze(x);
        Object.freeze(v);
      }
      return v;
    };
    for (const f of F.FIXTURES) {
      const frozen = freeze(structuredClone(f.object)) as KObject;
      const group = String(f.object.apiVersion).split("/")[0];
      const convert = capiConverters[`${group}/${f.object.kind}`] as (o: KObject, v: string) => KObject;
      for (const v of f.versions) {
        const out = convert(frozen, `${group}/${v}`);
        convert(freeze(out) as KObject, f.object.apiVersion as string);
      }
    }
  });
});

describe("three-way restore primitives", () => {
  test("diffOps treats references as units and arrays index-wise", () => {
    const base = { ref: { kind: "K", name: "n", apiVersion: "g/v2" }, list: [{ t: "5m0s" }, { t: "1s" }] };
    const orig = { ref: { kind: "K", name: "n", apiVersion: "g/v1", uid: "u" }, list: [{ t: "5m" }, { t: "1s" }] };
    expect(diffOps(base, orig)).toEqual([
      { path: ["ref"], from: base.ref, to: orig.ref },
      { path: ["list", 0, "t"], from: "5m0s", to: "5m" },
    ]);
  });

  test("applyOps skips paths whose current value moved on or whose parent is gone", () => {
    const target: Record<string, unknown> = { a: { x: 1 }, list: [{ t: "9m0s" }] };
    applyOps(target, [
      { path: ["a", "x"], from: 1, to: 2 },
      { path: ["list", 0, "t"], from: "5m0s", to: "5m" },
      { path: ["gone", "y"], from: undefined, to: 3 },
      { path: ["a", "z"], from: undefined, to: "new" },
    ]);
    expect(target).toEqual({ a: { x: 2, z: "new" }, list: [{ t: "9m0s" }] });
  });
});
