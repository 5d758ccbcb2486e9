/**
 * The ProxmoxCluster controller (CAPMOX proxmoxcluster_controller.go): finalizer; the
 * control-plane endpoint check for externally managed control planes; the cluster's
 * InClusterIPPools; the credentials Secret (owner reference + finalizer); Proxmox reachable →
 * `ProxmoxAvailable`, `status.initialization.provisioned`, Ready. Beyond CAPMOX: the PVE nodes
 * machines may use are published as `status.failureDomains` (so CAPI spreads control planes
 * over them). Deletion waits until the Cluster is deleting and every ProxmoxMachine is gone.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import { Controller, type ReconcileContext, type Request, type Result } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import type { ProxmoxBackend } from "../../providers/proxmox/types.ts";
import { CAPI_GROUP, CAPI_VERSION, CLUSTER_NAME_LABEL, clusterUnpaused, endpointValid, ensureFinalizer, ensureOwnerRef, groupOf, isPaused, removeFinalizer } from "../core/contract.ts";
import { CredentialsError, credentialsRefOf, type ProxmoxBackendResolver } from "./backend-resolver.ts";
import { ensurePools, poolRefs } from "./cluster-pools.ts";
import { setProxmoxAvailable } from "./conditions.ts";
import { CLUSTER_FINALIZER, INFRA_GROUP, INFRA_VERSION, POOL_VERSION, ProxmoxClusterReasons, REQUEUE_MS, SECRET_FINALIZER } from "./constants.ts";
import type { FailureDomain, ProxmoxClusterSpec, ProxmoxClusterStatus } from "./types.ts";
import { cloneData } from "../../lib/clone.ts";

const MANAGED_BY_ANNOTATION = "cluster.x-k8s.io/managed-by";

export interface ProxmoxClusterControllerOptions {
  resolver: ProxmoxBackendResolver;
  requeueMs?: number;
}

export function setupProxmoxClusterController(m: Manager, opts: ProxmoxClusterControllerOptions): Controller | undefined {
  const pcs = m.informers.forKind(INFRA_VERSION, "ProxmoxCluster");
  if (!pcs) return undefined;
  const client = m.client("proxmoxcluster-controller");
  const requeueMs = opts.requeueMs ?? REQUEUE_MS;
  const c = new Controller("proxmoxcluster", (req, ctx) => reconcile(client, opts.resolver, requeueMs, req, ctx), 2);
  c.watchFor(pcs);
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (clusters) {
    // Upstream watches with ClusterUnpaused; a Cluster whose deletion starts is let through too,
    // so a ProxmoxCluster deleted before its Cluster is finished without waiting for a requeue.
    c.watchMapped(clusters, (o, old, type) => {
      if (!clusterUnpaused(o, old, type) && !(type === "MODIFIED" && o.metadata.deletionTimestamp && !old?.metadata.deletionTimestamp)) return [];
      const ref = (o.spec as { infrastructureRef?: { apiGroup?: string; kind?: string; name?: string } } | undefined)?.infrastructureRef;
      return ref?.kind === "ProxmoxCluster" && ref.apiGroup === INFRA_GROUP && ref.name ? [{ namespace: o.metadata.namespace, name: ref.name }] : [];
    });
  }
  const pools = m.informers.forKind(POOL_VERSION, "InClusterIPPool");
  if (pools) c.watchOwned(pools, { group: INFRA_GROUP, kind: "ProxmoxCluster" });
  // A ProxmoxCluster being deleted waits for its machines.
  const machines = m.informers.forKind(INFRA_VERSION, "ProxmoxMachine");
  if (machines) {
    c.watchMapped(machines, (o, old) => {
      if (old && !o.metadata.deletionTimestamp) return [];
      const cluster = o.metadata.labels?.[CLUSTER_NAME_LABEL];
      if (!cluster) return [];
      const owner = client.getShared({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: o.metadata.namespace, name: cluster });
      const name = (owner?.spec as { infrastructureRef?: { name?: string } } | undefined)?.infrastructureRef?.name;
      return name ? [{ namespace: o.metadata.namespace, name }] : [];
    });
  }
  m.add(c);
  return c;
}

function ownerCluster(client: Client, pc: KObject): KObject | undefined {
  const ref = pc.metadata.ownerReferences?.find((r) => r.kind === "Cluster" && groupOf(r.apiVersion) === CAPI_GROUP);
  return ref ? client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: pc.metadata.namespace, name: ref.name }) : undefined;
}

async function reconcile(client: Client, resolver: ProxmoxBackendResolver, requeueMs: number, req: Request, ctx: ReconcileContext): Promise<Result | void> {
  const current = client.get({ apiVersion: INFRA_VERSION, kind: "ProxmoxCluster", namespace: req.namespace, name: req.name });
  if (!current) return;
  const cluster = ownerCluster(client, current);
  const deleting = Boolean(current.metadata.deletionTimestamp);
  if (!cluster && !deleting) {
    ctx.log.debug({}, "Waiting for Cluster Controller to set OwnerRef on ProxmoxCluster");
    return;
  }
  if (cluster && isPaused(cluster, current)) return;
  // Externally managed infrastructure (CAPI's managed-by annotation) is someone else's to reconcile.
  if (MANAGED_BY_ANNOTATION in (current.metadata.annotations ?? {})) return;
  const pc = cloneData(current);
  if (deleting) return reconcileDelete(client, current, pc, cluster, requeueMs, ctx);

  if (ensureFinalizer(pc, CLUSTER_FINALIZER)) {
    await patchObject(client, current, pc);
    return;
  }
  const spec = (pc.spec ?? {}) as ProxmoxClusterSpec;
  const status = ((pc.status ??= {}) as ProxmoxClusterStatus);
  const done = async (r?: Result): Promise<Result | void> => {
    await patchObject(client, current, pc);
    return r;
  };
  if (spec.externalManagedControlPlane && !endpointValid(spec.controlPlaneEndpoint)) {
    setProxmoxAvailable(pc, "False", ProxmoxClusterReasons.MissingControlPlaneEndpoint, "The ProxmoxCluster is missing or waiting for a ControlPlaneEndpoint");
    return done({ requeueAfter: requeueMs });
  }

  if (!client.served(POOL_VERSION, "InClusterIPPool")) {
    setProxmoxAvailable(pc, "False", ProxmoxClusterReasons.ProxmoxUnreachable, "InClusterIPPool (ipam.cluster.x-k8s.io/v1alpha2) is not served");
    return done({ requeueAfter: requeueMs });
  }
  Object.assign(status, poolRefs(await ensurePools(client, pc)));

  const credentials = credentialsRefOf(pc);
  if (credentials) {
    const secret = client.get({ apiVersion: "v1", kind: "Secret", namespace: credentials.namespace, name: credentials.name });
    if (!secret) {
      setProxmoxAvailable(pc, "False", ProxmoxClusterReasons.CredentialsNotFound, "credentials secret not found");
      return done({ requeueAfter: requeueMs });
    }
    const next = cloneData(secret);
    const owner = ensureOwnerRef(next, pc, false);
    const fin = ensureFinalizer(next, SECRET_FINALIZER);
    if (owner || fin) await patchObject(client, secret, next);
  }

  let backend: ProxmoxBackend;
  let nodes;
  try {
    backend = await resolver.forCluster(pc);
    nodes = await backend.nodes();
  } catch (e) {
    const notFound = e instanceof CredentialsError && e.notFound;
    setProxmoxAvailable(pc, "False", notFound ? ProxmoxClusterReasons.CredentialsNotFound : ProxmoxClusterReasons.ProxmoxUnreachable, (e as Error).message);
    ctx.log.warn({ err: (e as Error).message }, "Proxmox is not available");
    return done({ requeueAfter: requeueMs });
  }
  status.failureDomains = failureDomains(spec, nodes);
  setProxmoxAvailable(pc, "True", ProxmoxClusterReasons.Provisioned);
  (status.initialization ??= {}).provisioned = true;
  ctx.log.debug({ endpoint: backend.endpoint, nodes: nodes.length }, "ProxmoxCluster reconciled");
  return done();
}

/** One failure domain per usable PVE node (the allowed ones, if the cluster names any). */
export function failureDomains(spec: ProxmoxClusterSpec, nodes: { node: string; online: boolean }[]): FailureDomain[] {
  const allowed = spec.allowedNodes?.length ? new Set(spec.allowedNodes) : undefined;
  return nodes
    .filter((n) => n.online && (!allowed || allowed.has(n.node)))
    .map((n) => ({ name: n.node, controlPlane: true }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function reconcileDelete(client: Client, current: KObject, pc: KObject, cluster: KObject | undefined, requeueMs: number, ctx: ReconcileContext): Promise<Result | void> {
  if (!pc.metadata.finalizers?.includes(CLUSTER_FINALIZER)) return;
  if (cluster && !cluster.metadata.deletionTimestamp) {
    ctx.log.warn({}, "deletion was requested but owning cluster wasn't deleted");
    return;
  }
  const clusterName = cluster?.metadata.name ?? pc.metadata.labels?.[CLUSTER_NAME_LABEL];
  const machines = clusterName ? client.listShared(INFRA_VERSION, "ProxmoxMachine", pc.metadata.namespace, { labelSelector: `${CLUSTER_NAME_LABEL}=${clusterName}` }) : [];
  if (machines.length) {
    setProxmoxAvailable(pc, "False", ProxmoxClusterReasons.Deleting, `waiting for ${machines.length} ProxmoxMachines to be deleted`);
    await patchObject(client, current, pc);
    return { requeueAfter: requeueMs };
  }
  const credentials = credentialsRefOf(pc);
  if (credentials) {
    const secret = client.get({ apiVersion: "v1", kind: "Secret", namespace: credentials.namespace, name: credentials.name });
    if (secret) {
      const next = cloneData(secret);
      const refs = next.metadata.ownerReferences ?? [];
      const mine = (r: { uid: string }) => r.uid === pc.metadata.uid;
      if (refs.length > 1) next.metadata.ownerReferences = refs.filter((r) => !mine(r));
      else if (refs.some(mine)) removeFinalizer(next, SECRET_FINALIZER);
      await patchObject(client, secret, next);
    }
  }
  removeFinalizer(pc, CLUSTER_FINALIZER);
  pc.status = current.status;
  await patchObject(client, current, pc);
  ctx.log.info({}, "cluster deleted successfully");
}
