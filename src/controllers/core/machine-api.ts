/**
 * The Machine fields, labels, annotations, condition types and reasons the Machine and
 * MachineHealthCheck controllers read and write (CAPI v1beta2, `api/core/v1beta2`), as TS types
 * written by hand for the fields touched here, plus small accessors.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Condition } from "../../runtime/conditions.ts";
import type { ContractRef } from "./contract.ts";

export const MACHINE_FINALIZER = "machine.cluster.x-k8s.io";

// Labels.
export const MACHINE_SET_NAME_LABEL = "cluster.x-k8s.io/set-name";
export const MACHINE_POOL_NAME_LABEL = "cluster.x-k8s.io/pool-name";
export const MACHINE_CONTROL_PLANE_NAME_LABEL = "cluster.x-k8s.io/control-plane-name";
export const INTERRUPTIBLE_LABEL = "cluster.x-k8s.io/interruptible";
export const POD_DRAIN_LABEL = "cluster.x-k8s.io/drain";

// Annotations on Machines.
export const PRE_DRAIN_HOOK_PREFIX = "pre-drain.delete.hook.machine.cluster.x-k8s.io";
export const PRE_TERMINATE_HOOK_PREFIX = "pre-terminate.delete.hook.machine.cluster.x-k8s.io";
export const EXCLUDE_NODE_DRAINING_ANNOTATION = "machine.cluster.x-k8s.io/exclude-node-draining";
export const EXCLUDE_WAIT_FOR_VOLUME_DETACH_ANNOTATION = "machine.cluster.x-k8s.io/exclude-wait-for-node-volume-detach";
export const CERTIFICATES_EXPIRY_ANNOTATION = "machine.cluster.x-k8s.io/certificates-expiry";
export const SKIP_REMEDIATION_ANNOTATION = "cluster.x-k8s.io/skip-remediation";
export const REMEDIATE_MACHINE_ANNOTATION = "cluster.x-k8s.io/remediate-machine";
export const REVISION_ANNOTATION = "machinedeployment.clusters.x-k8s.io/revision";

// Annotations the Machine controller writes on Nodes.
export const NODE_CLUSTER_NAME_ANNOTATION = "cluster.x-k8s.io/cluster-name";
export const NODE_CLUSTER_NAMESPACE_ANNOTATION = "cluster.x-k8s.io/cluster-namespace";
export const NODE_MACHINE_ANNOTATION = "cluster.x-k8s.io/machine";
export const NODE_OWNER_KIND_ANNOTATION = "cluster.x-k8s.io/owner-kind";
export const NODE_OWNER_NAME_ANNOTATION = "cluster.x-k8s.io/owner-name";
export const LABELS_FROM_MACHINE_ANNOTATION = "cluster.x-k8s.io/labels-from-machine";
export const ANNOTATIONS_FROM_MACHINE_ANNOTATION = "cluster.x-k8s.io/annotations-from-machine";
export const TAINTS_FROM_MACHINE_ANNOTATION = "cluster.x-k8s.io/taints-from-machine";
/** The bookkeeping annotations every managed Node carries (upstream CommonNodeAnnotations). */
export const COMMON_NODE_ANNOTATIONS = [
  NODE_CLUSTER_NAME_ANNOTATION,
  NODE_CLUSTER_NAMESPACE_ANNOTATION,
  NODE_MACHINE_ANNOTATION,
  NODE_OWNER_KIND_ANNOTATION,
  NODE_OWNER_NAME_ANNOTATION,
];

// Which Machine labels and annotations sync to the Node.
export const NODE_ROLE_LABEL_PREFIX = "node-role.kubernetes.io";
export const NODE_RESTRICTION_LABEL_DOMAIN = "node-restriction.kubernetes.io";
export const MANAGED_NODE_LABEL_DOMAIN = "node.cluster.x-k8s.io";
export const MANAGED_NODE_ANNOTATION_DOMAIN = "node.cluster.x-k8s.io";

// Node taints.
export const NODE_UNINITIALIZED_TAINT = { key: "node.cluster.x-k8s.io/uninitialized", effect: "NoSchedule" } as const;
export const NODE_OUTDATED_REVISION_TAINT = { key: "node.cluster.x-k8s.io/outdated-revision", effect: "PreferNoSchedule" } as const;

// v1beta2 condition types on Machines.
export const C = {
  Ready: "Ready",
  Available: "Available",
  UpToDate: "UpToDate",
  Updating: "Updating",
  BootstrapConfigReady: "BootstrapConfigReady",
  InfrastructureReady: "InfrastructureReady",
  NodeReady: "NodeReady",
  NodeHealthy: "NodeHealthy",
  HealthCheckSucceeded: "HealthCheckSucceeded",
  OwnerRemediated: "OwnerRemediated",
  ExternallyRemediated: "ExternallyRemediated",
  Deleting: "Deleting",
  Paused: "Paused",
} as const;

/** Condition types the Machine controller owns (others' conditions are left as they are). */
export const MACHINE_OWNED_CONDITIONS = [
  C.Paused,
  C.Available,
  C.Ready,
  C.UpToDate,
  C.BootstrapConfigReady,
  C.InfrastructureReady,
  C.NodeReady,
  C.NodeHealthy,
  C.Deleting,
  C.Updating,
];

