import { afterEach, describe, expect, test } from "bun:test";
import type { KObject } from "../../../lib/kobject.ts";
import * as F from "./fixtures.ts";
import { capiConverters, CLUSTER_NAME_LABEL_SET_ANNOTATION, CONVERSION_DATA_ANNOTATION, setRefVersionResolver, withoutConversionData } from "./index.ts";

const CORE = "cluster.x-k8s.io";
const IPAM = "ipam.cluster.x-k8s.io";

type Any = Record<string, any>;

function convert(o: KObject, to: string): KObject {
  const gv = String(o.apiVersion);
  const group = gv.slice(0, gv.lastIndexOf("/"));
  const fn = capiConverters[`${group}/${o.kind}`];
  if (!fn) throw new Error(`no converter for ${o.kind}`);
  return fn(o, `${group}/${to}`);
}

/** The plain conversion upstream's webhook performs: no kept data in, annotation dropped from the result. */
function plain(o: KObject, to: string): Any {
  return withoutConversionData(convert(withoutConversionData(o), to)) as Any;
}

function data(o: KObject): Any | undefined {
  const raw = o.metadata.annotations?.[CONVERSION_DATA_ANNOTATION];
  return raw === undefined ? undefined : JSON.parse(raw);
}

afterEach(() => setRefVersionResolver(undefined));

describe("MachineDeployment", () => {
  test("v1beta1 strategy/rollout/remediation/deletePolicy land in their v1beta2 places", () => {
    const hub = plain(F.machineDeploymentV1Beta1, "v1beta2");
    expect(hub.spec.rollout).toEqual({
      after: "2025-02-01T10:20:30Z",
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    });
    expect(hub.spec.rollout.strategy.rollingUpdate.maxSurge).toBe(1);
    expect(hub.spec.deletion).toEqual({ order: "Oldest" });
    expect(hub.spec.remediation).toEqual({ maxInFlight: "50%" });
    expect(hub.spec.machineNaming).toEqual({ template: "{{ .machineSet.name }}-{{ .random }}" });
    expect(hub.spec.template.spec.minReadySeconds).toBe(20);
    expect(hub.spec.paused).toBe(true);
    for (const gone of ["strategy", "rolloutAfter", "minReadySeconds", "machineNamingStrategy", "revisionHistoryLimit", "progressDeadlineSeconds"]) {
      expect(hub.spec[gone]).toBeUndefined();
    }
    expect(hub.spec.template.spec.deletion).toEqual({ nodeDrainTimeoutSeconds: 600, nodeVolumeDetachTimeoutSeconds: 180, nodeDeletionTimeoutSeconds: 45 });
  });

  test("v1beta1 replica counters move to deprecated.v1beta1; v1beta2 ones come from status.v1beta2", () => {
    const hub = plain(F.machineDeploymentV1Beta1, "v1beta2");
    expect(hub.status.replicas).toBe(3);
    expect(hub.status.readyReplicas).toBe(3);
    expect(hub.status.availableReplicas).toBe(2);
    expect(hub.status.upToDateReplicas).toBe(1);
    expect(hub.status.deprecated.v1beta1).toEqual({
      conditions: (F.machineDeploymentV1Beta1.status as Any).conditions,
      updatedReplicas: 2,
      readyReplicas: 3,
      availableReplicas: 3,
      unavailableReplicas: 0,
    });
    expect(hub.status.conditions).toEqual((F.machineDeploymentV1Beta1.status as Any).v1beta2.conditions);
    expect(hub.status.updatedReplicas).toBeUndefined();
    expect(hub.status.v1beta2).toBeUndefined();
  });

  test("v1beta2 → v1beta1 rebuilds strategy from rollout, deletion order and remediation", () => {
    const hub: KObject = {
      ...structuredClone(F.machineDeploymentV1Beta2),
      spec: {
        ...(structuredClone(F.machineDeploymentV1Beta2.spec) as Any),
        rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "20%", maxUnavailable: 0 } } },
      },
    };
    const spoke = plain(hub, "v1beta1");
    expect(spoke.spec.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0, maxSurge: "20%", deletePolicy: "Random" },
      remediation: { maxInFlight: 1 },
    });
    expect(spoke.spec.minReadySeconds).toBe(0); // a *0 stays explicit (pointer in both versions)
    expect(spoke.spec.paused).toBeUndefined(); // false ⇒ omitted
    expect(spoke.spec.template.spec.nodeDrainTimeout).toBe("596523h14m7s");
    expect(spoke.status).toMatchObject({ replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 1, unavailableReplicas: 1 });
    expect(spoke.status.v1beta2).toEqual({
      conditions: (F.machineDeploymentV1Beta2.status as Any).conditions,
      readyReplicas: 2,
      availableReplicas: 2,
      upToDateReplicas: 2,
    });
  });

  test("only deletion.order set still creates strategy.rollingUpdate.deletePolicy", () => {
    const hub: KObject = {
      apiVersion: `${CORE}/v1beta2`,
      kind: "MachineDeployment",
      metadata: { name: "x", namespace: "n" },
      spec: { clusterName: "c", deletion: { order: "Newest" } },
    };
    expect(plain(hub, "v1beta1").spec.strategy).toEqual({ rollingUpdate: { deletePolicy: "Newest" } });
  });

  test("v1beta1 status without counters gets the Go zero values", () => {
    const spoke = plain({ ...structuredClone(F.machineDeploymentV1Beta2), status: {} }, "v1beta1");
    expect(spoke.status).toEqual({ replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0, unavailableReplicas: 0 });
  });
});

