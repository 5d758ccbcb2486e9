/**
 * Shared helpers of the MachineSet and MachineDeployment controllers, after upstream
 * `core/reconcilers/machinedeployment/mdutil/util.go` (release-1.14): the v1beta2 shapes both
 * controllers read, int-or-percent resolution (maxSurge rounds up, maxUnavailable down, both 0 →
 * unavailable 1), the "is this MachineSet the new one" comparison (version, bootstrap,
 * infrastructureRef, failureDomain only), revisions, replica sums, label selectors, and the
 * aggregation of Machine conditions into MachineSet / MachineDeployment conditions.
 * @module
 */
import { deepEqual, type KObject } from "../../lib/kobject.ts";
import { labelSelectorFromObject, type LabelSelectorObject } from "../../lib/selectors/index.ts";
import { getCondition, getV1Beta1Condition, setCondition, setV1Beta1Condition, type Condition, type ConditionStatus, type V1Beta1Condition } from "../../runtime/conditions.ts";
import type { ContractRef } from "./contract.ts";
import { cloneData } from "../../lib/clone.ts";

// ---------------------------------------------------------------------------------------------
// Names (api/core/v1beta2)
// ---------------------------------------------------------------------------------------------

export const MACHINE_FINALIZER = "machine.cluster.x-k8s.io";
export const MACHINESET_FINALIZER = "cluster.x-k8s.io/machineset";
export const MACHINEDEPLOYMENT_FINALIZER = "cluster.x-k8s.io/machinedeployment";
export const REVISION_ANNOTATION = "machinedeployment.clusters.x-k8s.io/revision";
/** Deprecated upstream, still maintained on the new MachineSet. */
export const REVISION_HISTORY_ANNOTATION = "machinedeployment.clusters.x-k8s.io/revision-history";
export const DESIRED_REPLICAS_ANNOTATION = "machinedeployment.clusters.x-k8s.io/desired-replicas";
export const MAX_REPLICAS_ANNOTATION = "machinedeployment.clusters.x-k8s.io/max-replicas";
export const DISABLE_MACHINE_CREATE_ANNOTATION = "cluster.x-k8s.io/disable-machine-create";
export const REMEDIATE_MACHINE_ANNOTATION = "cluster.x-k8s.io/remediate-machine";
export const UPDATE_IN_PROGRESS_ANNOTATION = "in-place-updates.internal.cluster.x-k8s.io/update-in-progress";
/** Accepted and ignored: the appliance runs no MachineSet preflight checks. */
export const SKIP_PREFLIGHT_CHECKS_ANNOTATION = "machineset.cluster.x-k8s.io/skip-preflight-checks";
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";
export const CONVERSION_DATA_ANNOTATION = "cluster.x-k8s.io/conversion-data";
export const TEMPLATE_SUFFIX = "Template";

// ---------------------------------------------------------------------------------------------
// v1beta2 shapes
// ---------------------------------------------------------------------------------------------

export interface MachineSpec {
  clusterName?: string;
  bootstrap?: { configRef?: ContractRef; dataSecretName?: string };
  infrastructureRef?: ContractRef;
  version?: string;
  failureDomain?: string;
  providerID?: string;
  minReadySeconds?: number;
  readinessGates?: unknown[];
  taints?: unknown[];
  deletion?: { nodeDrainTimeoutSeconds?: number; nodeVolumeDetachTimeoutSeconds?: number; nodeDeletionTimeoutSeconds?: number };
  [k: string]: unknown;
}

export interface MachineTemplateSpec {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: MachineSpec;
}

export interface MachineSetSpec {
  clusterName?: string;
  replicas?: number;
  selector?: LabelSelectorObject;
  template?: MachineTemplateSpec;
  deletion?: { order?: string };
  machineNaming?: { template?: string };
}

export interface StatusVersion {
  version: string;
  replicas: number;
}

export interface ReplicaStatus {
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  upToDateReplicas?: number;
  selector?: string;
  observedGeneration?: number;
  versions?: StatusVersion[];
  conditions?: Condition[];
  deprecated?: { v1beta1?: Record<string, unknown> };
  phase?: string;
}

export type IntOrString = number | string;

export interface MachineDeploymentSpec extends MachineSetSpec {
  paused?: boolean;
  rollout?: {
    after?: string;
    strategy?: { type?: string; rollingUpdate?: { maxSurge?: IntOrString; maxUnavailable?: IntOrString } };
  };
  remediation?: { maxInFlight?: IntOrString };
}

export function specOf<T = MachineSetSpec>(obj: KObject): T {
  return (obj.spec ?? {}) as T;
}

