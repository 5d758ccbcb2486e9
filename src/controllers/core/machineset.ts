/**
 * The MachineSet controller (CAPI release-1.14 `core/reconcilers/machineset`): finalizer, pause,
 * cluster-name label and Cluster ownership of stand-alone sets, adoption of orphan Machines,
 * in-place propagation of template metadata and in-place fields to Machines, remediation of
 * Machines an MHC marked (`OwnerRemediated=False`, bounded by the MachineDeployment's
 * `remediation.maxInFlight`), scale up (bootstrap config and infrastructure machine cloned from
 * their templates, named like the Machine) and scale down in upstream's deletion priority,
 * status counters and conditions, and deletion (Machines first, then the finalizer).
 *
 * Differences from upstream: no preflight checks (so `machineset.cluster.x-k8s.io/skip-preflight-
 * checks` has nothing to skip), no in-place updates (Runtime SDK) and no Machine moves between
 * MachineSets; clones are created with a plain create and a controller owner reference to the
 * MachineSet (the Machine controller takes them over), and their labels/annotations are not kept
 * in sync afterwards; a missing template blocks scale up (surfaced in ScalingUp, retried every
 * 30 s) instead of failing the reconcile; the deprecated v1beta1 ready/available counters use the
 * Machine's NodeReady condition instead of reading the workload cluster's Node.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { machineSetMachineName } from "../../kinds/capi/webhooks/name-template.ts";
import { mustFormatLabelValue } from "../../kinds/capi/webhooks/machineset.ts";
import type { Client } from "../../runtime/client.ts";
import { getCondition, getV1Beta1Condition, removeCondition, setCondition, type V1Beta1Condition } from "../../runtime/conditions.ts";
import { Controller, type ReconcileContext, type Request, type Result } from "../../runtime/controller.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import type { Manager } from "../../runtime/manager.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import {
  CAPI_GROUP,
  CAPI_VERSION,
  CLONED_FROM_GROUPKIND,
  CLONED_FROM_NAME,
  CLUSTER_NAME_LABEL,
  DELETE_MACHINE_ANNOTATION,
  DEPLOYMENT_NAME_LABEL,
  SET_NAME_LABEL,
  ensureFinalizer,
  ensureOwnerRef,
  getRef,
  groupOf,
  isPaused,
  ownerRefTo,
  refApiVersion,
  removeFinalizer,
  type ContractRef,
} from "./contract.ts";
import {
  adoptionCandidates,
  conditionIsFalse,
  conditionIsTrue,
  DISABLE_MACHINE_CREATE_ANNOTATION,
  isDeleting,
  isUnhealthyAndOwnerRemediated,
  MACHINE_FINALIZER,
  MACHINESET_FINALIZER,
  machineSpecOf,
  REMEDIATE_MACHINE_ANNOTATION,
  REVISION_ANNOTATION,
  scaledValue,
  selectorString,
  setV1Beta1,
  setV1Beta1Summary,
  specOf,
  specReplicas,
  staleMachinesMessage,
  statusOf,
  TEMPLATE_SUFFIX,
  timeOf,
  trimTemplate,
  UPDATE_IN_PROGRESS_ANNOTATION,
  versionsFromMachines,
  type MachineDeploymentSpec,
  type MachineSetSpec,
  type MachineSpec,
  type ReplicaStatus,
  setMachineSummaryConditions,
} from "./mdutil.ts";
import { cloneData } from "../../lib/clone.ts";

/** Field manager of every write (server-side apply of Machines included), as upstream's. */
export const MACHINESET_MANAGER = "capi-machineset";
const DEFAULT_NAME_TEMPLATE = "{{ .machineSet.name }}-{{ .random }}";
const REQUEUE_NOT_READY_MS = 15_000;

/** Test seams (as upstream's override* fields): a failure injected right before a Machine is created. */
export const machineSetTestHooks: { beforeMachineCreate?: (machine: KObject) => void } = {};

export function setupMachineSetController(m: Manager): void {
  const client = m.client(MACHINESET_MANAGER);
  const recorder = m.recorder("machineset-controller");
  const sets = m.informers.forKind(CAPI_VERSION, "MachineSet");
  if (!sets) return;
  const c = new Controller("machineset", (req, ctx) => reconcileMachineSet(client, recorder, req, ctx), 4);
  c.watchFor(sets);
  const machines = m.informers.forKind(CAPI_VERSION, "Machine");
  if (machines) {
    c.watchOwned(machines, { group: CAPI_GROUP, kind: "MachineSet" });
    // Orphans: every MachineSet whose selector matches may adopt them.
    c.watchMapped(machines, (obj) => adoptionCandidates(sets.list(obj.metadata.namespace), obj, false));
  }
  const mds = m.informers.forKind(CAPI_VERSION, "MachineDeployment");
  if (mds) {
    c.watchMapped(mds, (obj) =>
      sets
        .list(obj.metadata.namespace)
        .filter((ms) => ms.metadata.ownerReferences?.some((r) => r.kind === "MachineDeployment" && r.name === obj.metadata.name && groupOf(r.apiVersion) === CAPI_GROUP))
        .map((ms) => ({ namespace: ms.metadata.namespace, name: ms.metadata.name! })),
    );
  }
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (clusters) {
    // Only pause transitions (and first sight) matter, as upstream's ClusterPausedTransitions predicate.
    c.watchMapped(clusters, (obj, old) => {
      if (old && isPaused(old) === isPaused(obj)) return [];
      return sets
        .list(obj.metadata.namespace)
        .filter((ms) => specOf(ms).clusterName === obj.metadata.name)
        .map((ms) => ({ namespace: ms.metadata.namespace, name: ms.metadata.name! }));
    });
  }
  m.add(c);
}