describe("MachineHealthCheck", () => {
  test("nodeStartupTimeout: 10m → checks.nodeStartupTimeoutSeconds: 600 and the other v1beta1 fields", () => {
    const hub = plain(F.machineHealthCheckV1Beta1, "v1beta2");
    expect(hub.spec.checks).toEqual({
      nodeStartupTimeoutSeconds: 600,
      unhealthyNodeConditions: [
        { type: "Ready", status: "Unknown", timeoutSeconds: 300 },
        { type: "Ready", status: "False", timeoutSeconds: 300 },
      ],
      unhealthyMachineConditions: [{ type: "example.com/Healthy", status: "False", timeoutSeconds: 5400 }],
    });
    expect(hub.spec.remediation).toEqual({
      triggerIf: { unhealthyLessThanOrEqualTo: "40%", unhealthyInRange: "[1-4]" },
      templateRef: { kind: "DockerMachineTemplate", name: "rem", apiVersion: "infrastructure.cluster.x-k8s.io/v1beta1" },
    });
    for (const gone of ["unhealthyConditions", "unhealthyMachineConditions", "maxUnhealthy", "unhealthyRange", "nodeStartupTimeout", "remediationTemplate"]) {
      expect(hub.spec[gone]).toBeUndefined();
    }
    // int32 counters become pointers: 0 ⇒ unset (currentHealthy: 0 in the fixture).
    expect(hub.status.expectedMachines).toBe(3);
    expect(hub.status.currentHealthy).toBeUndefined();
    expect(hub.status.remediationsAllowed).toBe(1);
  });

  test("v1beta2 → v1beta1 renders durations the Go way and namespaces the remediation template", () => {
    const spoke = plain(F.machineHealthCheckV1Beta2, "v1beta1");
    expect(spoke.spec).toEqual({
      clusterName: "c2",
      selector: { matchLabels: { a: "b" } },
      unhealthyConditions: [{ type: "Ready", status: "Unknown", timeout: "5m0s" }],
      unhealthyMachineConditions: [{ type: "example.com/Healthy", status: "False", timeout: "1m0s" }],
      nodeStartupTimeout: "0s",
      maxUnhealthy: 2,
      unhealthyRange: "[0-2]",
      remediationTemplate: { kind: "DockerMachineTemplate", namespace: "ns1", name: "rem", apiVersion: "infrastructure.cluster.x-k8s.io/v1beta2" },
    });
    expect(spoke.status).toEqual({
      conditions: (F.machineHealthCheckV1Beta2.status as Any).deprecated.v1beta1.conditions,
      expectedMachines: 0,
      currentHealthy: 2,
      remediationsAllowed: 0,
      observedGeneration: 1,
      targets: ["a"],
      v1beta2: { conditions: (F.machineHealthCheckV1Beta2.status as Any).conditions },
    });
  });

  test("an explicit 0 counter in the hub survives a v1beta1 round trip through the annotation", () => {
    const back = convert(convert(F.machineHealthCheckV1Beta2, "v1beta1"), "v1beta2") as Any;
    expect(back.status.expectedMachines).toBe(0);
    expect(back.status.remediationsAllowed).toBe(0);
  });
});

