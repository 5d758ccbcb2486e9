/**
 * The MachineDeployment controller (CAPI release-1.14 `core/reconcilers/machinedeployment`):
 * finalizer, pause, Cluster ownership (not controller) of the deployment and its templates,
 * adoption of orphan MachineSets, and the rollout planner — the new MachineSet is the one whose
 * template matches on version, bootstrap, infrastructureRef and failureDomain (created as
 * `<md>-<random5>` with a `machine-template-hash` label when none does, or when
 * `spec.rollout.after` has passed since the matching one was created); RollingUpdate grows it up
 * to replicas + maxSurge and shrinks old sets (oldest first, unavailable replicas first) while at
 * least replicas − maxUnavailable stay available, with upstream's deadlock breaker; OnDelete only
 * grows the new set as old Machines go (old sets get `disable-machine-create`); a paused
 * deployment (`spec.paused`) only scales proportionally. MachineSets are written by server-side
 * apply as `capi-machinedeployment` (labels, annotations incl. revision / desired-replicas /
 * max-replicas, in-place fields, replicas); old sets scaled to 0 are deleted once the rollout is
 * complete. Status: replica counters, selector, phase, v1beta2 conditions and the deprecated
 * v1beta1 counters and conditions.
 *
 * Differences from upstream: no in-place updates (Runtime SDK; no Machine moves between sets);
 * a missing template postpones creating the new MachineSet (retried every 30 s) instead of
 * failing the reconcile; the deployment is requeued at `spec.rollout.after` (upstream waits for
 * its periodic resync); the `machine-template-hash` prefix is an FNV-32a over the canonical JSON
 * of the rollout fields (upstream hashes Go's spew output), which only has to be unique.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { randomString } from "../../kinds/capi/webhooks/name-template.ts";
import type { Client } from "../../runtime/client.ts";
import { getCondition, getV1Beta1Condition, setCondition } from "../../runtime/conditions.ts";
import { Controller, type ReconcileContext, type Request, type Result } from "../../runtime/controller.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import type { Manager } from "../../runtime/manager.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import {
  CAPI_GROUP,
  CAPI_VERSION,
  CLUSTER_NAME_LABEL,
  DEPLOYMENT_NAME_LABEL,
  MACHINE_TEMPLATE_HASH_LABEL,
  ensureFinalizer,
  ensureOwnerRef,
  getRef,
  isPaused,
  ownerRefTo,
  removeFinalizer,
  type ContractRef,
} from "./contract.ts";
import {
  actualReplicaCount,
  adoptionCandidates,
  aggregateStatusVersions,
  availableReplicaCount,
  byCreationTimestamp,
  bySizeNewer,
  bySizeOlder,
  canonicalJson,
  computeRevisionAnnotations,
  deploymentComplete,
  DISABLE_MACHINE_CREATE_ANNOTATION,
  findNewAndOldMachineSets,
  findOneActiveOrLatest,
  fnv32a,
  getProportionInputs,
  isDeleting,
  isRollingUpdate,
  isSaturated,
  MACHINEDEPLOYMENT_FINALIZER,
  machineSetAnnotationsFromMD,
  maxSurge,
  maxUnavailable,
  newMSNewReplicas,
  readyReplicaCount,
  replicaCount,
  revisionAnnotationsOf,
  REVISION_ANNOTATION,
  rolloutFields,
  rolloutStrategy,
  selectorIsEmpty,
  selectorMatches,
  selectorString,
  setV1Beta1,
  setV1Beta1Summary,
  specOf,
  specReplicas,
  staleMachinesMessage,
  statusOf,
  TEMPLATE_SUFFIX,
  timeOf,
  upToDateReplicaCount,
  v1beta1Counter,
  type MachineDeploymentSpec,
  type MachineSetSpec,
  type ReplicaStatus,
  setMachineSummaryConditions,
} from "./mdutil.ts";
import { cloneData } from "../../lib/clone.ts";

/** Field manager of every write (server-side apply of MachineSets included), as upstream's. */
export const MACHINEDEPLOYMENT_MANAGER = "capi-machinedeployment";
const MAX_NAME_LENGTH = 63;
const RANDOM_LENGTH = 5;

export function setupMachineDeploymentController(m: Manager): void {
  const client = m.client(MACHINEDEPLOYMENT_MANAGER);
  const recorder = m.recorder("machinedeployment-controller");
  const mds = m.informers.forKind(CAPI_VERSION, "MachineDeployment");
  if (!mds) return;
  const c = new Controller("machinedeployment", (req, ctx) => reconcileMachineDeployment(client, recorder, req, ctx), 4);
  c.watchFor(mds);
  const sets = m.informers.forKind(CAPI_VERSION, "MachineSet");
  if (sets) {
    c.watchOwned(sets, { group: CAPI_GROUP, kind: "MachineDeployment" });
    // Orphan MachineSets: every deployment whose (non-empty) selector matches may adopt them.
    c.watchMapped(sets, (obj) => adoptionCandidates(mds.list(obj.metadata.namespace), obj, true));
  }
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (clusters) {
    c.watchMapped(clusters, (obj, old) => {
      if (old && isPaused(old) === isPaused(obj)) return [];
      return mds
        .list(obj.metadata.namespace)
        .filter((md) => specOf(md).clusterName === obj.metadata.name)
        .map((md) => ({ namespace: md.metadata.namespace, name: md.metadata.name! }));
    });
  }
  m.add(c);
}

interface Scope {
  client: Client;
  recorder: EventRecorder;
  ctx: ReconcileContext;
  md: KObject;
  cluster?: KObject;
  machineSets: KObject[];
  machines: KObject[];
  adopted: boolean;
  bootstrapNotFound: boolean;
  infraNotFound: boolean;
  bootstrapExists: boolean;
  infraExists: boolean;
  dropFinalizer: boolean;
  now: Date;
}