export function statusOf(obj: KObject): ReplicaStatus {
  return (obj.status ?? {}) as ReplicaStatus;
}

/** spec.replicas; webhooks default it to 1, which is also the value assumed when unset. */
export function specReplicas(obj: KObject): number {
  const r = specOf(obj).replicas;
  return typeof r === "number" ? r : 1;
}

export function machineSpecOf(machine: KObject): MachineSpec {
  return (machine.spec ?? {}) as MachineSpec;
}

export function isDeleting(obj: KObject): boolean {
  return Boolean(obj.metadata.deletionTimestamp);
}

export function timeOf(ts: string | undefined): number {
  if (!ts) return 0;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? 0 : t;
}

// ---------------------------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------------------------

/** metav1.LabelSelectorAsSelector(...).String(): the `status.selector` form read by `scale`. */
export function selectorString(sel: LabelSelectorObject | undefined): string {
  return labelSelectorFromObject(sel ?? {}).toString();
}

/** Whether labels match the selector (an absent selector matches everything, as `{}` does). */
export function selectorMatches(sel: LabelSelectorObject | undefined, labels: Record<string, string> | undefined): boolean {
  return labelSelectorFromObject(sel ?? {}).matches(labels ?? {});
}

export function selectorIsEmpty(sel: LabelSelectorObject | undefined): boolean {
  return labelSelectorFromObject(sel ?? {}).empty;
}

// ---------------------------------------------------------------------------------------------
// Int-or-percent, maxSurge / maxUnavailable
// ---------------------------------------------------------------------------------------------

/** intstr.GetScaledValueFromIntOrPercent; throws on a string that is not `N%`. */
export function scaledValue(v: IntOrString | undefined | null, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) throw new Error("nil value for IntOrString");
  if (typeof v === "number") return v;
  if (!v.endsWith("%")) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  const n = Number.parseInt(v.slice(0, -1), 10);
  if (!/^[+-]?\d+$/.test(v.slice(0, -1)) || Number.isNaN(n)) throw new Error(`invalid value "${v}": strconv.Atoi: parsing "${v.slice(0, -1)}": invalid syntax`);
  return roundUp ? Math.ceil((n * total) / 100) : Math.floor((n * total) / 100);
}

export type RolloutStrategy = "RollingUpdate" | "OnDelete";

/** The strategy, defaulted as the MachineDeployment webhook does (RollingUpdate, surge 1, unavailable 0). */
export function rolloutStrategy(md: KObject): { type: RolloutStrategy | string; maxSurge: IntOrString; maxUnavailable: IntOrString } {
  const s = specOf<MachineDeploymentSpec>(md).rollout?.strategy;
  const type = s?.type || "RollingUpdate";
  return { type, maxSurge: s?.rollingUpdate?.maxSurge ?? 1, maxUnavailable: s?.rollingUpdate?.maxUnavailable ?? 0 };
}

export function isRollingUpdate(md: KObject): boolean {
  return rolloutStrategy(md).type === "RollingUpdate";
}

/**
 * ResolveFenceposts: maxSurge rounded up, maxUnavailable rounded down; when both resolve to 0
 * (only possible through rounding — the webhook rejects two literal zeros), unavailable is 1.
 */
