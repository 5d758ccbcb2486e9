/**
 * Node drain (upstream `core/reconcilers/machine/drain`, itself kept close to kubectl drain):
 * cordon, decide per Pod whether it must go (filters), evict the ones that must, and describe
 * what is still blocking. One call is one round; the Machine controller retries every 20 s until
 * nothing is left.
 *
 * Differences from upstream: MachineDrainRules are not served by the appliance, so every Pod that
 * passes the filters has drain order 0; the workload client cannot read DaemonSets, so a Pod
 * controlled by a DaemonSet is always skipped (upstream evicts it when the DaemonSet is gone).
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Logger } from "../../lib/log.ts";
import type { WorkloadClient } from "../../providers/workload/types.ts";
import { POD_DRAIN_LABEL } from "./machine-api.ts";

export type DrainBehavior = "Drain" | "Skip" | "WaitCompleted";

export interface PodDeleteStatus {
  behavior: DrainBehavior;
  reason: "Okay" | "Skip" | "WaitCompleted" | "Warning";
  message?: string;
}

export interface PodDelete {
  pod: KObject;
  status: PodDeleteStatus;
}

const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";
const DAEMONSET_WARNING = "ignoring DaemonSet-managed Pod";
const LOCAL_STORAGE_WARNING = "evicting Pod with local storage";
const UNMANAGED_WARNING = "evicting Pod that has no controller";
export const PDB_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget.";

const OKAY: PodDeleteStatus = { behavior: "Drain", reason: "Okay" };
const SKIP: PodDeleteStatus = { behavior: "Skip", reason: "Skip" };

function phase(pod: KObject): string | undefined {
  return (pod.status as { phase?: string } | undefined)?.phase;
}

function finished(pod: KObject): boolean {
  const p = phase(pod);
  return p === "Succeeded" || p === "Failed";
}

function controllerOf(pod: KObject) {
  return pod.metadata.ownerReferences?.find((r) => r.controller);
}

export function podKey(pod: KObject): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

type PodFilter = (pod: KObject) => PodDeleteStatus;

/** The filters in upstream order; the first Skip/WaitCompleted wins, warnings accumulate. */
function filters(skipDeletedTimeoutSeconds: number, now: number): PodFilter[] {
  return [
    // Pods whose deletion started long ago on an unreachable Node will never go away.
    (pod) => {
      const dt = pod.metadata.deletionTimestamp ? Date.parse(pod.metadata.deletionTimestamp) : NaN;
      return skipDeletedTimeoutSeconds > 0 && !Number.isNaN(dt) && Math.floor((now - dt) / 1000) > skipDeletedTimeoutSeconds ? SKIP : OKAY;
    },
    // DaemonSet Pods would come right back (finished ones may go).
    (pod) => {
      const ref = controllerOf(pod);
      if (!ref || ref.kind !== "DaemonSet" || finished(pod)) return OKAY;
      return { behavior: "Skip", reason: "Warning", message: DAEMONSET_WARNING };
    },
    // Static (mirror) Pods are owned by the kubelet.
    (pod) => (MIRROR_POD_ANNOTATION in (pod.metadata.annotations ?? {}) ? SKIP : OKAY),
    (pod) => {
      const volumes = ((pod.spec as { volumes?: { emptyDir?: unknown }[] } | undefined)?.volumes ?? []) as { emptyDir?: unknown }[];
      if (!volumes.some((v) => v.emptyDir !== undefined && v.emptyDir !== null) || finished(pod)) return OKAY;
      return { behavior: "Drain", reason: "Warning", message: LOCAL_STORAGE_WARNING };
    },
    (pod) => (finished(pod) || controllerOf(pod) ? OKAY : { behavior: "Drain", reason: "Warning", message: UNMANAGED_WARNING }),
    // cluster.x-k8s.io/drain: skip | wait-completed.
    (pod) => {
      const v = pod.metadata.labels?.[POD_DRAIN_LABEL];
      if (v === undefined) return OKAY;
      if (v.toLowerCase() === "skip") return SKIP;
      if (v.replace("-", "").toLowerCase() === "waitcompleted") return { behavior: "WaitCompleted", reason: "WaitCompleted" };
      return OKAY;
    },
  ];
}

/** Each Pod on the Node with what drain does about it. */
export function filterPods(pods: KObject[], skipDeletedTimeoutSeconds = 0, now = Date.now()): PodDelete[] {
  const fs = filters(skipDeletedTimeoutSeconds, now);
  return pods.map((pod) => {
    let status: PodDeleteStatus = OKAY;
    const warnings: string[] = [];
    for (const f of fs) {
      status = f(pod);
      if (status.behavior === "Skip" || status.behavior === "WaitCompleted") break;
      if (status.reason === "Warning" && status.message) warnings.push(status.message);
    }
    if (status.behavior === "Drain" && warnings.length) status = { behavior: "Drain", reason: "Warning", message: warnings.join(", ") };
    return { pod, status };
  });
}

/** Pods that have to go away (or complete) before the Node counts as drained. */
export function podsToDrain(list: PodDelete[]): KObject[] {
  return list.filter((p) => p.status.behavior !== "Skip").map((p) => p.pod);
}

export interface EvictionResult {
  deletionTimestampSet: KObject[];
  failedEviction: Map<string, KObject[]>;
  waitCompletedNow: KObject[];
  notFound: KObject[];
  ignored: KObject[];
}

export function drainCompleted(r: EvictionResult): boolean {
  return r.deletionTimestampSet.length === 0 && r.failedEviction.size === 0 && r.waitCompletedNow.length === 0;
}

