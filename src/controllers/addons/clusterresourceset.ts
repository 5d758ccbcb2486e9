/**
 * The ClusterResourceSet controller (Cluster API `core/reconcilers/clusterresourceset`): for
 * every Cluster in its namespace matching `clusterSelector` whose control plane is initialized,
 * applies the objects of each ConfigMap/Secret in `spec.resources` to the workload cluster and
 * records that in the cluster's ClusterResourceSetBinding. ApplyOnce creates each resource's
 * objects once (already existing ones count as applied); Reconcile re-applies them
 * (create-or-update) whenever the resource's hash changes. The resources get the CRS as an owner.
 * Deleting a CRS removes its entries from the bindings (empty bindings are deleted) before the
 * finalizer goes.
 *
 * Differences from upstream, on purpose: a Cluster whose control plane is not initialized yet is
 * waited for (ResourcesApplied=False, NotApplied) instead of failing on the missing remote client;
 * a missing resource keeps ResourcesApplied=False until it appears; deletion cleans every binding
 * that has an entry for the CRS, not only those of still-selected Clusters.
 * @module
 */
import { nowRfc3339, type KObject } from "../../lib/kobject.ts";
import { labelSelectorFromObject, type LabelSelector, type LabelSelectorObject } from "../../lib/selectors/label-selector.ts";
import type { Client } from "../../runtime/client.ts";
import { setCondition, setV1Beta1Condition } from "../../runtime/conditions.ts";
import { Controller, type ReconcileContext, type Request, type Result } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import { CAPI_VERSION, ensureFinalizer, ensureOwnerRef, PAUSED_ANNOTATION, removeFinalizer } from "../core/contract.ts";
import { ADDONS_VERSION, findEntry, getOrCreateEntry, removeEntry, resourceEntry, setResourceEntry, bindingSpec } from "./binding.ts";
import { computeHash, getResource, normalizeData, objectsFromData, ResourceNotFoundError, SecretTypeNotSupportedError, type ResourceRef } from "./resources.ts";
import type { AddonTarget, AddonTargets } from "./targets.ts";
import { cloneData } from "../../lib/clone.ts";

export const CRS_FINALIZER = "addons.cluster.x-k8s.io";
const RESOURCES_APPLIED = "ResourcesApplied";
const CHECK_LOGS = "Please check controller logs for errors";
/** A missing resource is looked for again this often (its creation also triggers a reconcile). */
const MISSING_RESOURCE_REQUEUE_MS = 30_000;
const KUBECONFIG_SUFFIX = "-kubeconfig";

interface CrsSpec {
  clusterSelector?: LabelSelectorObject;
  resources?: ResourceRef[];
  strategy?: "ApplyOnce" | "Reconcile";
}

/** The outcome of one reconcile, turned into the ResourcesApplied condition at the end. */
interface Outcome {
  errors: Error[];
  /** The last failure's v1beta2 reason/message and v1beta1 reason/message/severity. */
  failure?: { reason: string; message: string; v1Reason: string; v1Message: string; severity: "Error" | "Warning" | "Info" };
  missing: boolean;
}

