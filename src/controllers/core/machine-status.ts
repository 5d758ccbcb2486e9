/**
 * The Machine's status after every reconcile (upstream `machine_controller_status.go`): the
 * BootstrapConfigReady/InfrastructureReady mirrors, NodeReady/NodeHealthy, Deleting, Updating,
 * UpToDate, the Ready summary, the phase, and Available (Ready for minReadySeconds).
 * @module
 */
import { nowRfc3339, type KObject } from "../../lib/kobject.ts";
import { getCondition, getV1Beta1Condition, setCondition, setV1Beta1Condition, type Condition, type ConditionStatus } from "../../runtime/conditions.ts";
import { C, machineSpec, machineStatus, parseTime } from "./machine-api.ts";
import { setNodeHealthyAndReadyConditions } from "./machine-node.ts";
import { providerReady } from "./machine-phases.ts";
import type { MachineScope, PhaseResult } from "./machine-scope.ts";

/** Returns the requeue needed for Available (minReadySeconds). */
export function updateStatus(s: MachineScope, now = Date.now()): PhaseResult {
  setBootstrapConfigReady(s);
  setInfrastructureReady(s);
  setNodeHealthyAndReadyConditions(s, now);
  setDeleting(s);
  setCondition(s.machine, { type: C.Updating, status: "False", reason: "NotUpdating" });
  setUpToDate(s, now);
  setReady(s.machine, now);
  setV1Beta1Ready(s.machine);
  setPhase(s.machine, now);
  return setAvailable(s.machine, now);
}

/** A provider object's Ready condition, or the contract field as fallback. */
function mirror(obj: KObject, type: string, ok: boolean, trueReason: string, falseReason: string, fallbackMessage: string): Omit<Condition, "lastTransitionTime"> {
  const ready = providerReady(obj);
  if (ready) {
    let reason = ready.reason || "NoReasonReported";
    if (reason === "NoReasonReported" && ready.status === "True") reason = trueReason;
    // The v1beta2 schema only takes CamelCase-ish reasons; v1beta1 providers may report anything.
    if (!/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/.test(reason)) reason = ready.status === "True" ? trueReason : falseReason;
    return { type, status: ready.status as ConditionStatus, reason, message: ready.message ?? "" };
  }
  return { type, status: ok ? "True" : "False", reason: ok ? trueReason : falseReason, message: ok ? "" : fallbackMessage };
}

function setBootstrapConfigReady(s: MachineScope): void {
  const m = s.machine;
  const ref = machineSpec(m).bootstrap?.configRef;
  const init = machineStatus(m).initialization ?? {};
  if (!ref?.kind) {
    setCondition(m, { type: C.BootstrapConfigReady, status: "True", reason: "DataSecretProvided" });
    return;
  }
  if (s.bootstrapConfig) {
    const ok = init.bootstrapDataSecretCreated === true;
    setCondition(m, mirror(s.bootstrapConfig, C.BootstrapConfigReady, ok, "Ready", "NotReady", `${ref.kind} status.initialization.dataSecretCreated is ${ok}`));
    return;
  }
  if (!s.bootstrapConfigNotFound) {
    setCondition(m, { type: C.BootstrapConfigReady, status: "Unknown", reason: "InternalError", message: "Please check controller logs for errors" });
    return;
  }
  if (m.metadata.deletionTimestamp && init.bootstrapDataSecretCreated) {
    setCondition(m, { type: C.BootstrapConfigReady, status: "False", reason: "ObjectDeleted", message: `${ref.kind} has been deleted` });
    return;
  }
  setCondition(m, { type: C.BootstrapConfigReady, status: "False", reason: "ObjectDoesNotExist", message: `${ref.kind} does not exist` });
}

