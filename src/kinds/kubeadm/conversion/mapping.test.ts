import { describe, expect, test } from "bun:test";
import type { KObject } from "../../../lib/kobject.ts";
import { CONVERSION_DATA_ANNOTATION, withoutConversionData } from "../../capi/conversion/preserve.ts";
import {
  crsBindingV1Beta1,
  crsV1Beta1,
  crsV1Beta2,
  kcpTemplateV1Beta1,
  kcpV1Beta1,
  kcpV1Beta2,
  kubeadmConfigV1Beta1,
  kubeadmConfigV1Beta2,
  kubeadmSpecV1Beta1,
  metav1Conditions,
  v1beta1Conditions,
} from "./fixtures.ts";
import { argsFromList, argsToList } from "./kubeadm-spec.ts";
import { convert } from "./testing.ts";

type Any = Record<string, any>;
const spec = (o: KObject) => o.spec as Any;
const data = (o: KObject) => JSON.parse(o.metadata.annotations?.[CONVERSION_DATA_ANNOTATION] ?? "null") as Any | null;

describe("extraArgs and kubeletExtraArgs: map ⇄ list of {name, value}", () => {
  test("up: sorted by name, then value (ConvertToArgs)", () => {
    expect(argsToList({ b: "2", a: "1", c: "" })).toEqual([
      { name: "a", value: "1" },
      { name: "b", value: "2" },
      { name: "c", value: "" },
    ]);
  });
  test("down: a later duplicate name wins; a missing value is empty (ConvertFromArgs)", () => {
    expect(argsFromList([{ name: "a", value: "1" }, { name: "a", value: "2" }, { name: "b" }])).toEqual({ a: "2", b: "" });
  });
  test("every component of a KubeadmConfig", () => {
    const cc = spec(convert(kubeadmConfigV1Beta1, "v1beta2")).clusterConfiguration;
    expect(cc.apiServer.extraArgs).toEqual([
      { name: "audit-log-path", value: "/var/log/audit.log" },
      { name: "authorization-mode", value: "Node,RBAC" },
    ]);
    expect(cc.controllerManager.extraArgs).toEqual([{ name: "bind-address", value: "0.0.0.0" }]);
    expect(cc.scheduler.extraArgs).toEqual([{ name: "bind-address", value: "0.0.0.0" }]);
    expect(cc.etcd.local.extraArgs).toEqual([{ name: "listen-metrics-urls", value: "http://0.0.0.0:2381" }]);
    const init = spec(convert(kubeadmConfigV1Beta1, "v1beta2")).initConfiguration;
    expect(init.nodeRegistration.kubeletExtraArgs).toEqual([
      { name: "node-ip", value: "10.10.0.20" },
      { name: "provider-id", value: "proxmox://{{ ds.meta_data.instance_id }}" },
    ]);
    const down = spec(convert(kubeadmConfigV1Beta2, "v1beta1"));
    expect(down.clusterConfiguration.apiServer.extraArgs).toEqual({ "audit-log-path": "/var/log/audit.log", "authorization-mode": "Node,RBAC" });
    expect(down.joinConfiguration.nodeRegistration.kubeletExtraArgs).toEqual({ "provider-id": "proxmox://{{ ds.meta_data.instance_id }}" });
  });
});