export function setupClusterResourceSetController(m: Manager, targets: AddonTargets): void {
  const client = m.client("clusterresourceset-controller");
  const crsInformer = m.informers.forKind(ADDONS_VERSION, "ClusterResourceSet");
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (!crsInformer || !clusters) return;
  const c = new Controller("clusterresourceset", (req, ctx) => reconcile(client, targets, req, ctx), 2);
  c.watchFor(crsInformer);

  const crsSelecting = (cluster: KObject): Request[] =>
    crsInformer
      .list(cluster.metadata.namespace)
      .filter((crs) => selectorOf(crs)?.matches(cluster.metadata.labels) === true)
      .map((crs) => ({ namespace: crs.metadata.namespace, name: crs.metadata.name! }));
  // Clusters matter when they appear, their labels change, or their control plane gets initialized.
  c.watchMapped(clusters, (cl, old) => {
    if (old && sameLabels(cl, old) && cpInitialized(cl) === cpInitialized(old)) return [];
    return crsSelecting(cl);
  });

  const referencing = (obj: KObject): Request[] => {
    const owners = (obj.metadata.ownerReferences ?? []).filter((r) => r.kind === "ClusterResourceSet").map((r) => ({ namespace: obj.metadata.namespace, name: r.name }));
    if (owners.length) return owners;
    return crsInformer
      .list(obj.metadata.namespace)
      .filter((crs) => ((crs.spec as CrsSpec | undefined)?.resources ?? []).some((r) => r.kind === obj.kind && r.name === obj.metadata.name))
      .map((crs) => ({ namespace: crs.metadata.namespace, name: crs.metadata.name! }));
  };
  const configMaps = m.informers.forKind("v1", "ConfigMap");
  if (configMaps) c.watchMapped(configMaps, referencing);
  const secrets = m.informers.forKind("v1", "Secret");
  if (secrets) {
    c.watchMapped(secrets, (s) => {
      const name = s.metadata.name!;
      // A cluster's kubeconfig appearing (or changing) makes its cluster reachable.
      if (name.endsWith(KUBECONFIG_SUFFIX)) {
        const cl = clusters.get(s.metadata.namespace, name.slice(0, -KUBECONFIG_SUFFIX.length));
        if (cl) return crsSelecting(cl);
      }
      return referencing(s);
    });
  }
  m.add(c);
}

function sameLabels(a: KObject, b: KObject): boolean {
  return JSON.stringify(a.metadata.labels ?? {}) === JSON.stringify(b.metadata.labels ?? {});
}

function cpInitialized(cluster: KObject): boolean {
  return (cluster.status as { initialization?: { controlPlaneInitialized?: boolean } } | undefined)?.initialization?.controlPlaneInitialized === true;
}

/** The CRS's cluster selector; undefined when it selects nothing (empty or unparseable). */
function selectorOf(crs: KObject): LabelSelector | undefined {
  try {
    const sel = labelSelectorFromObject((crs.spec as CrsSpec | undefined)?.clusterSelector ?? {});
    return sel.empty ? undefined : sel;
  } catch {
    return undefined;
  }
}

async function reconcile(client: Client, targets: AddonTargets, req: Request, ctx: ReconcileContext): Promise<Result | void> {
  const current = client.get({ apiVersion: ADDONS_VERSION, kind: "ClusterResourceSet", namespace: req.namespace, name: req.name });
  if (!current) return;
  const crs = cloneData(current);
  if (!crs.metadata.deletionTimestamp && ensureFinalizer(crs, CRS_FINALIZER)) {
    await patchObject(client, current, crs);
    return;
  }
  if (PAUSED_ANNOTATION in (crs.metadata.annotations ?? {})) {
    setCondition(crs, { type: "Paused", status: "True", reason: "Paused", message: "Object has the cluster.x-k8s.io/paused annotation" });
    await patchObject(client, current, crs);
    return;
  }
  if (crs.metadata.deletionTimestamp) {
    await reconcileDelete(client, crs, ctx);
    // Only the finalizer: the object is gone once it is removed, so there is no status to write.
    if (removeFinalizer(crs, CRS_FINALIZER)) await patchObject(client, current, { ...current, metadata: crs.metadata });
    return;
  }
  setCondition(crs, { type: "Paused", status: "False", reason: "NotPaused" });

  const outcome: Outcome = { errors: [], missing: false };
  const selected = selectedClusters(client, crs);
  for (const cluster of selected) {
    if (!cpInitialized(cluster)) {
      outcome.failure ??= {
        reason: "NotApplied",
        message: `Waiting for the control plane of Cluster ${cluster.metadata.name} to be initialized`,
        v1Reason: "RemoteClusterClientFailed",
        v1Message: `control plane of Cluster ${cluster.metadata.name} is not initialized yet`,
        severity: "Info",
      };
      continue;
    }
    try {
      await applyToCluster(client, targets, crs, cluster, outcome, ctx);
    } catch (e) {
      outcome.errors.push(e as Error);
    }
  }

  if (outcome.failure) {
    const f = outcome.failure;
    setCondition(crs, { type: RESOURCES_APPLIED, status: "False", reason: f.reason, message: f.message });
    setV1Beta1Condition(crs, { type: RESOURCES_APPLIED, status: "False", severity: f.severity, reason: f.v1Reason, ...(f.v1Message ? { message: f.v1Message } : {}) });
  } else {
    setCondition(crs, { type: RESOURCES_APPLIED, status: "True", reason: "Applied" });
    setV1Beta1Condition(crs, { type: RESOURCES_APPLIED, status: "True" });
  }
  const status = (crs.status ??= {}) as { observedGeneration?: number };
  if (outcome.errors.length === 0) status.observedGeneration = crs.metadata.generation;
  await patchObject(client, current, crs);

  if (outcome.errors.length === 1 && (outcome.errors[0] as { code?: number }).code === 409) {
    ctx.log.debug({}, "conflict writing a ClusterResourceSetBinding shared with another ClusterResourceSet; requeueing");
    return { requeueAfter: 100 };
  }
  if (outcome.errors.length) throw new Error(outcome.errors.map((e) => e.message).join("; "));
  if (outcome.missing) return { requeueAfter: MISSING_RESOURCE_REQUEUE_MS };
}

