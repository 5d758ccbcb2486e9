/**
 * The IPAddressClaim reconciler of the in-cluster IPAM (upstream `pkg/ipamutil/reconciler.go` with
 * the InClusterIPPool handler), for claims whose `spec.poolRef` names an InClusterIPPool (same
 * namespace) or a GlobalInClusterIPPool:
 *
 * - skipped: claims with the `cluster.x-k8s.io/paused` annotation; claims whose Cluster
 *   (`spec.clusterName`, else the `cluster.x-k8s.io/cluster-name` label) has `spec.paused` or the
 *   paused annotation; claims whose Cluster does not exist (unless the claim is being deleted);
 *   claims of a pool with the paused annotation. They are picked up again when that changes.
 * - the `ipam.cluster.x-k8s.io/ReleaseAddress` finalizer; then an IPAddress named like the claim
 *   (claim-address.ts) and `status.addressRef`.
 * - deletion: after the pool's `addressReuseGracePeriodSeconds` (counted from the claim's
 *   deletionTimestamp; not when the pool is gone or going) the IPAddress is deleted and the
 *   finalizer removed.
 *
 * Beyond upstream: no reuse grace when the claim's Cluster is being deleted or gone; and, where
 * upstream leaves claim status conditions alone, the `Ready` condition (and its deprecated v1beta1 twin) with Cluster API's IPAddressClaim reasons — True/`Ready` once
 * allocated, False/`PoolNotReady` while the pool does not exist, False/`PoolExhausted` when no
 * address is free, False/`AllocationFailed` otherwise.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { GLOBAL_IN_CLUSTER_IP_POOL, type PoolKey, POOL_API_VERSION } from "../../kinds/ipam/index.ts";
import type { Client } from "../../runtime/client.ts";
import { setCondition, setV1Beta1Condition } from "../../runtime/conditions.ts";
import type { ReconcileContext, Request, Result } from "../../runtime/controller.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import { CAPI_VERSION, CLUSTER_NAME_LABEL, ensureFinalizer, PAUSED_ANNOTATION, removeFinalizer } from "../core/contract.ts";
import { type AddressDeps, ensureAddress, releaseAddress, releaseWait } from "./claim-address.ts";
import { describePool, IPAM_V1BETA2, poolOf, RELEASE_ADDRESS_FINALIZER } from "./refs.ts";
import { cloneData } from "../../lib/clone.ts";

/** An exhausted pool is looked at again on its own after this, besides the events that free addresses. */
const EXHAUSTED_RECHECK_MS = 60_000;

export interface ClaimDeps extends AddressDeps {
  /** Cached reads (claims, pools, Clusters). */
  cached: Client;
  /** `IPAddressAllocated` on the claim when it gets its address. */
  recorder?: EventRecorder;
}

function hasPausedAnnotation(obj: KObject | undefined): boolean {
  return Boolean(obj && Object.prototype.hasOwnProperty.call(obj.metadata.annotations ?? {}, PAUSED_ANNOTATION));
}

/** Upstream `annotations.IsPaused(cluster, cluster)`. */
export function clusterPaused(cluster: KObject): boolean {
  return (cluster.spec as { paused?: boolean } | undefined)?.paused === true || hasPausedAnnotation(cluster);
}

export function clusterNameOfClaim(claim: KObject): string | undefined {
  return (claim.spec as { clusterName?: string } | undefined)?.clusterName || claim.metadata.labels?.[CLUSTER_NAME_LABEL] || undefined;
}

function getPool(client: Client, key: PoolKey): KObject | undefined {
  return client.get({ apiVersion: POOL_API_VERSION, kind: key.kind, namespace: key.kind === GLOBAL_IN_CLUSTER_IP_POOL ? undefined : key.namespace, name: key.name });
}

type ReadyState = { status: "True"; reason: "Ready"; message: string } | { status: "False"; reason: "PoolNotReady" | "PoolExhausted" | "AllocationFailed"; message: string };

function ready(claim: KObject): { reason?: string } | undefined {
  return (claim.status as { conditions?: { type: string; reason?: string }[] } | undefined)?.conditions?.find((c) => c.type === "Ready");
}

