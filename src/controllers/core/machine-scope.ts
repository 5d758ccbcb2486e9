/**
 * What one Machine reconcile reads and decides, shared by its phases (upstream `scope`), and the
 * controller's tunables.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Logger } from "../../lib/log.ts";
import type { Client } from "../../runtime/client.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import type { WorkloadClient, WorkloadClusters } from "../../providers/workload/types.ts";
import type { ExternalWatches } from "./external.ts";

export interface MachineControllerOptions {
  /** Retry interval while a drain is not complete (upstream drainRetryInterval: 20 s). */
  drainRetryIntervalMs?: number;
  /** Retry interval while waiting for volumes to detach (upstream: 20 s). */
  volumeDetachRetryIntervalMs?: number;
  /**
   * How often a Machine re-reads its Node when Node changes cannot be watched (workload access
   * without `onNodeEvent`) or the workload cluster does not answer. With a watch, Node changes
   * trigger the reconcile (as upstream's ClusterCache) and nothing is polled.
   */
  nodeSyncIntervalMs?: number;
  /** Requeue while a referenced bootstrap/infrastructure object does not exist (upstream: 30 s). */
  externalReadyWaitMs?: number;
  /** Retry interval while deleting the Node fails (upstream polls every 2 s). */
  nodeDeletionRetryMs?: number;
  /** Evictions are triggered for at most this long per reconcile (upstream: 10 s). */
  evictionTimeoutMs?: number;
  /**
   * How long last-known Node conditions are kept while the workload cluster is unreachable before
   * they turn Unknown/ConnectionDown (upstream --remote-conditions-grace-period, 5 m).
   */
  remoteConditionsGracePeriodMs?: number;
  /** Parallel reconciles. */
  concurrency?: number;
}

export const MACHINE_DEFAULTS: Required<MachineControllerOptions> = {
  drainRetryIntervalMs: 20_000,
  volumeDetachRetryIntervalMs: 20_000,
  nodeSyncIntervalMs: 15_000,
  externalReadyWaitMs: 30_000,
  nodeDeletionRetryMs: 2_000,
  evictionTimeoutMs: 10_000,
  remoteConditionsGracePeriodMs: 5 * 60_000,
  concurrency: 10,
};

export interface PhaseResult {
  requeueAfter?: number;
}

export interface MachineScope {
  client: Client;
  recorder: EventRecorder;
  workloads: WorkloadClusters;
  external: ExternalWatches;
  opts: Required<MachineControllerOptions>;
  log: Logger;
  /** The Machine's Cluster; undefined only when it is gone while the Machine is being deleted. */
  cluster: KObject | undefined;
  /** The working copy every phase changes; written once at the end. */
  machine: KObject;
  owningMachineSet?: KObject;
  owningMachineDeployment?: KObject;
  infraMachine?: KObject;
  infraMachineNotFound: boolean;
  bootstrapConfig?: KObject;
  bootstrapConfigNotFound: boolean;
  /** When the controller last reached each workload cluster ("ns/name" → ms), shared by reconciles. */
  lastContact: Map<string, number>;
  /** The workload cluster's client: undefined = not asked yet, null = not reachable. */
  remote?: WorkloadClient | null;
  /** The Node whose spec.providerID matches the Machine's. */
  node?: KObject;
  /** Why the Node could not be read: the workload cluster is not reachable, or another error. */
  nodeGetError?: { connectionDown: boolean; message: string };
  deletingReason?: string;
  deletingMessage?: string;
}

/** The earliest of two optional requeue intervals. */
export function lowestRequeue(a: PhaseResult | void, b: PhaseResult | void): PhaseResult {
  const x = a?.requeueAfter;
  const y = b?.requeueAfter;
  if (x === undefined) return y === undefined ? {} : { requeueAfter: y };
  if (y === undefined) return { requeueAfter: x };
  return { requeueAfter: Math.min(x, y) };
}
