/**
 * What the TalosControlPlane controller does next, as a pure function of what it observed: one
 * step per reconcile (create one machine, bootstrap etcd, or take one machine out), so machines
 * come and go one at a time and only while every other machine is healthy.
 *
 * - etcd is bootstrapped exactly once, on the first machine in numeric address order (a
 *   deterministic choice a restarted controller repeats);
 * - a machine already being taken out (its etcd membership given up) is finished first, never
 *   waited on as "unhealthy" — the member-count deadlock CACPPT had (#237, #262) cannot happen;
 * - a Machine deleted by someone else (OnDelete, or by hand) is held by a pre-terminate hook until
 *   its etcd member is removed; members no machine accounts for are removed too;
 * - RollingUpdate: with machines out of date, surge up to `replicas + maxSurge` then remove the
 *   oldest out-of-date machine (maxSurge 0 with 3+ replicas removes first); OnDelete: nothing is
 *   replaced, only the count is kept.
 * @module
 */
import { compareAddresses } from "./common.ts";

export interface MachineView {
  name: string;
  /** creationTimestamp, ms. */
  created: number;
  address?: string;
  /** etcd running and healthy on it, and it is a member. */
  healthy: boolean;
  /** Version, Talos config and infrastructure template match the spec. */
  upToDate: boolean;
  deleting: boolean;
  /** Marked for removal: its etcd membership is being (or was) given up. */
  leaving: boolean;
  /** Carries this controller's pre-terminate hook (etcd membership not yet released). */
  hook?: boolean;
}

export interface RolloutStrategy {
  type: "RollingUpdate" | "OnDelete";
  maxSurge: number;
}

export interface PlanInput {
  replicas: number;
  /** etcd member names, when known (bootstrapped and some node answered). */
  members?: string[];
  machines: MachineView[];
  bootstrapped: boolean;
  strategy: RolloutStrategy;
}

export type Action =
  | { kind: "create"; reason: string }
  | { kind: "bootstrap"; machine: string; address: string }
  | { kind: "scaleDown"; machine: string; reason: string }
  /** A Machine being deleted still holds our pre-terminate hook: take it out of etcd, drop the hook. */
  | { kind: "release"; machine: string }
  /** etcd lists members no machine accounts for (a machine deleted behind our back): remove them. */
  | { kind: "removeStrayMembers"; members: string[] }
  /** `onEvent`: what is waited for comes as a Machine change (no need to poll for it). */
  | { kind: "wait"; reason: string; onEvent?: true }
  | { kind: "none" };

const byAge = (a: MachineView, b: MachineView) => a.created - b.created || (a.name < b.name ? -1 : 1);

/** The bootstrap node: lowest address (numeric order), among machines that have one. */
export function bootstrapCandidate(machines: MachineView[]): MachineView | undefined {
  return machines.filter((m) => m.address && !m.deleting && !m.leaving).sort((a, b) => compareAddresses(a.address!, b.address!))[0];
}

/** maxSurge as int or percent of replicas (rounded up), as Cluster API reads it. */
export function resolveMaxSurge(v: number | string | undefined, replicas: number): number {
  if (v === undefined || v === null) return 1;
  if (typeof v === "number") return Math.max(0, Math.floor(v));
  const m = /^(\d+)%$/.exec(v.trim());
  if (m) return Math.ceil((Number(m[1]) * replicas) / 100);
  const n = Number(v);
  return Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 1;
}

export function plan(input: PlanInput): Action {
  const { replicas, bootstrapped, strategy } = input;
  const live = input.machines.filter((m) => !m.deleting);
  const releasing = input.machines.filter((m) => m.deleting && m.hook).sort(byAge)[0];
  if (releasing) return { kind: "release", machine: releasing.name };
  if (input.machines.some((m) => m.deleting)) return { kind: "wait", reason: "a control-plane machine is being deleted", onEvent: true };
  const leaving = live.filter((m) => m.leaving).sort(byAge)[0];
  if (leaving) return { kind: "scaleDown", machine: leaving.name, reason: "finishing the removal already begun" };
  if (live.length === 0) return replicas > 0 ? { kind: "create", reason: "no control-plane machine yet" } : { kind: "none" };
  if (!bootstrapped) {
    const first = bootstrapCandidate(live);
    if (!first) return { kind: "wait", reason: "waiting for a control-plane machine to report an address", onEvent: true };
    return { kind: "bootstrap", machine: first.name, address: first.address! };
  }
  const stray = (input.members ?? []).filter((n) => !input.machines.some((m) => m.name === n));
  if (stray.length && live.some((m) => m.healthy)) return { kind: "removeStrayMembers", members: stray };
  const unhealthy = live.filter((m) => !m.healthy);
  if (unhealthy.length) {
    // etcd health is polled; a machine without an address first needs one (a Machine change)
    const reason = `waiting for ${unhealthy.map((m) => m.name).join(", ")} to become healthy`;
    return unhealthy.every((m) => !m.address) ? { kind: "wait", reason, onEvent: true } : { kind: "wait", reason };
  }
  const outdated = live.filter((m) => !m.upToDate).sort(byAge);
  if (live.length < replicas) return { kind: "create", reason: `scaling up to ${replicas}` };
  if (live.length > replicas) {
    const victim = outdated[0] ?? [...live].sort(byAge)[0]!;
    return { kind: "scaleDown", machine: victim.name, reason: `scaling down to ${replicas}` };
  }
  if (outdated.length && strategy.type === "RollingUpdate") {
    if (strategy.maxSurge === 0 && replicas >= 3) return { kind: "scaleDown", machine: outdated[0]!.name, reason: "rolling update (maxSurge 0): removing an out-of-date machine first" };
    return { kind: "create", reason: "rolling update: surging a replacement" };
  }
  return { kind: "none" };
}