async function reconcileMachineDeployment(client: Client, recorder: EventRecorder, req: Request, ctx: ReconcileContext): Promise<Result | void> {
  const current = client.get({ apiVersion: CAPI_VERSION, kind: "MachineDeployment", namespace: req.namespace, name: req.name });
  if (!current) return;
  const md = cloneData(current);
  const spec = specOf<MachineDeploymentSpec>(md);
  const ns = md.metadata.namespace!;
  const cluster = spec.clusterName ? client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: ns, name: spec.clusterName }) : undefined;
  if (!isDeleting(md)) {
    if (!cluster) {
      ctx.log.debug({ cluster: spec.clusterName }, "waiting for the Cluster");
      return;
    }
    if (ensureFinalizer(md, MACHINEDEPLOYMENT_FINALIZER)) {
      await patchObject(client, current, md);
      return;
    }
  }
  if (isPaused(cluster, md)) {
    setCondition(md, {
      type: "Paused",
      status: "True",
      reason: "Paused",
      message: isPaused(cluster) ? "Cluster spec.paused is set to true" : "Object has the cluster.x-k8s.io/paused annotation",
    });
    await patchObject(client, current, md);
    return;
  }
  setCondition(md, { type: "Paused", status: "False", reason: "NotPaused" });

  const s: Scope = {
    client,
    recorder,
    ctx,
    md,
    cluster,
    machineSets: [],
    machines: client.listShared(CAPI_VERSION, "Machine", ns, { labelSelector: selectorString(spec.selector) }) as KObject[],
    adopted: false,
    bootstrapNotFound: false,
    infraNotFound: false,
    bootstrapExists: false,
    infraExists: false,
    dropFinalizer: false,
    now: new Date(),
  };

  let result: Result | void = undefined;
  let error: unknown;
  try {
    if (isDeleting(md)) await reconcileDelete(s);
    else result = await reconcileNormal(s);
  } catch (e) {
    error = e;
  }
  updateStatus(s);
  if (!error) (md.status as ReplicaStatus).observedGeneration = md.metadata.generation;
  if (s.dropFinalizer) {
    const keep = cloneData(md);
    keep.metadata.finalizers = current.metadata.finalizers;
    const { object } = await patchObject(client, current, keep);
    const released = cloneData(object);
    removeFinalizer(released, MACHINEDEPLOYMENT_FINALIZER);
    await patchObject(client, object, released);
    ctx.log.info({}, "machinedeployment deleted");
    return;
  }
  await patchObject(client, current, md);
  if (error) throw error;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Normal reconcile
// ---------------------------------------------------------------------------------------------

async function reconcileNormal(s: Scope): Promise<Result | void> {
  const { md, cluster } = s;
  const spec = specOf<MachineDeploymentSpec>(md);
  (md.metadata.labels ??= {})[CLUSTER_NAME_LABEL] = spec.clusterName ?? "";
  ensureOwnerRef(md, cluster!, false);

  await getTemplatesAndSetOwner(s);
  await getAndAdoptMachineSets(s);

  for (let i = 0; i < s.machineSets.length; i++) {
    const ms = s.machineSets[i]!;
    if (ms.metadata.labels?.[DEPLOYMENT_NAME_LABEL] === md.metadata.name || isDeleting(ms)) continue;
    const after = cloneData(ms);
    (after.metadata.labels ??= {})[DEPLOYMENT_NAME_LABEL] = md.metadata.name!;
    s.machineSets[i] = (await patchObject(s.client, ms, after)).object;
  }

  const templateExists = s.infraExists && (!refDefined(spec.template?.spec?.bootstrap?.configRef) || s.bootstrapExists);
  let result: Result | void;
  if (spec.paused === true) result = await sync(s, templateExists);
  else {
    const type = rolloutStrategy(md).type;
    if (type === "RollingUpdate") result = await rollout(s, templateExists, planRollingUpdate);
    else if (type === "OnDelete") result = await rollout(s, templateExists, planOnDelete);
    else throw new Error(`unexpected deployment strategy type: ${type}`);
  }
  const after = spec.rollout?.after ? Math.floor(timeOf(spec.rollout.after) / 1000) * 1000 : 0;
  if (after && after > s.now.getTime()) {
    const wait = Math.max(after - s.now.getTime() + 1000, 1000);
    if (!result?.requeueAfter || result.requeueAfter > wait) result = { requeueAfter: wait };
  }
  return result;
}

function refDefined(ref: ContractRef | undefined): ref is ContractRef {
  return Boolean(ref && (ref.kind || ref.name || ref.apiGroup));
}

/** Templates are owned (not controlled) by the Cluster. */
async function getTemplatesAndSetOwner(s: Scope): Promise<void> {
  const tspec = specOf<MachineDeploymentSpec>(s.md).template?.spec ?? {};
  const check = async (ref: ContractRef | undefined): Promise<boolean> => {
    if (!ref || !ref.kind.endsWith(TEMPLATE_SUFFIX)) return true;
    const tmpl = getRef(s.client, ref, s.md.metadata.namespace!);
    if (!tmpl) return false;
    const after = cloneData(tmpl);
    if (ensureOwnerRef(after, s.cluster!, false)) await patchObject(s.client, tmpl, after, false);
    return true;
  };
  if (await check(tspec.infrastructureRef)) s.infraExists = true;
  else s.infraNotFound = true;
  if (refDefined(tspec.bootstrap?.configRef)) {
    if (await check(tspec.bootstrap!.configRef)) s.bootstrapExists = true;
    else s.bootstrapNotFound = true;
  }
}

