/**
 * Hand-written, schema-valid Talos objects with every field set, for each kind and served version:
 * the round-trip and mapping tests start from these.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { BOOTSTRAP_HUB_API_VERSION, BOOTSTRAP_SPOKE_API_VERSION, CONTROL_PLANE_API_VERSION } from "./common.ts";

const NS = "ns1";
const T1 = "2026-01-01T00:00:00Z";
const T2 = "2026-02-01T10:20:30Z";

/** A TalosConfig spec using every field (valid in both versions). */
export const configSpec = {
  generateType: "controlplane",
  talosVersion: "v1.11",
  data: "",
  configPatches: [
    { op: "add", path: "/machine/install/disk", value: "/dev/vda" },
    { op: "replace", path: "/cluster/network/cni", value: { name: "custom", urls: ["https://example.com/cni.yaml"] } },
    { op: "remove", path: "/machine/features/kubePrism" },
  ],
  strategicPatches: ["machine:\n  kubelet:\n    extraArgs:\n      rotate-server-certificates: \"true\"\n"],
  hostname: { source: "MachineName" },
};

const v1beta1Conditions = [
  { type: "Ready", status: "False", severity: "Warning", lastTransitionTime: T1, reason: "WaitingForClusterInfrastructure", message: "waiting" },
  { type: "DataSecretAvailable", status: "True", lastTransitionTime: T2 },
];
const metav1Conditions = [
  { type: "Ready", status: "True", observedGeneration: 2, lastTransitionTime: T1, reason: "Ready", message: "" },
  { type: "DataSecretAvailable", status: "True", observedGeneration: 2, lastTransitionTime: T2, reason: "Available", message: "secret written" },
];

const meta = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  namespace: NS,
  labels: { "cluster.x-k8s.io/cluster-name": "c1" },
  ...extra,
});

export const talosConfigV1Alpha3: KObject = {
  apiVersion: BOOTSTRAP_SPOKE_API_VERSION,
  kind: "TalosConfig",
  metadata: meta("cp-0"),
  spec: configSpec,
  status: {
    ready: true,
    dataSecretName: "cp-0-bootstrap-data",
    talosConfig: "context: c1\ncontexts:\n  c1:\n    endpoints: []\n",
    failureReason: "InvalidConfiguration",
    failureMessage: "talosVersion is not a version",
    observedGeneration: 2,
    conditions: v1beta1Conditions,
    v1beta2Status: { conditions: metav1Conditions },
  },
};

export const talosConfigV1Beta1: KObject = {
  apiVersion: BOOTSTRAP_HUB_API_VERSION,
  kind: "TalosConfig",
  metadata: meta("worker-0", { annotations: { "example.com/note": "kept" } }),
  spec: { ...configSpec, generateType: "worker", hostname: { source: "InfrastructureName" } },
  status: {
    initialization: { dataSecretCreated: true },
    dataSecretName: "worker-0-bootstrap-data",
    observedGeneration: 4,
    conditions: metav1Conditions,
    deprecated: { v1beta: { conditions: v1beta1Conditions, failureReason: "InvalidConfiguration", failureMessage: "bad patch" } },
  },
};

const templateSpec = { template: { spec: { ...configSpec, generateType: "worker" } } };

export const talosConfigTemplateV1Alpha3: KObject = {
  apiVersion: BOOTSTRAP_SPOKE_API_VERSION,
  kind: "TalosConfigTemplate",
  metadata: meta("workers"),
  spec: templateSpec,
};

export const talosConfigTemplateV1Beta1: KObject = {
  apiVersion: BOOTSTRAP_HUB_API_VERSION,
  kind: "TalosConfigTemplate",
  metadata: meta("workers-b"),
  spec: { template: { spec: { generateType: "none", data: "version: v1alpha1\nmachine:\n  type: worker\n" } } },
};

/** A TalosControlPlane with every spec field set (single version, used by the webhook tests). */
export const talosControlPlane: KObject = {
  apiVersion: CONTROL_PLANE_API_VERSION,
  kind: "TalosControlPlane",
  metadata: meta("cp"),
  spec: {
    replicas: 3,
    version: "v1.33.1",
    infrastructureTemplate: { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxMachineTemplate", name: "cp", namespace: NS },
    controlPlaneConfig: { controlplane: { ...configSpec, talosVersion: "v1.13" } },
    rolloutStrategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } },
  },
};

export const FIXTURES: { name: string; object: KObject }[] = [
  { name: "TalosConfig v1alpha3", object: talosConfigV1Alpha3 },
  { name: "TalosConfig v1beta1", object: talosConfigV1Beta1 },
  { name: "TalosConfigTemplate v1alpha3", object: talosConfigTemplateV1Alpha3 },
  { name: "TalosConfigTemplate v1beta1", object: talosConfigTemplateV1Beta1 },
];
