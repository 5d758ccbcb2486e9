/**
 * Names the in-cluster IPAM controllers share: upstream's finalizers, the kinds they serve, and
 * the keys that tie claims and addresses to their pool.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { GLOBAL_IN_CLUSTER_IP_POOL, IPAM_GROUP, POOL_KINDS, type PoolKey } from "../../kinds/ipam/index.ts";

/** On a claim: its address is released (after the grace period) before the claim goes. */
export const RELEASE_ADDRESS_FINALIZER = "ipam.cluster.x-k8s.io/ReleaseAddress";
/** On an IPAddress: only the release of its claim removes it. */
export const PROTECT_ADDRESS_FINALIZER = "ipam.cluster.x-k8s.io/ProtectAddress";
/** On a pool: held while IPAddresses of the pool exist. */
export const PROTECT_POOL_FINALIZER = "ipam.cluster.x-k8s.io/ProtectPool";

export const IPAM_V1BETA2 = `${IPAM_GROUP}/v1beta2`;
export const FIELD_MANAGER = "capi-ipam-in-cluster";

interface PoolRef {
  apiGroup?: string;
  kind?: string;
  name?: string;
}

function poolRefOf(obj: KObject): PoolRef | undefined {
  return (obj.spec as { poolRef?: PoolRef } | undefined)?.poolRef;
}

/** The pool a claim or address names, when it is one of ours (an IP pool of the IPAM group). */
export function poolOf(obj: KObject): PoolKey | undefined {
  const ref = poolRefOf(obj);
  if (!ref?.name || (ref.apiGroup || IPAM_GROUP) !== IPAM_GROUP) return undefined;
  if (!(POOL_KINDS as readonly string[]).includes(ref.kind ?? "")) return undefined;
  const global = ref.kind === GLOBAL_IN_CLUSTER_IP_POOL;
  return { kind: ref.kind!, name: ref.name, ...(global ? {} : { namespace: obj.metadata.namespace }) };
}

/** A pool object's own key. */
export function keyOfPool(pool: KObject): PoolKey {
  return { kind: pool.kind!, name: pool.metadata.name!, ...(pool.metadata.namespace ? { namespace: pool.metadata.namespace } : {}) };
}

/** Index value of a pool key: `Kind/namespace/name` (`Kind//name` for a global pool). */
export function poolIndexKey(p: PoolKey): string {
  return `${p.kind}/${p.kind === GLOBAL_IN_CLUSTER_IP_POOL ? "" : (p.namespace ?? "")}/${p.name}`;
}

export function describePool(p: PoolKey): string {
  return p.kind === GLOBAL_IN_CLUSTER_IP_POOL ? `${p.kind} ${p.name}` : `${p.kind} ${p.namespace}/${p.name}`;
}