describe("durations and timeouts", () => {
  const up = spec(convert(kubeadmConfigV1Beta1, "v1beta2"));
  test("bootstrap token ttl → ttlSeconds", () => {
    expect(up.initConfiguration.bootstrapTokens[0].ttlSeconds).toBe(86400);
    expect(up.initConfiguration.bootstrapTokens[0].ttl).toBeUndefined();
  });
  test("apiServer.timeoutForControlPlane → init and join timeouts.controlPlaneComponentHealthCheckSeconds", () => {
    expect(up.clusterConfiguration.apiServer.timeoutForControlPlane).toBeUndefined();
    expect(up.initConfiguration.timeouts).toEqual({ controlPlaneComponentHealthCheckSeconds: 600 });
    expect(up.joinConfiguration.timeouts).toEqual({ controlPlaneComponentHealthCheckSeconds: 600, tlsBootstrapSeconds: 300 });
  });
  test("discovery.timeout → joinConfiguration.timeouts.tlsBootstrapSeconds", () => {
    expect(up.joinConfiguration.discovery.timeout).toBeUndefined();
  });
  test("down: the v1beta1 places get Go duration strings; other timeouts only in the annotation", () => {
    const down = convert(kubeadmConfigV1Beta2, "v1beta1");
    expect(spec(down).clusterConfiguration.apiServer.timeoutForControlPlane).toBe("10m0s");
    expect(spec(down).joinConfiguration.discovery.timeout).toBe("1m30s");
    expect(spec(down).initConfiguration.bootstrapTokens[0].ttl).toBe("24h0m0s");
    expect(spec(down).initConfiguration.timeouts).toBeUndefined();
    expect(data(down)?.spec.initConfiguration.timeouts.kubeletHealthCheckSeconds).toBe(240);
  });
});

describe("fields one version does not have", () => {
  test("v1beta1-only fields are dropped going up and come back from the annotation", () => {
    const up = convert(kubeadmConfigV1Beta1, "v1beta2");
    const cc = spec(up).clusterConfiguration;
    for (const k of ["clusterName", "kubernetesVersion", "networking"]) expect(cc[k]).toBeUndefined();
    expect(spec(up).useExperimentalRetryJoin).toBeUndefined();
    expect(data(up)?.spec.useExperimentalRetryJoin).toBe(true);
    expect(spec(withoutConversionData(convert(up, "v1beta1")))).toEqual(kubeadmSpecV1Beta1);
  });
  test("empty lists vanish in v1beta2 except nodeRegistration.taints ([] = no taints)", () => {
    const up = spec(convert(kubeadmConfigV1Beta1, "v1beta2"));
    expect(up.joinConfiguration.nodeRegistration.taints).toEqual([]);
    expect(up.clusterConfiguration.scheduler.extraEnvs).toBeUndefined();
  });
});

describe("KubeadmConfig status", () => {
  test("up: ready → initialization.dataSecretCreated, legacy fields → deprecated.v1beta1", () => {
    expect(convert(kubeadmConfigV1Beta1, "v1beta2").status).toEqual({
      conditions: metav1Conditions,
      initialization: { dataSecretCreated: true },
      dataSecretName: "cp-0",
      observedGeneration: 3,
      deprecated: { v1beta1: { conditions: v1beta1Conditions, failureReason: "BootstrapFailed", failureMessage: "boom" } },
    });
  });
  test("down: the reverse; the hub is always marshalled, as upstream", () => {
    const down = convert(kubeadmConfigV1Beta2, "v1beta1");
    expect(down.status).toEqual({
      ready: true,
      dataSecretName: "cp-1",
      failureReason: "BootstrapFailed",
      failureMessage: "boom",
      observedGeneration: 4,
      conditions: v1beta1Conditions,
      v1beta2: { conditions: metav1Conditions },
    });
    expect(data(down)).toMatchObject({ apiVersion: "bootstrap.cluster.x-k8s.io/v1beta2", kind: "KubeadmConfig" });
  });
});