export function resolveFenceposts(maxSurge: IntOrString | undefined, maxUnavailable: IntOrString | undefined, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge, desired, true);
  let unavailable = scaledValue(maxUnavailable, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

/** mdutil.MaxSurge (0 unless RollingUpdate; errors resolve to 0 as upstream ignores them). */
export function maxSurge(md: KObject): number {
  if (!isRollingUpdate(md)) return 0;
  const s = rolloutStrategy(md);
  try {
    return resolveFenceposts(s.maxSurge, s.maxUnavailable, specReplicas(md)).surge;
  } catch {
    return 0;
  }
}

/** mdutil.MaxUnavailable (0 unless RollingUpdate or with 0 replicas; capped at spec.replicas). */
export function maxUnavailable(md: KObject): number {
  const replicas = specReplicas(md);
  if (!isRollingUpdate(md) || replicas === 0) return 0;
  const s = rolloutStrategy(md);
  let u: number;
  try {
    u = resolveFenceposts(s.maxSurge, s.maxUnavailable, replicas).unavailable;
  } catch {
    return 0;
  }
  return Math.min(u, replicas);
}

// ---------------------------------------------------------------------------------------------
// Template comparison (MachineTemplateUpToDate)
// ---------------------------------------------------------------------------------------------

function normRef(ref: ContractRef | undefined): ContractRef {
  return { apiGroup: ref?.apiGroup ?? "", kind: ref?.kind ?? "", name: ref?.name ?? "" };
}

function refDefined(ref: ContractRef | undefined): boolean {
  return Boolean(ref && (ref.apiGroup || ref.kind || ref.name));
}

/**
 * MachineTemplateDeepCopyRolloutFields: the template without labels, annotations, clusterName,
 * providerID and the fields propagated in place (minReadySeconds, readinessGates, deletion
 * timeouts, taints). Its hash seeds the `machine-template-hash` label.
 */
export function rolloutFields(template: MachineTemplateSpec | undefined): MachineSpec {
  const spec = cloneData(template?.spec ?? {}) as MachineSpec;
  delete spec.clusterName;
  delete spec.providerID;
  delete spec.minReadySeconds;
  delete spec.readinessGates;
  delete spec.taints;
  if (spec.deletion) {
    const { nodeDrainTimeoutSeconds: _a, nodeVolumeDetachTimeoutSeconds: _b, nodeDeletionTimeoutSeconds: _c, ...rest } = spec.deletion;
    if (Object.keys(rest).length) spec.deletion = rest;
    else delete spec.deletion;
  }
  return spec;
}

export interface UpToDateResult {
  upToDate: boolean;
  logMessages: string[];
  conditionMessages: string[];
}

/** mdutil.MachineTemplateUpToDate: version, bootstrap (configRef / dataSecretName), infrastructureRef, failureDomain. */
export function machineTemplateUpToDate(current: MachineTemplateSpec | undefined, desired: MachineTemplateSpec | undefined): UpToDateResult {
  const c = rolloutFields(current);
  const d = rolloutFields(desired);
  const res: UpToDateResult = { upToDate: true, logMessages: [], conditionMessages: [] };
  const cv = c.version ?? "";
  const dv = d.version ?? "";
  if (cv !== dv) {
    res.logMessages.push(`spec.version ${cv}, ${dv} required`);
    res.conditionMessages.push(`Version ${cv}, ${dv} required`);
  }
  const cb = { configRef: normRef(c.bootstrap?.configRef), dataSecretName: c.bootstrap?.dataSecretName ?? null };
  const db = { configRef: normRef(d.bootstrap?.configRef), dataSecretName: d.bootstrap?.dataSecretName ?? null };
  if (!deepEqual(cb, db)) {
    if (refDefined(c.bootstrap?.configRef)) {
      res.logMessages.push(`spec.bootstrap.configRef ${cb.configRef.kind} ${cb.configRef.name}, ${db.configRef.kind} ${db.configRef.name} required`);
      res.conditionMessages.push(`${trimTemplate(cb.configRef.kind)} is not up-to-date`);
    } else {
      const msg = `spec.bootstrap.dataSecretName ${cb.dataSecretName ?? "nil"}, ${db.dataSecretName ?? "nil"} required`;
      res.logMessages.push(msg);
      res.conditionMessages.push(msg);
    }
  }
  const ci = normRef(c.infrastructureRef);
  const di = normRef(d.infrastructureRef);
  if (!deepEqual(ci, di)) {
    res.logMessages.push(`spec.infrastructureRef ${ci.kind} ${ci.name}, ${di.kind} ${di.name} required`);
    res.conditionMessages.push(`${trimTemplate(ci.kind)} is not up-to-date`);
  }
  const cf = c.failureDomain ?? "";
  const df = d.failureDomain ?? "";
  if (cf !== df) {
    res.logMessages.push(`spec.failureDomain ${cf}, ${df} required`);
    res.conditionMessages.push(`Failure domain ${cf}, ${df} required`);
  }
  res.upToDate = res.logMessages.length === 0;
  return res;
}

export function trimTemplate(kind: string): string {
  return kind.endsWith(TEMPLATE_SUFFIX) ? kind.slice(0, -TEMPLATE_SUFFIX.length) : kind;
}

// ---------------------------------------------------------------------------------------------
// Sorting
// ---------------------------------------------------------------------------------------------

function byName(a: KObject, b: KObject): number {
  const x = a.metadata.name ?? "";
  const y = b.metadata.name ?? "";
  return x < y ? -1 : x > y ? 1 : 0;
}

/** MachineSetsByCreationTimestamp: oldest first, name as tie breaker. */
export function byCreationTimestamp(a: KObject, b: KObject): number {
  const d = timeOf(a.metadata.creationTimestamp) - timeOf(b.metadata.creationTimestamp);
  return d !== 0 ? d : byName(a, b);
}

/** MachineSetsByDecreasingReplicas: most spec.replicas first, then oldest, then name. */
export function byDecreasingReplicas(a: KObject, b: KObject): number {
  const d = specReplicas(b) - specReplicas(a);
  return d !== 0 ? d : byCreationTimestamp(a, b);
}

/** MachineSetsBySizeOlder: largest first, older first among equals. */
export function bySizeOlder(a: KObject, b: KObject): number {
  const d = specReplicas(b) - specReplicas(a);
  return d !== 0 ? d : timeOf(a.metadata.creationTimestamp) - timeOf(b.metadata.creationTimestamp);
}

/** MachineSetsBySizeNewer: largest first, newer first among equals. */
export function bySizeNewer(a: KObject, b: KObject): number {
  const d = specReplicas(b) - specReplicas(a);
  return d !== 0 ? d : timeOf(b.metadata.creationTimestamp) - timeOf(a.metadata.creationTimestamp);
}

// ---------------------------------------------------------------------------------------------
// New and old MachineSets, revisions
// ---------------------------------------------------------------------------------------------

export interface NewAndOld {
  newMS?: KObject;
  oldMSs: KObject[];
  upToDate: Map<string, UpToDateResult>;
  createReason: string;
}

/**
 * FindNewAndOldMachineSets: the new MachineSet is the one (most replicas first) whose template
 * matches the MachineDeployment's on the rollout fields; once `spec.rollout.after` has passed it
 * must also have been created at or after that time.
 */
export function findNewAndOldMachineSets(md: KObject, msList: KObject[], now: Date): NewAndOld {
  if (msList.length === 0) return { oldMSs: [], upToDate: new Map(), createReason: "no MachineSets exist for the MachineDeployment" };
  const desired = specOf<MachineDeploymentSpec>(md).template;
  const sorted = [...msList].sort(byDecreasingReplicas);
  const candidates: KObject[] = [];
  const oldMSs: KObject[] = [];
  const upToDate = new Map<string, UpToDateResult>();
  const diffs: string[] = [];
  const afterStr = specOf<MachineDeploymentSpec>(md).rollout?.after;
  // Second precision, as creation timestamps (and metav1.Time on the wire).
  const after = afterStr ? Math.floor(timeOf(afterStr) / 1000) * 1000 : 0;
  for (const ms of sorted) {
    const r = machineTemplateUpToDate(specOf(ms).template, desired);
    upToDate.set(ms.metadata.name!, r);
    if (r.upToDate) candidates.push(ms);
    else {
      oldMSs.push(ms);
      if (after && after < now.getTime() && timeOf(ms.metadata.creationTimestamp) < after) r.logMessages.push("MachineDeployment spec.rolloutAfter expired");
      diffs.push(`MachineSet ${ms.metadata.name} needs rollout: ${r.logMessages.join(", ")}`);
    }
  }
  if (candidates.length === 0) {
    return { oldMSs, upToDate, createReason: `couldn't find MachineSet matching MachineDeployment spec template: ${diffs.join("; ")}` };
  }
  if (!after || now.getTime() < after) {
    return { newMS: candidates[0], oldMSs: [...oldMSs, ...candidates.slice(1)], upToDate, createReason: "" };
  }
  let newMS: KObject | undefined;
  for (const ms of candidates) {
    if (!newMS && timeOf(ms.metadata.creationTimestamp) >= after) newMS = ms;
    else oldMSs.push(ms);
  }
  if (!newMS) {
    return { oldMSs, upToDate, createReason: `spec.rollout.after on MachineDeployment set to ${afterStr}, no MachineSet has been created afterwards` };
  }
  return { newMS, oldMSs, upToDate, createReason: "" };
}

/** The revision annotation as a number (0 when absent; NaN when unparsable). */
export function revisionOf(ms: KObject): number {
  const v = ms.metadata.annotations?.[REVISION_ANNOTATION];
  if (v === undefined) return 0;
  return /^\d+$/.test(v) ? Number(v) : Number.NaN;
}

export function maxRevision(list: KObject[]): number {
  let max = 0;
  for (const ms of list) {
    const v = revisionOf(ms);
    if (!Number.isNaN(v) && v > max) max = v;
  }
  return max;
}

/** ComputeRevisionAnnotations: max(old)+1, never decreasing the new MachineSet's own revision. */
export function computeRevisionAnnotations(newMS: KObject | undefined, oldMSs: KObject[]): { annotations: Record<string, string>; revision: string } {
  const annotations: Record<string, string> = {};
  let revision = String(maxRevision(oldMSs) + 1);
  if (newMS) {
    const current = newMS.metadata.annotations?.[REVISION_ANNOTATION];
    if (current !== undefined && /^\d+$/.test(current) && Number(revision) < Number(current)) revision = current;
    const history = newMS.metadata.annotations?.[REVISION_HISTORY_ANNOTATION];
    if (history !== undefined) annotations[REVISION_HISTORY_ANNOTATION] = history;
    if (current !== undefined && current !== revision) {
      annotations[REVISION_HISTORY_ANNOTATION] = history ? `${history},${current}` : current;
    }
  }
  annotations[REVISION_ANNOTATION] = revision;
  return { annotations, revision };
}

/** The revision annotations an old MachineSet keeps. */
export function revisionAnnotationsOf(ms: KObject): Record<string, string> {
  const out: Record<string, string> = {};
  const a = ms.metadata.annotations ?? {};
  if (a[REVISION_ANNOTATION] !== undefined) out[REVISION_ANNOTATION] = a[REVISION_ANNOTATION];
  if (a[REVISION_HISTORY_ANNOTATION] !== undefined) out[REVISION_HISTORY_ANNOTATION] = a[REVISION_HISTORY_ANNOTATION];
  return out;
}

const SKIP_COPY_ANNOTATIONS = new Set([
  LAST_APPLIED_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  CONVERSION_DATA_ANNOTATION,
]);

/** MachineSetAnnotationsFromMachineDeployment: MD annotations (minus revision bookkeeping) + desired/max replicas. */
export function machineSetAnnotationsFromMD(md: KObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.metadata.annotations ?? {})) if (!SKIP_COPY_ANNOTATIONS.has(k)) out[k] = v;
  out[DESIRED_REPLICAS_ANNOTATION] = String(specReplicas(md));
  out[MAX_REPLICAS_ANNOTATION] = String(specReplicas(md) + maxSurge(md));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Replica sums
