/**
 * Machine deletion in upstream order (`machine_controller.go` reconcileDelete): pre-drain hooks →
 * cordon and drain → wait for volumes to detach → pre-terminate hooks → delete the InfraMachine
 * and wait → delete the BootstrapConfig and wait → delete the Node → drop the finalizer.
 *
 * Volume detach is modelled from what the workload client offers: the Node's
 * `status.volumesAttached`. Upstream maps each attached volume to its PersistentVolume and ignores
 * volumes of Pods drain skipped; without PV access this waits only while more volumes are attached
 * than the skipped Pods have PersistentVolumeClaims.
 * @module
 */
import { nowRfc3339, type KObject } from "../../lib/kobject.ts";
import { getV1Beta1Condition, setV1Beta1Condition } from "../../runtime/conditions.ts";
import { CAPI_VERSION, CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL, getRef, refApiVersion, removeFinalizer, type ContractRef } from "./contract.ts";
import {
  EXCLUDE_NODE_DRAINING_ANNOTATION,
  EXCLUDE_WAIT_FOR_VOLUME_DETACH_ANNOTATION,
  MACHINE_FINALIZER,
  PRE_DRAIN_HOOK_PREFIX,
  PRE_TERMINATE_HOOK_PREFIX,
  annotationsWithPrefix,
  hasAnnotation,
  machineSpec,
  machineStatus,
  nodeRefName,
  parseTime,
} from "./machine-api.ts";
import { drainNodeOnce, filterPods } from "./machine-drain.ts";
import { findNodeByProviderID, isNodeUnreachable, remoteClient } from "./machine-node.ts";
import type { MachineScope, PhaseResult } from "./machine-scope.ts";

/** Why the Node is left alone (upstream errNilNodeRef etc.); undefined: it may be drained and deleted. */
export async function nodeDeletionBlocker(s: MachineScope): Promise<string | undefined> {
  const m = s.machine;
  const cluster = s.cluster;
  if (!cluster || cluster.metadata.deletionTimestamp) return "cluster is being deleted";
  const spec = machineSpec(m);
  const providerID = spec.providerID || (s.infraMachine?.spec as { providerID?: string } | undefined)?.providerID;
  if (!nodeRefName(m) && providerID) {
    // Best effort: one more look for the Node, so a Machine deleted early still cleans it up.
    try {
      const remote = await remoteClient(s);
      const node = remote ? await findNodeByProviderID(remote, providerID) : undefined;
      if (node) machineStatus(m).nodeRef = { name: node.metadata.name! };
    } catch (e) {
      s.log.warn({ err: String(e) }, "failed to get node while deleting Machine");
    }
  }
  if (!nodeRefName(m)) return "noderef is nil";
  const cpRef = (cluster.spec as { controlPlaneRef?: ContractRef } | undefined)?.controlPlaneRef;
  if (cpRef?.kind) {
    const cp = getRef(s.client, cpRef, cluster.metadata.namespace!);
    if (!cp) {
      s.log.warn({ kind: cpRef.kind, name: cpRef.name }, "control plane object specified in cluster spec.controlPlaneRef does not exist");
    } else {
      if (cp.metadata.deletionTimestamp) return "control plane is being deleted";
      if ((cp.status as { externalManagedControlPlane?: boolean } | undefined)?.externalManagedControlPlane === true) return undefined;
    }
  }
  const active = s.client
    .list(CAPI_VERSION, "Machine", m.metadata.namespace, { labelSelector: `${CLUSTER_NAME_LABEL}=${cluster.metadata.name},${CONTROL_PLANE_LABEL}` })
    .filter((x) => !x.metadata.deletionTimestamp);
  if (active.length === 0) return "no control plane members";
  return undefined;
}

function deletionStatus(m: KObject) {
  return (machineStatus(m).deletion ??= {});
}

function nodeDrainTimeoutExceeded(m: KObject, now: number): boolean {
  const timeout = machineSpec(m).deletion?.nodeDrainTimeoutSeconds;
  const start = parseTime(machineStatus(m).deletion?.nodeDrainStartTime);
  if (!timeout || timeout <= 0 || start === undefined) return false;
  return (now - start) / 1000 >= timeout;
}