function setInfrastructureReady(s: MachineScope): void {
  const m = s.machine;
  const kind = machineSpec(m).infrastructureRef?.kind ?? "InfrastructureMachine";
  const provisioned = machineStatus(m).initialization?.infrastructureProvisioned === true;
  if (s.infraMachine) {
    setCondition(m, mirror(s.infraMachine, C.InfrastructureReady, provisioned, "Ready", "NotReady", `${kind} status.initialization.provisioned is ${provisioned}`));
    return;
  }
  if (!s.infraMachineNotFound) {
    setCondition(m, { type: C.InfrastructureReady, status: "Unknown", reason: "InternalError", message: "Please check controller logs for errors" });
    return;
  }
  if (m.metadata.deletionTimestamp) {
    if (provisioned) setCondition(m, { type: C.InfrastructureReady, status: "False", reason: "ObjectDeleted", message: `${kind} has been deleted` });
    else setCondition(m, { type: C.InfrastructureReady, status: "False", reason: "ObjectDoesNotExist", message: `${kind} does not exist` });
    return;
  }
  if (provisioned) {
    setCondition(m, { type: C.InfrastructureReady, status: "False", reason: "ObjectDeleted", message: `${kind} has been deleted while the Machine still exists` });
    return;
  }
  setCondition(m, { type: C.InfrastructureReady, status: "False", reason: "ObjectDoesNotExist", message: `${kind} does not exist` });
}

function setDeleting(s: MachineScope): void {
  const m = s.machine;
  if (!m.metadata.deletionTimestamp) {
    setCondition(m, { type: C.Deleting, status: "False", reason: "NotDeleting" });
    return;
  }
  setCondition(m, { type: C.Deleting, status: "True", reason: s.deletingReason ?? "Deleting", message: s.deletingMessage ?? "" });
}

interface TemplateSpec {
  version?: string;
  bootstrap?: { configRef?: { apiGroup?: string; kind?: string; name?: string }; dataSecretName?: string };
  infrastructureRef?: { apiGroup?: string; kind?: string; name?: string };
  failureDomain?: string;
}

function templateSpec(o: KObject): TemplateSpec {
  return ((o.spec as { template?: { spec?: TemplateSpec } } | undefined)?.template?.spec ?? {}) as TemplateSpec;
}