/** v1beta1 condition types the Machine controller owns (under status.deprecated.v1beta1). */
export const MACHINE_OWNED_V1BETA1_CONDITIONS = [
  "Ready",
  "BootstrapReady",
  "InfrastructureReady",
  "NodeHealthy",
  "DrainingSucceeded",
  "PreDrainDeleteHookSucceeded",
  "PreTerminateDeleteHookSucceeded",
  "VolumeDetachSucceeded",
];

export interface MachineTaint {
  key: string;
  value?: string;
  effect: string;
  propagation?: "Always" | "OnInitialization";
}

export interface MachineSpec {
  clusterName: string;
  bootstrap?: { configRef?: ContractRef; dataSecretName?: string };
  infrastructureRef: ContractRef;
  version?: string;
  providerID?: string;
  failureDomain?: string;
  minReadySeconds?: number;
  readinessGates?: { conditionType: string; polarity?: "Positive" | "Negative" }[];
  deletion?: { nodeDrainTimeoutSeconds?: number; nodeVolumeDetachTimeoutSeconds?: number; nodeDeletionTimeoutSeconds?: number };
  taints?: MachineTaint[];
}

export interface MachineStatus {
  conditions?: Condition[];
  nodeRef?: { name?: string };
  nodeInfo?: Record<string, unknown>;
  lastUpdated?: string;
  addresses?: { type: string; address: string }[];
  failureDomain?: string;
  phase?: string;
  certificatesExpiryDate?: string;
  observedGeneration?: number;
  initialization?: { bootstrapDataSecretCreated?: boolean; infrastructureProvisioned?: boolean };
  deletion?: {
    nodeDrainStartTime?: string;
    waitForNodeVolumeDetachStartTime?: string;
    waitForPreDrainHookStartTime?: string;
    waitForPreTerminateHookStartTime?: string;
  };
  deprecated?: { v1beta1?: { conditions?: unknown[]; failureReason?: string; failureMessage?: string } };
}

export function machineSpec(m: KObject): MachineSpec {
  return ((m.spec as MachineSpec | undefined) ??= {} as MachineSpec) as MachineSpec;
}

export function machineStatus(m: KObject): MachineStatus {
  return ((m.status as MachineStatus | undefined) ??= {}) as MachineStatus;
}

export function nodeRefName(m: KObject): string | undefined {
  return (m.status as MachineStatus | undefined)?.nodeRef?.name || undefined;
}

export function isControlPlaneMachine(m: KObject): boolean {
  return "cluster.x-k8s.io/control-plane" in (m.metadata.labels ?? {});
}

export function hasAnnotation(o: KObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o.metadata.annotations ?? {}, key);
}

/** Sorted annotation keys under `prefix` (hook annotations are `<prefix>/<name>`). */
export function annotationsWithPrefix(o: KObject, prefix: string): string[] {
  return Object.keys(o.metadata.annotations ?? {})
    .filter((k) => k.startsWith(prefix))
    .sort();
}

/** Parses an RFC 3339 time; undefined when missing or invalid. */
export function parseTime(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** `status.initialization.infrastructureProvisioned` of a Cluster. */
export function clusterInfrastructureProvisioned(cluster: KObject | undefined): boolean {
  return (cluster?.status as { initialization?: { infrastructureProvisioned?: boolean } } | undefined)?.initialization?.infrastructureProvisioned === true;
}

/** A Cluster's v1beta2 condition of `type`, if set. */
export function clusterCondition(cluster: KObject | undefined, type: string): Condition | undefined {
  return (cluster?.status as { conditions?: Condition[] } | undefined)?.conditions?.find((c) => c.type === type);
}

/** Control plane initialized: the ControlPlaneInitialized condition or the sticky status field. */
export function clusterControlPlaneInitialized(cluster: KObject | undefined): boolean {
  if (clusterCondition(cluster, "ControlPlaneInitialized")?.status === "True") return true;
  return (cluster?.status as { initialization?: { controlPlaneInitialized?: boolean } } | undefined)?.initialization?.controlPlaneInitialized === true;
}

/** Go-style duration text for whole seconds (`10m0s`, `1h0m0s`, `30s`), as messages use. */
export function goDuration(seconds: number): string {
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * The Paused condition (upstream util/paused): True when the Cluster has `spec.paused` or the
 * object itself carries the paused annotation.
 */
export function pausedCondition(cluster: KObject | undefined, obj: KObject): Omit<Condition, "lastTransitionTime"> {
  const messages: string[] = [];
  if ((cluster?.spec as { paused?: boolean } | undefined)?.paused === true) messages.push("Cluster spec.paused is set to true");
  if (hasAnnotation(obj, "cluster.x-k8s.io/paused")) messages.push(`${obj.kind ?? "Object"} has the cluster.x-k8s.io/paused annotation`);
  if (messages.length) return { type: C.Paused, status: "True", reason: "Paused", message: messages.join(", ") };
  return { type: C.Paused, status: "False", reason: "NotPaused" };
}