interface Scope {
  client: Client;
  recorder: EventRecorder;
  ctx: ReconcileContext;
  ms: KObject;
  cluster?: KObject;
  md?: KObject;
  machines: KObject[];
  adopted: boolean;
  bootstrapNotFound: boolean;
  infraNotFound: boolean;
  /** Set by the delete path once no Machine is left. */
  dropFinalizer: boolean;
  /** A v1beta1 MachinesCreated failure of this reconcile. */
  createFailure?: { reason: string; message: string };
  now: Date;
}

async function reconcileMachineSet(client: Client, recorder: EventRecorder, req: Request, ctx: ReconcileContext): Promise<Result | void> {
  const current = client.get({ apiVersion: CAPI_VERSION, kind: "MachineSet", namespace: req.namespace, name: req.name });
  if (!current) return;
  const ms = cloneData(current);
  const spec = specOf(ms);
  const ns = ms.metadata.namespace!;
  const cluster = spec.clusterName ? client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: ns, name: spec.clusterName }) : undefined;
  if (!isDeleting(ms)) {
    if (!cluster) {
      // Upstream fails until the Cluster exists; its creation triggers this MachineSet again.
      ctx.log.debug({ cluster: spec.clusterName }, "waiting for the Cluster");
      return;
    }
    if (ensureFinalizer(ms, MACHINESET_FINALIZER)) {
      await patchObject(client, current, ms);
      return;
    }
  }
  if (isPaused(cluster, ms)) {
    const byCluster = isPaused(cluster);
    setCondition(ms, {
      type: "Paused",
      status: "True",
      reason: "Paused",
      message: byCluster ? "Cluster spec.paused is set to true" : "Object has the cluster.x-k8s.io/paused annotation",
    });
    await patchObject(client, current, ms);
    return;
  }
  setCondition(ms, { type: "Paused", status: "False", reason: "NotPaused" });

  const s: Scope = {
    client,
    recorder,
    ctx,
    ms,
    cluster,
    machines: [],
    adopted: false,
    bootstrapNotFound: false,
    infraNotFound: false,
    dropFinalizer: false,
    now: new Date(),
  };
  const mdName = ms.metadata.labels?.[DEPLOYMENT_NAME_LABEL];
  if (mdName !== undefined) s.md = client.get({ apiVersion: CAPI_VERSION, kind: "MachineDeployment", namespace: ns, name: mdName });

  let result: Result = {};
  let error: unknown;
  try {
    reconcileOwnerAndLabels(s);
    await reconcileTemplates(s);
    await getAndAdoptMachines(s);
    if (isDeleting(ms)) await reconcileDelete(s);
    else {
      await reconcileUnhealthyMachines(s);
      await syncMachines(s);
      result = await syncReplicas(s);
    }
  } catch (e) {
    error = e;
  }

  updateStatus(s);
  updateV1Beta1Status(s);
  if (!error) (ms.status as ReplicaStatus).observedGeneration = ms.metadata.generation;
  if (s.dropFinalizer) {
    // Status first: once the finalizer is gone the object is.
    const keep = cloneData(ms);
    keep.metadata.finalizers = current.metadata.finalizers;
    const { object } = await patchObject(client, current, keep);
    const released = cloneData(object);
    removeFinalizer(released, MACHINESET_FINALIZER);
    await patchObject(client, object, released);
    ctx.log.info({}, "machineset deleted");
    return;
  }
  await patchObject(client, current, ms);
  if (error) throw error;
  if (isDeleting(ms)) return;
  return lowest(result, requeueForReplicaCounters(ms));
}

function lowest(a: Result, b: Result): Result | void {
  const x = a.requeueAfter;
  const y = b.requeueAfter;
  if (x === undefined && y === undefined) return;
  if (x === undefined) return b;
  if (y === undefined) return a;
  return x <= y ? a : b;
}

/** shouldRequeueForReplicaCountersRefresh */
function requeueForReplicaCounters(ms: KObject): Result {
  const spec = specOf(ms);
  const minReady = spec.template?.spec?.minReadySeconds ?? 0;
  const replicas = specReplicas(ms);
  const st = statusOf(ms);
  if (minReady > 0 && (st.readyReplicas ?? 0) === replicas && (st.availableReplicas ?? 0) !== replicas) return { requeueAfter: minReady * 1000 };
  if ((st.readyReplicas ?? 0) !== replicas) return { requeueAfter: REQUEUE_NOT_READY_MS };
  return {};
}

// ---------------------------------------------------------------------------------------------
// Owner, labels, templates, adoption
// ---------------------------------------------------------------------------------------------

function isDeploymentChild(ms: KObject): boolean {
  return ms.metadata.labels?.[DEPLOYMENT_NAME_LABEL] !== undefined;
}

function reconcileOwnerAndLabels(s: Scope): void {
  const { ms, cluster } = s;
  const spec = specOf(ms);
  const clusterName = spec.clusterName ?? "";
  (ms.metadata.labels ??= {})[CLUSTER_NAME_LABEL] = clusterName;
  const ownedByMDOrCluster = ms.metadata.ownerReferences?.some((r) => groupOf(r.apiVersion) === CAPI_GROUP && (r.kind === "MachineDeployment" || r.kind === "Cluster"));
  if (cluster && !ownedByMDOrCluster && !isDeploymentChild(ms)) ensureOwnerRef(ms, cluster, false);
  if (isDeleting(ms)) return;
  const selector = (spec.selector ??= {});
  (selector.matchLabels ??= {})[CLUSTER_NAME_LABEL] = clusterName;
  const template = (spec.template ??= {});
  ((template.metadata ??= {}).labels ??= {})[CLUSTER_NAME_LABEL] = clusterName;
  ms.spec = spec as Record<string, unknown>;
}