function nodeVolumeDetachTimeoutExceeded(m: KObject, now: number): boolean {
  const timeout = machineSpec(m).deletion?.nodeVolumeDetachTimeoutSeconds;
  const start = parseTime(machineStatus(m).deletion?.waitForNodeVolumeDetachStartTime);
  if (!timeout || timeout <= 0 || start === undefined) return false;
  return (now - start) / 1000 >= timeout;
}

function preTerminateStarted(m: KObject): boolean {
  return Boolean(machineStatus(m).deletion?.waitForPreTerminateHookStartTime);
}

function infraGoneOrDeleting(s: MachineScope): boolean {
  return !s.infraMachine || Boolean(s.infraMachine.metadata.deletionTimestamp);
}

function isNodeDrainAllowed(s: MachineScope, now: number): boolean {
  const m = s.machine;
  if (hasAnnotation(m, EXCLUDE_NODE_DRAINING_ANNOTATION)) return false;
  if (preTerminateStarted(m) || infraGoneOrDeleting(s)) return false;
  return !nodeDrainTimeoutExceeded(m, now);
}

function isNodeVolumeDetachingAllowed(s: MachineScope, now: number): boolean {
  const m = s.machine;
  if (hasAnnotation(m, EXCLUDE_WAIT_FOR_VOLUME_DETACH_ANNOTATION)) return false;
  if (preTerminateStarted(m) || infraGoneOrDeleting(s)) return false;
  return !nodeVolumeDetachTimeoutExceeded(m, now);
}

async function drain(s: MachineScope): Promise<PhaseResult | undefined> {
  const m = s.machine;
  const nodeName = nodeRefName(m)!;
  const d = deletionStatus(m);
  d.nodeDrainStartTime ??= nowRfc3339();
  if (!getV1Beta1Condition(m, "DrainingSucceeded")) {
    setV1Beta1Condition(m, { type: "DrainingSucceeded", status: "False", severity: "Info", reason: "Draining", message: "Draining the node before deletion" });
  }
  s.deletingReason = "DrainingNode";
  s.deletingMessage = `Drain not completed yet (started at ${d.nodeDrainStartTime}):`;
  try {
    const remote = await remoteClient(s);
    if (!remote) throw new Error(`failed to drain Node ${nodeName}: the workload cluster is not reachable`);
    const outcome = await drainNodeOnce(remote, nodeName, d.nodeDrainStartTime, s.opts.evictionTimeoutMs, s.log);
    if (!outcome.complete) {
      setV1Beta1Condition(m, { type: "DrainingSucceeded", status: "False", severity: "Info", reason: "Draining", message: outcome.message });
      s.deletingMessage = outcome.message;
      s.log.info({ node: nodeName, requeueAfterMs: s.opts.drainRetryIntervalMs }, "drain not completed yet, requeuing");
      return { requeueAfter: s.opts.drainRetryIntervalMs };
    }
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    setV1Beta1Condition(m, { type: "DrainingSucceeded", status: "False", severity: "Warning", reason: "DrainingFailed", message });
    s.deletingMessage = "Error draining Node, please check controller logs for errors";
    s.recorder.warning(m, "FailedDrainNode", `error draining Machine's node "${nodeName}": ${message}`);
    throw e;
  }
  setV1Beta1Condition(m, { type: "DrainingSucceeded", status: "True" });
  s.recorder.normal(m, "SuccessfulDrainNode", `success draining Machine's node "${nodeName}"`);
  // Upstream's reason above; the plainer one beside it is what this appliance documents.
  s.recorder.normal(m, "NodeDrained", `Node ${nodeName} drained`);
  return undefined;
}