function controlledBy(obj: KObject, owner: KObject): boolean {
  return Boolean(obj.metadata.ownerReferences?.some((r) => r.controller && r.uid === owner.metadata.uid));
}

async function getAndAdoptMachineSets(s: Scope): Promise<void> {
  const { client, md } = s;
  const sel = specOf(md).selector;
  if (selectorIsEmpty(sel)) throw new Error("failed to get MachineSets: label selector computed from MachineDeployment.spec.selector is empty");
  const out: KObject[] = [];
  for (const ms of client.list(CAPI_VERSION, "MachineSet", md.metadata.namespace)) {
    if (!selectorMatches(sel, ms.metadata.labels) && !controlledBy(ms, md)) continue;
    let obj = ms;
    if (!ms.metadata.ownerReferences?.some((r) => r.controller)) {
      try {
        const after = cloneData(ms);
        ensureOwnerRef(after, md, true);
        obj = (await patchObject(client, ms, after)).object;
        s.recorder.normal(md, "SuccessfulAdopt", `Adopted MachineSet "${ms.metadata.name}"`);
      } catch (e) {
        s.recorder.warning(md, "FailedAdopt", `Failed to adopt MachineSet "${ms.metadata.name}": ${(e as Error).message}`);
        continue;
      }
    }
    if (!controlledBy(obj, md)) continue;
    out.push(obj);
  }
  s.machineSets = out;
  s.adopted = true;
}

async function reconcileDelete(s: Scope): Promise<void> {
  const { client, md } = s;
  // Owned sets (and orphans matching a non-empty selector) go first.
  const sel = specOf(md).selector;
  s.machineSets = client
    .list(CAPI_VERSION, "MachineSet", md.metadata.namespace)
    .filter((ms) => controlledBy(ms, md) || (!ms.metadata.ownerReferences?.some((r) => r.controller) && !selectorIsEmpty(sel) && selectorMatches(sel, ms.metadata.labels)));
  s.adopted = true;
  if (s.machineSets.length === 0) {
    s.dropFinalizer = true;
    return;
  }
  for (const ms of s.machineSets) {
    if (isDeleting(ms)) continue;
    await client.delete({ apiVersion: CAPI_VERSION, kind: "MachineSet", namespace: ms.metadata.namespace, name: ms.metadata.name! });
    s.ctx.log.info({ machineSet: ms.metadata.name }, "MachineSet deleting (MachineDeployment deleting)");
  }
}

// ---------------------------------------------------------------------------------------------
// Rollout planner
// ---------------------------------------------------------------------------------------------

export interface Planner {
  md: KObject;
  revision: string;
  originals: Map<string, KObject>;
  newMS?: KObject;
  oldMSs: KObject[];
  createReason: string;
  scaleIntents: Map<string, number>;
  notes: Map<string, string[]>;
}

function note(p: Planner, ms: KObject, msg: string): void {
  const list = p.notes.get(ms.metadata.name!) ?? [];
  if (!list.includes(msg)) list.push(msg);
  p.notes.set(ms.metadata.name!, list);
}

/** The hash prefix of `machine-template-hash`: FNV-32a of the rollout fields. */
export function templateHash(md: KObject): number {
  return fnv32a(canonicalJson(rolloutFields(specOf<MachineDeploymentSpec>(md).template)));
}

/** computeNewMachineSetName: `<md>-` (cut to 58) + 5 random characters, which also suffix the hash label. */
export function newMachineSetName(mdName: string): { name: string; random: string } {
  let base = `${mdName}-`;
  if (base.length > MAX_NAME_LENGTH - RANDOM_LENGTH) base = base.slice(0, MAX_NAME_LENGTH - RANDOM_LENGTH);
  const random = randomString(RANDOM_LENGTH);
  return { name: `${base}${random}`, random };
}

/**
 * computeDesiredMS: a new MachineSet (0 replicas, the deployment's template) or the desired state
 * of an existing one (its name, replicas, template spec and hash label kept); labels, annotations
 * and the in-place fields always come from the deployment.
 */
