/**
 * Remediation of unhealthy control-plane machines (upstream remediation.go,
 * reconcileUnhealthyMachines): a Machine the MachineHealthCheck marked
 * (`HealthCheckSucceeded=False`, `OwnerRemediated=False`) is deleted by the KCP — one at a time
 * (the `remediation-in-progress` annotation on the KCP, until the replacement exists), within
 * `spec.remediation` retry limits, and once the control plane is initialized only when the
 * cluster keeps a working control plane and etcd quorum without it, no other machine is being
 * provisioned or deleted, and etcd can be inspected. Before the delete, etcd leadership moves off
 * the machine and its member is removed (the kcp-cleanup hook checks again). The normal scale-up
 * then creates the replacement, which carries the remediation data in `remediation-for`.
 * When blocked, the Machine's `OwnerRemediated` says why, in upstream's words.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import { getCondition, getV1Beta1Condition, removeCondition, setCondition, setV1Beta1Condition, type V1Beta1Condition } from "../../runtime/conditions.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { REMEDIATE_MACHINE_ANNOTATION } from "../core/machine-api.ts";
import { aggregateMachineCondition, unhealthyMachinesMessage } from "../core/mdutil.ts";
import type { EtcdMemberState, EtcdMembership } from "./etcd.ts";
import { componentsHealthyWithout, etcdHealthyWithout, etcdMachineOf, nodeNameOf } from "./kcp-etcd-health.ts";
import { cloneData } from "../../lib/clone.ts";

export const REMEDIATION_IN_PROGRESS_ANNOTATION = "controlplane.cluster.x-k8s.io/remediation-in-progress";
export const REMEDIATION_FOR_ANNOTATION = "controlplane.cluster.x-k8s.io/remediation-for";
const DEFAULT_MIN_HEALTHY_PERIOD_SECONDS = 3600;

/** The JSON in both annotations (upstream RemediationData). */
export interface RemediationData {
  machine: string;
  /** RFC 3339, seconds, UTC. */
  timestamp: string;
  retryCount: number;
}

export interface RemediationSpec {
  maxRetry?: number;
  retryPeriodSeconds?: number;
  minHealthyPeriodSeconds?: number;
}

export interface RemediationInput {
  client: Client;
  recorder: EventRecorder;
  /** The KCP being reconciled (a copy: its annotations are saved with it). */
  kcp: KObject;
  machines: KObject[];
  initialized: boolean;
  externalEtcd: boolean;
  /** etcd access for the cluster (undefined: none). */
  etcd: EtcdMembership | undefined;
  log: ReconcileContext["log"];
  now?: Date;
}

const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d+Z$/, "Z");
const isFalse = (m: KObject, type: string) => getCondition(m, type)?.status === "False";
const isTrue = (m: KObject, type: string) => getCondition(m, type)?.status === "True";
const deleting = (m: KObject) => Boolean(m.metadata.deletionTimestamp);

export function parseRemediationData(value: string): RemediationData {
  const d = JSON.parse(value) as Partial<RemediationData>;
  return { machine: String(d.machine ?? ""), timestamp: String(d.timestamp ?? ""), retryCount: Number(d.retryCount ?? 0) };
}

/** upstream MachinesToBeRemediatedByKCP. */
export function machinesToBeRemediated(machines: KObject[]): KObject[] {
  return machines.filter((m) => isFalse(m, "HealthCheckSucceeded") && isFalse(m, "OwnerRemediated"));
}

interface OwnerRemediated {
  reason: string;
  message: string;
  v1: { reason: string; severity: V1Beta1Condition["severity"]; message?: string };
}

async function setOwnerRemediated(client: Client, machine: KObject, c: OwnerRemediated): Promise<void> {
  const fresh = client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: machine.metadata.namespace, name: machine.metadata.name! });
  if (!fresh || fresh.metadata.uid !== machine.metadata.uid) return;
  const after = cloneData(fresh);
  setCondition(after, { type: "OwnerRemediated", status: "False", reason: c.reason, message: c.message });
  setV1Beta1Condition(after, { type: "OwnerRemediated", status: "False", reason: c.v1.reason, severity: c.v1.severity, ...(c.v1.message ? { message: c.v1.message } : {}) });
  await patchObject(client, fresh, after);
}

const blocked = (reason: "CannotBeRemediated" | "RemediationDeferred", message: string): OwnerRemediated => ({ reason, message, v1: { reason: "WaitingForRemediation", severity: "Warning", message } });

/** Healthy again: the OwnerRemediated conditions go (upstream's cleanup at the start). */
async function cleanupHealthyAgain(client: Client, machines: KObject[]): Promise<void> {
  for (const m of machines) {
    if (deleting(m)) continue;
    const v1 = getV1Beta1Condition(m, "HealthCheckSucceeded")?.status === "True" && getV1Beta1Condition(m, "OwnerRemediated")?.status === "False";
    const v2 = isTrue(m, "HealthCheckSucceeded") && isFalse(m, "OwnerRemediated");
    if (!v1 && !v2) continue;
    const after = cloneData(m);
    if (v2) removeCondition(after, "OwnerRemediated");
    if (v1) {
      const dep = (after.status as { deprecated?: { v1beta1?: { conditions?: V1Beta1Condition[] } } }).deprecated?.v1beta1;
      if (dep?.conditions) dep.conditions = dep.conditions.filter((c) => c.type !== "OwnerRemediated");
    }
    await patchObject(client, m, after);
  }
}