function refDefined(ref: ContractRef | undefined): ref is ContractRef {
  return Boolean(ref && (ref.kind || ref.name || ref.apiGroup));
}

/** Templates referenced by the set are owned by the Cluster; missing ones block scale up. */
async function reconcileTemplates(s: Scope): Promise<void> {
  const tspec = specOf(s.ms).template?.spec ?? {};
  s.infraNotFound = !(await ensureTemplateOwner(s, tspec.infrastructureRef));
  if (refDefined(tspec.bootstrap?.configRef)) s.bootstrapNotFound = !(await ensureTemplateOwner(s, tspec.bootstrap!.configRef));
}

/** False when a *Template reference does not resolve. */
async function ensureTemplateOwner(s: Scope, ref: ContractRef | undefined): Promise<boolean> {
  if (!ref || !ref.kind.endsWith(TEMPLATE_SUFFIX)) return true;
  const tmpl = getRef(s.client, ref, s.ms.metadata.namespace!);
  if (!tmpl) return false;
  if (s.cluster && !isDeleting(s.ms)) {
    const after = cloneData(tmpl);
    if (ensureOwnerRef(after, s.cluster, false)) await patchObject(s.client, tmpl, after, false);
  }
  return true;
}

async function getAndAdoptMachines(s: Scope): Promise<void> {
  const { client, ms } = s;
  const spec = specOf(ms);
  const all = client.listShared(CAPI_VERSION, "Machine", ms.metadata.namespace, { labelSelector: selectorString(spec.selector) });
  const out: KObject[] = [];
  for (const machine of all) {
    const controller = machine.metadata.ownerReferences?.find((r) => r.controller);
    if (controller && controller.uid !== ms.metadata.uid) continue;
    if (!controller) {
      try {
        const after = cloneData(machine);
        ensureOwnerRef(after, ms, true);
        const { object } = await patchObject(client, machine, after);
        s.recorder.normal(ms, "SuccessfulAdopt", `Adopted Machine "${machine.metadata.name}"`);
        out.push(object);
      } catch (e) {
        s.recorder.warning(ms, "FailedAdopt", `Failed to adopt Machine "${machine.metadata.name}": ${(e as Error).message}`);
      }
      continue;
    }
    out.push(machine);
  }
  s.machines = out;
  s.adopted = true;
}

async function reconcileDelete(s: Scope): Promise<void> {
  if (s.machines.length === 0) {
    s.dropFinalizer = true;
    return;
  }
  for (const m of s.machines) {
    if (isDeleting(m)) continue;
    await s.client.delete({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: m.metadata.namespace, name: m.metadata.name! });
    s.ctx.log.info({ machine: m.metadata.name }, "deleting Machine (MachineSet deleted)");
  }
}

// ---------------------------------------------------------------------------------------------
// Remediation
// ---------------------------------------------------------------------------------------------

/** Patches a Machine's conditions through its status, read and written without an await between. */
async function patchMachineConditions(
  client: Client,
  machine: KObject,
  change: (m: KObject) => void,
): Promise<void> {
  const fresh = client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: machine.metadata.namespace, name: machine.metadata.name! });
  if (!fresh || fresh.metadata.uid !== machine.metadata.uid) return;
  const after = cloneData(fresh);
  change(after);
  await patchObject(client, fresh, after);
}

async function setOwnerRemediated(s: Scope, machines: KObject[], reason: string, message: string, v1?: Omit<V1Beta1Condition, "lastTransitionTime">): Promise<void> {
  for (const m of machines) {
    await patchMachineConditions(s.client, m, (after) => {
      setCondition(after, { type: "OwnerRemediated", status: "False", reason, message });
      if (v1) setV1Beta1(after, v1);
    });
  }
}

