/**
 * In-process helpers of the Proxmox controllers: per-machine exponential backoff after failed
 * PVE tasks, a keyed mutex (one scheduling decision per ProxmoxCluster at a time), and the
 * clone queue (a few clones per storage at once: PVE serialises allocation per storage and
 * times out waiting for its lock).
 * @module
 */

export class Backoff {
  #failures = new Map<string, number>();

  constructor(
    readonly baseMs = 5_000,
    readonly maxMs = 5 * 60_000,
  ) {}

  /** The wait before the next attempt after another failure of `key`. */
  next(key: string): number {
    const n = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, n);
    return Math.min(this.maxMs, this.baseMs * 2 ** (n - 1));
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  reset(key: string): void {
    this.#failures.delete(key);
  }
}

export class KeyedMutex {
  #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/** A waiter not seen again within this time (its machine was deleted) loses its place. */
const WAITER_TTL_MS = 2 * 60_000;
/** A slot whose holder never reported back (its task was lost) frees itself. */
const HOLD_TTL_MS = 30 * 60_000;

export interface SlotAnswer {
  granted: boolean;
  /** 1-based position among the waiters when not granted. */
  position: number;
  holders: number;
}

/**
 * Clone slots per storage, handed out first come, first served to reconciles that poll. A
 * waiter may leave a `wake` callback: when a slot frees, the waiters now first in line are woken
 * rather than left to find out at their next poll.
 */
export class CloneQueue {
  #held = new Map<string, Map<string, number>>();
  #waiting = new Map<string, Map<string, { at: number; wake?: () => void }>>();

  constructor(
    readonly perStorage = 2,
    private readonly now: () => number = Date.now,
  ) {}

  /** Asks for a slot on `storage` for `holder`; repeated asks keep the holder's place. */
  acquire(storage: string, holder: string, wake?: () => void): SlotAnswer {
    const now = this.now();
    const held = this.#map(this.#held, storage);
    for (const [h, at] of held) if (now - at > HOLD_TTL_MS) held.delete(h);
    if (held.has(holder)) return { granted: true, position: 0, holders: held.size };
    const waiting = this.#map(this.#waiting, storage);
    for (const [h, w] of waiting) if (now - w.at > WAITER_TTL_MS) waiting.delete(h);
    waiting.set(holder, { at: now, wake });
    const order = [...waiting.keys()];
    const position = order.indexOf(holder) + 1;
    if (held.size < this.perStorage && position <= this.perStorage - held.size) {
      waiting.delete(holder);
      held.set(holder, now);
      return { granted: true, position: 0, holders: held.size };
    }
    return { granted: false, position, holders: held.size };
  }

  /** Frees every slot and place `holder` has, and wakes the waiters next in line for a freed slot. */
  release(holder: string): void {
    for (const m of this.#waiting.values()) m.delete(holder);
    for (const [storage, held] of this.#held) {
      if (!held.delete(holder)) continue;
      const next = [...(this.#waiting.get(storage)?.values() ?? [])].slice(0, this.perStorage - held.size);
      for (const w of next) w.wake?.();
    }
  }

  #map<V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> {
    let m = outer.get(key);
    if (!m) outer.set(key, (m = new Map()));
    return m;
  }
}

/** The soonest a running task is polled again. */
const FIRST_TASK_POLL_MS = 200;
/** Tasks not asked about for this long are forgotten (their machine went away mid-task). */
const TASK_FORGET_MS = 60 * 60_000;

/**
 * When to look at a running PVE task again: soon while it is young (most resize, config and
 * start tasks, and linked clones, end within a second or two), then as often as its age, up to
 * `pollMs`. The age counts from the first time the task was seen running here (a UPID's start
 * time has whole seconds and the PVE host's clock).
 */
export class TaskPolls {
  #firstSeen = new Map<string, { first: number; last: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The delay before the next look at `upid`, which is still running. */
  next(upid: string, pollMs: number): number {
    const now = this.now();
    const seen = this.#firstSeen.get(upid);
    if (seen) seen.last = now;
    else {
      if (this.#firstSeen.size >= 1000) for (const [k, v] of this.#firstSeen) if (now - v.last > TASK_FORGET_MS) this.#firstSeen.delete(k);
      this.#firstSeen.set(upid, { first: now, last: now });
    }
    return Math.min(pollMs, Math.max(FIRST_TASK_POLL_MS, now - (seen?.first ?? now)));
  }

  /** The task ended (or is no longer followed). */
  done(upid: string): void {
    this.#firstSeen.delete(upid);
  }
}

/** PVE's lock timeouts (per-VM flock, per-storage flock, cluster-wide cfs-lock): worth retrying soon. */
export function isLockTimeout(text: string): boolean {
  return /got timeout|got lock request timeout|can't lock file/.test(text);
}