// ---------------------------------------------------------------------------------------------

/** Σ spec.replicas. */
export function replicaCount(list: (KObject | undefined)[]): number {
  return list.reduce((n, ms) => n + (ms ? specReplicas(ms) : 0), 0);
}

function sumStatus(list: (KObject | undefined)[], field: "replicas" | "readyReplicas" | "availableReplicas" | "upToDateReplicas"): number | undefined {
  let total: number | undefined;
  for (const ms of list) {
    const v = ms ? statusOf(ms)[field] : undefined;
    if (typeof v === "number") total = (total ?? 0) + v;
  }
  return total;
}

/** Σ status.replicas (undefined when no MachineSet reports it). */
export const actualReplicaCount = (list: (KObject | undefined)[]) => sumStatus(list, "replicas");
export const readyReplicaCount = (list: (KObject | undefined)[]) => sumStatus(list, "readyReplicas");
export const availableReplicaCount = (list: (KObject | undefined)[]) => sumStatus(list, "availableReplicas");
export const upToDateReplicaCount = (list: (KObject | undefined)[]) => sumStatus(list, "upToDateReplicas");

/** TotalMachineSetsReplicaSum: Σ max(spec.replicas, status.replicas). */
export function totalReplicaSum(list: (KObject | undefined)[]): number {
  return list.reduce((n, ms) => n + (ms ? Math.max(specReplicas(ms), statusOf(ms).replicas ?? 0) : 0), 0);
}