/**
 * The "most broken" machine first (upstream getMachineToBeRemediated): the remediate-machine
 * annotation, then no Node, then an unhealthy etcd member, then the oldest.
 */
export function pickMachineToRemediate(candidates: KObject[], members: EtcdMemberState[] | undefined): KObject | undefined {
  const etcdUnhealthy = (m: KObject) => {
    if (!members) return false;
    const member = members.find((x) => x.name && x.name === nodeNameOf(m));
    return !member?.healthy;
  };
  const rank = (m: KObject) => [REMEDIATE_MACHINE_ANNOTATION in (m.metadata.annotations ?? {}) ? 0 : 1, nodeNameOf(m) ? 1 : 0, etcdUnhealthy(m) ? 0 : 1];
  return [...candidates].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    const ta = a.metadata.creationTimestamp ?? "";
    const tb = b.metadata.creationTimestamp ?? "";
    if (ta !== tb) return ta < tb ? -1 : 1;
    return a.metadata.name! < b.metadata.name! ? -1 : 1;
  })[0];
}

/** upstream checkRetryLimits: the data for this remediation, or why it must wait / stop. */
export function checkRetryLimits(machine: KObject, spec: RemediationSpec, now: Date): { data: RemediationData; block?: OwnerRemediated } {
  const data: RemediationData = { machine: machine.metadata.name!, timestamp: rfc3339(now), retryCount: 0 };
  const raw = machine.metadata.annotations?.[REMEDIATION_FOR_ANNOTATION];
  if (raw === undefined) return { data };
  const last = parseRemediationData(raw);
  const minHealthyMs = (spec.minHealthyPeriodSeconds ?? DEFAULT_MIN_HEALTHY_PERIOD_SECONDS) * 1000;
  const retryMs = (spec.retryPeriodSeconds ?? 0) * 1000;
  const parsed = Date.parse(last.timestamp);
  const lastTime = Number.isFinite(parsed) ? parsed : now.getTime() - 2 * Math.max(minHealthyMs, retryMs);
  // Unhealthy again within minHealthyPeriod: a retry of the same remediation.
  if (lastTime + minHealthyMs <= now.getTime()) return { data };
  data.retryCount = last.retryCount;
  if (lastTime + retryMs > now.getTime()) {
    const period = `${spec.retryPeriodSeconds ?? 0}s`;
    return { data, block: blocked("RemediationDeferred", `KubeadmControlPlane can't remediate this machine because the operation already failed in the latest ${period} (RetryPeriodSeconds)`) };
  }
  if (spec.maxRetry !== undefined && spec.maxRetry !== null && data.retryCount >= spec.maxRetry) {
    return { data, block: blocked("CannotBeRemediated", `KubeadmControlPlane can't remediate this machine because the operation already failed ${spec.maxRetry} times (MaxRetry)`) };
  }
  data.retryCount++;
  return { data };
}

