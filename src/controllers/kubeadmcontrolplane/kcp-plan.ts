/**
 * The KubeadmControlPlane controller's decision, one step per reconcile, from what it observed
 * (upstream controller.go reconcile → scale.go / upgrade.go):
 * - a Machine being deleted: wait for it; one marked leaving: finish its removal first;
 * - no machine: create the first (kubeadm init);
 * - any machine not ready (no Node yet): wait — upstream's preflight "scale only when all machines
 *   are healthy", so machines come one at a time;
 * - fewer than replicas: create (join); more than replicas: remove one (out-of-date first);
 * - out-of-date machines (RollingUpdate): with maxSurge 1 surge a replacement, then the count is
 *   above replicas and the next step removes an out-of-date one; maxSurge 0 removes first.
 * @module
 */
import { DELETE_MACHINE_ANNOTATION } from "../core/contract.ts";

export interface MachineView {
  name: string;
  /** creationTimestamp, ms. */
  created: number;
  ready: boolean;
  upToDate: boolean;
  deleting: boolean;
  /** Marked for removal: its etcd membership is being (or was) given up. */
  leaving: boolean;
  failureDomain?: string;
  annotations?: Record<string, string>;
}

export interface PlanInput {
  replicas: number;
  maxSurge: number;
  machines: MachineView[];
}

export type Action =
  | { kind: "create"; init: boolean; reason: string }
  | { kind: "scaleDown"; machine: string; reason: string }
  | { kind: "wait"; reason: string }
  | { kind: "none" };

const byAge = (a: MachineView, b: MachineView) => a.created - b.created || (a.name < b.name ? -1 : 1);

/** maxSurge as int or percent of replicas (rounded up), as Cluster API reads an IntOrString. */
export function resolveMaxSurge(v: number | string | undefined, replicas: number): number {
  if (v === undefined || v === null) return 1;
  if (typeof v === "number") return Math.max(0, Math.floor(v));
  const m = /^(\d+)%$/.exec(v.trim());
  if (m) return Math.ceil((Number(m[1]) * replicas) / 100);
  const n = Number(v);
  return Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 1;
}

/**
 * The machine to remove (upstream selectMachineForInPlaceUpdateOrScaleDown): among the out-of-date
 * machines if any, else all; one carrying the delete-machine annotation first; else the oldest in
 * the failure domain holding most of them.
 */
export function selectForScaleDown(machines: MachineView[]): MachineView | undefined {
  const live = machines.filter((m) => !m.deleting);
  const outdated = live.filter((m) => !m.upToDate);
  const pool = outdated.length ? outdated : live;
  const marked = pool.filter((m) => DELETE_MACHINE_ANNOTATION in (m.annotations ?? {})).sort(byAge)[0];
  if (marked) return marked;
  const counts = new Map<string, number>();
  for (const m of pool) counts.set(m.failureDomain ?? "", (counts.get(m.failureDomain ?? "") ?? 0) + 1);
  const domain = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
  return pool.filter((m) => (m.failureDomain ?? "") === domain).sort(byAge)[0];
}

export function plan(input: PlanInput): Action {
  const { replicas, maxSurge } = input;
  const live = input.machines.filter((m) => !m.deleting);
  if (input.machines.some((m) => m.deleting)) return { kind: "wait", reason: "a control-plane machine is being deleted" };
  const leaving = live.filter((m) => m.leaving).sort(byAge)[0];
  if (leaving) return { kind: "scaleDown", machine: leaving.name, reason: "finishing the removal already begun" };
  if (live.length === 0) return replicas > 0 ? { kind: "create", init: true, reason: "initializing the control plane" } : { kind: "none" };
  const notReady = live.filter((m) => !m.ready);
  if (notReady.length) return { kind: "wait", reason: `waiting for ${notReady.map((m) => m.name).sort().join(", ")} to become ready` };
  const outdated = live.filter((m) => !m.upToDate);
  if (live.length > replicas) return { kind: "scaleDown", machine: selectForScaleDown(live)!.name, reason: `scaling down to ${replicas}` };
  if (live.length < replicas) return { kind: "create", init: false, reason: `scaling up to ${replicas}` };
  if (outdated.length) {
    if (maxSurge > 0) return { kind: "create", init: false, reason: "rolling out: surging a replacement" };
    return { kind: "scaleDown", machine: selectForScaleDown(live)!.name, reason: "rolling out (maxSurge 0): removing an out-of-date machine first" };
  }
  return { kind: "none" };
}