export function v1beta1Counter(ms: KObject, field: string): number {
  const v = statusOf(ms).deprecated?.v1beta1?.[field];
  return typeof v === "number" ? v : 0;
}

/**
 * NewMSNewReplicas: RollingUpdate grows the new MachineSet up to spec.replicas + maxSurge machines
 * in total; OnDelete up to spec.replicas in total. Returns the new count and a note.
 */
export function newMSNewReplicas(md: KObject, allMSs: KObject[], newMSReplicas: number): { replicas: number; note: string } {
  const replicas = specReplicas(md);
  const s = rolloutStrategy(md);
  const current = totalReplicaSum(allMSs);
  if (s.type === "RollingUpdate") {
    const surge = scaledValue(s.maxSurge, replicas, true);
    const maxTotal = replicas + surge;
    if (current >= maxTotal) return { replicas: newMSReplicas, note: `${current} current Machines >= ${replicas} MachineDeployment spec.replicas + ${surge} maxSurge` };
    const up = Math.min(maxTotal - current, replicas - newMSReplicas);
    return { replicas: newMSReplicas + up, note: `${current} current Machines < ${replicas} MachineDeployment spec.replicas + ${surge} maxSurge` };
  }
  if (s.type === "OnDelete") {
    if (current >= replicas) return { replicas: newMSReplicas, note: `${current} current Machines >= ${replicas} MachineDeployment spec.replicas` };
    return { replicas: newMSReplicas + (replicas - current), note: `${current} current Machines < ${replicas} MachineDeployment spec.replicas` };
  }
  throw new Error(`failed to compute replicas: deployment strategy ${s.type} isn't supported`);
}

