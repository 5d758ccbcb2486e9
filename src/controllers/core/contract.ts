/**
 * The Cluster API provider contracts as the core controllers read them: references by
 * {apiGroup, kind, name}, and the v1beta2 fields with the v1beta1 ones as fallback (CACPPT still
 * speaks v1beta1). Core controllers touch provider objects only through these.
 * @module
 */
import type { KObject, OwnerReference } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";

export const CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name";
export const CONTROL_PLANE_LABEL = "cluster.x-k8s.io/control-plane";
export const DEPLOYMENT_NAME_LABEL = "cluster.x-k8s.io/deployment-name";
export const SET_NAME_LABEL = "cluster.x-k8s.io/set-name";
export const MACHINE_TEMPLATE_HASH_LABEL = "machine-template-hash";
export const PAUSED_ANNOTATION = "cluster.x-k8s.io/paused";
export const DELETE_MACHINE_ANNOTATION = "cluster.x-k8s.io/delete-machine";
export const CLONED_FROM_NAME = "cluster.x-k8s.io/cloned-from-name";
export const CLONED_FROM_GROUPKIND = "cluster.x-k8s.io/cloned-from-groupkind";
export const CAPI_GROUP = "cluster.x-k8s.io";
export const CAPI_VERSION = "cluster.x-k8s.io/v1beta2";

export interface ContractRef {
  apiGroup: string;
  kind: string;
  name: string;
}

type Status = {
  ready?: boolean;
  initialized?: boolean;
  dataSecretName?: string;
  initialization?: { provisioned?: boolean; dataSecretCreated?: boolean; controlPlaneInitialized?: boolean };
  conditions?: { type: string; status: string; reason?: string; message?: string; severity?: string }[];
};

function status(obj: KObject | undefined): Status {
  return (obj?.status ?? {}) as Status;
}

/** The apiVersion a reference resolves to: the served storage version of its group and kind. */
export function refApiVersion(client: Client, ref: { apiGroup: string; kind: string; name?: string }): string | undefined {
  const r = client.deps.registry.byGroupKind(ref.apiGroup, ref.kind);
  if (!r) return undefined;
  return r.group ? `${r.group}/${r.storageVersion}` : r.storageVersion;
}

/** The referenced object, or undefined (not found, or its kind is not served). */
export function getRef(client: Client, ref: ContractRef, namespace: string): KObject | undefined {
  const apiVersion = refApiVersion(client, ref);
  if (!apiVersion) return undefined;
  return client.get({ apiVersion, kind: ref.kind, namespace, name: ref.name });
}

/** InfraCluster / InfraMachine: `status.initialization.provisioned` (v1beta1: `status.ready`). */
export function isProvisioned(obj: KObject | undefined): boolean {
  const s = status(obj);
  return s.initialization?.provisioned === true || s.ready === true;
}

/** BootstrapConfig: `status.initialization.dataSecretCreated` (v1beta1: `status.ready`). */
export function isDataSecretCreated(obj: KObject | undefined): boolean {
  const s = status(obj);
  return s.initialization?.dataSecretCreated === true || s.ready === true;
}

/** ControlPlane: `status.initialization.controlPlaneInitialized` (v1beta1: `status.initialized`). */
export function isControlPlaneInitialized(obj: KObject | undefined): boolean {
  const s = status(obj);
  return s.initialization?.controlPlaneInitialized === true || s.initialized === true;
}

export function dataSecretName(obj: KObject | undefined): string | undefined {
  return status(obj).dataSecretName || undefined;
}

/** The object's Ready condition (v1beta2 or v1beta1 shape), if it reports one. */
export function readyCondition(obj: KObject | undefined): { status: string; reason?: string; message?: string } | undefined {
  return status(obj).conditions?.find((c) => c.type === "Ready");
}

export function clusterNameOf(obj: KObject): string | undefined {
  return obj.metadata.labels?.[CLUSTER_NAME_LABEL];
}

/** Upstream semantics: the Cluster's `spec.paused`, or the paused annotation on the object itself
 * (the Cluster's own annotation pauses only the Cluster). */
export function isPaused(cluster: KObject | undefined, obj: KObject | undefined = cluster): boolean {
  if ((cluster?.spec as { paused?: boolean } | undefined)?.paused === true) return true;
  return Boolean(obj && PAUSED_ANNOTATION in (obj.metadata.annotations ?? {}));
}

/**
 * Upstream's `predicates.ClusterUnpaused` for watches of the Cluster: it was created unpaused, or
 * went from paused to unpaused — not its every status write (a Cluster is written a dozen times on
 * its way up, and each write would reconcile every watcher again).
 */
export function clusterUnpaused(cluster: KObject, old: KObject | undefined, type: "ADDED" | "MODIFIED" | "DELETED"): boolean {
  const paused = (c: KObject) => (c.spec as { paused?: boolean } | undefined)?.paused === true;
  if (type === "ADDED") return !paused(cluster);
  return type === "MODIFIED" && Boolean(old && paused(old)) && !paused(cluster);
}

