/**
 * Pure allocation arithmetic of the in-cluster IPAM, after upstream's `poolutil`: the address a
 * new claim gets (the lowest address of the pool that no IPAddress holds: `FindFreeAddress`), the
 * pool's usage counters (`status.ipAddresses`), and how long a released address stays held. The
 * in-use state is always the list of IPAddress objects of the pool, so it survives restarts.
 * @module
 */
import { type IPSet, normalize, single, size, subtract } from "../../kinds/ipam/ipset.ts";
import { formatAddr, parseAddr } from "../../kinds/ipam/netip.ts";
import { allocatableSet, type PoolSpec } from "../../kinds/ipam/pool-spec.ts";

export type Allocation =
  | { ok: true; address: string; prefix: number; gateway?: string }
  | { ok: false; reason: "PoolExhausted" | "AllocationFailed"; message: string };

/** Go's int is 64 bits; counts past what a JSON number holds exactly are reported as this. */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

function count(n: bigint): number {
  return n > BigInt(MAX_COUNT) ? MAX_COUNT : Number(n);
}

function inUseSet(inUse: readonly string[]): IPSet {
  return normalize(
    inUse.flatMap((a) => {
      const p = parseAddr(a);
      return p.ok ? [single(p.value)] : [];
    }),
  );
}

/** The lowest address of `pool` not in `taken` (both normalized), or undefined. */
export function lowestFree(pool: IPSet, taken: IPSet): string | undefined {
  const free = subtract(pool, taken)[0];
  return free && formatAddr({ family: free.family, value: free.from });
}

/** The address for a new claim, given the addresses of every IPAddress of the pool. */
export function allocate(spec: PoolSpec, inUse: readonly string[]): Allocation {
  const pool = allocatableSet(spec);
  if (!pool) return { ok: false, reason: "AllocationFailed", message: "the pool's addresses, prefix or gateway do not parse" };
  const address = lowestFree(pool, inUseSet(inUse));
  if (!address) {
    return { ok: false, reason: "PoolExhausted", message: `no address available: all ${count(size(pool))} addresses of the pool are in use` };
  }
  return { ok: true, address, prefix: spec.prefix ?? 0, ...(spec.gateway ? { gateway: spec.gateway } : {}) };
}

export interface PoolUsage {
  total: number;
  used: number;
  free: number;
  outOfRange: number;
}

/**
 * `status.ipAddresses` as upstream computes it: total = addresses the pool hands out, used = IPAddress
 * objects of the pool, free = total - used, outOfRange = distinct allocated addresses the pool no
 * longer contains.
 */
export function poolUsage(spec: PoolSpec, inUse: readonly string[]): PoolUsage {
  const pool = allocatableSet(spec) ?? [];
  const total = count(size(pool));
  const outOfRange = count(size(subtract(inUseSet(inUse), pool)));
  return { total, used: inUse.length, free: total - inUse.length, outOfRange };
}

/**
 * Milliseconds the release of a deleted claim's address must still wait: the pool's
 * `addressReuseGracePeriodSeconds` counted from the claim's deletionTimestamp (0: release now).
 */
export function releaseDelayMs(graceSeconds: number | undefined, deletionTimestamp: string | undefined, nowMs: number): number {
  if (!graceSeconds || graceSeconds <= 0 || !deletionTimestamp) return 0;
  const deleted = Date.parse(deletionTimestamp);
  if (Number.isNaN(deleted)) return 0;
  return Math.max(0, deleted + graceSeconds * 1000 - nowMs);
}