async function reconcileUnhealthyMachines(s: Scope): Promise<void> {
  const { ms, machines } = s;
  // Healthy again: the OwnerRemediated condition goes.
  for (const m of machines) {
    if (isDeleting(m)) continue;
    const v1Cleanup = getV1Beta1Condition(m, "HealthCheckSucceeded")?.status === "True" && getV1Beta1Condition(m, "OwnerRemediated")?.status === "False";
    const cleanup = conditionIsTrue(m, "HealthCheckSucceeded") && conditionIsFalse(m, "OwnerRemediated");
    if (!v1Cleanup && !cleanup) continue;
    await patchMachineConditions(s.client, m, (after) => {
      if (cleanup) removeCondition(after, "OwnerRemediated");
      if (v1Cleanup) {
        const v1 = (after.status as { deprecated?: { v1beta1?: { conditions?: V1Beta1Condition[] } } }).deprecated?.v1beta1;
        if (v1?.conditions) v1.conditions = v1.conditions.filter((c) => c.type !== "OwnerRemediated");
      }
    });
  }

  let toRemediate = machines.filter((m) => isUnhealthyAndOwnerRemediated(m) && !isDeleting(m));
  if (toRemediate.length === 0) return;

  let maxInFlight = Number.POSITIVE_INFINITY;
  let maxInFlightText = "";
  if (isDeploymentChild(ms)) {
    const md = s.md;
    if (!md || md.metadata.annotations?.[REVISION_ANNOTATION] !== ms.metadata.annotations?.[REVISION_ANNOTATION]) {
      await setOwnerRemediated(s, toRemediate, "CannotBeRemediated", "Machine won't be remediated because it is pending removal due to rollout");
      return;
    }
    const mif = specOf<MachineDeploymentSpec>(md).remediation?.maxInFlight;
    if (mif !== undefined && mif !== null) {
      maxInFlight = scaledValue(mif, specReplicas(md), true);
      maxInFlightText = String(mif);
    }
  }
  for (const m of machines) {
    if (!isDeleting(m)) continue;
    const c = getCondition(m, "OwnerRemediated");
    if (c?.status === "False" && c.reason === "MachineDeleting") maxInFlight--;
  }
  const deferMessage = `Waiting because there are already too many remediations in progress (spec.strategy.remediation.maxInFlight is ${maxInFlightText})`;
  if (maxInFlight <= 0) {
    await setOwnerRemediated(s, toRemediate, "RemediationDeferred", deferMessage);
    return;
  }
  toRemediate = sortMachinesToRemediate(toRemediate);
  if (toRemediate.length > maxInFlight) {
    const deferred = toRemediate.slice(maxInFlight);
    toRemediate = toRemediate.slice(0, maxInFlight);
    await setOwnerRemediated(s, deferred, "RemediationDeferred", deferMessage);
  }
  // Condition first (re-entrant), then delete.
  await setOwnerRemediated(s, toRemediate, "MachineDeleting", "Machine is deleting", { type: "OwnerRemediated", status: "True" });
  for (const m of toRemediate) {
    await s.client.delete({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: m.metadata.namespace, name: m.metadata.name! });
    s.recorder.normal(m, "MachineRemediated", `Machine ${m.metadata.name} is unhealthy: deleted, the MachineSet creates a replacement`);
    s.ctx.log.info({ machine: m.metadata.name }, "deleting Machine (remediating unhealthy Machine)");
  }
}

/** Machines with the remediate-machine annotation first, then newest first, then by name. */
export function sortMachinesToRemediate(machines: KObject[]): KObject[] {
  const has = (m: KObject) => REMEDIATE_MACHINE_ANNOTATION in (m.metadata.annotations ?? {});
  return [...machines].sort((a, b) => {
    if (has(a) !== has(b)) return has(a) ? -1 : 1;
    const d = timeOf(b.metadata.creationTimestamp) - timeOf(a.metadata.creationTimestamp);
    if (d !== 0) return d;
    return a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0;
  });
}

// ---------------------------------------------------------------------------------------------
// Desired Machines, in-place propagation
// ---------------------------------------------------------------------------------------------

/** Labels of the set's Machines: template labels, set-name (hashed when not a valid value), deployment-name. */
export function machineLabelsFromMachineSet(ms: KObject): Record<string, string> {
  const labels: Record<string, string> = { ...(specOf(ms).template?.metadata?.labels ?? {}) };
  labels[SET_NAME_LABEL] = mustFormatLabelValue(ms.metadata.name!);
  const md = ms.metadata.labels?.[DEPLOYMENT_NAME_LABEL];
  if (md !== undefined) labels[DEPLOYMENT_NAME_LABEL] = md;
  return labels;
}

export function machineAnnotationsFromMachineSet(ms: KObject): Record<string, string> {
  return { ...(specOf(ms).template?.metadata?.annotations ?? {}) };
}

/** The in-place mutable fields of a Machine, taken from the set's template. */
function setInPlaceFields(spec: MachineSpec, from: MachineSpec): void {
  for (const k of ["readinessGates", "minReadySeconds", "taints"] as const) {
    if (from[k] === undefined) delete spec[k];
    else spec[k] = cloneData(from[k]) as never;
  }
  const deletion = { ...(spec.deletion ?? {}) };
  for (const k of ["nodeDrainTimeoutSeconds", "nodeVolumeDetachTimeoutSeconds", "nodeDeletionTimeoutSeconds"] as const) {
    if (from.deletion?.[k] === undefined) delete deletion[k];
    else deletion[k] = from.deletion[k];
  }
  if (Object.keys(deletion).length) spec.deletion = deletion;
  else delete spec.deletion;
}

/**
 * computeDesiredMachine: a new Machine (name from `spec.machineNaming.template`) or the desired
 * state of an existing one (its name, refs, version and failure domain kept).
 */