/** getMachineSetFraction inputs: spec.replicas + maxSurge, and the set's max-replicas annotation (else the deployment's status.replicas). */
export function getProportionInputs(ms: KObject, md: KObject): { deploymentReplicas: number; annotated: number } {
  const deploymentReplicas = specReplicas(md) + maxSurge(md);
  const a = ms.metadata.annotations?.[MAX_REPLICAS_ANNOTATION];
  const annotated = a !== undefined && /^-?\d+$/.test(a) ? Number(a) : (statusOf(md).replicas ?? 0);
  return { deploymentReplicas, annotated };
}

/** IsSaturated: the new MachineSet holds (and has available) all desired replicas. */
export function isSaturated(md: KObject, ms: KObject | undefined): boolean {
  if (!ms) return false;
  const desired = ms.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
  if (desired === undefined || !/^-?\d+$/.test(desired)) return false;
  const replicas = specReplicas(md);
  return specReplicas(ms) === replicas && Number(desired) === replicas && (statusOf(ms).availableReplicas ?? 0) === replicas;
}

/** DeploymentComplete: every desired replica up to date and available, nothing else running. */
export function deploymentComplete(md: KObject): boolean {
  const s = statusOf(md);
  const replicas = specReplicas(md);
  return (
    (s.upToDateReplicas ?? 0) === replicas &&
    (s.replicas ?? 0) === replicas &&
    (s.availableReplicas ?? 0) === replicas &&
    (s.observedGeneration ?? 0) >= (md.metadata.generation ?? 0)
  );
}