export function computeDesiredMS(md: KObject, current: KObject | undefined, now: Date): KObject {
  const mdSpec = specOf<MachineDeploymentSpec>(md);
  let name: string;
  let hash: string;
  let replicas: number;
  let templateSpec: Record<string, unknown>;
  const metadata: KObject["metadata"] = {};
  let status: unknown;
  if (!current) {
    const n = newMachineSetName(md.metadata.name!);
    name = n.name;
    hash = `${templateHash(md)}-${n.random}`;
    replicas = 0;
    templateSpec = cloneData((mdSpec.template?.spec ?? {}) as Record<string, unknown>);
    metadata.creationTimestamp = now.toISOString();
  } else {
    const h = current.metadata.labels?.[MACHINE_TEMPLATE_HASH_LABEL];
    if (h === undefined) throw new Error(`failed to compute desired MachineSet: failed to get unique identifier from "${MACHINE_TEMPLATE_HASH_LABEL}" label`);
    name = current.metadata.name!;
    hash = h;
    replicas = specReplicas(current);
    templateSpec = cloneData((specOf(current).template?.spec ?? {}) as Record<string, unknown>);
    metadata.uid = current.metadata.uid;
    metadata.creationTimestamp = current.metadata.creationTimestamp;
    metadata.generation = current.metadata.generation;
    metadata.resourceVersion = current.metadata.resourceVersion;
    metadata.finalizers = current.metadata.finalizers;
    metadata.deletionTimestamp = current.metadata.deletionTimestamp;
    status = current.status;
  }
  const templateLabels = { ...(mdSpec.template?.metadata?.labels ?? {}), [MACHINE_TEMPLATE_HASH_LABEL]: hash };
  const selector = cloneData(mdSpec.selector ?? {});
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [MACHINE_TEMPLATE_HASH_LABEL]: hash };
  const mdTemplateSpec = (mdSpec.template?.spec ?? {}) as Record<string, unknown> & { deletion?: Record<string, unknown> };
  // In-place fields.
  for (const k of ["minReadySeconds", "readinessGates", "taints"]) {
    if (mdTemplateSpec[k] === undefined) delete templateSpec[k];
    else templateSpec[k] = cloneData(mdTemplateSpec[k]);
  }
  const deletion = { ...((templateSpec.deletion as Record<string, unknown> | undefined) ?? {}) };
  for (const k of ["nodeDrainTimeoutSeconds", "nodeVolumeDetachTimeoutSeconds", "nodeDeletionTimeoutSeconds"]) {
    if (mdTemplateSpec.deletion?.[k] === undefined) delete deletion[k];
    else deletion[k] = mdTemplateSpec.deletion[k];
  }
  if (Object.keys(deletion).length) templateSpec.deletion = deletion;
  else delete templateSpec.deletion;

  const spec: MachineSetSpec = {
    clusterName: mdSpec.clusterName,
    replicas,
    selector,
    template: { metadata: { labels: templateLabels }, spec: templateSpec },
  };
  const templateAnnotations = mdSpec.template?.metadata?.annotations;
  if (templateAnnotations && Object.keys(templateAnnotations).length) spec.template!.metadata!.annotations = { ...templateAnnotations };
  if (mdSpec.deletion?.order) spec.deletion = { order: mdSpec.deletion.order };
  if (mdSpec.machineNaming?.template) spec.machineNaming = { template: mdSpec.machineNaming.template };

  const ms: KObject = {
    apiVersion: CAPI_VERSION,
    kind: "MachineSet",
    metadata: {
      ...metadata,
      name,
      namespace: md.metadata.namespace,
      labels: { ...(mdSpec.template?.metadata?.labels ?? {}), [MACHINE_TEMPLATE_HASH_LABEL]: hash, [DEPLOYMENT_NAME_LABEL]: md.metadata.name! },
      annotations: machineSetAnnotationsFromMD(md),
      ownerReferences: [ownerRefTo(md, true)],
    },
    spec: spec as Record<string, unknown>,
  };
  if (status !== undefined) ms.status = cloneData(status);
  return ms;
}

export function initPlanner(md: KObject, msList: KObject[], now: Date, createNewIfMissing: boolean, templateExists: boolean): Planner & { blocked?: string } {
  const p: Planner & { blocked?: string } = {
    md,
    revision: "",
    originals: new Map(msList.map((ms) => [ms.metadata.name!, cloneData(ms)])),
    oldMSs: [],
    createReason: "",
    scaleIntents: new Map(),
    notes: new Map(),
  };
  const found = findNewAndOldMachineSets(md, msList, now);
  const onDelete = rolloutStrategy(md).type === "OnDelete";
  for (const old of found.oldMSs) {
    const d = computeDesiredMS(md, old, now);
    Object.assign(d.metadata.annotations!, revisionAnnotationsOf(old));
    d.metadata.annotations![DISABLE_MACHINE_CREATE_ANNOTATION] = onDelete ? "true" : "false";
    p.oldMSs.push(d);
  }
  const desiredNew = (current: KObject | undefined): KObject => {
    const d = computeDesiredMS(md, current, now);
    const { annotations, revision } = computeRevisionAnnotations(current, p.oldMSs);
    Object.assign(d.metadata.annotations!, annotations);
    p.revision = revision;
    d.metadata.annotations![DISABLE_MACHINE_CREATE_ANNOTATION] = "false";
    return d;
  };
  if (found.newMS) {
    const oldRevision = found.newMS.metadata.annotations?.[REVISION_ANNOTATION];
    p.newMS = desiredNew(found.newMS);
    if (oldRevision !== p.revision) note(p, p.newMS, "this is now the current MachineSet");
    return p;
  }
  if (!createNewIfMissing) return p;
  if (!templateExists) {
    p.blocked = "cannot create a MachineSet when templates do not exist";
    return p;
  }
  p.newMS = desiredNew(undefined);
  p.createReason = found.createReason;
  return p;
}

const intentOf = (p: Planner, ms: KObject): number => p.scaleIntents.get(ms.metadata.name!) ?? specReplicas(ms);
const statusReplicas = (ms: KObject): number => statusOf(ms).replicas ?? 0;
const statusAvailable = (ms: KObject): number => statusOf(ms).availableReplicas ?? 0;

/** reconcileNewMachineSet: scale the new set towards spec.replicas within the strategy's bounds. */
function reconcileNewMachineSet(p: Planner): void {
  const newMS = p.newMS!;
  const mdReplicas = specReplicas(p.md);
  const cur = specReplicas(newMS);
  if (cur === mdReplicas) return;
  if (cur > mdReplicas) {
    note(p, newMS, "scale down to align MachineSet spec.replicas to MachineDeployment spec.replicas");
    p.scaleIntents.set(newMS.metadata.name!, mdReplicas);
    return;
  }
  const { replicas, note: why } = newMSNewReplicas(p.md, [...p.oldMSs, newMS], cur);
  if (replicas !== cur) {
    note(p, newMS, why);
    p.scaleIntents.set(newMS.metadata.name!, replicas);
  }
}

export function planRollingUpdate(p: Planner): void {
  reconcileNewMachineSet(p);
  reconcileOldMachineSetsRollingUpdate(p);
  reconcileDeadlockBreaker(p);
}