export function computeDesiredMachine(ms: KObject, existing?: KObject): KObject {
  const spec = specOf(ms);
  let name = existing?.metadata.name;
  if (!name) {
    const template = spec.machineNaming?.template || DEFAULT_NAME_TEMPLATE;
    if (!template.includes("{{ .random }}")) throw new Error("cannot generate Machine name: {{ .random }} is missing in machineNaming.template");
    const generated = machineSetMachineName(template, spec.clusterName ?? "", ms.metadata.name!);
    if ("error" in generated) throw new Error(`failed to generate Machine name: ${generated.error}`);
    name = generated.name;
  }
  const mspec = cloneData(spec.template?.spec ?? {}) as MachineSpec;
  mspec.clusterName = spec.clusterName ?? "";
  delete mspec.infrastructureRef;
  if (mspec.bootstrap) {
    delete mspec.bootstrap.configRef;
  }
  const finalizers = existing ? [...(existing.metadata.finalizers ?? [])] : [];
  if (!finalizers.includes(MACHINE_FINALIZER)) finalizers.push(MACHINE_FINALIZER);
  if (existing) {
    const es = machineSpecOf(existing);
    if (es.bootstrap?.configRef) (mspec.bootstrap ??= {}).configRef = cloneData(es.bootstrap.configRef);
    if (es.infrastructureRef) mspec.infrastructureRef = cloneData(es.infrastructureRef);
    for (const k of ["version", "failureDomain"] as const) {
      if (es[k] === undefined) delete mspec[k];
      else mspec[k] = es[k];
    }
  }
  setInPlaceFields(mspec, spec.template?.spec ?? {});
  const machine: KObject = {
    apiVersion: CAPI_VERSION,
    kind: "Machine",
    metadata: {
      name,
      namespace: ms.metadata.namespace,
      labels: machineLabelsFromMachineSet(ms),
      annotations: machineAnnotationsFromMachineSet(ms),
      ownerReferences: [ownerRefTo(ms, true)],
      finalizers,
    },
    spec: mspec as Record<string, unknown>,
  };
  if (existing) machine.metadata.uid = existing.metadata.uid;
  if (!Object.keys(machine.metadata.annotations!).length) delete machine.metadata.annotations;
  return machine;
}

/**
 * Server-side apply of a Machine as `capi-machineset`. For an existing Machine the apply only
 * goes out when it still exists with the same UID — read and written with no await between — so
 * a Machine deleted meanwhile is never re-created.
 */
/**
 * What this controller last applied to each Machine (by uid) and the resourceVersion that
 * resulted: while both still hold, applying again would change nothing, so it is skipped —
 * a MachineSet reconcile then costs nothing per unchanged Machine. Any change to the Machine
 * by anyone bumps its resourceVersion and brings the apply back.
 */
const lastApplied = new Map<string, { config: string; resourceVersion: string }>();
const LAST_APPLIED_LIMIT = 50_000;

async function applyMachine(client: Client, desired: KObject, mustExist: boolean): Promise<KObject | undefined> {
  const ref = { apiVersion: CAPI_VERSION, kind: "Machine", namespace: desired.metadata.namespace, name: desired.metadata.name! };
  const live = client.getShared(ref);
  if (mustExist ? !live || live.metadata.uid !== desired.metadata.uid || isDeleting(live) : live) return undefined;
  if (live) {
    // Keep every finalizer the Machine has now (upstream does the same), plus the Machine finalizer.
    const finalizers = [...(live.metadata.finalizers ?? [])];
    if (!finalizers.includes(MACHINE_FINALIZER)) finalizers.push(MACHINE_FINALIZER);
    desired.metadata.finalizers = finalizers;
  }
  const config = JSON.stringify(desired);
  const memo = live ? lastApplied.get(live.metadata.uid!) : undefined;
  if (live && memo && memo.config === config && memo.resourceVersion === live.metadata.resourceVersion) return live as KObject;
  const out = await client.apply(desired);
  if (lastApplied.size >= LAST_APPLIED_LIMIT) lastApplied.clear();
  lastApplied.set(out.metadata.uid!, { config, resourceVersion: out.metadata.resourceVersion! });
  return out;
}

async function syncMachines(s: Scope): Promise<void> {
  const { client, ms } = s;
  const from = specOf(ms).template?.spec ?? {};
  for (let i = 0; i < s.machines.length; i++) {
    const m = s.machines[i]!;
    if (isDeleting(m)) {
      // Only what affects tearing the Machine down, with a merge patch.
      const fresh = client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: m.metadata.namespace, name: m.metadata.name! });
      if (!fresh || fresh.metadata.uid !== m.metadata.uid) continue;
      const after = cloneData(fresh);
      const spec = machineSpecOf(after);
      setInPlaceFields(spec, from);
      if (spec.deletion?.nodeDeletionTimeoutSeconds === undefined) (spec.deletion ??= {}).nodeDeletionTimeoutSeconds = 10;
      after.spec = spec as Record<string, unknown>;
      await patchObject(client, fresh, after);
      continue;
    }
    const updated = await applyMachine(client, computeDesiredMachine(ms, m), true);
    if (updated) s.machines[i] = updated;
  }
}

// ---------------------------------------------------------------------------------------------
// Scaling
// ---------------------------------------------------------------------------------------------

async function syncReplicas(s: Scope): Promise<Result> {
  const { ms, machines } = s;
  await cleanupOrphanedClones(s);
  const replicas = specReplicas(ms);
  const diff = machines.length - replicas;
  if (diff < 0) {
    if (ms.metadata.annotations?.[DISABLE_MACHINE_CREATE_ANNOTATION] === "true") {
      s.ctx.log.debug({}, "automatic creation of new machines disabled for MachineSet");
      return {};
    }
    if (s.infraNotFound || s.bootstrapNotFound) return { requeue: true }; // upstream errors: retried with backoff
    await createMachines(s, -diff);
    return {};
  }
  if (diff > 0) await deleteMachines(s, diff);
  return {};
}

