/**
 * One holder at a time per key (a pool): callers for the same key run strictly one after another,
 * callers for different keys do not wait for each other.
 * @module
 */
export class KeyedLock {
  #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Keys with a holder or waiters (tests). */
  get size(): number {
    return this.#tails.size;
  }
}