function selectedClusters(client: Client, crs: KObject): KObject[] {
  const sel = selectorOf(crs);
  if (!sel) return [];
  return client
    .listShared(CAPI_VERSION, "Cluster", crs.metadata.namespace)
    .filter((cl) => !cl.metadata.deletionTimestamp && sel.matches(cl.metadata.labels));
}

async function applyToCluster(client: Client, targets: AddonTargets, crs: KObject, cluster: KObject, outcome: Outcome, ctx: ReconcileContext): Promise<void> {
  const spec = (crs.spec ?? {}) as CrsSpec;
  const ns = crs.metadata.namespace!;
  const resources = spec.resources ?? [];
  const found: (KObject | undefined)[] = [];
  const errors: Error[] = [];
  for (const ref of resources) {
    try {
      const obj = getResource(client, ref, ns);
      await ensureResourceOwner(client, obj, crs);
      found.push(obj);
    } catch (e) {
      found.push(undefined);
      if (e instanceof SecretTypeNotSupportedError) {
        outcome.failure = { reason: "WrongSecretType", message: `Secret type of resource ${ref.name} is not supported`, v1Reason: "WrongSecretType", v1Message: e.message, severity: "Warning" };
        errors.push(e);
      } else {
        outcome.failure = { reason: "InternalError", message: CHECK_LOGS, v1Reason: "RetrievingResourceFailed", v1Message: (e as Error).message, severity: "Warning" };
        if (e instanceof ResourceNotFoundError) outcome.missing = true;
        else errors.push(e as Error);
      }
    }
  }
  if (errors.length) throw new Error(errors.map((e) => e.message).join("; "));

  const name = cluster.metadata.name!;
  const stored = client.get({ apiVersion: ADDONS_VERSION, kind: "ClusterResourceSetBinding", namespace: ns, name });
  const binding: KObject = stored
    ? cloneData(stored)
    : { apiVersion: ADDONS_VERSION, kind: "ClusterResourceSetBinding", metadata: { name, namespace: ns }, spec: { clusterName: name, bindings: [] } };
  ensureOwnerRef(binding, crs);
  const entry = getOrCreateEntry(binding, crs.metadata.name!);

  try {
    const target = await targets.forCluster(ns, name);
    if (!target) throw new Error(`no kubeconfig Secret ${name}${KUBECONFIG_SUFFIX} for Cluster ${ns}/${name}`);
    await applyResources(target, spec, resources, found, entry, outcome, ctx);
  } catch (e) {
    outcome.failure = { reason: "InternalError", message: CHECK_LOGS, v1Reason: "RemoteClusterClientFailed", v1Message: (e as Error).message, severity: "Error" };
    errors.push(e as Error);
  } finally {
    await writeBinding(client, stored, binding);
  }
  if (errors.length) throw new Error(errors.map((e) => e.message).join("; "));
}