function reconcileOldMachineSetsRollingUpdate(p: Planner): void {
  const newMS = p.newMS!;
  const all = [...p.oldMSs, newMS];
  if (replicaCount(p.oldMSs) === 0) return;
  const minAvailable = Math.max(specReplicas(p.md) - maxUnavailable(p.md), 0);
  const totalSpec = replicaCount(all);
  let totalAvailable = availableReplicaCount(all) ?? 0;
  let pending = 0;
  for (const ms of all) {
    let intent = specReplicas(ms);
    const v = p.scaleIntents.get(ms.metadata.name!);
    if (v !== undefined) intent = Math.min(intent, v);
    if (intent < statusReplicas(ms)) pending += Math.max(statusReplicas(ms) - intent, 0);
  }
  const newUnavailable = Math.max(specReplicas(newMS) - statusAvailable(newMS), 0);
  let total = Math.max(totalSpec - pending - minAvailable - newUnavailable, 0);
  if (total <= 0) return;
  p.oldMSs.sort(byCreationTimestamp);
  [total, totalAvailable] = scaleDownOldMSs(p, total, totalAvailable, minAvailable, true);
  scaleDownOldMSs(p, total, totalAvailable, minAvailable, false);
}

function scaleDownOldMSs(p: Planner, total: number, totalAvailable: number, minAvailable: number, onlyUnavailable: boolean): [number, number] {
  for (const old of p.oldMSs) {
    if (total <= 0) break;
    const replicas = intentOf(p, old);
    if (replicas <= 0) continue;
    const before = totalAvailable;
    const maxScaleDown = onlyUnavailable ? Math.max(replicas - statusAvailable(old), 0) : replicas;
    let scaleDown = Math.min(maxScaleDown, total);
    if (scaleDown === 0) continue;
    if (statusAvailable(old) > 0) {
      const newSpec = Math.max(replicas - scaleDown, 0);
      let existingToDelete = Math.max(statusReplicas(old) - newSpec, 0);
      if (existingToDelete > 0) {
        if (totalAvailable - minAvailable < existingToDelete) {
          const canDelete = Math.max(totalAvailable - minAvailable, 0);
          const revisited = Math.min(statusReplicas(old) - canDelete, replicas);
          scaleDown = Math.max(replicas - revisited, 0);
          existingToDelete = Math.max(statusReplicas(old) - revisited, 0);
        }
        totalAvailable -= Math.min(statusAvailable(old), existingToDelete);
      }
    }
    if (scaleDown > 0) {
      note(
        p,
        old,
        before === totalAvailable
          ? "scale down to align to existing Machines or scale down by removing unavailable replicas (and no available replicas exist on the MachineSet)"
          : `${before} available replicas > ${minAvailable} minimum available replicas`,
      );
      p.scaleIntents.set(old.metadata.name!, Math.max(replicas - scaleDown, 0));
      total = Math.max(total - scaleDown, 0);
    }
  }
  return [total, totalAvailable];
}

/**
 * reconcileDeadlockBreaker: with old sets holding unavailable Machines, nothing scaling and the
 * new set fully available, scale the oldest such old set down by one (a formal maxUnavailable
 * breach, most likely deleting an unavailable Machine).
 */
function reconcileDeadlockBreaker(p: Planner): void {
  const newMS = p.newMS!;
  const all = [...p.oldMSs, newMS];
  const oldActual = actualReplicaCount(p.oldMSs) ?? 0;
  if (oldActual === 0) return;
  if (oldActual === (availableReplicaCount(p.oldMSs) ?? 0)) return;
  for (const ms of all) {
    if (specReplicas(ms) !== statusReplicas(ms)) return;
    if (p.scaleIntents.has(ms.metadata.name!)) return;
  }
  if (statusAvailable(newMS) !== statusReplicas(newMS)) return;
  for (const old of p.oldMSs) {
    if (statusAvailable(old) === statusReplicas(old) || specReplicas(old) === 0) continue;
    note(p, newMS, "scaling down by 1 to unblock rollout stuck due to unavailable Machine on oldMS");
    p.scaleIntents.set(old.metadata.name!, Math.max(specReplicas(old) - 1, 0));
    return;
  }
}

export function planOnDelete(p: Planner): void {
  reconcileNewMachineSet(p);
  const oldCount = replicaCount(p.oldMSs);
  if (oldCount === 0) return;
  const newReplicas = p.scaleIntents.get(p.newMS!.metadata.name!) ?? specReplicas(p.newMS!);
  let total = Math.max(oldCount + newReplicas - specReplicas(p.md), 0);
  p.oldMSs.sort(byCreationTimestamp);
  // Drop spec.replicas that no longer have a Machine (users deleted them).
  for (const old of p.oldMSs) {
    if (specReplicas(old) <= 0) continue;
    const down = Math.max(specReplicas(old) - statusReplicas(old), 0);
    if (down > 0) {
      note(p, old, "scale down to align to existing Machines");
      p.scaleIntents.set(old.metadata.name!, Math.max(specReplicas(old) - down, 0));
      total -= down;
    }
  }
  for (const old of p.oldMSs) {
    if (total <= 0) break;
    const intent = intentOf(p, old);
    if (intent <= 0) continue;
    const down = Math.min(intent, total);
    if (down > 0) {
      note(p, old, "scale down to align MachineSet spec.replicas to MachineDeployment spec.replicas");
      p.scaleIntents.set(old.metadata.name!, Math.max(specReplicas(old) - down, 0));
      total -= down;
    }
  }
}

