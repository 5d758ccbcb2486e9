/**
 * The Machine's Node (upstream `machine_controller_noderef.go` and the node part of
 * `machine_controller_status.go`): find the Node by providerID in the workload cluster, set
 * `status.nodeRef`/`nodeInfo`, sync labels, annotations and taints from the Machine to the Node,
 * and report NodeReady/NodeHealthy.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { getCondition, setCondition, setV1Beta1Condition, type ConditionStatus } from "../../runtime/conditions.ts";
import { mergeDiff } from "../../runtime/patch-helper.ts";
import { WorkloadNotConnectedError } from "../../providers/workload/http-client.ts";
import type { WorkloadClient } from "../../providers/workload/types.ts";
import {
  ANNOTATIONS_FROM_MACHINE_ANNOTATION,
  C,
  COMMON_NODE_ANNOTATIONS,
  INTERRUPTIBLE_LABEL,
  LABELS_FROM_MACHINE_ANNOTATION,
  MANAGED_NODE_ANNOTATION_DOMAIN,
  MANAGED_NODE_LABEL_DOMAIN,
  NODE_CLUSTER_NAME_ANNOTATION,
  NODE_CLUSTER_NAMESPACE_ANNOTATION,
  NODE_MACHINE_ANNOTATION,
  NODE_OUTDATED_REVISION_TAINT,
  NODE_OWNER_KIND_ANNOTATION,
  NODE_OWNER_NAME_ANNOTATION,
  NODE_RESTRICTION_LABEL_DOMAIN,
  NODE_ROLE_LABEL_PREFIX,
  NODE_UNINITIALIZED_TAINT,
  REVISION_ANNOTATION,
  TAINTS_FROM_MACHINE_ANNOTATION,
  clusterCondition,
  clusterControlPlaneInitialized,
  clusterInfrastructureProvisioned,
  machineSpec,
  machineStatus,
  nodeRefName,
  parseTime,
  type MachineTaint,
} from "./machine-api.ts";
import type { MachineScope, PhaseResult } from "./machine-scope.ts";
import { cloneData } from "../../lib/clone.ts";

const NODE_INFO_REQUIRED = [
  "architecture",
  "bootID",
  "containerRuntimeVersion",
  "kernelVersion",
  "kubeProxyVersion",
  "kubeletVersion",
  "machineID",
  "operatingSystem",
  "osImage",
  "systemUUID",
];

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export function nodeConditions(node: KObject): NodeCondition[] {
  return ((node.status as { conditions?: NodeCondition[] } | undefined)?.conditions ?? []) as NodeCondition[];
}

/** Node Ready is Unknown: the kubelet stopped reporting (upstream noderefutil.IsNodeUnreachable). */
export function isNodeUnreachable(node: KObject): boolean {
  return nodeConditions(node).some((c) => c.type === "Ready" && c.status === "Unknown");
}

function clusterKey(s: MachineScope): string {
  return `${s.machine.metadata.namespace}/${machineSpec(s.machine).clusterName}`;
}

/**
 * The workload cluster's client, once per reconcile: null while the Cluster's infrastructure is not
 * provisioned (upstream's ClusterCache does not connect before that) or its kubeconfig is missing.
 */
export async function remoteClient(s: MachineScope): Promise<WorkloadClient | null> {
  if (s.remote !== undefined) return s.remote;
  if (!s.cluster || !clusterInfrastructureProvisioned(s.cluster)) return (s.remote = null);
  try {
    s.remote = (await s.workloads.forCluster(s.machine.metadata.namespace!, s.cluster.metadata.name!)) ?? null;
  } catch (e) {
    s.log.warn({ err: String(e) }, "could not build a client for the workload cluster");
    s.remote = null;
  }
  return s.remote;
}

/** The Node with `spec.providerID == providerID`; undefined when there is none. */
export async function findNodeByProviderID(remote: WorkloadClient, providerID: string): Promise<KObject | undefined> {
  const nodes = (await remote.listNodes()).filter((n) => (n.spec as { providerID?: string } | undefined)?.providerID === providerID);
  if (nodes.length > 1) throw new Error(`unexpectedly found more than one Node matching the providerID ${providerID}`);
  return nodes[0];
}