/** Volumes still attached to the Node that are not accounted to Pods drain leaves behind. */
async function waitForVolumes(s: MachineScope): Promise<PhaseResult | undefined> {
  const m = s.machine;
  const nodeName = nodeRefName(m)!;
  const d = deletionStatus(m);
  d.waitForNodeVolumeDetachStartTime ??= nowRfc3339();
  if (!getV1Beta1Condition(m, "VolumeDetachSucceeded")) {
    setV1Beta1Condition(m, { type: "VolumeDetachSucceeded", status: "False", severity: "Info", reason: "WaitingForVolumeDetach", message: "Waiting for node volumes to be detached" });
  }
  s.deletingReason = "WaitingForVolumeDetach";
  s.deletingMessage = `Waiting for Node volumes to be detached (started at ${d.waitForNodeVolumeDetachStartTime})`;
  try {
    const remote = await remoteClient(s);
    if (!remote) throw new Error("the workload cluster is not reachable");
    const node = await remote.getNode(nodeName);
    if (node && !isNodeUnreachable(node)) {
      const attached = ((node.status as { volumesAttached?: { name: string }[] } | undefined)?.volumesAttached ?? []).map((v) => v.name);
      if (attached.length) {
        const skipped = filterPods(await remote.listPodsOnNode(nodeName))
          .filter((p) => p.status.behavior === "Skip")
          .map((p) => p.pod);
        const claims = new Set<string>();
        for (const pod of skipped) {
          for (const v of ((pod.spec as { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] } | undefined)?.volumes ?? [])) {
            if (v.persistentVolumeClaim?.claimName) claims.add(`${pod.metadata.namespace}/${v.persistentVolumeClaim.claimName}`);
          }
        }
        if (attached.length > claims.size) {
          s.deletingMessage = `Waiting for Node volumes to be detached (started at ${d.waitForNodeVolumeDetachStartTime})\n* Node with .status.volumesAttached entries: ${attached.slice(0, 5).join(", ")}${attached.length > 5 ? `, ... (${attached.length - 5} more)` : ""}`;
          s.log.info({ node: nodeName, volumes: attached.length }, "waiting for Node volumes to be detached");
          return { requeueAfter: s.opts.volumeDetachRetryIntervalMs };
        }
      }
    }
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    s.deletingMessage = "Error waiting for volumes to be detached from Node, please check controller logs for errors";
    s.recorder.warning(m, "FailedWaitForVolumeDetach", `error waiting for node volumes detaching, Machine's node "${nodeName}": ${message}`);
    throw e;
  }
  setV1Beta1Condition(m, { type: "VolumeDetachSucceeded", status: "True" });
  s.recorder.normal(m, "NodeVolumesDetached", `success waiting for node volumes detaching Machine's node "${nodeName}"`);
  return undefined;
}

/** Deletes the referenced object when it exists; true once it is gone. */
async function deleteExternal(s: MachineScope, obj: KObject | undefined, notFound: boolean, ref: ContractRef): Promise<boolean> {
  if (!obj && notFound) return true;
  if (obj && !obj.metadata.deletionTimestamp) {
    const apiVersion = refApiVersion(s.client, ref) ?? obj.apiVersion!;
    await s.client.delete({ apiVersion, kind: obj.kind!, namespace: obj.metadata.namespace, name: obj.metadata.name! });
    s.log.info({ kind: obj.kind, name: obj.metadata.name }, "deleting referenced object");
  }
  return false;
}