/** The server-side apply body of a desired MachineSet (no status, no server-owned metadata). */
function applyBody(ms: KObject): KObject {
  const { metadata } = ms;
  const body: KObject = {
    apiVersion: CAPI_VERSION,
    kind: "MachineSet",
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace,
      labels: metadata.labels,
      annotations: metadata.annotations,
      ownerReferences: metadata.ownerReferences,
    },
    spec: ms.spec,
  };
  if (metadata.uid) body.metadata.uid = metadata.uid;
  return body;
}

/**
 * createOrUpdateMachineSetsAndSyncMachineDeploymentRevision: applies the planned MachineSets
 * (new first), each read and written without an await in between so a set deleted meanwhile is
 * never re-created, and records the revision on the deployment.
 */
async function applyPlan(s: Scope, p: Planner): Promise<void> {
  const { client, md } = s;
  const all = p.newMS ? [p.newMS, ...p.oldMSs] : [...p.oldMSs];
  for (const ms of all) {
    const name = ms.metadata.name!;
    const intent = p.scaleIntents.get(name);
    if (intent !== undefined) (ms.spec as MachineSetSpec).replicas = intent;
    const original = p.originals.get(name);
    const ref = { apiVersion: CAPI_VERSION, kind: "MachineSet", namespace: ms.metadata.namespace, name };
    const live = client.get(ref);
    let written: KObject;
    if (!original) {
      if (live) throw new Error(`MachineSet ${ms.metadata.namespace}/${name} already exists`);
      try {
        written = await client.apply(applyBody(ms));
      } catch (e) {
        s.recorder.warning(md, "FailedCreate", `Failed to create MachineSet ${ms.metadata.namespace}/${name}: ${(e as Error).message}`);
        throw e;
      }
      const why = p.createReason ? ` (${p.createReason})` : "";
      s.ctx.log.info({ machineSet: name, replicas: specReplicas(ms) }, `MachineSet created, it is now the current MachineSet${why}`);
      s.recorder.normal(md, "SuccessfulCreate", `Created MachineSet ${ms.metadata.namespace}/${name} with ${specReplicas(ms)} replicas`);
    } else {
      if (!live || live.metadata.uid !== original.metadata.uid || isDeleting(live)) continue;
      try {
        written = await client.apply(applyBody(ms));
      } catch (e) {
        s.recorder.warning(md, "FailedUpdate", `Failed to update MachineSet ${ms.metadata.namespace}/${name}: ${(e as Error).message}`);
        throw e;
      }
      const from = specReplicas(original);
      const to = specReplicas(written);
      if (to < from) s.recorder.normal(md, "SuccessfulScale", `Scaled down MachineSet ${name}: ${from} -> ${to}`);
      if (to > from) s.recorder.normal(md, "SuccessfulScale", `Scaled up MachineSet ${name}: ${from} -> ${to}`);
      if (to !== from) s.ctx.log.info({ machineSet: name, reason: p.notes.get(name)?.join(", ") }, `Scaled MachineSet from ${from} to ${to} replicas`);
    }
    // Continue with the stored object (status, generation) in place of the desired one.
    if (p.newMS === ms) p.newMS = written;
    else p.oldMSs[p.oldMSs.indexOf(ms)] = written;
  }
  if (p.newMS) (md.metadata.annotations ??= {})[REVISION_ANNOTATION] = p.revision;
}

async function rollout(s: Scope, templateExists: boolean, plan: (p: Planner) => void): Promise<Result | void> {
  const p = initPlanner(s.md, s.machineSets, s.now, true, templateExists);
  if (!p.newMS) {
    s.ctx.log.info({ reason: p.blocked }, "waiting for the templates to create the new MachineSet");
    // Upstream returns an error here: retried with backoff, so templates applied just after the
    // MachineDeployment (kubectl apply order) are found within milliseconds.
    return { requeue: true };
  }
  plan(p);
  await applyPlan(s, p);
  const all = [...p.oldMSs, p.newMS!];
  s.machineSets = all;
  syncDeploymentStatus(s.md, all, p.newMS);
  if (deploymentComplete(s.md)) await cleanupDeployment(s, p.oldMSs);
}

/** sync: a paused deployment: in-place propagation (no new MachineSet) and proportional scaling. */
async function sync(s: Scope, templateExists: boolean): Promise<void> {
  const p = initPlanner(s.md, s.machineSets, s.now, false, templateExists);
  await applyPlan(s, p);
  const all = p.newMS ? [...p.oldMSs, p.newMS] : [...p.oldMSs];
  s.machineSets = all;
  await scale(s, p);
  syncDeploymentStatus(s.md, s.machineSets, p.newMS);
}

async function scaleMachineSet(s: Scope, p: Planner, ms: KObject, replicas: number): Promise<void> {
  if (specReplicas(ms) === replicas) return;
  const after = cloneData(ms);
  (after.spec as MachineSetSpec).replicas = replicas;
  let written: KObject;
  try {
    written = (await patchObject(s.client, ms, after)).object;
  } catch (e) {
    s.recorder.warning(s.md, "FailedScale", `Failed to scale MachineSet ${ms.metadata.namespace}/${ms.metadata.name}: ${(e as Error).message}`);
    throw e;
  }
  s.recorder.normal(s.md, "SuccessfulScale", `Scaled MachineSet ${ms.metadata.namespace}/${ms.metadata.name}: ${specReplicas(ms)} -> ${replicas}`);
  const i = s.machineSets.indexOf(ms);
  if (i >= 0) s.machineSets[i] = written;
  if (p.newMS === ms) p.newMS = written;
  const j = p.oldMSs.indexOf(ms);
  if (j >= 0) p.oldMSs[j] = written;
}