export async function reconcileNode(s: MachineScope): Promise<PhaseResult> {
  const m = s.machine;
  const spec = machineSpec(m);
  const status = machineStatus(m);
  if (!spec.providerID) {
    setV1Beta1Condition(m, { type: "NodeHealthy", status: "False", severity: "Info", reason: "WaitingForNodeRef" });
    return {};
  }
  const remote = await remoteClient(s);
  if (!remote) {
    s.nodeGetError = { connectionDown: true, message: "workload cluster is not reachable yet" };
    return { requeueAfter: s.opts.nodeSyncIntervalMs };
  }
  let node: KObject | undefined;
  try {
    node = await findNodeByProviderID(remote, spec.providerID);
    s.lastContact.set(clusterKey(s), Date.now());
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    if (e instanceof WorkloadNotConnectedError) {
      s.nodeGetError = { connectionDown: true, message };
      return { requeueAfter: s.opts.nodeSyncIntervalMs };
    }
    s.nodeGetError = { connectionDown: false, message };
    s.recorder.warning(m, "FailedRetrieveNode", `Failed to retrieve Node by ProviderID: ${message}`);
    setV1Beta1Condition(m, { type: "NodeHealthy", status: "Unknown", reason: "NodeInspectionFailed", message: "Failed to get the Node for this Machine by ProviderID" });
    throw e;
  }
  if (!node) {
    if (m.metadata.deletionTimestamp) return {};
    if (nodeRefName(m)) {
      // The Node went away after it had been seen: NodeDeleted; the MachineHealthCheck acts on it.
      setV1Beta1Condition(m, { type: "NodeHealthy", status: "False", severity: "Error", reason: "NodeNotFound" });
      s.log.info({ node: nodeRefName(m) }, "no matching Node for Machine");
      return pollNode(s);
    }
    setV1Beta1Condition(m, { type: "NodeHealthy", status: "False", severity: "Warning", reason: "NodeProvisioning", message: "Waiting for a node with matching ProviderID to exist" });
    s.log.info({ providerID: spec.providerID }, "infrastructure provider reporting spec.providerID, matching Kubernetes Node is not yet available");
    return pollNode(s);
  }
  s.node = node;
  if (!nodeRefName(m)) {
    status.nodeRef = { name: node.metadata.name! };
    s.log.info({ providerID: spec.providerID, node: node.metadata.name }, "infrastructure provider reporting spec.providerID, Kubernetes Node is now available");
    s.recorder.normal(m, "SuccessfulSetNodeRef", node.metadata.name!);
  }
  const nodeInfo = (node.status as { nodeInfo?: Record<string, unknown> } | undefined)?.nodeInfo;
  if (nodeInfo) {
    // The Machine schema requires every NodeSystemInfo string a kubelet reports.
    const info: Record<string, unknown> = cloneData(nodeInfo);
    for (const k of NODE_INFO_REQUIRED) if (typeof info[k] !== "string") info[k] = "";
    status.nodeInfo = info;
  }

  const labels = managedLabels(m.metadata.labels ?? {});
  const interruptible = (s.infraMachine?.status as { interruptible?: unknown } | undefined)?.interruptible === true;
  if (interruptible) labels[INTERRUPTIBLE_LABEL] = "";
  const hadInterruptible = INTERRUPTIBLE_LABEL in (node.metadata.labels ?? {});
  await patchNode(remote, node, labels, managedAnnotations(m), spec.taints ?? [], nodeOutdated(s));
  if (!hadInterruptible && interruptible) s.recorder.normal(m, "SuccessfulSetInterruptibleNodeLabel", node.metadata.name!);

  if (!s.infraMachine || s.infraMachine.metadata.deletionTimestamp) {
    setV1Beta1Condition(m, { type: "NodeHealthy", status: "False", severity: "Info", reason: "Deleting" });
    return pollNode(s);
  }
  const v1 = summarizeNodeV1Beta1(node);
  if (v1.status === "False") setV1Beta1Condition(m, { type: "NodeHealthy", status: "False", severity: "Warning", reason: "NodeConditionsFailed", message: v1.message });
  else if (v1.status === "Unknown") setV1Beta1Condition(m, { type: "NodeHealthy", status: "Unknown", reason: "NodeConditionsFailed", message: v1.message });
  else setV1Beta1Condition(m, { type: "NodeHealthy", status: "True" });
  return pollNode(s);
}

/** Node changes arrive as watch events when the workload access can watch; otherwise poll. */
function pollNode(s: MachineScope): PhaseResult {
  return s.workloads.onNodeEvent ? {} : { requeueAfter: s.opts.nodeSyncIntervalMs };
}