async function applyResources(
  target: AddonTarget,
  spec: CrsSpec,
  resources: ResourceRef[],
  found: (KObject | undefined)[],
  entry: ReturnType<typeof getOrCreateEntry>,
  outcome: Outcome,
  ctx: ReconcileContext,
): Promise<void> {
  const reconcileStrategy = spec.strategy === "Reconcile";
  for (const [i, ref] of resources.entries()) {
    const resource = found[i];
    if (!resource) continue;
    let hash: string;
    let objects: KObject[];
    try {
      const values = normalizeData(resource);
      hash = computeHash(values);
      objects = objectsFromData(values);
    } catch (e) {
      setResourceEntry(entry, { ...ref, applied: false, lastAppliedTime: nowRfc3339() });
      outcome.errors.push(e as Error);
      outcome.failure = { reason: "NotApplied", message: "Failed to apply ClusterResourceSet resources to Cluster", v1Reason: "ApplyFailed", v1Message: (e as Error).message, severity: "Warning" };
      continue;
    }
    const prior = resourceEntry(entry, ref);
    const needsApply = reconcileStrategy ? !prior?.applied || prior.hash !== hash : !prior?.applied;
    if (!needsApply) continue;
    const failures: string[] = [];
    for (const obj of objects) {
      try {
        if (reconcileStrategy) await target.createOrUpdateObject(obj);
        else await target.createObject(obj);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
    if (failures.length) {
      ctx.log.warn({ resource: `${ref.kind}/${ref.name}`, server: target.server, err: failures.join("; ") }, "failed to apply ClusterResourceSet resource");
      outcome.errors.push(new Error(failures.join("; ")));
      outcome.failure = { reason: "NotApplied", message: "Failed to apply ClusterResourceSet resources to Cluster", v1Reason: "ApplyFailed", v1Message: failures.join("; "), severity: "Warning" };
    } else {
      ctx.log.info({ resource: `${ref.kind}/${ref.name}`, server: target.server, objects: objects.length }, "applied ClusterResourceSet resource");
    }
    setResourceEntry(entry, { ...ref, hash, applied: failures.length === 0, lastAppliedTime: nowRfc3339() });
  }
}

/** The CRS as a (non-controller) owner of the resource, as upstream's ensureResourceOwnerRef. */
async function ensureResourceOwner(client: Client, resource: KObject, crs: KObject): Promise<void> {
  const after = cloneData(resource);
  if (ensureOwnerRef(after, crs)) await patchObject(client, resource, after, false);
}

/** Creates the binding, or writes it at the resourceVersion read (a concurrent writer gets 409). */
async function writeBinding(client: Client, stored: KObject | undefined, binding: KObject): Promise<void> {
  if (!stored) {
    await client.create(binding);
    return;
  }
  if (JSON.stringify(stored.spec) === JSON.stringify(binding.spec) && JSON.stringify(stored.metadata.ownerReferences) === JSON.stringify(binding.metadata.ownerReferences)) return;
  await client.update(binding);
}

/** Removes the CRS from every binding that has it; bindings left empty are deleted. */
async function reconcileDelete(client: Client, crs: KObject, ctx: ReconcileContext): Promise<void> {
  const crsName = crs.metadata.name!;
  for (const stored of client.list(ADDONS_VERSION, "ClusterResourceSetBinding", crs.metadata.namespace)) {
    const ownedBy = stored.metadata.ownerReferences?.some((r) => r.kind === "ClusterResourceSet" && r.name === crsName);
    if (!findEntry(stored, crsName) && !ownedBy) continue;
    const binding = cloneData(stored);
    removeEntry(binding, crsName);
    binding.metadata.ownerReferences = (binding.metadata.ownerReferences ?? []).filter((r) => !(r.kind === "ClusterResourceSet" && r.name === crsName));
    if ((bindingSpec(binding).bindings ?? []).length === 0) {
      await client.delete({ apiVersion: ADDONS_VERSION, kind: "ClusterResourceSetBinding", namespace: binding.metadata.namespace, name: binding.metadata.name! }, { preconditions: { resourceVersion: stored.metadata.resourceVersion } });
      ctx.log.info({ binding: binding.metadata.name }, "deleted the empty ClusterResourceSetBinding");
    } else {
      await client.update(binding);
    }
  }
}