/** Evicts every Pod that must go and has no deletionTimestamp yet, for at most `timeoutMs`. */
export async function evictPods(remote: WorkloadClient, list: PodDelete[], timeoutMs: number, log?: Logger): Promise<EvictionResult> {
  const sorted = [...list].sort((a, b) => (podKey(a.pod) < podKey(b.pod) ? -1 : podKey(a.pod) > podKey(b.pod) ? 1 : 0));
  const res: EvictionResult = { deletionTimestampSet: [], failedEviction: new Map(), waitCompletedNow: [], notFound: [], ignored: [] };
  const fail = (msg: string, pod: KObject) => res.failedEviction.set(msg, [...(res.failedEviction.get(msg) ?? []), pod]);
  const deadline = Date.now() + timeoutMs;
  const toEvict: PodDelete[] = [];
  for (const pd of sorted) {
    if (pd.status.behavior === "Drain" && !pd.pod.metadata.deletionTimestamp) toEvict.push(pd);
    else if (pd.status.behavior === "WaitCompleted") res.waitCompletedNow.push(pd.pod);
    else if (pd.status.behavior === "Drain") res.deletionTimestampSet.push(pd.pod);
    else res.ignored.push(pd.pod);
  }
  for (const pd of toEvict) {
    if (Date.now() > deadline) {
      fail(`eviction timeout of ${Math.round(timeoutMs / 1000)}s reached, eviction will be retried`, pd.pod);
      continue;
    }
    try {
      const r = await remote.evictPod(pd.pod.metadata.namespace!, pd.pod.metadata.name!);
      if (r === "evicted") res.deletionTimestampSet.push(pd.pod);
      else if (r === "gone") res.notFound.push(pd.pod);
      else fail(PDB_MESSAGE, pd.pod);
      log?.debug({ pod: podKey(pd.pod), result: r, warning: pd.status.message }, "evicting Pod");
    } catch (e) {
      fail((e as Error).message ?? String(e), pd.pod);
    }
  }
  return res;
}

export function podListToString(pods: KObject[], n: number): string {
  const names = pods.slice(0, n).map(podKey);
  if (pods.length > n) names.push(`... (${pods.length - n} more)`);
  return names.join(", ");
}

/** The DrainingNode message (upstream EvictionResult.ConditionMessage). */
export function drainConditionMessage(r: EvictionResult, startTime: string | undefined): string {
  if (drainCompleted(r)) return "";
  let msg = `Drain not completed yet (started at ${startTime ?? ""}):`;
  const kind = (n: number) => (n > 1 ? "Pods" : "Pod");
  if (r.deletionTimestampSet.length) {
    msg += `\n* ${kind(r.deletionTimestampSet.length)} ${podListToString(r.deletionTimestampSet, 3)}: deletionTimestamp set, but still not removed from the Node`;
  }
  if (r.failedEviction.size) {
    const messages = [...r.failedEviction.keys()].sort();
    const shown = messages.slice(0, 5);
    for (const m of shown) {
      const pods = r.failedEviction.get(m)!;
      let text = m.replaceAll(PDB_MESSAGE, "cannot evict pod as it would violate the pod's disruption budget.");
      if (!text.startsWith("cannot evict pod as it would violate the pod's disruption budget.")) text = `failed to evict Pod, ${text}`;
      msg += `\n* ${kind(pods.length)} ${podListToString(pods, 3)}: ${text}`;
    }
    const rest = messages.slice(5).reduce((n, m) => n + r.failedEviction.get(m)!.length, 0);
    if (rest === 1) msg += "\n* 1 Pod with other issues";
    else if (rest > 1) msg += `\n* ${rest} Pods with other issues`;
  }
  if (r.waitCompletedNow.length) {
    msg += `\n* ${kind(r.waitCompletedNow.length)} ${podListToString(r.waitCompletedNow, 3)}: waiting for completion`;
  }
  return msg;
}

export interface DrainOutcome {
  /** Nothing left that has to go. */
  complete: boolean;
  /** What still blocks (when not complete). */
  message: string;
  /** The Node was not found: drain skipped. */
  nodeGone?: boolean;
}

/**
 * One drain round: cordon the Node, list its Pods, evict what must go. When the Node is unreachable
 * (Ready Unknown) Pods whose deletion started over 1 s ago are ignored, as upstream.
 */
export async function drainNodeOnce(remote: WorkloadClient, nodeName: string, startTime: string | undefined, evictionTimeoutMs: number, log?: Logger): Promise<DrainOutcome> {
  const node = await remote.getNode(nodeName);
  if (!node) {
    log?.info({ node: nodeName }, "could not find Node from Machine.status.nodeRef, skipping Node drain");
    return { complete: true, message: "", nodeGone: true };
  }
  const unreachable = ((node.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "Unknown");
  if (!(node.spec as { unschedulable?: boolean } | undefined)?.unschedulable) {
    log?.info({ node: nodeName }, "cordoning Node");
    try {
      await remote.patchNode(nodeName, { spec: { unschedulable: true } });
    } catch (e) {
      throw new Error(`failed to cordon Node ${nodeName}: ${(e as Error).message ?? e}`);
    }
  }
  const list = filterPods(await remote.listPodsOnNode(nodeName), unreachable ? 1 : 0);
  if (podsToDrain(list).length === 0) return { complete: true, message: "" };
  const result = await evictPods(remote, list, evictionTimeoutMs, log);
  if (drainCompleted(result)) return { complete: true, message: "" };
  return { complete: false, message: drainConditionMessage(result, startTime) };
}