export async function reconcileDelete(s: MachineScope, now = Date.now()): Promise<PhaseResult> {
  const m = s.machine;
  const spec = machineSpec(m);
  s.deletingReason = "Deleting";
  s.deletingMessage = "Deletion started";

  const blocker = await nodeDeletionBlocker(s);
  if (blocker) s.log.info({ node: nodeRefName(m) ?? "", cause: blocker }, "skipping deletion of Kubernetes Node associated with Machine as it is not allowed");
  const nodeAllowed = blocker === undefined;

  if (nodeAllowed) {
    const preDrain = annotationsWithPrefix(m, PRE_DRAIN_HOOK_PREFIX);
    if (preDrain.length) {
      deletionStatus(m).waitForPreDrainHookStartTime ??= nowRfc3339();
      setV1Beta1Condition(m, { type: "PreDrainDeleteHookSucceeded", status: "False", severity: "Info", reason: "WaitingExternalHook" });
      s.deletingReason = "WaitingForPreDrainHook";
      s.deletingMessage = `Waiting for pre-drain hooks to succeed (hooks: ${preDrain.join(",")})`;
      s.log.info({ hooks: preDrain.join(",") }, "waiting for pre-drain hooks to succeed");
      return {};
    }
    setV1Beta1Condition(m, { type: "PreDrainDeleteHookSucceeded", status: "True" });

    if (isNodeDrainAllowed(s, now)) {
      const r = await drain(s);
      if (r) return r;
    }
    if (isNodeVolumeDetachingAllowed(s, now)) {
      const r = await waitForVolumes(s);
      if (r) return r;
    }
  }

  const preTerminate = annotationsWithPrefix(m, PRE_TERMINATE_HOOK_PREFIX);
  if (preTerminate.length) {
    deletionStatus(m).waitForPreTerminateHookStartTime ??= nowRfc3339();
    setV1Beta1Condition(m, { type: "PreTerminateDeleteHookSucceeded", status: "False", severity: "Info", reason: "WaitingExternalHook" });
    s.deletingReason = "WaitingForPreTerminateHook";
    s.deletingMessage = `Waiting for pre-terminate hooks to succeed (hooks: ${preTerminate.join(",")})`;
    s.log.info({ hooks: preTerminate.join(",") }, "waiting for pre-terminate hooks to succeed");
    return {};
  }
  setV1Beta1Condition(m, { type: "PreTerminateDeleteHookSucceeded", status: "True" });

  const infraRef = spec.infrastructureRef;
  if (s.infraMachineNotFound) setV1Beta1Condition(m, { type: "InfrastructureReady", status: "False", severity: "Info", reason: "Deleted" });
  if (!(await deleteExternal(s, s.infraMachine, s.infraMachineNotFound, infraRef))) {
    s.deletingReason = "WaitingForInfrastructureDeletion";
    s.deletingMessage = `Waiting for ${infraRef.kind} to be deleted`;
    s.log.info({ kind: infraRef.kind, name: infraRef.name }, "waiting for infrastructure to be deleted");
    return {};
  }
  const bootRef = spec.bootstrap?.configRef;
  if (bootRef?.kind) {
    if (s.bootstrapConfigNotFound) setV1Beta1Condition(m, { type: "BootstrapReady", status: "False", severity: "Info", reason: "Deleted" });
    if (!(await deleteExternal(s, s.bootstrapConfig, s.bootstrapConfigNotFound, bootRef))) {
      s.deletingReason = "WaitingForBootstrapDeletion";
      s.deletingMessage = `Waiting for ${bootRef.kind} to be deleted`;
      s.log.info({ kind: bootRef.kind, name: bootRef.name }, "waiting for bootstrap to be deleted");
      return {};
    }
  }

  // The Node goes only after the infrastructure is gone (kubernetes-sigs/cluster-api#2565).
  if (nodeAllowed) {
    const nodeName = nodeRefName(m)!;
    s.log.info({ node: nodeName }, "deleting Node");
    try {
      const remote = await remoteClient(s);
      if (!remote) throw new Error("failed deleting Node because connection to the workload cluster is down");
      await remote.deleteNode(nodeName);
    } catch (e) {
      if ((e as { code?: number }).code === 404) return finish(s);
      const message = (e as Error).message ?? String(e);
      s.log.warn({ node: nodeName, err: message }, "error deleting Node");
      setV1Beta1Condition(m, { type: "NodeHealthy", status: "False", severity: "Warning", reason: "DeletionFailed" });
      s.recorder.warning(m, "FailedDeleteNode", `error deleting Machine's Node: ${message}`);
      // spec.deletion.nodeDeletionTimeoutSeconds (default 10; 0 = retry forever), from the deletionTimestamp.
      const timeout = spec.deletion?.nodeDeletionTimeoutSeconds ?? 10;
      const since = parseTime(m.metadata.deletionTimestamp) ?? now;
      if (timeout === 0 || since + timeout * 1000 > now) {
        s.deletingReason = "DeletingNode";
        s.deletingMessage = "Error deleting Node, please check controller logs for errors";
        return { requeueAfter: s.opts.nodeDeletionRetryMs };
      }
      s.log.info({ node: nodeName }, "node deletion timeout expired, continuing without Node deletion");
    }
  }

  return finish(s);
}

function finish(s: MachineScope): PhaseResult {
  s.deletingReason = "DeletionCompleted";
  s.deletingMessage = "Deletion completed";
  removeFinalizer(s.machine, MACHINE_FINALIZER);
  return {};
}