describe("KubeadmControlPlane", () => {
  const up = spec(convert(kcpV1Beta1, "v1beta2"));
  test("machineTemplate: infrastructureRef, readinessGates and timeouts move under machineTemplate.spec", () => {
    expect(up.machineTemplate).toEqual({
      metadata: { labels: { tier: "cp" } },
      spec: {
        infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachineTemplate", name: "cp" },
        readinessGates: [{ conditionType: "Custom" }],
        deletion: { nodeDrainTimeoutSeconds: 600, nodeVolumeDetachTimeoutSeconds: 300, nodeDeletionTimeoutSeconds: 10 },
      },
    });
  });
  test("rolloutStrategy, rolloutAfter, rolloutBefore → rollout; remediationStrategy → remediation; machineNamingStrategy → machineNaming", () => {
    expect(up.rollout).toEqual({ after: "2026-02-01T10:20:30Z", before: { certificatesExpiryDays: 21 }, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } });
    expect(up.remediation).toEqual({ maxRetry: 5, retryPeriodSeconds: 120, minHealthyPeriodSeconds: 7200 });
    expect(up.machineNaming).toEqual({ template: "{{ .kubeadmControlPlane.name }}-{{ .random }}" });
    for (const k of ["rolloutStrategy", "rolloutAfter", "rolloutBefore", "remediationStrategy", "machineNamingStrategy"]) expect(up[k]).toBeUndefined();
  });
  test("down: the infrastructure reference gets the resolved apiVersion and the object's namespace", () => {
    const down = spec(convert(kcpV1Beta2, "v1beta1"));
    expect(down.machineTemplate.infrastructureRef).toEqual({
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
      kind: "ProxmoxMachineTemplate",
      name: "cp",
      namespace: "ns1",
    });
    expect(down.machineTemplate.nodeDrainTimeout).toBe("1m30s");
    expect(down.machineTemplate.taints).toEqual([{ key: "example.com/t", effect: "NoSchedule", propagation: "Always" }]);
    expect(down.remediationStrategy).toEqual({ maxRetry: 3, retryPeriod: "2m0s", minHealthyPeriod: "1h0m0s" });
  });
  test("status: counters, initialized, lastRemediation and conditions", () => {
    expect(convert(kcpV1Beta1, "v1beta2").status).toEqual({
      conditions: metav1Conditions,
      initialization: { controlPlaneInitialized: true },
      selector: "cluster.x-k8s.io/cluster-name=c1,cluster.x-k8s.io/control-plane",
      replicas: 3,
      readyReplicas: 2,
      availableReplicas: 2,
      upToDateReplicas: 3,
      version: "v1.32.0",
      observedGeneration: 7,
      lastRemediation: { machine: "kcp-abcde", retryCount: 1, time: "2026-01-01T00:00:00Z" },
      deprecated: { v1beta1: { conditions: v1beta1Conditions, failureMessage: "boom", updatedReplicas: 3, readyReplicas: 2, unavailableReplicas: 1 } },
    });
    const down = convert(kcpV1Beta2, "v1beta1").status as Any;
    expect(down).toMatchObject({ replicas: 1, updatedReplicas: 1, readyReplicas: 1, unavailableReplicas: 0, initialized: true, ready: true });
    expect(down.v1beta2).toEqual({ conditions: metav1Conditions, readyReplicas: 1, availableReplicas: 1, upToDateReplicas: 1 });
    expect(down.lastRemediation).toEqual({ machine: "kcp2-abcde", retryCount: 2, timestamp: "2026-01-01T00:00:00Z" });
  });
  test("a template's rolloutStrategy without a type becomes RollingUpdate (upstream)", () => {
    const t = spec(convert(kcpTemplateV1Beta1, "v1beta2")).template.spec;
    expect(t.rollout.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } });
    expect(t.machineTemplate).toEqual({ metadata: { labels: { tier: "cp" } }, spec: { deletion: { nodeDrainTimeoutSeconds: 60 } } });
  });
});

describe("ClusterResourceSet(Binding)", () => {
  test("the spec is the same; conditions move", () => {
    const up = convert(crsV1Beta1, "v1beta2");
    expect(up.spec).toEqual(crsV1Beta1.spec);
    expect(up.status).toEqual({ conditions: metav1Conditions, observedGeneration: 2, deprecated: { v1beta1: { conditions: v1beta1Conditions } } });
    expect(convert(crsV1Beta2, "v1beta1").status).toEqual({ observedGeneration: 2, conditions: v1beta1Conditions, v1beta2: { conditions: metav1Conditions } });
  });
  test("no annotation where nothing is lost (upstream marshals neither kind)", () => {
    expect(convert(crsV1Beta2, "v1beta1").metadata.annotations?.[CONVERSION_DATA_ANNOTATION]).toBeUndefined();
    const b = convert(crsBindingV1Beta1, "v1beta2");
    expect(b.spec).toEqual(crsBindingV1Beta1.spec);
    expect(b.metadata.annotations?.[CONVERSION_DATA_ANNOTATION]).toBeUndefined();
  });
});
