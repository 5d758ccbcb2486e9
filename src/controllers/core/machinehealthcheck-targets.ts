/**
 * MachineHealthCheck health checks (upstream `machinehealthcheck_targets.go`): whether a target
 * Machine needs remediation now, and when to look again; plus the remediation budget
 * (`triggerIf`).
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { getCondition, setCondition, setV1Beta1Condition } from "../../runtime/conditions.ts";
import {
  C,
  REMEDIATE_MACHINE_ANNOTATION,
  clusterCondition,
  clusterControlPlaneInitialized,
  clusterInfrastructureProvisioned,
  goDuration,
  hasAnnotation,
  isControlPlaneMachine,
  nodeRefName,
  parseTime,
} from "./machine-api.ts";

export const DEFAULT_NODE_STARTUP_TIMEOUT_SECONDS = 600;

export interface UnhealthyCondition {
  type: string;
  status: string;
  timeoutSeconds?: number;
}

export interface MachineHealthCheckSpec {
  clusterName: string;
  selector?: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  checks?: { nodeStartupTimeoutSeconds?: number; unhealthyNodeConditions?: UnhealthyCondition[]; unhealthyMachineConditions?: UnhealthyCondition[] };
  remediation?: {
    triggerIf?: { unhealthyLessThanOrEqualTo?: number | string; unhealthyInRange?: string };
    templateRef?: { apiVersion?: string; kind?: string; name?: string };
  };
}

export interface Target {
  /** The stored Machine when the reconcile started. */
  before: KObject;
  /** The working copy whose HealthCheckSucceeded (and OwnerRemediated) this reconcile sets. */
  machine: KObject;
  node?: KObject;
  /** status.nodeRef is set but the Node is gone. */
  nodeMissing: boolean;
}

export interface CheckResult {
  unhealthy: boolean;
  /** When the target may turn unhealthy (ms from now), 0 when nothing is pending. */
  nextCheckMs: number;
}

function clusterInfraReady(cluster: KObject): boolean {
  return clusterCondition(cluster, "InfrastructureReady")?.status === "True" || clusterInfrastructureProvisioned(cluster);
}

function minPositive(values: number[]): number {
  const v = values.filter((x) => x > 0);
  return v.length ? Math.min(...v) : 0;
}

function conditionChecks(
  conditions: { type: string; status: string; reason?: string; lastTransitionTime?: string }[],
  checks: UnhealthyCondition[],
  what: "Machine" | "Node",
  now: number,
): { messages: string[]; next: number } {
  const messages: string[] = [];
  const next: number[] = [];
  for (const check of checks) {
    const c = conditions.find((x) => x.type === check.type);
    if (!c || c.status !== check.status) continue;
    const timeoutMs = (check.timeoutSeconds ?? 0) * 1000;
    const since = parseTime(c.lastTransitionTime) ?? now;
    if (since + timeoutMs < now) {
      messages.push(`Condition ${check.type} on ${what} is reporting status ${check.status} with reason ${c.reason ?? ""} for more than ${goDuration(check.timeoutSeconds ?? 0)}`);
      continue;
    }
    const n = timeoutMs - (now - since) + 1000;
    if (n > 0) next.push(n);
  }
  return messages.length ? { messages, next: 0 } : { messages, next: minPositive(next) };
}

/**
 * Decides a target's health and sets its HealthCheckSucceeded condition when it is unhealthy
 * (healthy ones are marked by the caller, once it knows the Node exists).
 */
export function needsRemediation(t: Target, cluster: KObject, spec: MachineHealthCheckSpec, now: number): CheckResult {
  const m = t.machine;
  if (hasAnnotation(m, REMEDIATE_MACHINE_ANNOTATION)) {
    setV1Beta1Condition(m, { type: "HealthCheckSucceeded", status: "False", severity: "Warning", reason: "HasRemediateMachineAnnotation", message: "Marked for remediation via remediate-machine annotation" });
    setCondition(m, {
      type: C.HealthCheckSucceeded,
      status: "False",
      reason: "HasRemediateAnnotation",
      message: "Health check failed: marked for remediation via cluster.x-k8s.io/remediate-machine annotation",
    });
    return { unhealthy: true, nextCheckMs: 0 };
  }
  // Nothing is held against Machines before the control plane exists (except control-plane Machines).
  if (!clusterControlPlaneInitialized(cluster) && !isControlPlaneMachine(m)) return { unhealthy: false, nextCheckMs: 0 };
  if (!clusterInfraReady(cluster)) return { unhealthy: false, nextCheckMs: 0 };

  const machineConditions = ((m.status as { conditions?: { type: string; status: string; reason?: string; lastTransitionTime?: string }[] } | undefined)?.conditions ?? []);
  const machine = conditionChecks(machineConditions, spec.checks?.unhealthyMachineConditions ?? [], "Machine", now);
  const node = nodeChecks(t, cluster, spec, now);
  if (!machine.messages.length && !node.messages.length) return { unhealthy: false, nextCheckMs: minPositive([machine.next, node.next]) };

  let reason = node.reason;
  let v1Reason = node.v1Reason;
  if (machine.messages.length) {
    reason = "UnhealthyMachine";
    v1Reason = "UnhealthyMachine";
  }
  const all = [...machine.messages, ...node.messages];
  setCondition(m, { type: C.HealthCheckSucceeded, status: "False", reason, message: `Health check failed:\n${all.map((x) => `  * ${x}`).join("\n")}` });
  setV1Beta1Condition(m, { type: "HealthCheckSucceeded", status: "False", severity: "Warning", reason: v1Reason, message: v1Reason === "NodeNotFound" ? "" : all.join("; ") });
  return { unhealthy: true, nextCheckMs: 0 };
}