/** The proportional scaling of a paused (or otherwise not rolling) deployment. */
async function scale(s: Scope, p: Planner): Promise<void> {
  const { md } = s;
  const replicas = specReplicas(md);
  const activeOrLatest = findOneActiveOrLatest(p.newMS, p.oldMSs);
  if (activeOrLatest) {
    await scaleMachineSet(s, p, activeOrLatest, replicas);
    return;
  }
  if (isSaturated(md, p.newMS)) {
    for (const old of p.oldMSs.filter((ms) => specReplicas(ms) > 0)) await scaleMachineSet(s, p, old, 0);
    return;
  }
  if (!isRollingUpdate(md)) return;
  const active = [...p.oldMSs, ...(p.newMS ? [p.newMS] : [])].filter((ms) => specReplicas(ms) > 0);
  const total = replicaCount(active);
  const allowed = replicas > 0 ? replicas + maxSurge(md) : 0;
  const toAdd = allowed - total;
  if (toAdd > 0) active.sort(bySizeNewer);
  else if (toAdd < 0) active.sort(bySizeOlder);
  let added = 0;
  const sizes = new Map<string, number>();
  for (const ms of active) {
    if (toAdd !== 0) {
      const proportion = getProportion(ms, md, toAdd, added);
      sizes.set(ms.metadata.name!, specReplicas(ms) + proportion);
      added += proportion;
    } else sizes.set(ms.metadata.name!, specReplicas(ms));
  }
  for (const [i, ms] of active.entries()) {
    if (i === 0 && toAdd !== 0) sizes.set(ms.metadata.name!, Math.max(sizes.get(ms.metadata.name!)! + (toAdd - added), 0));
    await scaleMachineSet(s, p, ms, sizes.get(ms.metadata.name!)!);
  }
}