/** Returns true when a Machine was deleted (the caller re-reads its machines). */
export async function reconcileUnhealthyMachines(x: RemediationInput): Promise<boolean> {
  const { client, recorder, kcp, machines, log } = x;
  const now = x.now ?? new Date();
  await cleanupHealthyAgain(client, machines);

  const inProgress = kcp.metadata.annotations?.[REMEDIATION_IN_PROGRESS_ANNOTATION];
  if (inProgress !== undefined) {
    // Stale: a machine newer than the remediation exists (the replacement was made, the annotation not dropped).
    let since = NaN;
    try {
      since = Date.parse(parseRemediationData(inProgress).timestamp);
    } catch {
      // unreadable: treated as stale
    }
    if (!Number.isFinite(since) || machines.some((m) => Date.parse(m.metadata.creationTimestamp ?? "") > since)) delete kcp.metadata.annotations![REMEDIATION_IN_PROGRESS_ANNOTATION];
  }

  const candidates = machinesToBeRemediated(machines);
  if (!candidates.length) return false;
  const managedEtcd = !x.externalEtcd;
  const live = machines.filter((m) => !deleting(m));
  let members: EtcdMemberState[] | undefined;
  if (managedEtcd && x.etcd && x.initialized) {
    members = await x.etcd.members(live.map(etcdMachineOf)).catch((e: unknown) => {
      log.info({ err: String(e) }, "could not list etcd members");
      return undefined;
    });
  }
  const machine = pickMachineToRemediate(candidates, members)!;
  const name = machine.metadata.name!;
  if (deleting(machine)) return false;
  if (REMEDIATION_IN_PROGRESS_ANNOTATION in (kcp.metadata.annotations ?? {})) {
    log.info({ machine: name }, "another remediation is already in progress; skipping remediation");
    return false;
  }

  const spec = ((kcp.spec as { remediation?: RemediationSpec } | undefined)?.remediation ?? {}) as RemediationSpec;
  const retry = checkRetryLimits(machine, spec, now);
  const block = async (why: OwnerRemediated) => {
    log.info({ machine: name, reason: why.reason }, `a control plane machine needs remediation, but: ${why.message}`);
    await setOwnerRemediated(client, machine, why);
    return false;
  };
  if (retry.block) return block(retry.block);

  if (x.initialized) {
    if (machines.length <= 1) return block(blocked("CannotBeRemediated", "KubeadmControlPlane can't remediate if current replicas are less or equal to 1"));
    if (machines.some((m) => !isFalse(m, "HealthCheckSucceeded") && !nodeNameOf(m))) {
      return block(blocked("RemediationDeferred", "KubeadmControlPlane waiting for control plane Machine provisioning to complete before triggering remediation"));
    }
    if (machines.some(deleting)) return block(blocked("RemediationDeferred", "KubeadmControlPlane waiting for control plane Machine deletion to complete before triggering remediation"));
    if (managedEtcd && !members?.length) return block(blocked("RemediationDeferred", "Failed to check etcd cluster health before remediation"));
    const memberName = nodeNameOf(machine);
    const safe = componentsHealthyWithout(machines, name) && (!managedEtcd || !memberName || etcdHealthyWithout(members!, memberName));
    if (!safe) {
      return block(blocked("CannotBeRemediated", "KubeadmControlPlane can't remediate this Machine because this could result in loosing Kubernetes control plane components or in etcd quorum loss"));
    }
    if (managedEtcd && x.etcd) {
      const others = live.filter((m) => m.metadata.name !== name);
      const newest = [...others].sort((a, b) => (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "") || (b.metadata.name! < a.metadata.name! ? -1 : 1))[0];
      try {
        if (newest && memberName) await x.etcd.forwardLeadership(etcdMachineOf(machine), etcdMachineOf(newest));
        await x.etcd.removeMember(etcdMachineOf(machine), others.map(etcdMachineOf));
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        await setOwnerRemediated(client, machine, { reason: "CannotBeRemediated", message, v1: { reason: "RemediationFailed", severity: "Error", message } });
        recorder.warning(kcp, "RemediationFailed", `failed to take machine ${name} out of etcd: ${message}`);
        throw e;
      }
    }
  }

  await client.delete({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: machine.metadata.namespace, name });
  await setOwnerRemediated(client, machine, { reason: "MachineDeleting", message: "Machine is deleting", v1: { reason: "RemediationInProgress", severity: "Warning" } });
  recorder.normal(machine, "MachineRemediated", `Machine ${name} is unhealthy: deleted, the KubeadmControlPlane creates a replacement`);
  log.info({ machine: name, retryCount: retry.data.retryCount }, "deleting Machine (remediating unhealthy Machine)");
  (kcp.metadata.annotations ??= {})[REMEDIATION_IN_PROGRESS_ANNOTATION] = JSON.stringify(retry.data);
  return true;
}

/** status.lastRemediation and the Remediating condition (upstream setLastRemediation, setRemediatingCondition). */
export function setRemediationStatus(kcp: KObject, machines: KObject[]): void {
  const status = (kcp.status ??= {}) as { lastRemediation?: { machine: string; time: string; retryCount: number } };
  let last: RemediationData | undefined;
  const inProgress = kcp.metadata.annotations?.[REMEDIATION_IN_PROGRESS_ANNOTATION];
  try {
    if (inProgress !== undefined) last = parseRemediationData(inProgress);
    else {
      for (const m of machines) {
        const v = m.metadata.annotations?.[REMEDIATION_FOR_ANNOTATION];
        if (v === undefined) continue;
        const d = parseRemediationData(v);
        // Timestamps have whole seconds: within one second a retry is the later remediation.
        const newer = !last || Date.parse(last.timestamp) < Date.parse(d.timestamp) || (last.timestamp === d.timestamp && d.retryCount > last.retryCount);
        if (newer) last = d;
      }
    }
  } catch {
    // an unreadable annotation leaves lastRemediation as it was
  }
  if (last?.machine && last.timestamp) status.lastRemediation = { machine: last.machine, time: last.timestamp, retryCount: last.retryCount };

  const toRemediate = machinesToBeRemediated(machines);
  if (!toRemediate.length) {
    const message = unhealthyMachinesMessage(machines.filter((m) => isFalse(m, "HealthCheckSucceeded")), "KubeadmControlPlane");
    setCondition(kcp, { type: "Remediating", status: "False", reason: "NotRemediating", message });
  } else {
    const agg = aggregateMachineCondition(toRemediate, "OwnerRemediated", "Remediating", { isFalse: "Remediating", unknown: "Remediating", isTrue: "Remediating" });
    setCondition(kcp, { type: "Remediating", status: "True", reason: "Remediating", message: agg.message });
  }
}