describe("Machine", () => {
  test("v1beta1 → v1beta2: refs, deletion timeouts, status moves", () => {
    const hub = plain(F.machineV1Beta1, "v1beta2");
    expect(hub.spec.infrastructureRef).toEqual({ apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachine", name: "m1" });
    expect(hub.spec.bootstrap).toEqual({
      configRef: { apiGroup: "bootstrap.cluster.x-k8s.io", kind: "KubeadmConfig", name: "m1" },
      dataSecretName: "m1-bootstrap",
    });
    expect(hub.spec.deletion).toEqual({ nodeDrainTimeoutSeconds: 600, nodeVolumeDetachTimeoutSeconds: 330, nodeDeletionTimeoutSeconds: 1 });
    expect(hub.spec.nodeDrainTimeout).toBeUndefined();
    expect(hub.status.nodeRef).toEqual({ name: "node-1" });
    expect(hub.status.initialization).toEqual({ bootstrapDataSecretCreated: true });
    expect(hub.status.bootstrapReady).toBeUndefined();
    expect(hub.status.deprecated).toEqual({
      v1beta1: { conditions: (F.machineV1Beta1.status as Any).conditions, failureReason: "UpdateError", failureMessage: "broken" },
    });
    expect(hub.status.conditions).toEqual((F.machineV1Beta1.status as Any).v1beta2.conditions);
    expect(hub.status.failureReason).toBeUndefined();
  });

  test("v1beta2 → v1beta1: resolved ref versions, object namespace, Node ref, phase, hub-only fields dropped", () => {
    const spoke = plain(F.machineV1Beta2, "v1beta1");
    expect(spoke.spec.infrastructureRef).toEqual({
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
      kind: "ProxmoxMachine",
      namespace: "ns1",
      name: "m2",
    });
    expect(spoke.spec.bootstrap.configRef.apiVersion).toBe("bootstrap.cluster.x-k8s.io/v1beta2");
    expect(spoke.spec.nodeDrainTimeout).toBe("0s");
    expect(spoke.spec.nodeVolumeDetachTimeout).toBe("5m30s");
    expect(spoke.spec.nodeDeletionTimeout).toBe("10s");
    expect(spoke.spec.minReadySeconds).toBeUndefined();
    expect(spoke.status.nodeRef).toEqual({ apiVersion: "v1", kind: "Node", name: "node-2" });
    expect(spoke.status.phase).toBe("Running"); // Updating does not exist in v1beta1
    expect(spoke.status.bootstrapReady).toBe(true);
    expect(spoke.status.infrastructureReady).toBe(false);
    expect(spoke.status.failureDomain).toBeUndefined();
    expect(spoke.status.failureReason).toBe("CreateError");
    expect(spoke.status.v1beta2).toEqual({ conditions: (F.machineV1Beta2.status as Any).conditions });
  });

  test("hub-only fields come back from the annotation (minReadySeconds, status.failureDomain, phase Updating, explicit false)", () => {
    const spoke = convert(F.machineV1Beta2, "v1beta1");
    const payload = data(spoke);
    expect(payload?.apiVersion).toBe("cluster.x-k8s.io/v1beta2");
    expect(payload?.kind).toBe("Machine");
    expect(payload?.metadata).toBeUndefined();
    const back = convert(spoke, "v1beta2") as Any;
    expect(back.spec.minReadySeconds).toBe(30);
    expect(back.status.failureDomain).toBe("fd2");
    expect(back.status.phase).toBe("Updating");
    expect(back.status.initialization).toEqual({ infrastructureProvisioned: false, bootstrapDataSecretCreated: true });
  });
});

describe("MachineSet", () => {
  test("minReadySeconds, deletePolicy and naming move; counters move", () => {
    const hub = plain(F.machineSetV1Beta1, "v1beta2");
    expect(hub.spec.template.spec.minReadySeconds).toBe(10);
    expect(hub.spec.deletion).toEqual({ order: "Newest" });
    expect(hub.spec.machineNaming).toEqual({ template: "{{ .machineSet.name }}-{{ .random }}" });
    expect(hub.status.deprecated.v1beta1).toMatchObject({ fullyLabeledReplicas: 3, readyReplicas: 2, availableReplicas: 1, failureReason: "InvalidConfiguration" });
    expect(hub.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 2, upToDateReplicas: 3 });

    const spoke = plain(F.machineSetV1Beta2, "v1beta1");
    expect(spoke.spec.minReadySeconds).toBeUndefined(); // *0 ⇒ 0 ⇒ omitted
    expect(spoke.spec.deletePolicy).toBe("Random");
    expect(spoke.spec.machineNamingStrategy).toEqual({ template: "{{ .machineSet.name }}-x-{{ .random }}" });
    expect(spoke.spec.template.spec.nodeDeletionTimeout).toBe("20s");
    expect(spoke.status).toMatchObject({ replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, failureReason: "UpdateError" });
  });

  test("upstream marshals no hub data into a v1beta1 MachineSet; only a lossy one gets it", () => {
    const hub = withoutConversionData(convert(F.machineSetV1Beta1, "v1beta2"));
    expect(convert(hub, "v1beta1").metadata.annotations?.[CONVERSION_DATA_ANNOTATION]).toBeUndefined();
    // template.spec.minReadySeconds: 0 and an unset status.replicas cannot be told apart in v1beta1.
    const lossy = convert(F.machineSetV1Beta2, "v1beta1");
    expect(data(lossy)?.spec.template.spec.minReadySeconds).toBe(0);
  });
});

describe("Cluster", () => {
  test("v1beta1 → v1beta2 spec: refs, topology, health checks, strategies", () => {
    const hub = plain(F.clusterV1Beta1, "v1beta2");
    expect(hub.spec.infrastructureRef).toEqual({ apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxCluster", name: "c1" });
    expect(hub.spec.controlPlaneRef).toEqual({ apiGroup: "controlplane.cluster.x-k8s.io", kind: "KubeadmControlPlane", name: "c1-cp" });
    const topology = hub.spec.topology;
    expect(topology.classRef).toEqual({ name: "quick-start", namespace: "classes" });
    expect(topology.class).toBeUndefined();
    expect(topology.rolloutAfter).toBeUndefined();
    expect(topology.variables).toEqual([
      { name: "cni", value: { kind: "cilium" } },
      { name: "count", value: 3 },
    ]);
    expect(topology.controlPlane.healthCheck.enabled).toBe(true);
    expect(topology.controlPlane.healthCheck.checks.nodeStartupTimeoutSeconds).toBe(600);
    expect(topology.controlPlane.deletion).toEqual({ nodeDrainTimeoutSeconds: 90, nodeVolumeDetachTimeoutSeconds: 120, nodeDeletionTimeoutSeconds: 10 });
    const [md0, md1] = topology.workers.machineDeployments;
    expect(md0.rollout).toEqual({ after: "2025-02-01T10:20:30Z", strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } } });
    expect(md0.deletion.order).toBe("Oldest");
    expect(md0.healthCheck.remediation.maxInFlight).toBe(2);
    expect(md0.healthCheck.enabled).toBe(false);
    expect(md1.healthCheck).toEqual({ remediation: { maxInFlight: "50%" } });
    expect(topology.workers.machinePools[0].deletion).toEqual({ nodeDrainTimeoutSeconds: 60, nodeVolumeDetachTimeoutSeconds: 120, nodeDeletionTimeoutSeconds: 180 });
  });

  test("v1beta1 → v1beta2 status: initialization, failure domains, deprecated, v1beta2 block", () => {
    const hub = plain(F.clusterV1Beta1, "v1beta2");
    expect(hub.status.initialization).toEqual({ infrastructureProvisioned: true });
    expect(hub.status.failureDomains).toEqual([
      { name: "fd1", controlPlane: true, attributes: { zone: "a" } },
      { name: "fd2", controlPlane: false, attributes: { zone: "b" } },
    ]);
    expect(hub.status.deprecated.v1beta1.failureReason).toBe("InvalidConfiguration");
    expect(hub.status.deprecated.v1beta1.failureMessage).toBe("boom");
    expect(hub.status.controlPlane.upToDateReplicas).toBe(2);
    expect(hub.status.workers.readyReplicas).toBe(1);
    expect(hub.status.infrastructureReady).toBeUndefined();
    expect(hub.status.controlPlaneReady).toBeUndefined();
  });

  test("v1beta2 → v1beta1: namespaced refs, failure-domain map, readiness booleans, topology", () => {
    const spoke = plain(F.clusterV1Beta2, "v1beta1");
    expect(spoke.spec.infrastructureRef).toEqual({ apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxCluster", namespace: "ns1", name: "c2" });
    expect(spoke.spec.paused).toBeUndefined();
    expect(spoke.status.failureDomains).toEqual({ "zone-a": { controlPlane: true }, "zone-b": { attributes: { rack: "2" } }, "zone-c": {} });
    expect(spoke.status.infrastructureReady).toBe(false);
    expect(spoke.status.controlPlaneReady).toBe(true);
    expect(spoke.status.v1beta2.controlPlane.versions).toEqual([{ version: "v1.32.0", replicas: 3 }]);
    const t = spoke.spec.topology;
    expect(t.class).toBe("quick-start");
    expect(t.classNamespace).toBe("classes");
    expect(t.controlPlane.machineHealthCheck.remediationTemplate.namespace).toBe("ns1");
    expect(t.controlPlane.nodeDeletionTimeout).toBe("0s");
    const [md0, md1] = t.workers.machineDeployments;
    expect(md0.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0, deletePolicy: "Newest" },
      remediation: { maxInFlight: 3 },
    });
    expect(md0.machineHealthCheck).toEqual({ enable: false, unhealthyConditions: [{ type: "Ready", status: "False", timeout: "5m0s" }], maxUnhealthy: 2 });
    expect(md1.strategy).toEqual({ remediation: { maxInFlight: "10%" } });
    expect(md1.machineHealthCheck).toBeUndefined(); // only maxInFlight was set
  });

  test("the failure-domain order and explicit false values of the hub survive a round trip", () => {
    const back = convert(convert(F.clusterV1Beta2, "v1beta1"), "v1beta2") as Any;
    expect(back.status.failureDomains).toEqual((F.clusterV1Beta2.status as Any).failureDomains);
    expect(back.spec.paused).toBe(false);
    expect(back.status.initialization.infrastructureProvisioned).toBe(false);
  });

  test("the ref version comes from the injected resolver", () => {
    const seen: string[] = [];
    setRefVersionResolver((group, kind) => {
      seen.push(`${group}/${kind}`);
      return kind === "ProxmoxCluster" ? "v1alpha9" : undefined;
    });
    const spoke = plain(F.clusterV1Beta2, "v1beta1");
    expect(spoke.spec.infrastructureRef.apiVersion).toBe("infrastructure.cluster.x-k8s.io/v1alpha9");
    expect(spoke.spec.controlPlaneRef.apiVersion).toBe("controlplane.cluster.x-k8s.io/v1beta2"); // table default
    expect(seen).toContain("infrastructure.cluster.x-k8s.io/ProxmoxCluster");
  });

  test("a v1beta1 ref's own apiVersion, namespace and uid are kept through the hub", () => {
    const hub = convert(F.clusterV1Beta1, "v1beta2");
    expect(data(hub)?.apiVersion).toBe("cluster.x-k8s.io/v1beta1");
    const back = convert(hub, "v1beta1") as Any;
    expect(back.spec.infrastructureRef).toEqual({ apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1", kind: "ProxmoxCluster", name: "c1" });
    expect(back.spec.controlPlaneRef.uid).toBe("6a1f0c3e-0000-4000-8000-000000000001");
  });
});

describe("IPAM", () => {
  test("IPAddress prefix and poolRef.apiGroup", () => {
    const hub = plain(F.ipAddressV1Beta1, "v1beta2");
    expect(hub.spec.prefix).toBe(0); // int → *int32: always set
    const noGroup: KObject = {
      apiVersion: `${IPAM}/v1alpha1`,
      kind: "IPAddress",
      metadata: { name: "a" },
      spec: { claimRef: { name: "c" }, poolRef: { kind: "P", name: "p" }, address: "10.0.0.1", prefix: 8 },
    };
    expect(plain(noGroup, "v1beta2").spec.poolRef).toEqual({ kind: "P", name: "p" });
    const down = plain({ ...structuredClone(F.ipAddressV1Beta2), spec: { address: "1.2.3.4", poolRef: { kind: "P", name: "p" } } }, "v1alpha1");
    expect(down.spec).toEqual({ claimRef: {}, poolRef: { kind: "P", name: "p" }, address: "1.2.3.4", prefix: 0 });
    // Upstream keeps no conversion data for IPAddress; nothing is lost here either.
    expect(convert(F.ipAddressV1Beta2, "v1beta1").metadata.annotations).toBeUndefined();
  });

  test("IPAddressClaim v1beta1 conditions move like the core kinds", () => {
    const hub = plain(F.ipAddressClaimV1Beta1, "v1beta2");
    expect(hub.status.conditions).toEqual((F.ipAddressClaimV1Beta1.status as Any).v1beta2.conditions);
    expect(hub.status.deprecated.v1beta1.conditions).toEqual((F.ipAddressClaimV1Beta1.status as Any).conditions);
    expect(hub.spec.clusterName).toBe("c1");
  });

  test("IPAddressClaim v1alpha1: clusterName ⇄ cluster-name label with the label-set marker", () => {
    const hub: KObject = structuredClone(F.ipAddressClaimV1Beta2);
    const spoke = convert(hub, "v1alpha1");
    expect(spoke.metadata.labels).toEqual({ "cluster.x-k8s.io/cluster-name": "c2" });
    expect(spoke.metadata.annotations?.[CLUSTER_NAME_LABEL_SET_ANNOTATION]).toBe("false");
    expect((spoke.spec as Any).clusterName).toBeUndefined();
    expect((spoke.status as Any).conditions).toEqual((hub.status as Any).deprecated.v1beta1.conditions);
    expect(data(spoke)?.status.conditions).toEqual((hub.status as Any).conditions); // only kept in the annotation
    const back = convert(spoke, "v1beta2");
    expect(back).toEqual(hub);

    const labelled = convert(F.ipAddressClaimV1Alpha1, "v1beta2") as Any;
    expect(labelled.spec.clusterName).toBe("c1");
    expect(labelled.metadata.labels).toEqual({ "cluster.x-k8s.io/cluster-name": "c1" });
    expect(labelled.status.conditions).toBeUndefined();
  });
});

describe("upstream-compatible conversion data on v1beta1 objects", () => {
  for (const [name, o] of [
    ["Cluster", F.clusterV1Beta2],
    ["Machine", F.machineV1Beta2],
    ["MachineDeployment", F.machineDeploymentV1Beta2],
    ["MachineHealthCheck", F.machineHealthCheckV1Beta2],
  ] as const) {
    test(`${name}: the annotation is the hub object without metadata`, () => {
      const spoke = convert(o, "v1beta1");
      const payload = data(spoke) as Any;
      const { metadata: _m, ...body } = o as Any;
      expect(payload).toEqual(body);
      expect(Object.keys(payload).slice(0, 2)).toEqual(["kind", "apiVersion"]);
    });
  }
});