/** FindOneActiveOrLatest: the only MachineSet with replicas, else (none active) the newest; undefined with several. */
export function findOneActiveOrLatest(newMS: KObject | undefined, oldMSs: KObject[]): KObject | undefined {
  if (!newMS && oldMSs.length === 0) return undefined;
  const olds = [...oldMSs].sort((a, b) => byCreationTimestamp(b, a));
  const active = [...olds, newMS].filter((ms): ms is KObject => Boolean(ms) && specReplicas(ms!) > 0);
  if (active.length === 0) return newMS ?? olds[0];
  return active.length === 1 ? active[0] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Hashing and random names
// ---------------------------------------------------------------------------------------------

/** FNV-1a, 32 bit. */
export function fnv32a(input: string | Uint8Array): number {
  const bytes = typeof input === "string" ? Buffer.from(input, "utf8") : input;
  let hash = 0x811c9dc5;
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** JSON with sorted keys, so equal values hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

// ---------------------------------------------------------------------------------------------
// Conditions and versions aggregated from Machines
// ---------------------------------------------------------------------------------------------

export function conditionStatus(obj: KObject, type: string): ConditionStatus | undefined {
  return getCondition(obj, type)?.status;
}

export function conditionIsFalse(obj: KObject, type: string): boolean {
  return conditionStatus(obj, type) === "False";
}

export function conditionIsTrue(obj: KObject, type: string): boolean {
  return conditionStatus(obj, type) === "True";
}

/** collections.IsUnhealthyAndOwnerRemediated */
export function isUnhealthyAndOwnerRemediated(m: KObject): boolean {
  return conditionIsFalse(m, "HealthCheckSucceeded") && conditionIsFalse(m, "OwnerRemediated");
}

/** collections.IsUnhealthy */
export function isUnhealthy(m: KObject): boolean {
  return conditionIsFalse(m, "HealthCheckSucceeded");
}

/** clog.ListToString: up to `max` names, then "... (n more)". */
export function listNames(names: string[], max = 3): string {
  const sorted = [...names].sort();
  if (sorted.length <= max) return sorted.join(", ");
  return `${sorted.slice(0, max).join(", ")}, ... (${sorted.length - max} more)`;
}

/**
 * A simplified conditions.NewAggregateCondition: False when a Machine reports False, else Unknown
 * when one reports Unknown or nothing, else True; the message lists the Machines by issue.
 */
export function aggregateMachineCondition(
  machines: KObject[],
  sourceType: string,
  targetType: string,
  reasons: { isFalse: string; unknown: string; isTrue: string },
): Omit<Condition, "lastTransitionTime"> {
  const byStatus: Record<ConditionStatus, Map<string, string[]>> = { False: new Map(), Unknown: new Map(), True: new Map() };
  for (const m of machines) {
    const c = getCondition(m, sourceType);
    const status: ConditionStatus = c?.status ?? "Unknown";
    const msg = c ? c.message || c.reason || "" : `Condition ${sourceType} not yet reported`;
    const group = byStatus[status];
    if (!group.has(msg)) group.set(msg, []);
    group.get(msg)!.push(m.metadata.name!);
  }
  const render = (groups: Map<string, string[]>): string =>
    [...groups.entries()]
      .map(([msg, names]) => `* Machine${names.length > 1 ? "s" : ""} ${listNames(names)}${msg ? `: ${msg}` : ""}`)
      .join("\n");
  if (byStatus.False.size) {
    const unknown = byStatus.Unknown.size ? `\n${render(byStatus.Unknown)}` : "";
    return { type: targetType, status: "False", reason: reasons.isFalse, message: render(byStatus.False) + unknown };
  }
  if (byStatus.Unknown.size) return { type: targetType, status: "Unknown", reason: reasons.unknown, message: render(byStatus.Unknown) };
  return { type: targetType, status: "True", reason: reasons.isTrue, message: "" };
}

/** A tolerant semver ordering (major.minor.patch, then pre-release, as the upstream helper sorts). */
export function compareVersions(a: string, b: string): number | undefined {
  const re = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/;
  const x = re.exec(a);
  const y = re.exec(b);
  if (!x || !y) return undefined;
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i] ?? 0) - Number(y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  const px = x[4];
  const py = y[4];
  if (px === py) return 0;
  if (px === undefined) return 1;
  if (py === undefined) return -1;
  return px < py ? -1 : 1;
}

function sortVersions(list: { version: string; replicas: number; order: number }[]): StatusVersion[] {
  list.sort((i, j) => {
    const c = compareVersions(i.version, j.version);
    if (c !== undefined) {
      if (c !== 0) return c;
      if (i.version !== j.version) return i.version < j.version ? -1 : 1;
      return i.order - j.order;
    }
    const vi = compareVersions(i.version, i.version) !== undefined;
    const vj = compareVersions(j.version, j.version) !== undefined;
    if (vi !== vj) return vi ? -1 : 1;
    if (i.version !== j.version) return i.version < j.version ? -1 : 1;
    return i.order - j.order;
  });
  return list.map(({ version, replicas }) => ({ version, replicas }));
}

/** version.VersionsFromMachines: replicas per version (kubelet version when reported). */
export function versionsFromMachines(machines: KObject[]): StatusVersion[] | undefined {
  if (!machines.length) return undefined;
  const sorted = [...machines].sort(byCreationTimestamp);
  const index = new Map<string, { version: string; replicas: number; order: number }>();
  for (const m of sorted) {
    const kubelet = (m.status as { nodeInfo?: { kubeletVersion?: string } } | undefined)?.nodeInfo?.kubeletVersion;
    const v = kubelet || machineSpecOf(m).version || "";
    if (!v) continue;
    const e = index.get(v);
    if (e) e.replicas++;
    else index.set(v, { version: v, replicas: 1, order: index.size });
  }
  return index.size ? sortVersions([...index.values()]) : undefined;
}

/** version.AggregateStatusVersions over MachineSets' status.versions. */
export function aggregateStatusVersions(list: KObject[]): StatusVersion[] | undefined {
  const index = new Map<string, { version: string; replicas: number; order: number }>();
  for (const ms of list) {
    for (const v of statusOf(ms).versions ?? []) {
      if (!v.version) continue;
      const e = index.get(v.version);
      if (e) e.replicas += v.replicas;
      else index.set(v.version, { version: v.version, replicas: v.replicas, order: index.size });
    }
  }
  return index.size ? sortVersions([...index.values()]) : undefined;
}

/** Messages listing Machines in deletion for more than 15 minutes (aggregateStaleMachines, simplified). */
export function staleMachinesMessage(machines: KObject[], now = Date.now()): string {
  const names = machines.filter((m) => m.metadata.deletionTimestamp && now - timeOf(m.metadata.deletionTimestamp) > 15 * 60_000).map((m) => m.metadata.name!);
  if (!names.length) return "";
  return `Machine${names.length > 1 ? "s" : ""} ${listNames(names)} ${names.length > 1 ? "are" : "is"} in deletion since more than 15m`;
}

/** aggregateUnhealthyMachines */
export function unhealthyMachinesMessage(machines: KObject[], owners: string): string {
  if (!machines.length) return "";
  const names = machines.map((m) => m.metadata.name!);
  return `Machine${names.length > 1 ? "s" : ""} ${listNames(names)} ${names.length > 1 ? "are" : "is"} not healthy (not to be remediated by ${owners})`;
}

/** Sets a deprecated v1beta1 condition, leaving out empty reason / message / severity (the schema wants them non-empty). */
export function setV1Beta1(obj: KObject, c: Omit<V1Beta1Condition, "lastTransitionTime">): void {
  const x = { ...c };
  if (!x.message) delete x.message;
  if (!x.reason) delete x.reason;
  if (!x.severity) delete x.severity;
  setV1Beta1Condition(obj, x);
}

const SEVERITY_RANK: Record<string, number> = { Error: 3, Warning: 2, Info: 1, "": 0 };

/** v1beta1 conditions.SetSummary: Ready is True when all given conditions are, else the most severe False one. */
export function setV1Beta1Summary(obj: KObject, types: string[]): void {
  const conds = types.map((t) => getV1Beta1Condition(obj, t)).filter((c): c is V1Beta1Condition => Boolean(c));
  const bad = conds.filter((c) => c.status === "False").sort((a, b) => SEVERITY_RANK[b.severity ?? ""]! - SEVERITY_RANK[a.severity ?? ""]!);
  if (!bad.length) {
    if (conds.some((c) => c.status === "Unknown")) setV1Beta1(obj, { type: "Ready", status: "Unknown", reason: conds.find((c) => c.status === "Unknown")!.reason ?? "" });
    else setV1Beta1(obj, { type: "Ready", status: "True" });
    return;
  }
  const worst = bad[0]!;
  setV1Beta1(obj, { type: "Ready", status: "False", reason: worst.reason, severity: worst.severity, message: worst.message });
}

/**
 * MachinesReady, MachinesUpToDate and Remediating of a MachineSet or MachineDeployment from its
 * Machines (a Machine younger than 10 s without UpToDate is not counted yet, as upstream).
 */
export function setMachineSummaryConditions(owner: KObject, machines: KObject[], now: Date, remediatedBy: string): void {
  if (!machines.length) setCondition(owner, { type: "MachinesReady", status: "True", reason: "NoReplicas" });
  else setCondition(owner, aggregateMachineCondition(machines, "Ready", "MachinesReady", { isFalse: "NotReady", unknown: "ReadyUnknown", isTrue: "Ready" }));

  const upToDateCandidates = machines.filter((m) => getCondition(m, "UpToDate") || now.getTime() - timeOf(m.metadata.creationTimestamp) > 10_000);
  if (!upToDateCandidates.length) setCondition(owner, { type: "MachinesUpToDate", status: "True", reason: "NoReplicas" });
  else {
    const labels = { isFalse: "NotUpToDate", unknown: "UpToDateUnknown", isTrue: "UpToDate" };
    setCondition(owner, aggregateMachineCondition(upToDateCandidates, "UpToDate", "MachinesUpToDate", labels));
  }

  const toBeRemediated = machines.filter(isUnhealthyAndOwnerRemediated);
  if (!toBeRemediated.length) {
    const message = unhealthyMachinesMessage(machines.filter(isUnhealthy), remediatedBy);
    setCondition(owner, { type: "Remediating", status: "False", reason: "NotRemediating", message });
  } else {
    const agg = aggregateMachineCondition(toBeRemediated, "OwnerRemediated", "Remediating", { isFalse: "Remediating", unknown: "Remediating", isTrue: "Remediating" });
    setCondition(owner, { type: "Remediating", status: "True", reason: "Remediating", message: agg.message });
  }
}

/**
 * For an object without a controller: the owners in its namespace whose selector matches its
 * labels (each may adopt it). Upstream skips owners with an empty selector for MachineSets.
 */
export function adoptionCandidates(owners: KObject[], orphan: KObject, skipEmptySelector: boolean): { namespace?: string; name: string }[] {
  if (orphan.metadata.ownerReferences?.some((r) => r.controller)) return [];
  if (!orphan.metadata.labels || !Object.keys(orphan.metadata.labels).length) return [];
  return owners
    .filter((o) => !(skipEmptySelector && selectorIsEmpty(specOf(o).selector)) && selectorMatches(specOf(o).selector, orphan.metadata.labels))
    .map((o) => ({ namespace: o.metadata.namespace, name: o.metadata.name! }));
}