/** Bootstrap configs / infrastructure machines still owned by the set that no Machine references. */
async function cleanupOrphanedClones(s: Scope): Promise<void> {
  const { client, ms } = s;
  const tspec = specOf(ms).template?.spec ?? {};
  const refs = [tspec.infrastructureRef, tspec.bootstrap?.configRef].filter(refDefined);
  const used = new Set<string>();
  for (const m of s.machines) {
    const mspec = machineSpecOf(m);
    if (mspec.infrastructureRef?.name) used.add(`${mspec.infrastructureRef.kind}/${mspec.infrastructureRef.name}`);
    if (mspec.bootstrap?.configRef?.name) used.add(`${mspec.bootstrap.configRef.kind}/${mspec.bootstrap.configRef.name}`);
  }
  for (const ref of refs) {
    const kind = trimTemplate(ref.kind);
    const apiVersion = refApiVersion(client, { apiGroup: ref.apiGroup, kind, name: "" });
    if (!apiVersion) continue;
    const objs = client.listShared(apiVersion, kind, ms.metadata.namespace, { labelSelector: selectorString(specOf(ms).selector) });
    for (const o of objs) {
      if (isDeleting(o) || used.has(`${kind}/${o.metadata.name}`)) continue;
      if (!o.metadata.ownerReferences?.some((r) => r.uid === ms.metadata.uid)) continue;
      await client.delete({ apiVersion, kind, namespace: o.metadata.namespace, name: o.metadata.name! });
      s.ctx.log.info({ kind, name: o.metadata.name }, "deleted orphaned clone");
    }
  }
}

/**
 * The object cloned from a *Template for `machine`: kind without `Template`, the template's
 * `spec.template` (metadata merged with the Machine's labels and annotations, plus cluster-name
 * and the cloned-from annotations), named like the Machine, controller-owned by the MachineSet.
 */
export function computeClone(template: KObject, ref: ContractRef, ms: KObject, machine: KObject): KObject {
  const tt = cloneData(((template.spec as { template?: Record<string, unknown> } | undefined)?.template ?? {}) as Record<string, unknown>);
  const { metadata: tmeta, ...rest } = tt as { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } };
  const group = groupOf(template.apiVersion!);
  const labels = { ...(tmeta?.labels ?? {}), ...(machine.metadata.labels ?? {}), [CLUSTER_NAME_LABEL]: specOf(ms).clusterName ?? "" };
  const annotations = {
    ...(tmeta?.annotations ?? {}),
    ...(machine.metadata.annotations ?? {}),
    [CLONED_FROM_NAME]: ref.name,
    [CLONED_FROM_GROUPKIND]: group ? `${template.kind}.${group}` : template.kind!,
  };
  return {
    ...rest,
    apiVersion: template.apiVersion,
    kind: trimTemplate(template.kind!),
    metadata: {
      name: machine.metadata.name,
      namespace: machine.metadata.namespace,
      labels,
      annotations,
      ownerReferences: [ownerRefTo(ms, true)],
    },
  };
}

async function createClone(s: Scope, ref: ContractRef, machine: KObject): Promise<{ obj: KObject; ref: ContractRef }> {
  const template = getRef(s.client, ref, s.ms.metadata.namespace!);
  if (!template) throw new Error(`failed to retrieve ${ref.kind} ${s.ms.metadata.namespace}/${ref.name}: not found`);
  const created = await s.client.create(computeClone(template, ref, s.ms, machine));
  return { obj: created, ref: { apiGroup: groupOf(created.apiVersion!), kind: created.kind!, name: created.metadata.name! } };
}

async function deleteQuietly(client: Client, obj: KObject): Promise<void> {
  try {
    await client.delete({ apiVersion: obj.apiVersion!, kind: obj.kind!, namespace: obj.metadata.namespace, name: obj.metadata.name! });
  } catch {
    // Left to the orphan cleanup of a later reconcile.
  }
}

/** Machines a scale-up creates at once (each one's clones and Machine still go in order). */
const CREATE_CONCURRENCY = 16;

async function createMachines(s: Scope, count: number): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < count && failed === undefined) {
      const i = next++;
      try {
        await createMachine(s, i, count);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CREATE_CONCURRENCY, count) }, worker));
  if (failed !== undefined) throw failed;
}

async function createMachine(s: Scope, i: number, count: number): Promise<void> {
  const { ms } = s;
  const tspec = specOf(ms).template?.spec ?? {};
  {
    let machine: KObject;
    try {
      machine = computeDesiredMachine(ms);
    } catch (e) {
      s.createFailure = { reason: "MachineCreationFailed", message: (e as Error).message };
      throw e;
    }
    const mspec = machineSpecOf(machine);
    let bootstrap: KObject | undefined;
    if (refDefined(tspec.bootstrap?.configRef)) {
      try {
        const c = await createClone(s, tspec.bootstrap!.configRef!, machine);
        bootstrap = c.obj;
        (mspec.bootstrap ??= {}).configRef = c.ref;
      } catch (e) {
        s.createFailure = { reason: "BootstrapTemplateCloningFailed", message: (e as Error).message };
        throw new Error(`failed to clone bootstrap configuration from ${tspec.bootstrap!.configRef!.kind} ${ms.metadata.namespace}/${tspec.bootstrap!.configRef!.name} while creating a Machine: ${(e as Error).message}`);
      }
    }
    let infra: KObject;
    try {
      const c = await createClone(s, tspec.infrastructureRef!, machine);
      infra = c.obj;
      mspec.infrastructureRef = c.ref;
    } catch (e) {
      if (bootstrap) await deleteQuietly(s.client, bootstrap);
      s.createFailure = { reason: "InfrastructureTemplateCloningFailed", message: (e as Error).message };
      throw new Error(`failed to clone infrastructure machine from ${tspec.infrastructureRef?.kind} ${ms.metadata.namespace}/${tspec.infrastructureRef?.name} while creating a Machine: ${(e as Error).message}`);
    }
    try {
      machineSetTestHooks.beforeMachineCreate?.(machine);
      const created = await applyMachine(s.client, machine, false);
      if (!created) throw new Error(`Machine ${ms.metadata.namespace}/${machine.metadata.name} already exists`);
    } catch (e) {
      await deleteQuietly(s.client, infra);
      if (bootstrap) await deleteQuietly(s.client, bootstrap);
      s.createFailure = { reason: "MachineCreationFailed", message: (e as Error).message };
      throw e;
    }
    s.ctx.log.info({ machine: machine.metadata.name }, `Machine created (scale up, creating ${i + 1} of ${count})`);
    s.recorder.normal(ms, "SuccessfulCreate", `Created Machine "${machine.metadata.name}"`);
  }
}

