/**
 * The controller workqueue, with client-go's contract: a key is queued at most once, is never
 * processed by two workers at once (a key added while it is being processed is processed again
 * afterwards), and failures come back with per-item exponential backoff (5 ms → 1000 s) under an
 * overall token bucket (10/s, burst 100).
 * @module
 */

export interface RateLimiter {
  /** Delay before the key's next try. */
  when(key: string): number;
  forget(key: string): void;
  retries(key: string): number;
}

export class ItemExponentialLimiter implements RateLimiter {
  #failures = new Map<string, number>();
  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1000 * 1000,
  ) {}
  when(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }
  forget(key: string): void {
    this.#failures.delete(key);
  }
  retries(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}

/** Overall limit shared by all items: a token bucket. */
export class BucketLimiter implements RateLimiter {
  #tokens: number;
  #last: number;
  constructor(
    private readonly qps = 10,
    private readonly burst = 100,
    private readonly now: () => number = Date.now,
  ) {
    this.#tokens = burst;
    this.#last = now();
  }
  when(_key: string): number {
    const t = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#last) / 1000) * this.qps);
    this.#last = t;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.qps) * 1000;
  }
  forget(): void {}
  retries(): number {
    return 0;
  }
}

/** The longer of several limiters' delays (client-go's MaxOfRateLimiter). */
export class MaxOfLimiter implements RateLimiter {
  constructor(private readonly limiters: RateLimiter[]) {}
  when(key: string): number {
    return Math.max(...this.limiters.map((l) => l.when(key)));
  }
  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }
  retries(key: string): number {
    return Math.max(...this.limiters.map((l) => l.retries(key)));
  }
}

export function defaultRateLimiter(): RateLimiter {
  return new MaxOfLimiter([new ItemExponentialLimiter(5, 1000 * 1000), new BucketLimiter(10, 100)]);
}

export class WorkQueue {
  #queue: string[] = [];
  #dirty = new Set<string>();
  #processing = new Set<string>();
  #waiting = new Map<string, { at: number; timer: ReturnType<typeof setTimeout> }>();
  #getters: ((key: string | undefined) => void)[] = [];
  #shutdown = false;
  #addedAt = new Map<string, number>();
  /** client-go's workqueue counters: accepted adds and rate-limited re-adds. */
  readonly stats = { adds: 0, retries: 0 };
  /** Called with the seconds a key waited in the queue before a worker took it. */
  onDequeue: (seconds: number) => void = () => {};

  constructor(readonly limiter: RateLimiter = defaultRateLimiter()) {}

  get length(): number {
    return this.#queue.length;
  }

  /** Keys being processed now. */
  get active(): number {
    return this.#processing.size;
  }

  add(key: string): void {
    if (this.#shutdown || this.#dirty.has(key)) return;
    this.stats.adds++;
    this.#dirty.add(key);
    if (!this.#addedAt.has(key)) this.#addedAt.set(key, performance.now());
    if (this.#processing.has(key)) return;
    const getter = this.#getters.shift();
    if (getter) {
      this.#dirty.delete(key);
      this.#take(key);
      getter(key);
    } else this.#queue.push(key);
  }

  #take(key: string): void {
    this.#processing.add(key);
    const at = this.#addedAt.get(key);
    this.#addedAt.delete(key);
    if (at !== undefined) this.onDequeue((performance.now() - at) / 1000);
  }

  /** Adds the key after `ms`; an earlier pending addAfter for the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shutdown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const existing = this.#waiting.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, ms);
    timer.unref?.();
    this.#waiting.set(key, { at, timer });
  }

  addRateLimited(key: string): void {
    this.stats.retries++;
    this.addAfter(key, this.limiter.when(key));
  }

  forget(key: string): void {
    this.limiter.forget(key);
  }

  retries(key: string): number {
    return this.limiter.retries(key);
  }

  /** The next key, waiting if needed; undefined once shut down. */
  get(): Promise<string | undefined> {
    if (this.#shutdown) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#take(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Marks the key processed; if it was added meanwhile it goes back in the queue. */
  done(key: string): void {
    this.#processing.delete(key);
    if (!this.#dirty.has(key) || this.#shutdown) return;
    // Added while processing: back in line (counted once, when it was added).
    const getter = this.#getters.shift();
    if (getter) {
      this.#dirty.delete(key);
      this.#take(key);
      getter(key);
    } else this.#queue.push(key);
  }

  shutdown(): void {
    this.#shutdown = true;
    for (const w of this.#waiting.values()) clearTimeout(w.timer);
    this.#waiting.clear();
    for (const g of this.#getters.splice(0)) g(undefined);
  }

  /** Whether nothing is queued, processing or waiting to be re-added soon (within `horizonMs`). */
  idle(horizonMs = 0): boolean {
    if (this.#queue.length || this.#processing.size) return false;
    const limit = Date.now() + horizonMs;
    for (const w of this.#waiting.values()) if (w.at <= limit) return false;
    return true;
  }
}