function sameRef(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Why a MachineSet's template is not the MachineDeployment's (upstream mdutil.MachineTemplateUpToDate). */
export function templateDiffs(current: TemplateSpec, desired: TemplateSpec): string[] {
  const out: string[] = [];
  if ((current.version ?? "") !== (desired.version ?? "")) out.push(`Version ${current.version ?? ""}, ${desired.version ?? ""} required`);
  const bootstrapA = { configRef: current.bootstrap?.configRef, dataSecretName: current.bootstrap?.dataSecretName };
  const bootstrapB = { configRef: desired.bootstrap?.configRef, dataSecretName: desired.bootstrap?.dataSecretName };
  if (current.bootstrap?.configRef?.kind) {
    if (!sameRef(canonicalRef(bootstrapA.configRef), canonicalRef(bootstrapB.configRef)) || bootstrapA.dataSecretName !== bootstrapB.dataSecretName) {
      out.push(`${current.bootstrap.configRef.kind.replace(/Template$/, "")} is not up-to-date`);
    }
  } else if (!sameRef(canonicalRef(bootstrapA.configRef), canonicalRef(bootstrapB.configRef)) || bootstrapA.dataSecretName !== bootstrapB.dataSecretName) {
    out.push(`spec.bootstrap.dataSecretName ${bootstrapA.dataSecretName ?? "nil"}, ${bootstrapB.dataSecretName ?? "nil"} required`);
  }
  if (!sameRef(canonicalRef(current.infrastructureRef), canonicalRef(desired.infrastructureRef))) {
    out.push(`${(current.infrastructureRef?.kind ?? "").replace(/Template$/, "")} is not up-to-date`);
  }
  if ((current.failureDomain ?? "") !== (desired.failureDomain ?? "")) out.push(`Failure domain ${current.failureDomain ?? ""}, ${desired.failureDomain ?? ""} required`);
  return out;
}

function canonicalRef(r: { apiGroup?: string; kind?: string; name?: string } | undefined) {
  return r ? { apiGroup: r.apiGroup ?? "", kind: r.kind ?? "", name: r.name ?? "" } : null;
}

/** UpToDate, for Machines of a MachineSet controlled by a MachineDeployment (others: left to their owner). */
function setUpToDate(s: MachineScope, now: number): void {
  const m = s.machine;
  const ms = s.owningMachineSet;
  const md = s.owningMachineDeployment;
  if (!ms || !md) return;
  const messages = templateDiffs(templateSpec(ms), templateSpec(md));
  const after = parseTime((md.spec as { rollout?: { after?: string } } | undefined)?.rollout?.after);
  const msCreated = parseTime(ms.metadata.creationTimestamp);
  if (after !== undefined && after < now && msCreated !== undefined && msCreated < after) messages.push("MachineDeployment spec.rolloutAfter expired");
  if (messages.length) {
    setCondition(m, { type: C.UpToDate, status: "False", reason: "NotUpToDate", message: messages.map((x) => `* ${x}`).join("\n") });
    return;
  }
  setCondition(m, { type: C.UpToDate, status: "True", reason: "UpToDate" });
}

type Priority = 0 | 1 | 2; // issue, unknown, info

function indent(message: string): string {
  const bullet = /^\s*\* /;
  if (!message.includes("\n") && !bullet.test(message)) return ` ${message}`;
  const lines = message.split("\n");
  const allBullets = lines.every((l) => bullet.test(l));
  return `\n${lines.map((l) => (allBullets ? `  ${l}` : bullet.test(l) ? `    ${l}` : `  * ${l}`)).join("\n")}`;
}

/**
 * Ready: summary of Deleting (negative), Updating (negative), BootstrapConfigReady,
 * InfrastructureReady, NodeHealthy, HealthCheckSucceeded (if present) and readinessGates.
 */
export function setReady(m: KObject, now = Date.now()): void {
  const spec = machineSpec(m);
  const deleting = Boolean(m.metadata.deletionTimestamp);
  const types: string[] = [C.Deleting, C.Updating, C.BootstrapConfigReady, C.InfrastructureReady, C.NodeHealthy, C.HealthCheckSucceeded];
  const negative = new Set<string>([C.Deleting, C.Updating]);
  for (const g of spec.readinessGates ?? []) {
    types.push(g.conditionType);
    if (g.polarity === "Negative") negative.add(g.conditionType);
  }
  const entries: { type: string; status: string; reason: string; message: string }[] = [];
  for (const type of types) {
    const c = getCondition(m, type);
    if (!c) {
      if (type === C.HealthCheckSucceeded) continue;
      entries.push({ type, status: "Unknown", reason: "NotYetReported", message: "Condition not yet reported" });
      continue;
    }
    entries.push({ type, status: c.status, reason: c.reason, message: c.message ?? "" });
  }
  if (deleting) {
    const d = getCondition(m, C.Deleting);
    let msg = "Machine deletion in progress";
    if (d) {
      msg = `Machine deletion in progress, stage: ${d.reason}`;
      const since = parseTime(m.metadata.deletionTimestamp);
      if (since !== undefined && now - since > 15 * 60_000) {
        msg = `Machine deletion in progress since more than 15m, stage: ${d.reason}`;
        const drainStart = parseTime(machineStatus(m).deletion?.nodeDrainStartTime);
        if (d.reason === "DrainingNode" && drainStart !== undefined && now - drainStart > 5 * 60_000) {
          const why: string[] = [];
          const dm = d.message ?? "";
          if (dm.includes("cannot evict pod as it would violate the pod's disruption budget.")) why.push("PodDisruptionBudgets");
          if (dm.includes("deletionTimestamp set, but still not removed from the Node")) why.push("Pods not terminating");
          if (dm.includes("failed to evict Pod")) why.push("Pod eviction errors");
          if (dm.includes("waiting for completion")) why.push("Pods not completed yet");
          if (why.length) msg += `, delay likely due to ${why.join(", ")}`;
        }
      }
    }
    const i = entries.findIndex((e) => e.type === C.Deleting);
    entries[i] = { type: C.Deleting, status: "True", reason: "Deleting", message: msg };
  }
  const priority = (e: { type: string; status: string; reason: string }): Priority => {
    if (deleting) {
      if (e.type === C.BootstrapConfigReady && (e.reason === "ObjectDeleted" || e.reason === "ObjectDoesNotExist")) return 2;
      if (e.type === C.InfrastructureReady && (e.reason === "ObjectDeleted" || e.reason === "ObjectDoesNotExist")) return 2;
      if (e.type === C.NodeHealthy && (e.reason === "NodeDeleted" || e.reason === "NodeDoesNotExist")) return 2;
    }
    if (e.status === "True") return negative.has(e.type) ? 0 : 2;
    if (e.status === "False") return negative.has(e.type) ? 2 : 0;
    return 1;
  };
  const issues = entries.filter((e) => priority(e) === 0).length;
  const unknowns = entries.filter((e) => priority(e) === 1).length;
  const status: ConditionStatus = issues ? "False" : unknowns ? "Unknown" : "True";
  const reason = issues ? "NotReady" : unknowns ? "ReadyUnknown" : "Ready";
  const lines: string[] = [];
  for (const e of entries) {
    if (priority(e) === 2 && (status !== "True" || !e.message)) continue;
    lines.push(`* ${e.type}:${e.message ? indent(e.message) : ` ${e.reason}`}`);
  }
  setCondition(m, { type: C.Ready, status, reason, message: lines.join("\n") });
}

/** The deprecated v1beta1 Ready: the first failing of InfrastructureReady, BootstrapReady, HealthCheckSucceeded, OwnerRemediated, DrainingSucceeded. */
function setV1Beta1Ready(m: KObject): void {
  for (const type of ["InfrastructureReady", "BootstrapReady", "HealthCheckSucceeded", "OwnerRemediated", "DrainingSucceeded"]) {
    const c = getV1Beta1Condition(m, type);
    if (c && c.status !== "True") {
      setV1Beta1Condition(m, { type: "Ready", status: c.status, severity: c.severity || "Info", reason: c.reason ?? "", message: c.message ?? "" });
      return;
    }
  }
  setV1Beta1Condition(m, { type: "Ready", status: "True" });
}

function setPhase(m: KObject, now: number): void {
  const status = machineStatus(m);
  const init = status.initialization ?? {};
  const original = status.phase;
  let phase = status.phase || "Pending";
  if (init.bootstrapDataSecretCreated && !init.infrastructureProvisioned) phase = "Provisioning";
  if (machineSpec(m).providerID) phase = "Provisioned";
  if (status.nodeRef?.name && init.infrastructureProvisioned) phase = "Running";
  if (getCondition(m, C.Updating)?.status === "True") phase = "Updating";
  if (m.metadata.deletionTimestamp) phase = "Deleting";
  status.phase = phase;
  if (phase !== original) status.lastUpdated = nowRfc3339(new Date(now));
}

/** Available: Ready for at least spec.minReadySeconds; returns when to look again. */
function setAvailable(m: KObject, now: number): PhaseResult {
  const ready = getCondition(m, C.Ready);
  if (!ready || ready.status !== "True") {
    setCondition(m, { type: C.Available, status: "False", reason: "NotReady" });
    return {};
  }
  const since = parseTime(ready.lastTransitionTime) ?? now;
  const wait = since + (machineSpec(m).minReadySeconds ?? 0) * 1000 - now;
  if (wait <= 0) {
    setCondition(m, { type: C.Available, status: "True", reason: "Available" });
    return {};
  }
  setCondition(m, { type: C.Available, status: "False", reason: "WaitingForMinReadySeconds" });
  return { requeueAfter: wait };
}
