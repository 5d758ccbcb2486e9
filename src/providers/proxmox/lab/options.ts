/**
 * Timing and fault knobs of the lab PVE. Durations are wall-clock milliseconds; `LAB_LATENCIES`
 * feels like a small real host, `INSTANT_LATENCIES` is for tests (tasks still finish
 * asynchronously, after the call that started them returned).
 * @module
 */

export interface LabLatencies {
  /** Allocating, linking or freeing a volume: held under the per-storage lock. */
  storageOpMs: number;
  /** Copying one disk of a full clone (outside the storage lock). */
  diskCopyMs: number;
  createMs: number;
  startMs: number;
  stopMs: number;
  shutdownMs: number;
  rebootMs: number;
  destroyMs: number;
  resizeMs: number;
  templateMs: number;
  /** `POST …/config` worker. */
  configMs: number;
  /** From power-on until the guest agent answers. */
  bootMs: number;
  /** From the agent answering until `cloud-init status` says done. */
  cloudInitMs: number;
  /** How far `/cluster/resources` VM data lags behind (pvestatd's RRD cycle). */
  resourcesLagMs: number;
  /** Delay before a 401 (PVE waits 3 s on bad credentials). */
  authFailDelayMs: number;
  /** flock wait on `/var/lock/qemu-server/lock-<vmid>.conf` (PVE default 10 s). */
  vmLockTimeoutMs: number;
  /** Clone waits only 1 s for the source and target VM locks. */
  cloneLockTimeoutMs: number;
  /** Per-storage lock wait (flock for local, cfs-lock for shared storages; 10 s). */
  storageLockTimeoutMs: number;
}

export const LAB_LATENCIES: LabLatencies = {
  storageOpMs: 300,
  diskCopyMs: 3000,
  createMs: 1000,
  startMs: 1500,
  stopMs: 500,
  shutdownMs: 3000,
  rebootMs: 3000,
  destroyMs: 1000,
  resizeMs: 300,
  templateMs: 1000,
  configMs: 200,
  bootMs: 15000,
  cloudInitMs: 10000,
  resourcesLagMs: 10000,
  authFailDelayMs: 3000,
  vmLockTimeoutMs: 10000,
  cloneLockTimeoutMs: 1000,
  storageLockTimeoutMs: 10000,
};

export const INSTANT_LATENCIES: LabLatencies = {
  ...LAB_LATENCIES,
  storageOpMs: 0,
  diskCopyMs: 0,
  createMs: 0,
  startMs: 0,
  stopMs: 0,
  shutdownMs: 0,
  rebootMs: 0,
  destroyMs: 0,
  resizeMs: 0,
  templateMs: 0,
  configMs: 0,
  bootMs: 0,
  cloudInitMs: 0,
  resourcesLagMs: 0,
  authFailDelayMs: 0,
};

export interface LabFaults {
  /** Probability that a clone/start/resize/template task fails in its worker. */
  taskFailureRate: number;
  /** Probability that a lock acquisition times out (VM flock or storage lock). */
  lockTimeoutRate: number;
  /** Probability that an API request answers 500 before doing anything. */
  http500Rate: number;
  /** Probability that a task takes `slowTaskMs` longer (holding its locks). */
  slowTaskRate: number;
  slowTaskMs: number;
  /** Seed of the fault dice, so a failing run can be replayed. */
  seed: number;
}

export const NO_FAULTS: LabFaults = {
  taskFailureRate: 0,
  lockTimeoutRate: 0,
  http500Rate: 0,
  slowTaskRate: 0,
  slowTaskMs: 0,
  seed: 1,
};

/** Deterministic dice (mulberry32) for fault decisions and generated identifiers. */
export class Dice {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 1;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  roll(rate: number): boolean {
    return rate > 0 && this.next() < rate;
  }
}
