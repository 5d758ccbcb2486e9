/**
 * What the pool admission rules need from the store: the IPAddresses allocated from a pool (the
 * update and delete rules refuse changes that would strand them) and whether a namespace is being
 * deleted. Upstream's webhook reads these through its manager's client; here a source is bound once
 * the store exists (`bindPoolUsage`). Until then the two in-use rules are not applied.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import type { RestDeps } from "../../../registry/rest/deps.ts";
import { toVersion } from "../../../registry/rest/codec.ts";
import { parseRow } from "../../../registry/rest/deps.ts";
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

/**
 * Reads the store directly (never a cache): admission must see every committed and in-flight
 * write. Which addresses name which pool is indexed from the store's observed operations (they
 * complete before COMMIT, and only successful ones are observed), so a pool's addresses are read
 * by key instead of listing every IPAddress — with 1,000 clusters in one namespace, listing them
 * all for each claim was the IPAM controller's whole cost.
 */
export function storePoolUsage(deps: RestDeps): PoolUsageSource {
  let source = sources.get(deps);
  if (!source) sources.set(deps, (source = new IndexedPoolUsage(deps)));
  return source;
}

const sources = new WeakMap<RestDeps, PoolUsageSource>();
const ADDRESSES = `ipaddresses.${IPAM_GROUP}`;

/** `<apiGroup>/<kind>/<name>` of an address's pool, or undefined. */
function poolIndexKey(obj: KObject): string | undefined {
  const ref = (obj.spec as { poolRef?: { apiGroup?: string; kind?: string; name?: string } } | undefined)?.poolRef;
  return ref?.kind && ref.name ? `${ref.apiGroup || IPAM_GROUP}/${ref.kind}/${ref.name}` : undefined;
}

class IndexedPoolUsage implements PoolUsageSource {
  /** pool index key → `<namespace>/<name>` of the addresses naming it */
  #byPool: Map<string, Set<string>> | undefined;

  constructor(private readonly deps: RestDeps) {}

  #index(): Map<string, Set<string>> {
    if (this.#byPool) return this.#byPool;
    const byPool = new Map<string, Set<string>>();
    const add = (pool: string | undefined, key: string) => {
      if (!pool) return;
      let set = byPool.get(pool);
      if (!set) byPool.set(pool, (set = new Set()));
      set.add(key);
    };
    for (const row of this.deps.store.list(ADDRESSES).rows) add(poolIndexKey(parseRow(row)), `${row.namespace}/${row.name}`);
    this.deps.store.observe((c) => {
      if (c.resource !== ADDRESSES) return;
      const key = `${c.namespace}/${c.name}`;
      const before = c.prev ? poolIndexKey(c.prev) : undefined;
      const after = c.type === "DELETED" ? undefined : poolIndexKey(c.object);
      if (before === after) return;
      if (before) byPool.get(before)?.delete(key);
      add(after, key);
    });
    return (this.#byPool = byPool);
  }

  addressesOf(pool: PoolKey): KObject[] {
    const r = this.deps.registry.resolve(IPAM_GROUP, "v1beta2", "ipaddresses");
    if (!r) return [];
    const keys = [...(this.#index().get(`${IPAM_GROUP}/${pool.kind}/${pool.name}`) ?? [])].sort();
    const ns = pool.kind === GLOBAL_IN_CLUSTER_IP_POOL ? undefined : pool.namespace;
    const out: KObject[] = [];
    for (const key of keys) {
      const slash = key.indexOf("/");
      const namespace = key.slice(0, slash);
      if (ns !== undefined && namespace !== ns) continue;
      const row = this.deps.store.get(ADDRESSES, namespace, key.slice(slash + 1));
      if (!row) continue;
      const obj = toVersion(r.resource, parseRow(row), r.version.name);
      if (refersToPool(obj, pool)) out.push(obj);
    }
    return out;
  }

  namespaceTerminating(ns: string): boolean {
    return this.deps.registry.namespaceTerminating(ns) === true;
  }
}

/** Binds the store the pool admission rules read; call once the registry serves the IPAM kinds. */
export function bindPoolUsage(deps: RestDeps): void {
  setPoolUsageSource(storePoolUsage(deps));
}
