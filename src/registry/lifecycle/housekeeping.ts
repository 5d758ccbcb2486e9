/**
 * Timed upkeep of the store: Events (and anything else with a TTL) expire, the change log is
 * compacted, the WAL is checkpointed.
 * @module
 */
import { log } from "../../lib/log.ts";
import { DEFAULT_COMPACTION, KeyNotFoundError, RevisionConflictError, type CompactOptions, type Store } from "../../store/store.ts";

export interface HousekeepingOptions {
  intervalMs?: number;
  compaction?: CompactOptions;
}

export class Housekeeping {
  #timer?: ReturnType<typeof setInterval>;

  constructor(
    private readonly store: Store,
    private readonly opts: HousekeepingOptions = {},
  ) {}

  start(): void {
    this.#timer = setInterval(() => this.runOnce(), this.opts.intervalMs ?? 60_000);
    this.#timer.unref?.();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** One pass: expire, compact, checkpoint. Returns how many objects expired. */
  runOnce(now = Date.now()): number {
    let expired = 0;
    try {
      for (let round = 0; round < 1000; round++) {
        const batch = this.store.expired(now);
        if (batch.length === 0) break;
        for (const k of batch) {
          try {
            this.store.delete(k.resource, k.namespace, k.name, k.rv);
            expired++;
          } catch (e) {
            if (!(e instanceof KeyNotFoundError) && !(e instanceof RevisionConflictError)) throw e;
          }
        }
      }
      this.store.compact(this.opts.compaction ?? DEFAULT_COMPACTION);
      // A checkpoint cannot run inside the open write batch.
      this.store.commit();
      this.store.database.run("PRAGMA wal_checkpoint(PASSIVE)");
    } catch (e) {
      log.warn({ component: "housekeeping", err: String(e) }, "store housekeeping failed; will retry");
    }
    return expired;
  }
}
