/**
 * The pool reconciler (upstream `internal/controllers/inclusterippool.go`), one controller per pool
 * kind: the `ipam.cluster.x-k8s.io/ProtectPool` finalizer, held while IPAddresses of the pool
 * exist, and `status.ipAddresses` — total, used, free, outOfRange (allocator.ts) — kept current as
 * addresses come and go.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { POOL_API_VERSION, poolSpecOf } from "../../kinds/ipam/index.ts";
import type { Client } from "../../runtime/client.ts";
import type { Request } from "../../runtime/controller.ts";
import type { Informer } from "../../runtime/informer.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import { ensureFinalizer, removeFinalizer } from "../core/contract.ts";
import { poolUsage } from "./allocator.ts";
import { keyOfPool, PROTECT_POOL_FINALIZER, poolIndexKey } from "./refs.ts";
import { cloneData } from "../../lib/clone.ts";

export const ADDRESSES_BY_POOL = "ipam-in-cluster/pool";

export async function reconcilePool(client: Client, addresses: Informer, kind: string, req: Request): Promise<void> {
  const pool = client.get({ apiVersion: POOL_API_VERSION, kind, namespace: req.namespace, name: req.name });
  if (!pool) return;
  const inUse = addresses.byIndex(ADDRESSES_BY_POOL, poolIndexKey(keyOfPool(pool)));
  const next: KObject = cloneData(pool);
  if (pool.metadata.deletionTimestamp) {
    if (inUse.length === 0) removeFinalizer(next, PROTECT_POOL_FINALIZER);
  } else {
    ensureFinalizer(next, PROTECT_POOL_FINALIZER);
    const ipAddresses = poolUsage(poolSpecOf(pool), inUse.map((a) => String((a.spec as { address?: unknown }).address ?? "")));
    next.status = { ...(next.status ?? {}), ipAddresses };
  }
  try {
    await patchObject(client, pool, next);
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
  }
}
