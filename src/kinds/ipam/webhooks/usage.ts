/**
 * What the pool admission rules need from the store: the IPAddresses allocated from a pool (the
 * update and delete rules refuse changes that would strand them) and whether a namespace is being
 * deleted. Upstream's webhook reads these through its manager's client; here a source is bound once
 * the store exists (`bindPoolUsage`). Until then the two in-use rules are not applied.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import type { RestDeps } from "../../../registry/rest/deps.ts";
import { list } from "../../../registry/rest/list.ts";
import { GLOBAL_IN_CLUSTER_IP_POOL, IPAM_GROUP } from "../pool-spec.ts";

export interface PoolKey {
  kind: string;
  name: string;
  /** The pool's namespace; unset for the cluster-scoped GlobalInClusterIPPool. */
  namespace?: string;
}

export interface PoolUsageSource {
  /** The IPAddresses whose `spec.poolRef` names the pool (of any namespace for a global pool). */
  addressesOf(pool: PoolKey): KObject[];
  namespaceTerminating(namespace: string): boolean;
}

let source: PoolUsageSource | undefined;

export function poolUsage(): PoolUsageSource | undefined {
  return source;
}

export function setPoolUsageSource(s: PoolUsageSource | undefined): void {
  source = s;
}

/** `spec.poolRef` of an IPAddress or IPAddressClaim names this pool (an empty apiGroup means the IPAM group, as upstream's index). */
export function refersToPool(obj: KObject, pool: PoolKey): boolean {
  const ref = (obj.spec as { poolRef?: { apiGroup?: string; kind?: string; name?: string } } | undefined)?.poolRef;
  if (!ref) return false;
  return (ref.apiGroup || IPAM_GROUP) === IPAM_GROUP && ref.kind === pool.kind && ref.name === pool.name;
}

/** Reads the store directly (never a cache): admission must see every committed and in-flight write. */
export function storePoolUsage(deps: RestDeps): PoolUsageSource {
  return {
    addressesOf(pool) {
      const r = deps.registry.resolve(IPAM_GROUP, "v1beta2", "ipaddresses");
      if (!r) return [];
      const ns = pool.kind === GLOBAL_IN_CLUSTER_IP_POOL ? undefined : pool.namespace;
      return list(deps, r, ns, {}).items.filter((a) => refersToPool(a, pool));
    },
    namespaceTerminating: (ns) => deps.registry.namespaceTerminating(ns) === true,
  };
}

/** Binds the store the pool admission rules read; call once the registry serves the IPAM kinds. */
export function bindPoolUsage(deps: RestDeps): void {
  setPoolUsageSource(storePoolUsage(deps));
}
