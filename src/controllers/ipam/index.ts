/**
 * The in-process in-cluster IPAM provider: the IPAddressClaim controller (allocation and release)
 * and one status controller per pool kind, wired to the events upstream's watches react to — a
 * pool appearing, unpausing or changing, an address of a pool going away (its waiting claims may
 * now get it), a Cluster pausing or unpausing — and the store binding of the pools' admission rules.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { bindPoolUsage, IPAM_GROUP, POOL_API_VERSION, POOL_KINDS } from "../../kinds/ipam/index.ts";
import { storePoolUsage } from "../../kinds/ipam/webhooks/usage.ts";
import { deepEqual } from "../../lib/kobject.ts";
import { Client } from "../../runtime/client.ts";
import { Controller, type Request, requestFor } from "../../runtime/controller.ts";
import type { Informer } from "../../runtime/informer.ts";
import type { Manager } from "../../runtime/manager.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { type ClaimDeps, clusterNameOfClaim, clusterPaused, reconcileClaim } from "./claim.ts";
import { KeyedLock } from "./keyed-lock.ts";
import { ADDRESSES_BY_POOL, reconcilePool } from "./pool.ts";
import { FIELD_MANAGER, IPAM_V1BETA2, keyOfPool, poolIndexKey, poolOf } from "./refs.ts";

const CLAIMS_BY_POOL = "ipam-in-cluster/pool";
const CLAIMS_BY_CLUSTER = "ipam-in-cluster/cluster";
/** Claims reconciled at once; allocations from one pool still happen one at a time. */
const CLAIM_WORKERS = 4;

const byPool = (obj: KObject) => {
  const k = poolOf(obj);
  return k ? [poolIndexKey(k)] : [];
};

const gone = (inf: Informer, obj: KObject) => inf.get(obj.metadata.namespace, obj.metadata.name!) === undefined;
const pending = (claim: KObject) => !(claim.status as { addressRef?: { name?: string } } | undefined)?.addressRef?.name;
const free = (pool: KObject | undefined) => (pool?.status as { ipAddresses?: { free?: number } } | undefined)?.ipAddresses?.free;

export function setupIpamControllers(m: Manager): void {
  bindPoolUsage(m.deps);
  const claims = m.informers.forKind(IPAM_V1BETA2, "IPAddressClaim");
  const addresses = m.informers.forKind(IPAM_V1BETA2, "IPAddress");
  if (!claims || !addresses) return;
  addresses.addIndex(ADDRESSES_BY_POOL, byPool);
  claims.addIndex(CLAIMS_BY_POOL, byPool);
  claims.addIndex(CLAIMS_BY_CLUSTER, (c) => {
    const name = clusterNameOfClaim(c);
    return name ? [`${c.metadata.namespace}/${name}`] : [];
  });

  const deps: ClaimDeps = {
    cached: m.client(FIELD_MANAGER),
    client: new Client(m.deps, FIELD_MANAGER),
    usage: storePoolUsage(m.deps),
    locks: new KeyedLock(),
    recorder: m.recorder("ipam-in-cluster"),
  };
  const claimsOf = (poolKey: string, onlyPending = false): Request[] =>
    claims.byIndex(CLAIMS_BY_POOL, poolKey).filter((c) => !onlyPending || pending(c)).map(requestFor);

  const c = new Controller("ipaddressclaim-in-cluster", (req, ctx) => reconcileClaim(deps, req, ctx), CLAIM_WORKERS);
  c.watchMapped(claims, (obj) => (poolOf(obj) ? [requestFor(obj)] : []));
  c.watchOwned(addresses, { group: IPAM_GROUP, kind: "IPAddressClaim" });
  // A released address: claims of its pool still waiting may get it now.
  c.watchMapped(addresses, (obj) => (gone(addresses, obj) ? byPool(obj).flatMap((k) => claimsOf(k, true)) : []));
  for (const kind of POOL_KINDS) {
    const pools = m.informers.forKind(POOL_API_VERSION, kind);
    if (!pools) continue;
    c.watchMapped(pools, (pool, old) => {
      const key = poolIndexKey(keyOfPool(pool));
      if (!old || gone(pools, pool)) return claimsOf(key);
      const changed = !deepEqual(old.spec, pool.spec) || !deepEqual(old.metadata.annotations, pool.metadata.annotations) || old.metadata.deletionTimestamp !== pool.metadata.deletionTimestamp;
      if (changed) return claimsOf(key);
      return free(old) === 0 && (free(pool) ?? 0) > 0 ? claimsOf(key, true) : [];
    });
    const pc = new Controller(kind.toLowerCase(), (req) => reconcilePool(deps.cached, addresses, kind, req));
    pc.watchFor(pools);
    pc.watchMapped(addresses, (a) => {
      const k = poolOf(a);
      return k?.kind === kind ? [{ namespace: k.namespace, name: k.name }] : [];
    });
    m.add(pc);
  }
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (clusters) {
    c.watchMapped(clusters, (cluster, old) => {
      const deletionChanged = old?.metadata.deletionTimestamp !== cluster.metadata.deletionTimestamp;
      if (old && !gone(clusters, cluster) && !deletionChanged && clusterPaused(old) === clusterPaused(cluster)) return [];
      return claims.byIndex(CLAIMS_BY_CLUSTER, `${cluster.metadata.namespace}/${cluster.metadata.name}`).map(requestFor);
    });
  }
  m.add(c);
}