// Deletion order (machineset_deletion_order.go).
const MUST_DELETE = 100;
const SHOULD_DELETE_FIRST = 80;
const SHOULD_DELETE = 75;
const BETTER_DELETE = 50;
const COULD_DELETE = 20;
const MUST_NOT_DELETE = 0;
const SECONDS_PER_TEN_DAYS = 864000;

/** No nodeRef, NodeHealthy False or HealthCheckSucceeded False (Unknown counts as healthy). */
export function isMachineHealthy(m: KObject): boolean {
  if (!(m.status as { nodeRef?: { name?: string } } | undefined)?.nodeRef?.name) return false;
  if (conditionIsFalse(m, "NodeHealthy")) return false;
  if (conditionIsFalse(m, "HealthCheckSucceeded")) return false;
  return true;
}

function commonPriority(m: KObject): number | undefined {
  if (isDeleting(m)) return MUST_DELETE;
  if (DELETE_MACHINE_ANNOTATION in (m.metadata.annotations ?? {})) return SHOULD_DELETE_FIRST;
  if (UPDATE_IN_PROGRESS_ANNOTATION in (m.metadata.annotations ?? {})) return SHOULD_DELETE;
  if (!isMachineHealthy(m)) return BETTER_DELETE;
  return undefined;
}

function ageScore(m: KObject, now: number): number {
  const created = timeOf(m.metadata.creationTimestamp);
  if (!created) return MUST_NOT_DELETE;
  const d = (now - created) / 1000;
  if (d < 0) return MUST_NOT_DELETE;
  return BETTER_DELETE * (1 - Math.exp(-d / SECONDS_PER_TEN_DAYS));
}

export type DeletePriority = (m: KObject) => number;

/** The priority function of `spec.deletion.order` (Random when unset). */
export function deletePriorityFunc(order: string | undefined, now = Date.now()): DeletePriority {
  switch (order ?? "") {
    case "":
    case "Random":
      return (m) => commonPriority(m) ?? COULD_DELETE;
    case "Oldest":
      return (m) => commonPriority(m) ?? ageScore(m, now);
    case "Newest":
      return (m) => commonPriority(m) ?? BETTER_DELETE - ageScore(m, now);
    default:
      throw new Error(`Unsupported deletion order ${order}. Must be one of 'Random', 'Newest', or 'Oldest'`);
  }
}

/** getMachinesToDeletePrioritized: highest priority first, ties by name. */
export function machinesToDeletePrioritized(machines: KObject[], count: number, priority: DeletePriority): KObject[] {
  if (count <= 0) return [];
  const scored = machines.map((m) => ({ m, p: priority(m) }));
  scored.sort((a, b) => (a.p !== b.p ? b.p - a.p : a.m.metadata.name! < b.m.metadata.name! ? -1 : a.m.metadata.name! > b.m.metadata.name! ? 1 : 0));
  return scored.slice(0, count).map((x) => x.m);
}

async function deleteMachines(s: Scope, count: number): Promise<void> {
  const { ms } = s;
  const order = specOf(ms).deletion?.order;
  const victims = machinesToDeletePrioritized(s.machines, count, deletePriorityFunc(order, s.now.getTime()));
  for (const [i, m] of victims.entries()) {
    if (isDeleting(m)) continue;
    await s.client.delete({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: m.metadata.namespace, name: m.metadata.name! });
    s.ctx.log.info({ machine: m.metadata.name, order: order || "Random" }, `Machine deleting (scale down, deleting ${i + 1} of ${count})`);
    s.recorder.normal(ms, "SuccessfulDelete", `Deleted Machine "${m.metadata.name}"`);
  }
}

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

function missingReferencesMessage(s: Scope): string {
  const tspec = specOf(s.ms).template?.spec ?? {};
  const missing: string[] = [];
  if (s.bootstrapNotFound) missing.push(tspec.bootstrap?.configRef?.kind ?? "");
  if (s.infraNotFound) missing.push(tspec.infrastructureRef?.kind ?? "");
  if (!missing.length) return "";
  return missing.length === 1 ? `${missing[0]} does not exist` : `${missing.join(" and ")} do not exist`;
}