/** Machine labels synced to the Node: `node-role.kubernetes.io/*`, `*node-restriction.kubernetes.io/*`, `*node.cluster.x-k8s.io/*`. */
export function managedLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    const domain = k.split("/")[0]!;
    if (
      domain === NODE_ROLE_LABEL_PREFIX ||
      domain === NODE_RESTRICTION_LABEL_DOMAIN ||
      domain.endsWith(`.${NODE_RESTRICTION_LABEL_DOMAIN}`) ||
      domain === MANAGED_NODE_LABEL_DOMAIN ||
      domain.endsWith(`.${MANAGED_NODE_LABEL_DOMAIN}`)
    ) {
      out[k] = v;
    }
  }
  return out;
}

/** The bookkeeping annotations plus the Machine's `*node.cluster.x-k8s.io/*` annotations. */
export function managedAnnotations(m: KObject): Record<string, string> {
  const out: Record<string, string> = {
    [NODE_CLUSTER_NAME_ANNOTATION]: machineSpec(m).clusterName,
    [NODE_CLUSTER_NAMESPACE_ANNOTATION]: m.metadata.namespace!,
    [NODE_MACHINE_ANNOTATION]: m.metadata.name!,
  };
  const owner = m.metadata.ownerReferences?.find((r) => r.controller);
  if (owner) {
    out[NODE_OWNER_KIND_ANNOTATION] = owner.kind;
    out[NODE_OWNER_NAME_ANNOTATION] = owner.name;
  }
  for (const [k, v] of Object.entries(m.metadata.annotations ?? {})) {
    const domain = k.split("/")[0]!;
    if (domain === MANAGED_NODE_ANNOTATION_DOMAIN || domain.endsWith(`.${MANAGED_NODE_ANNOTATION_DOMAIN}`)) out[k] = v;
  }
  return out;
}

/** Nodes of an older MachineSet revision than their MachineDeployment get the outdated-revision taint. */
function nodeOutdated(s: MachineScope): boolean {
  if (!s.owningMachineSet || !s.owningMachineDeployment) return false;
  const rev = (o: KObject) => Number.parseInt(o.metadata.annotations?.[REVISION_ANNOTATION] ?? "0", 10) || 0;
  return rev(s.owningMachineSet) < rev(s.owningMachineDeployment);
}

function splitList(v: string | undefined): string[] {
  return v ? v.split(",").filter((x) => x !== "") : [];
}

function sameTaint(a: Taint, b: { key: string; effect: string }): boolean {
  return a.key === b.key && a.effect === b.effect;
}

function removeTaint(taints: Taint[], t: { key: string; effect: string }): boolean {
  const i = taints.findIndex((x) => sameTaint(x, t));
  if (i < 0) return false;
  taints.splice(i, 1);
  return true;
}

function ensureTaint(taints: Taint[], t: Taint): boolean {
  const i = taints.findIndex((x) => sameTaint(x, t));
  if (i < 0) {
    taints.push(t);
    return true;
  }
  if ((taints[i]!.value ?? "") !== (t.value ?? "")) {
    taints[i] = t;
    return true;
  }
  return false;
}

/**
 * Machine taints onto the Node: `Always` ones are tracked in the taints-from-machine annotation
 * (and removed from the Node when the Machine drops them); `OnInitialization` ones are added only
 * before that annotation exists.
 */
export function propagateMachineTaints(annotations: Record<string, string>, taints: Taint[], machineTaints: MachineTaint[]): void {
  const initialized = TAINTS_FROM_MACHINE_ANNOTATION in annotations;
  const old = annotations[TAINTS_FROM_MACHINE_ANNOTATION] ?? "";
  const owned = new Set(splitList(old));
  const always = new Set<string>();
  const onInit = new Set<string>();
  for (const t of machineTaints) {
    const id = `${t.key}:${t.effect}`;
    if (t.propagation === "OnInitialization") onInit.add(id);
    else if (t.propagation === "Always") always.add(id);
    if (t.propagation === "OnInitialization" && initialized) continue;
    ensureTaint(taints, { key: t.key, ...(t.value ? { value: t.value } : {}), effect: t.effect });
  }
  for (const id of owned) {
    if (always.has(id) || onInit.has(id)) continue;
    const i = id.lastIndexOf(":");
    if (i < 0) continue;
    removeTaint(taints, { key: id.slice(0, i), effect: id.slice(i + 1) });
  }
  annotations[TAINTS_FROM_MACHINE_ANNOTATION] = [...always].sort().join(",");
}

