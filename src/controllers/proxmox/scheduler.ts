/**
 * CAPMOX's memory scheduler (internal/service/scheduler): a node's reservable memory is its
 * total × memoryAdjustment% minus the maxmem of every VM and container on it that is not a
 * template (0% turns accounting off: the whole total); a request larger than the best node's
 * reservable memory fails with CAPMOX's "cannot reserve" text; otherwise the node with the fewest
 * machines of the same role (from nodeLocations) that still has room wins, else the roomiest.
 * @module
 */
import type { PveNodeInfo, PveVmInfo } from "../../providers/proxmox/types.ts";
import type { NodeLocation } from "./types.ts";

export class InsufficientMemoryError extends Error {
  override readonly name = "InsufficientMemoryError";
  constructor(
    readonly node: string,
    readonly available: number,
    readonly requested: number,
  ) {
    super(`cannot reserve ${requested}B of memory on node ${node}: ${available}B available memory left`);
  }
}

/** An allowed node that is unknown or offline: retried, not terminal (nodes come back). */
export class NodeUnavailableError extends Error {
  override readonly name = "NodeUnavailableError";
}

export interface NodeCandidate {
  name: string;
  /** Bytes that can still be reserved. */
  available: number;
  /** Machines of the same role already placed there. */
  scheduled: number;
}

export const DEFAULT_MEMORY_ADJUSTMENT = 100;

/** Bytes a new VM may still reserve on `node` (CAPMOX GetReservableMemoryBytes). */
export function reservableMemory(node: PveNodeInfo, vms: readonly PveVmInfo[], memoryAdjustment = DEFAULT_MEMORY_ADJUSTMENT): number {
  if (memoryAdjustment === 0) return node.maxmem;
  let left = Math.floor((node.maxmem / 100) * memoryAdjustment);
  for (const vm of vms) {
    if (vm.node !== node.node || vm.template) continue;
    left = Math.max(0, left - (vm.maxmem ?? 0));
  }
  return left;
}

export interface ScheduleInput {
  allowedNodes: readonly string[];
  nodes: readonly PveNodeInfo[];
  vms: readonly PveVmInfo[];
  memoryAdjustment?: number;
  /** The machine's memory in MiB (0 when unset: it fits anywhere). */
  memoryMiB: number;
  /** Placements of the cluster's machines of the same role. */
  locations: readonly NodeLocation[];
}

export interface ScheduleResult {
  node: string;
  candidates: NodeCandidate[];
}

export function scheduleVm(input: ScheduleInput): ScheduleResult {
  const requested = input.memoryMiB * 1024 * 1024;
  const byName = new Map(input.nodes.map((n) => [n.node, n]));
  const missing = input.allowedNodes.filter((n) => !byName.get(n)?.online);
  const usable = input.allowedNodes.filter((n) => byName.get(n)?.online);
  if (usable.length === 0) {
    throw new NodeUnavailableError(`none of the allowed nodes is online: ${missing.map((n) => (byName.has(n) ? `${n} (offline)` : `${n} (unknown)`)).join(", ")}`);
  }
  const counts = new Map<string, number>();
  for (const l of input.locations) counts.set(l.node, (counts.get(l.node) ?? 0) + 1);
  // Most reservable memory first; ties keep the allowedNodes order.
  const byMemory: NodeCandidate[] = usable
    .map((name) => ({ name, available: reservableMemory(byName.get(name)!, input.vms, input.memoryAdjustment), scheduled: counts.get(name) ?? 0 }))
    .sort((a, b) => b.available - a.available);
  const best = byMemory[0]!;
  if (requested > best.available) throw new InsufficientMemoryError(best.name, best.available, requested);
  // Fewest machines of the role first (stable: ties go to the node with more memory).
  const byReplicas = [...byMemory].sort((a, b) => a.scheduled - b.scheduled);
  const pick = byReplicas.find((c) => requested < c.available) ?? best;
  return { node: pick.name, candidates: byMemory };
}