/** integer.RoundToInt32: half away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** GetProportion / getMachineSetFraction. */
export function getProportion(ms: KObject, md: KObject, toAdd: number, added: number): number {
  const msReplicas = specReplicas(ms);
  if (msReplicas === 0 || toAdd === 0 || toAdd === added) return 0;
  const { deploymentReplicas, annotated } = getProportionInputs(ms, md);
  let fraction: number;
  if (specReplicas(md) === 0) fraction = -msReplicas;
  else if (annotated <= 0) fraction = 0;
  else fraction = roundHalfAway((msReplicas * deploymentReplicas) / annotated) - msReplicas;
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

/** cleanupDeployment: old sets with no replicas (spec and status) and an observed generation are deleted. */
async function cleanupDeployment(s: Scope, oldMSs: KObject[]): Promise<void> {
  const candidates = oldMSs.filter((ms) => !isDeleting(ms)).sort(byCreationTimestamp);
  for (const ms of candidates) {
    if (statusReplicas(ms) !== 0 || specReplicas(ms) !== 0) continue;
    if ((ms.metadata.generation ?? 0) > (statusOf(ms).observedGeneration ?? 0)) continue;
    const deleted = await s.client.delete({ apiVersion: CAPI_VERSION, kind: "MachineSet", namespace: ms.metadata.namespace, name: ms.metadata.name! });
    if (deleted) {
      s.ctx.log.info({ machineSet: ms.metadata.name }, "MachineSet deleting (cleanup of old MachineSets)");
      s.recorder.normal(s.md, "SuccessfulDelete", `Deleted MachineSet "${ms.metadata.name}"`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

function setReplicaCounters(md: KObject, sets: KObject[]): void {
  const status = ((md.status as ReplicaStatus | undefined) ??= {}) as ReplicaStatus;
  const put = (k: "replicas" | "readyReplicas" | "availableReplicas" | "upToDateReplicas", v: number | undefined) => {
    if (v === undefined) delete status[k];
    else status[k] = v;
  };
  put("replicas", actualReplicaCount(sets));
  put("readyReplicas", readyReplicaCount(sets));
  put("availableReplicas", availableReplicaCount(sets));
  put("upToDateReplicas", upToDateReplicaCount(sets));
  const versions = aggregateStatusVersions(sets);
  if (versions) status.versions = versions;
  else delete status.versions;
}

/** syncDeploymentStatus: counters plus the deprecated v1beta1 counters and conditions. */
function syncDeploymentStatus(md: KObject, all: KObject[], newMS: KObject | undefined): void {
  setReplicaCounters(md, all);
  const status = md.status as ReplicaStatus;
  const available = all.reduce((n, ms) => n + v1beta1Counter(ms, "availableReplicas"), 0);
  const v1 = ((status.deprecated ??= {}).v1beta1 ??= {}) as Record<string, unknown>;
  v1.updatedReplicas = newMS ? (actualReplicaCount([newMS]) ?? 0) : 0;
  v1.readyReplicas = all.reduce((n, ms) => n + v1beta1Counter(ms, "readyReplicas"), 0);
  v1.availableReplicas = available;
  v1.unavailableReplicas = Math.max(replicaCount(all) - available, 0);
  const minNeeded = specReplicas(md) - maxUnavailable(md);
  if (available >= minNeeded) setV1Beta1(md, { type: "Available", status: "True" });
  else {
    setV1Beta1(md, {
      type: "Available",
      status: "False",
      reason: "WaitingForAvailableMachines",
      severity: "Warning",
      message: `Minimum availability requires ${minNeeded} replicas, current ${status.availableReplicas ?? 0} available`,
    });
  }
  const mirror = newMS ? getV1Beta1Condition(newMS, "Ready") : undefined;
  if (mirror) {
    const { lastTransitionTime: _t, ...rest } = mirror;
    setV1Beta1(md, { ...rest, type: "MachineSetReady" });
  } else {
    setV1Beta1(md, { type: "MachineSetReady", status: "False", reason: "WaitingForMachineSet", severity: "Info", message: newMS ? "" : "MachineSet not found" });
  }
  setV1Beta1Summary(md, ["Available"]);
}

function missingReferencesMessage(s: Scope): string {
  const tspec = specOf<MachineDeploymentSpec>(s.md).template?.spec ?? {};
  const missing: string[] = [];
  if (s.bootstrapNotFound) missing.push(tspec.bootstrap?.configRef?.kind ?? "");
  if (s.infraNotFound) missing.push(tspec.infrastructureRef?.kind ?? "");
  if (!missing.length) return "";
  return missing.length === 1 ? `because ${missing[0]} does not exist` : `because ${missing.join(" and ")} do not exist`;
}

function updateStatus(s: Scope): void {
  const { md, machines } = s;
  const status = ((md.status as ReplicaStatus | undefined) ??= {}) as ReplicaStatus;
  try {
    status.selector = selectorString(specOf(md).selector);
  } catch {
    // An invalid selector keeps the last value.
  }
  if (s.adopted) setReplicaCounters(md, s.machineSets);

  // Phase.
  const desiredReplicas = specReplicas(md);
  const current = actualReplicaCount(s.machineSets) ?? 0;
  if (!s.adopted) status.phase = "Unknown";
  else if (isDeleting(md)) status.phase = "ScalingDown";
  else if (desiredReplicas === current) status.phase = "Running";
  else status.phase = desiredReplicas < current ? "ScalingDown" : "ScalingUp";

  // Available.
  if (!s.adopted) setCondition(md, { type: "Available", status: "Unknown", reason: "InternalError", message: "Please check controller logs for errors" });
  else if (status.availableReplicas === undefined) {
    setCondition(md, { type: "Available", status: "Unknown", reason: "WaitingForAvailableReplicasSet", message: "Waiting for status.availableReplicas set" });
  } else {
    const minNeeded = desiredReplicas - maxUnavailable(md);
    if (status.availableReplicas >= minNeeded) setCondition(md, { type: "Available", status: "True", reason: "Available" });
    else {
      let message = `${status.availableReplicas} available replicas, at least ${minNeeded} required`;
      if (isRollingUpdate(md)) message += ` (spec.strategy.rollout.maxUnavailable is ${rolloutStrategy(md).maxUnavailable}, spec.replicas is ${desiredReplicas})`;
      if (isDeleting(md)) message = "Deletion in progress";
      setCondition(md, { type: "Available", status: "False", reason: "NotAvailable", message });
    }
  }

  // RollingOut: Machines whose UpToDate is False.
  const reasons = new Set<string>();
  let rollingOut = 0;
  for (const m of machines) {
    const c = getCondition(m, "UpToDate");
    if (!c || c.status !== "False") continue;
    rollingOut++;
    if (c.message) for (const line of c.message.split("\n")) reasons.add(line);
  }
  if (!rollingOut) setCondition(md, { type: "RollingOut", status: "False", reason: "NotRollingOut" });
  else {
    const sorted = [...reasons].sort((a, b) => {
      const va = a.startsWith("* Version");
      const vb = b.startsWith("* Version");
      if (va !== vb) return va ? -1 : 1;
      return a < b ? -1 : a > b ? 1 : 0;
    });
    const message = `Rolling out ${rollingOut} not up-to-date replicas${sorted.length ? `\n${sorted.join("\n")}` : ""}`;
    setCondition(md, { type: "RollingOut", status: "True", reason: "RollingOut", message });
  }

  // ScalingUp / ScalingDown.
  const desired = isDeleting(md) ? 0 : desiredReplicas;
  const missing = missingReferencesMessage(s);
  if (!s.adopted) {
    setCondition(md, { type: "ScalingUp", status: "Unknown", reason: "InternalError", message: "Please check controller logs for errors" });
    setCondition(md, { type: "ScalingDown", status: "Unknown", reason: "InternalError", message: "Please check controller logs for errors" });
  } else {
    if (current >= desired) {
      setCondition(md, { type: "ScalingUp", status: "False", reason: "NotScalingUp", message: !isDeleting(md) && missing ? `Scaling up would be blocked ${missing}` : "" });
    } else {
      const message = `Scaling up from ${current} to ${desired} replicas${missing ? ` is blocked ${missing}` : ""}`;
      setCondition(md, { type: "ScalingUp", status: "True", reason: "ScalingUp", message });
    }
    if (current > desired) {
      let message = `Scaling down from ${current} to ${desired} replicas`;
      const stale = staleMachinesMessage(machines);
      if (stale) message += `\n* ${stale}`;
      setCondition(md, { type: "ScalingDown", status: "True", reason: "ScalingDown", message });
    } else setCondition(md, { type: "ScalingDown", status: "False", reason: "NotScalingDown" });
  }

  setMachineSummaryConditions(md, machines, s.now, "MachineDeployment/MachineSet");

  // Deleting.
  if (!s.adopted) setCondition(md, { type: "Deleting", status: "Unknown", reason: "InternalError", message: "Please check controller logs for errors" });
  else if (!isDeleting(md)) setCondition(md, { type: "Deleting", status: "False", reason: "NotDeleting" });
  else {
    let message = "";
    if (machines.length) {
      message = `Deleting ${machines.length} Machine${machines.length === 1 ? "" : "s"}`;
      const stale = staleMachinesMessage(machines);
      if (stale) message += `\n* ${stale}`;
    }
    if (!machines.length && s.machineSets.length) message = `Deleting ${s.machineSets.length} MachineSets`;
    setCondition(md, { type: "Deleting", status: "True", reason: "Deleting", message: message || "Deletion completed" });
  }
}