function updateStatus(s: Scope): void {
  const { ms, machines } = s;
  const status = ((ms.status as ReplicaStatus | undefined) ??= {}) as ReplicaStatus;
  const spec = specOf<MachineSetSpec>(ms);
  try {
    status.selector = selectorString(spec.selector);
  } catch {
    // An invalid selector keeps the last value.
  }
  if (!s.adopted) {
    for (const type of ["ScalingUp", "ScalingDown", "MachinesReady", "MachinesUpToDate", "Remediating", "Deleting"]) {
      setCondition(ms, { type, status: "Unknown", reason: "InternalError", message: "Please check controller logs for errors" });
    }
    return;
  }
  let ready = 0;
  let available = 0;
  let upToDate = 0;
  for (const m of machines) {
    if (UPDATE_IN_PROGRESS_ANNOTATION in (m.metadata.annotations ?? {})) continue;
    if (conditionIsTrue(m, "Ready")) ready++;
    if (conditionIsTrue(m, "Available")) available++;
    if (conditionIsTrue(m, "UpToDate")) upToDate++;
  }
  status.replicas = machines.length;
  status.readyReplicas = ready;
  status.availableReplicas = available;
  status.upToDateReplicas = upToDate;
  const versions = versionsFromMachines(machines);
  if (versions) status.versions = versions;
  else delete status.versions;

  const desired = isDeleting(ms) ? 0 : specReplicas(ms);
  const current = machines.length;
  const missing = missingReferencesMessage(s);
  if (current >= desired) {
    setCondition(ms, {
      type: "ScalingUp",
      status: "False",
      reason: "NotScalingUp",
      message: !isDeleting(ms) && missing ? `Scaling up would be blocked because ${missing}` : "",
    });
  } else {
    let message = `Scaling up from ${current} to ${desired} replicas`;
    const blockers: string[] = [];
    if (missing) blockers.push(`* ${missing}`);
    if (s.createFailure) blockers.push(`* ${s.createFailure.message}`);
    if (blockers.length) message += ` is blocked because:\n${blockers.join("\n")}`;
    setCondition(ms, { type: "ScalingUp", status: "True", reason: "ScalingUp", message });
  }
  if (current > desired) {
    let message = `Scaling down from ${current} to ${desired} replicas`;
    const stale = staleMachinesMessage(machines);
    if (stale) message += `\n* ${stale}`;
    setCondition(ms, { type: "ScalingDown", status: "True", reason: "ScalingDown", message });
  } else {
    setCondition(ms, { type: "ScalingDown", status: "False", reason: "NotScalingDown" });
  }

  setMachineSummaryConditions(ms, machines, s.now, "MachineSet");

  if (!isDeleting(ms)) setCondition(ms, { type: "Deleting", status: "False", reason: "NotDeleting" });
  else {
    let message = machines.length ? `Deleting ${machines.length} Machine${machines.length === 1 ? "" : "s"}` : "";
    const stale = staleMachinesMessage(machines);
    if (message && stale) message += `\n* ${stale}`;
    setCondition(ms, { type: "Deleting", status: "True", reason: "Deleting", message: message || "Deletion completed" });
  }
}

/** reconcileV1Beta1Status: deprecated counters and the v1beta1 Ready / MachinesCreated / Resized / MachinesReady conditions. */
function updateV1Beta1Status(s: Scope): void {
  const { ms, machines } = s;
  if (!s.adopted) return;
  const status = ms.status as ReplicaStatus;
  const tLabels = specOf(ms).template?.metadata?.labels ?? {};
  const minReady = specOf(ms).template?.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const m of machines) {
    const labels = m.metadata.labels ?? {};
    if (Object.entries(tLabels).every(([k, v]) => labels[k] === v)) fullyLabeled++;
    if (!(m.status as { nodeRef?: { name?: string } } | undefined)?.nodeRef?.name) continue;
    const nodeReady = getCondition(m, "NodeReady");
    if (nodeReady?.status === "True") {
      ready++;
      if (timeOf(nodeReady.lastTransitionTime) + minReady * 1000 <= s.now.getTime()) available++;
    }
  }
  const v1 = (((status.deprecated ??= {}).v1beta1 ??= {}) as Record<string, unknown>);
  v1.fullyLabeledReplicas = fullyLabeled;
  v1.readyReplicas = ready;
  v1.availableReplicas = available;

  const desired = isDeleting(ms) ? 0 : specReplicas(ms);
  const current = statusOf(s.ms).replicas ?? 0;
  if (current < desired) {
    setV1Beta1(ms, { type: "Resized", status: "False", reason: "ScalingUp", severity: "Warning", message: `Scaling up MachineSet to ${desired} replicas (actual ${current})` });
  } else if (current > desired) {
    setV1Beta1(ms, { type: "Resized", status: "False", reason: "ScalingDown", severity: "Warning", message: `Scaling down MachineSet to ${desired} replicas (actual ${current})` });
    setV1Beta1(ms, { type: "MachinesCreated", status: "True" });
  } else {
    if (ready === current) setV1Beta1(ms, { type: "Resized", status: "True" });
    setV1Beta1(ms, { type: "MachinesCreated", status: "True" });
  }
  if (s.createFailure) {
    setV1Beta1(ms, { type: "MachinesCreated", status: "False", reason: s.createFailure.reason, severity: "Error", message: s.createFailure.message });
  }
  const notReady = machines.map((m) => ({ m, c: getV1Beta1Condition(m, "Ready") ?? getCondition(m, "Ready") })).filter((x) => x.c?.status !== "True");
  if (!machines.length || !notReady.length) setV1Beta1(ms, { type: "MachinesReady", status: "True" });
  else {
    const first = notReady[0]!;
    const severity = ((first.c as V1Beta1Condition | undefined)?.severity || "Info") as V1Beta1Condition["severity"];
    setV1Beta1(ms, {
      type: "MachinesReady",
      status: "False",
      reason: first.c?.reason || "NotReady",
      severity,
      message: `${notReady.length} of ${machines.length} Machines are not ready`,
    });
  }
  setV1Beta1Summary(ms, ["MachinesCreated", "Resized", "MachinesReady"]);
}