/** Labels, annotations and taints the Machine manages on its Node (upstream patchNode), as one merge patch. */
export async function patchNode(
  remote: WorkloadClient,
  node: KObject,
  labels: Record<string, string>,
  annotations: Record<string, string>,
  machineTaints: MachineTaint[],
  outdated: boolean,
): Promise<void> {
  const nodeAnnotations = { ...(node.metadata.annotations ?? {}) };
  const nodeLabels = { ...(node.metadata.labels ?? {}) };
  const taints = cloneData(((node.spec as { taints?: Taint[] } | undefined)?.taints ?? []) as Taint[]);

  const previousAnnotations = [...splitList(nodeAnnotations[ANNOTATIONS_FROM_MACHINE_ANNOTATION]), ...COMMON_NODE_ANNOTATIONS];
  for (const [k, v] of Object.entries(annotations)) nodeAnnotations[k] = v;
  for (const k of previousAnnotations) {
    if (k === ANNOTATIONS_FROM_MACHINE_ANNOTATION) continue;
    if (!(k in annotations)) delete nodeAnnotations[k];
  }
  const previousLabels = splitList(nodeAnnotations[LABELS_FROM_MACHINE_ANNOTATION]);
  for (const [k, v] of Object.entries(labels)) nodeLabels[k] = v;
  for (const k of previousLabels) if (!(k in labels)) delete nodeLabels[k];
  nodeAnnotations[LABELS_FROM_MACHINE_ANNOTATION] = Object.keys(labels).sort().join(",");
  nodeAnnotations[ANNOTATIONS_FROM_MACHINE_ANNOTATION] = Object.keys(annotations)
    .filter((k) => !COMMON_NODE_ANNOTATIONS.includes(k))
    .sort()
    .join(",");

  // Labels are synced: the Node is initialized.
  removeTaint(taints, NODE_UNINITIALIZED_TAINT);
  propagateMachineTaints(nodeAnnotations, taints, machineTaints);
  if (outdated) ensureTaint(taints, { ...NODE_OUTDATED_REVISION_TAINT });
  else removeTaint(taints, NODE_OUTDATED_REVISION_TAINT);

  const before = { metadata: { labels: node.metadata.labels ?? {}, annotations: node.metadata.annotations ?? {} }, spec: { taints: (node.spec as { taints?: Taint[] } | undefined)?.taints ?? [] } };
  const after = { metadata: { labels: nodeLabels, annotations: nodeAnnotations }, spec: { taints } };
  const patch = mergeDiff(before, after) as { metadata?: Record<string, unknown>; spec?: Record<string, unknown> };
  if (!patch.metadata && !patch.spec) return;
  // Optimistic locking, as upstream: a concurrent Node update makes this patch fail and retry.
  if (node.metadata.resourceVersion) patch.metadata = { ...(patch.metadata ?? {}), resourceVersion: node.metadata.resourceVersion };
  await remote.patchNode(node.metadata.name!, patch);
}

/** v1beta1 NodeHealthy summary (upstream summarizeNodeV1beta1Conditions). */
function summarizeNodeV1Beta1(node: KObject): { status: ConditionStatus; message: string } {
  let bad = 0;
  let unknown = 0;
  let message = "";
  for (const c of nodeConditions(node)) {
    const pressure = c.type === "MemoryPressure" || c.type === "DiskPressure" || c.type === "PIDPressure";
    const failing = pressure ? c.status !== "False" : c.type === "Ready" ? c.status !== "True" : false;
    if (!failing) continue;
    message += `Node condition ${c.type} is ${c.status}. `;
    if (c.status === "Unknown") unknown++;
    else bad++;
  }
  message = message.replace(/\. $/, "");
  if (bad > 0) return { status: "False", message };
  if (bad + unknown < 4) return { status: "True", message };
  return { status: "Unknown", message };
}

