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

/** Clone slots per storage, handed out first come, first served to reconciles that poll. */
export class CloneQueue {
  #held = new Map<string, Map<string, number>>();
  #waiting = new Map<string, Map<string, number>>();

  constructor(
    readonly perStorage = 2,
    private readonly now: () => number = Date.now,
  ) {}

  /** Asks for a slot on `storage` for `holder`; repeated asks keep the holder's place. */
  acquire(storage: string, holder: string): SlotAnswer {
    const now = this.now();
    const held = this.#map(this.#held, storage);
    for (const [h, at] of held) if (now - at > HOLD_TTL_MS) held.delete(h);
    if (held.has(holder)) return { granted: true, position: 0, holders: held.size };
    const waiting = this.#map(this.#waiting, storage);
    for (const [h, at] of waiting) if (now - at > WAITER_TTL_MS) waiting.delete(h);
    waiting.set(holder, now);
    const order = [...waiting.keys()];
    const position = order.indexOf(holder) + 1;
    if (held.size < this.perStorage && position <= this.perStorage - held.size) {
      waiting.delete(holder);
      held.set(holder, now);
      return { granted: true, position: 0, holders: held.size };
    }
    return { granted: false, position, holders: held.size };
  }

  /** Frees every slot and place `holder` has. */
  release(holder: string): void {
    for (const m of [...this.#held.values(), ...this.#waiting.values()]) m.delete(holder);
  }

  #map(outer: Map<string, Map<string, number>>, key: string): Map<string, number> {
    let m = outer.get(key);
    if (!m) outer.set(key, (m = new Map()));
    return m;
  }
}

/** PVE's lock timeouts (per-VM flock, per-storage flock, cluster-wide cfs-lock): worth retrying soon. */
export function isLockTimeout(text: string): boolean {
  return /got timeout|got lock request timeout|can't lock file/.test(text);
}
