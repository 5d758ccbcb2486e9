/**
 * The IPAddress side of a claim: allocating (an IPAddress named like the claim, holding the lowest
 * free address of the pool) and releasing (after the pool's reuse grace period). Upstream's
 * `ipamutil` reconciler + `IPAddressClaimHandler`.
 *
 * No address is ever handed out twice: per pool, one allocation at a time (a keyed lock), and
 * within it the in-use set is read from the store itself — not a cache — and the IPAddress written
 * in the same synchronous step, so nothing (another reconcile, an API request) can slip in between.
 * The in-use set is the pool's IPAddress objects; a released address stays one (with its claim
 * deleting) until the grace period is over, so that survives restarts too.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { PoolKey, PoolUsageSource } from "../../kinds/ipam/index.ts";
import { IPAM_GROUP, poolSpecOf, refersToPool } from "../../kinds/ipam/index.ts";
import type { Client } from "../../runtime/client.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import { CLUSTER_NAME_LABEL, ensureFinalizer, removeFinalizer } from "../core/contract.ts";
import { allocate, releaseDelayMs } from "./allocator.ts";
import type { KeyedLock } from "./keyed-lock.ts";
import { describePool, IPAM_V1BETA2, PROTECT_ADDRESS_FINALIZER, poolIndexKey } from "./refs.ts";
import { cloneData } from "../../lib/clone.ts";

export interface AddressDeps {
  /** Reads from the store itself (no cache): an allocation must see every write made so far. */
  client: Client;
  usage: PoolUsageSource;
  locks: KeyedLock;
}

export type EnsureResult = { ok: true; address: KObject } | { ok: false; reason: "PoolExhausted" | "AllocationFailed"; message: string };

function ownerRefs(claim: KObject, pool: KObject) {
  return [
    { apiVersion: claim.apiVersion!, kind: claim.kind!, name: claim.metadata.name!, uid: claim.metadata.uid!, controller: true, blockOwnerDeletion: true },
    { apiVersion: pool.apiVersion!, kind: pool.kind!, name: pool.metadata.name!, uid: pool.metadata.uid!, controller: false, blockOwnerDeletion: true },
  ];
}

/** Brings an existing IPAddress of the claim up to what allocation would have written (CreateOrPatch). */
async function adopt(d: AddressDeps, existing: KObject, claim: KObject, pool: KObject): Promise<KObject> {
  const next = cloneData(existing);
  const refs = (next.metadata.ownerReferences ??= []);
  for (const want of ownerRefs(claim, pool)) {
    const i = refs.findIndex((r) => r.uid === want.uid);
    if (i < 0) refs.push(want);
  }
  const cluster = claim.metadata.labels?.[CLUSTER_NAME_LABEL];
  if (cluster !== undefined) (next.metadata.labels ??= {})[CLUSTER_NAME_LABEL] = cluster;
  ensureFinalizer(next, PROTECT_ADDRESS_FINALIZER);
  return (await patchObject(d.client, existing, next, false)).object;
}

/** The claim's IPAddress: the existing one, or a new one with the lowest free address. */
export async function ensureAddress(d: AddressDeps, claim: KObject, pool: KObject, key: PoolKey): Promise<EnsureResult> {
  const ns = claim.metadata.namespace!;
  const name = claim.metadata.name!;
  return d.locks.run(poolIndexKey(key), async () => {
    const inUse = d.usage.addressesOf(key);
    const existing = d.client.get({ apiVersion: IPAM_V1BETA2, kind: "IPAddress", namespace: ns, name });
    if (existing) {
      if (!refersToPool(existing, key)) {
        const ref = (existing.spec as { poolRef?: { kind?: string; name?: string } }).poolRef;
        return { ok: false, reason: "AllocationFailed", message: `IPAddress ${ns}/${name} already exists and belongs to ${ref?.kind ?? "?"} ${ref?.name ?? "?"}` };
      }
      return { ok: true, address: await adopt(d, existing, claim, pool) };
    }
    const allocation = allocate(poolSpecOf(pool), inUse.map((a) => String((a.spec as { address?: unknown }).address ?? "")));
    if (!allocation.ok) return { ...allocation, message: `${describePool(key)}: ${allocation.message}` };
    const labels = claim.metadata.labels?.[CLUSTER_NAME_LABEL] !== undefined ? { [CLUSTER_NAME_LABEL]: claim.metadata.labels[CLUSTER_NAME_LABEL] } : undefined;
    // No await between reading the in-use set above and this write (create stores synchronously).
    const created = await d.client.create({
      apiVersion: IPAM_V1BETA2,
      kind: "IPAddress",
      metadata: { name, namespace: ns, ...(labels ? { labels } : {}), finalizers: [PROTECT_ADDRESS_FINALIZER], ownerReferences: ownerRefs(claim, pool) },
      spec: {
        address: allocation.address,
        prefix: allocation.prefix,
        ...(allocation.gateway ? { gateway: allocation.gateway } : {}),
        claimRef: { name },
        poolRef: { apiGroup: IPAM_GROUP, kind: key.kind, name: key.name },
      },
    });
    return { ok: true, address: created };
  });
}

/**
 * Milliseconds until the claim's address may be released: the pool's
 * `addressReuseGracePeriodSeconds` after the claim's deletion; none when the pool is gone or going.
 */
export function releaseWait(claim: KObject, pool: KObject | undefined, nowMs: number): number {
  if (!pool || pool.metadata.deletionTimestamp) return 0;
  return releaseDelayMs(poolSpecOf(pool).addressReuseGracePeriodSeconds, claim.metadata.deletionTimestamp, nowMs);
}

/** Removes the claim's IPAddress (its finalizer first). */
export async function releaseAddress(client: Client, claim: KObject): Promise<void> {
  const ref = { apiVersion: IPAM_V1BETA2, kind: "IPAddress", namespace: claim.metadata.namespace, name: claim.metadata.name! };
  const address = client.get(ref);
  if (!address) return;
  const next = cloneData(address);
  if (removeFinalizer(next, PROTECT_ADDRESS_FINALIZER)) {
    try {
      await patchObject(client, address, next, false);
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
  }
  await client.delete(ref);
}