/**
 * Upstream's ClusterPausedTransitionsOrInfrastructureProvisioned: a Cluster update that pauses or
 * unpauses it, or in which `status.initialization.infrastructureProvisioned` becomes true (not its
 * other status writes, which would reconcile the watcher again each time).
 */
export function clusterPausedTransitionsOrInfrastructureProvisioned(cluster: KObject, old: KObject | undefined, type: "ADDED" | "MODIFIED" | "DELETED"): boolean {
  if (type !== "MODIFIED" || !old) return false;
  const paused = (c: KObject) => (c.spec as { paused?: boolean } | undefined)?.paused === true;
  return paused(old) !== paused(cluster) || (!clusterInfrastructureProvisioned(old) && clusterInfrastructureProvisioned(cluster));
}

export function ownerRefTo(owner: KObject, controller = false): OwnerReference {
  return {
    apiVersion: owner.apiVersion!,
    kind: owner.kind!,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    ...(controller ? { controller: true, blockOwnerDeletion: true } : {}),
  };
}

/** Adds (or refreshes) an owner reference on `obj` in place; returns whether it changed. */
export function ensureOwnerRef(obj: KObject, owner: KObject, controller = false): boolean {
  const refs = (obj.metadata.ownerReferences ??= []);
  const want = ownerRefTo(owner, controller);
  const i = refs.findIndex((r) => r.uid === want.uid || (r.kind === want.kind && r.name === want.name && groupOf(r.apiVersion) === groupOf(want.apiVersion)));
  if (i >= 0) {
    const cur = refs[i]!;
    if (cur.uid === want.uid && cur.apiVersion === want.apiVersion && Boolean(cur.controller) === controller) return false;
    refs[i] = want;
    return true;
  }
  if (controller) {
    // One controller only: take over from another controller owner (as CAPI does for
    // bootstrap/infra objects created by a MachineSet).
    for (const r of refs) {
      if (r.controller) {
        delete r.controller;
        delete r.blockOwnerDeletion;
      }
    }
  }
  refs.push(want);
  return true;
}

export function ownerOfKind(obj: KObject, kind: string, group = CAPI_GROUP): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.kind === kind && groupOf(r.apiVersion) === group);
}

export function controllerOwner(obj: KObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller);
}

export function groupOf(apiVersion: string): string {
  const i = apiVersion.lastIndexOf("/");
  return i < 0 ? "" : apiVersion.slice(0, i);
}

/** Sets a label in place; returns whether it changed. */
export function ensureLabel(obj: KObject, key: string, value: string): boolean {
  const labels = (obj.metadata.labels ??= {});
  if (labels[key] === value) return false;
  labels[key] = value;
  return true;
}

export function ensureFinalizer(obj: KObject, finalizer: string): boolean {
  const f = (obj.metadata.finalizers ??= []);
  if (f.includes(finalizer)) return false;
  f.push(finalizer);
  return true;
}

export function removeFinalizer(obj: KObject, finalizer: string): boolean {
  const f = obj.metadata.finalizers ?? [];
  if (!f.includes(finalizer)) return false;
  obj.metadata.finalizers = f.filter((x) => x !== finalizer);
  return true;
}

/** A valid control-plane endpoint: a host and a port. */
export function endpointValid(ep: { host?: string; port?: number } | undefined): boolean {
  return Boolean(ep?.host) && Number(ep?.port) > 0;
}

/** `status.initialization.infrastructureProvisioned` of a Cluster (or v1beta1's `infrastructureReady`). */
export function clusterInfrastructureProvisioned(cluster: KObject): boolean {
  const s = (cluster.status ?? {}) as { initialization?: { infrastructureProvisioned?: boolean }; infrastructureReady?: boolean };
  return s.initialization?.infrastructureProvisioned === true || s.infrastructureReady === true;
}

/** The Cluster of a control plane: its Cluster owner, else its cluster-name label. */
export function clusterOfControlPlane(client: Client, cp: KObject): KObject | undefined {
  const name = ownerOfKind(cp, "Cluster", CAPI_GROUP)?.name ?? cp.metadata.labels?.[CLUSTER_NAME_LABEL];
  return name ? client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: cp.metadata.namespace, name }) : undefined;
}

/** Maps a Cluster to the control plane of `kind` its `controlPlaneRef` names (for watches). */
export function controlPlaneOfCluster(kind: string): (cluster: KObject) => { namespace?: string; name: string }[] {
  return (o) => {
    const ref = (o.spec as { controlPlaneRef?: { kind?: string; name?: string } } | undefined)?.controlPlaneRef;
    return ref?.kind === kind && ref.name ? [{ namespace: o.metadata.namespace, name: ref.name }] : [];
  };
}