function setReady(claim: KObject, s: ReadyState, now: Date): void {
  setCondition(claim, { type: "Ready", status: s.status, reason: s.reason, message: s.message }, now);
  const severity = s.status === "True" ? undefined : s.reason === "AllocationFailed" ? "Error" : "Warning";
  setV1Beta1Condition(claim, { type: "Ready", status: s.status, reason: s.reason, message: s.message, ...(severity ? { severity } : {}) }, now);
}

export async function reconcileClaim(d: ClaimDeps, req: Request, ctx: ReconcileContext): Promise<Result | void> {
  const current = d.cached.get({ apiVersion: IPAM_V1BETA2, kind: "IPAddressClaim", namespace: req.namespace, name: req.name });
  if (!current) return;
  const key = poolOf(current);
  if (!key || hasPausedAnnotation(current)) return;
  const deleting = Boolean(current.metadata.deletionTimestamp);

  const clusterName = clusterNameOfClaim(current);
  let clusterGoing = false;
  if (clusterName) {
    const cluster = d.cached.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: current.metadata.namespace, name: clusterName });
    if (!cluster && !deleting) {
      ctx.log.info({ cluster: clusterName }, "IPAddressClaim linked to a cluster that is not found, skipping reconciliation");
      return;
    }
    clusterGoing = !cluster || Boolean(cluster.metadata.deletionTimestamp);
    if (cluster && clusterPaused(cluster)) {
      ctx.log.debug({ cluster: clusterName }, "IPAddressClaim linked to a cluster that is paused, skipping reconciliation");
      return;
    }
  }

  let claim = current;
  if (!deleting) {
    const next = cloneData(claim);
    if (ensureFinalizer(next, RELEASE_ADDRESS_FINALIZER)) claim = (await patchObject(d.client, claim, next)).object;
  }

  const pool = getPool(d.cached, key);
  if (pool && hasPausedAnnotation(pool)) return;
  if (deleting) return reconcileDelete(d, claim, pool, clusterGoing);

  const before = claim;
  const after = cloneData(claim);
  const now = d.client.deps.now();
  let result: Result | undefined;
  let failure: string | undefined;
  if (!pool) {
    setReady(after, { status: "False", reason: "PoolNotReady", message: `${describePool(key)} not found` }, now);
  } else {
    const r = await ensureAddress(d, claim, pool, key);
    if (r.ok) {
      ((after.status ??= {}) as Record<string, unknown>).addressRef = { name: r.address.metadata.name };
      const address = (r.address.spec as { address?: string }).address;
      setReady(after, { status: "True", reason: "Ready", message: `${address} allocated from ${describePool(key)}` }, now);
      if (!(before.status as { addressRef?: unknown } | undefined)?.addressRef) d.recorder?.normal(claim, "IPAddressAllocated", `${address} allocated from ${describePool(key)}`);
    } else {
      setReady(after, { status: "False", reason: r.reason, message: r.message }, now);
      if (ready(before)?.reason !== r.reason) ctx.log.info({ pool: describePool(key), reason: r.reason }, r.message);
      if (r.reason === "PoolExhausted") result = { requeueAfter: EXHAUSTED_RECHECK_MS };
      else failure = r.message;
    }
  }
  await patchObject(d.client, before, after);
  // Unexpected failures are retried with backoff, after the condition says what went wrong.
  if (failure) throw new Error(failure);
  return result;
}

/**
 * The reuse grace keeps an address from a new VM while the old one may still answer for it;
 * beyond upstream, none is kept when the claim's whole Cluster is going away.
 */
async function reconcileDelete(d: ClaimDeps, claim: KObject, pool: KObject | undefined, clusterGoing: boolean): Promise<Result | void> {
  const wait = clusterGoing ? 0 : releaseWait(claim, pool, d.client.deps.now().getTime());
  if (wait > 0) return { requeueAfter: wait };
  await releaseAddress(d.client, claim);
  const next = cloneData(claim);
  if (removeFinalizer(next, RELEASE_ADDRESS_FINALIZER)) {
    try {
      await patchObject(d.client, claim, next);
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
  }
}