function nodeChecks(t: Target, cluster: KObject, spec: MachineHealthCheckSpec, now: number): { reason: string; v1Reason: string; messages: string[]; next: number } {
  if (t.nodeMissing) {
    return { reason: "NodeDeleted", v1Reason: "NodeNotFound", messages: [`Node ${nodeRefName(t.machine)} has been deleted`], next: 0 };
  }
  if (!t.node) {
    const timeoutSeconds = spec.checks?.nodeStartupTimeoutSeconds ?? DEFAULT_NODE_STARTUP_TIMEOUT_SECONDS;
    if (timeoutSeconds === 0) return { reason: "", v1Reason: "", messages: [], next: 0 };
    // The latest of: Machine created, cluster infrastructure ready, control plane initialized, Machine infrastructure ready.
    let since = parseTime(t.machine.metadata.creationTimestamp) ?? now;
    const later = (c: { status: string; lastTransitionTime?: string } | undefined) => {
      const ts = c?.status === "True" ? parseTime(c.lastTransitionTime) : undefined;
      if (ts !== undefined && ts > since) since = ts;
    };
    later(clusterCondition(cluster, "ControlPlaneInitialized"));
    later(clusterCondition(cluster, "InfrastructureReady"));
    later(getCondition(t.machine, C.InfrastructureReady));
    const timeoutMs = timeoutSeconds * 1000;
    if (since + timeoutMs < now) {
      return { reason: "NodeStartupTimeout", v1Reason: "NodeStartupTimeout", messages: [`Node failed to report startup in ${goDuration(timeoutSeconds)}`], next: 0 };
    }
    return { reason: "", v1Reason: "", messages: [], next: timeoutMs - (now - since) + 1000 };
  }
  const nodeConditions = ((t.node.status as { conditions?: { type: string; status: string; reason?: string; lastTransitionTime?: string }[] } | undefined)?.conditions ?? []);
  const r = conditionChecks(nodeConditions, spec.checks?.unhealthyNodeConditions ?? [], "Node", now);
  return r.messages.length ? { reason: "UnhealthyNode", v1Reason: "UnhealthyNode", messages: r.messages, next: 0 } : { reason: "", v1Reason: "", messages: [], next: r.next };
}

/** Sorts targets into healthy and unhealthy; marks healthy ones (with a Node, not deleting) HealthCheckSucceeded. */
export function healthCheckTargets(targets: Target[], cluster: KObject, spec: MachineHealthCheckSpec, now: number): { healthy: Target[]; unhealthy: Target[]; nextCheckMs: number } {
  const healthy: Target[] = [];
  const unhealthy: Target[] = [];
  const next: number[] = [];
  for (const t of targets) {
    const r = needsRemediation(t, cluster, spec, now);
    if (r.unhealthy) {
      unhealthy.push(t);
      continue;
    }
    if (r.nextCheckMs > 0) {
      next.push(r.nextCheckMs);
      continue;
    }
    if (!t.machine.metadata.deletionTimestamp && t.node) {
      setV1Beta1Condition(t.machine, { type: "HealthCheckSucceeded", status: "True" });
      setCondition(t.machine, { type: C.HealthCheckSucceeded, status: "True", reason: "HealthCheckSucceeded" });
      healthy.push(t);
    }
  }
  return { healthy, unhealthy, nextCheckMs: minPositive(next) };
}

/** `[a-b]` → [a, b]; throws when malformed or b < a. */
export function parseUnhealthyRange(range: string): [number, number] {
  const m = /^\[(\d+)-(\d+)\]$/.exec(range.trim());
  if (!m) throw new Error(`invalid unhealthyRange ${JSON.stringify(range)}`);
  const min = Number(m[1]);
  const max = Number(m[2]);
  if (max < min) throw new Error(`max value ${max} cannot be less than min value ${min} for unhealthyRange`);
  return [min, max];
}

/** An int-or-percent scaled against `total`, rounding down (intstr.GetScaledValueFromIntOrPercent, roundUp=false). */
export function scaledValue(v: number | string, total: number): number {
  if (typeof v === "number") return v;
  const pct = /^(\d+)%$/.exec(v.trim());
  if (pct) return Math.floor((Number(pct[1]) * total) / 100);
  if (/^\d+$/.test(v.trim())) return Number(v);
  throw new Error(`invalid value for IntOrString: invalid value "${v}": must be an integer or a percentage`);
}

/**
 * Whether remediation may proceed and how many more remediations the budget allows: with
 * `unhealthyInRange` (wins) the unhealthy count must lie in the range; otherwise it must not exceed
 * `unhealthyLessThanOrEqualTo` (default 100%). Unhealthy = expected − currently healthy.
 */
export function remediationAllowed(spec: MachineHealthCheckSpec, expected: number, currentHealthy: number): { allowed: boolean; count: number } {
  const unhealthy = expected - currentHealthy;
  const triggerIf = spec.remediation?.triggerIf ?? {};
  if (triggerIf.unhealthyInRange) {
    const [min, max] = parseUnhealthyRange(triggerIf.unhealthyInRange);
    return { allowed: unhealthy >= min && unhealthy <= max, count: max - unhealthy };
  }
  const max = scaledValue(triggerIf.unhealthyLessThanOrEqualTo ?? "100%", expected);
  return { allowed: unhealthy <= max, count: max - unhealthy };
}
