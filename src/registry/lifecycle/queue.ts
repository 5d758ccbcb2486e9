/**
 * A tiny de-duplicating queue for the API server's own housekeeping (garbage collection,
 * namespace and CRD cleanup). Work runs on a later tick, never inside a store listener, and a
 * failing item is retried with backoff.
 * @module
 */
import { log } from "../../lib/log.ts";

export class KeyQueue {
  #pending = new Set<string>();
  #scheduled = false;
  #running = false;
  #waiters: (() => void)[] = [];
  #retries = new Map<string, number>();
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #stopped = false;

  constructor(
    private readonly name: string,
    private readonly work: (key: string) => void,
  ) {}

  add(key: string): void {
    if (this.#stopped) return;
    this.#pending.add(key);
    this.#schedule();
  }

  get isIdle(): boolean {
    return !this.#pending.size && !this.#running && !this.#scheduled;
  }

  /** Resolves when nothing is pending or running (timers for retries excepted). */
  idle(): Promise<void> {
    if (!this.#pending.size && !this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#pending.clear();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#drain());
  }

  #drain(): void {
    this.#scheduled = false;
    this.#running = true;
    try {
      while (this.#pending.size && !this.#stopped) {
        const key = this.#pending.values().next().value as string;
        this.#pending.delete(key);
        try {
          this.work(key);
          this.#retries.delete(key);
        } catch (e) {
          const n = (this.#retries.get(key) ?? 0) + 1;
          this.#retries.set(key, n);
          const delay = Math.min(5 * 2 ** n, 30_000);
          log.warn({ queue: this.name, key, attempt: n, err: String(e) }, "housekeeping failed; retrying");
          const t = setTimeout(() => {
            this.#timers.delete(t);
            this.add(key);
          }, delay);
          this.#timers.add(t);
        }
      }
    } finally {
      this.#running = false;
    }
    if (!this.#pending.size) for (const w of this.#waiters.splice(0)) w();
  }
}