/** v1beta2 NodeHealthy from Ready, MemoryPressure, DiskPressure, PIDPressure (upstream summarizeNodeConditions). */
export function summarizeNodeConditions(node: KObject): { status: ConditionStatus; reason: string; message: string } {
  let bad = 0;
  let unknown = 0;
  let count = 0;
  const distinct = new Set<string>();
  let messages: string[] = [];
  for (const type of ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]) {
    const c = nodeConditions(node).find((x) => x.type === type);
    if (!c) {
      messages.push(`* Node.${type}: Condition not yet reported`);
      unknown++;
      continue;
    }
    const failing = type === "Ready" ? c.status !== "True" : c.status !== "False";
    if (!failing) continue;
    const msg = c.message || `Condition is ${c.status}`;
    count++;
    distinct.add(msg);
    messages.push(`* Node.${type}: ${msg}`);
    if (c.status === "Unknown") unknown++;
    else bad++;
  }
  if (count > 1 && distinct.size === 1) messages = [`* Node.AllConditions: ${[...distinct][0]}`];
  const message = messages.join("\n");
  if (bad > 0) return { status: "False", reason: "NodeNotHealthy", message };
  if (unknown > 0) return { status: "Unknown", reason: "NodeHealthyUnknown", message };
  return { status: "True", reason: "NodeHealthy", message: "" };
}

function setNodeConditions(m: KObject, status: ConditionStatus, reason: string, message: string): void {
  for (const type of [C.NodeReady, C.NodeHealthy]) setCondition(m, { type, status, reason, message });
}

/** NodeReady and NodeHealthy (upstream setNodeHealthyAndReadyConditions). */
export function setNodeHealthyAndReadyConditions(s: MachineScope, now = Date.now()): void {
  const m = s.machine;
  const spec = machineSpec(m);
  if (!s.cluster || !clusterInfrastructureProvisioned(s.cluster)) {
    setNodeConditions(m, "Unknown", "InspectionFailed", "Waiting for Cluster status.initialization.infrastructureProvisioned to be true");
    return;
  }
  if (!clusterControlPlaneInitialized(s.cluster)) {
    setNodeConditions(m, "Unknown", "InspectionFailed", "Waiting for Cluster control plane to be initialized");
    return;
  }
  const hasBoth = Boolean(getCondition(m, C.NodeReady) && getCondition(m, C.NodeHealthy));
  if (s.nodeGetError?.connectionDown) {
    const last = s.lastContact.get(clusterKey(s));
    if (last === undefined) {
      if (!hasBoth) setNodeConditions(m, "Unknown", "ConnectionDown", "Remote connection not established yet");
      return;
    }
    const cpInit = parseTime(clusterCondition(s.cluster, "ControlPlaneInitialized")?.lastTransitionTime) ?? 0;
    const lastMessage = `Last successful probe at ${new Date(last).toISOString().slice(0, 19)}Z`;
    if (now - Math.max(last, cpInit) > s.opts.remoteConditionsGracePeriodMs) {
      setNodeConditions(m, "Unknown", "ConnectionDown", lastMessage);
    } else if (!hasBoth) {
      setNodeConditions(m, "Unknown", "ConnectionDown", lastMessage);
    }
    return;
  }
  if (s.nodeGetError) {
    setNodeConditions(m, "Unknown", "InternalError", "Please check controller logs for errors");
    return;
  }
  if (s.node) {
    const ready = nodeConditions(s.node).find((c) => c.type === "Ready");
    if (ready) {
      const reason = ready.status === "True" ? "NodeReady" : ready.status === "False" ? "NodeNotReady" : "NodeReadyUnknown";
      const message = ready.status !== "True" && ready.message ? `* Node.Ready: ${ready.message}` : "";
      setCondition(m, { type: C.NodeReady, status: (["True", "False"].includes(ready.status) ? ready.status : "Unknown") as ConditionStatus, reason, message });
    } else {
      setCondition(m, { type: C.NodeReady, status: "Unknown", reason: "NodeReadyUnknown", message: "* Node.Ready: Condition not yet reported" });
    }
    const health = summarizeNodeConditions(s.node);
    setCondition(m, { type: C.NodeHealthy, status: health.status, reason: health.reason, message: health.message });
    return;
  }
  const ref = nodeRefName(m);
  if (m.metadata.deletionTimestamp) {
    if (ref) setNodeConditions(m, "False", "NodeDeleted", `Node ${ref} has been deleted`);
    else setNodeConditions(m, "Unknown", "NodeDoesNotExist", "Node does not exist");
    return;
  }
  if (ref) {
    setNodeConditions(m, "False", "NodeDeleted", `Node ${ref} has been deleted while the Machine still exists`);
    return;
  }
  if (spec.providerID) {
    setNodeConditions(m, "Unknown", "InspectionFailed", `Waiting for a Node with spec.providerID ${spec.providerID} to exist`);
    return;
  }
  setNodeConditions(m, "Unknown", "InspectionFailed", `Waiting for ${spec.infrastructureRef?.kind ?? "InfrastructureMachine"} to report spec.providerID`);
}
