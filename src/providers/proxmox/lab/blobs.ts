/**
 * Write-once blobs of the lab state: the cloud-init files a VM booted with and a cloud-init
 * drive's ISO content — about 12 KB each per VM, which would otherwise be serialised again with
 * their VM on every change of it. They live in the state database (table `blobs`, by sha256), so
 * a blob and the entry naming it are written in the same transaction, and a backup's snapshot
 * holds both. A blob no entry names any more is removed in the write that drops the last name.
 *
 * A file set becomes immutable (frozen) once stored: it is only ever replaced, never edited.
 * @module
 */
import type { Database } from "bun:sqlite";
import { createHash } from "node:crypto";

export type Files = Record<string, string>;

export class BlobStore {
  readonly #known = new Set<string>();
  readonly #hashOf = new WeakMap<object, string>();

  constructor(private readonly db: Database) {
    for (const row of db.query<{ hash: string }, []>("SELECT hash FROM blobs").all()) this.#known.add(row.hash);
  }

  /** The hash naming `files`, stored the first time it is seen (call inside the write's transaction). */
  put(files: Files): string {
    const cached = this.#hashOf.get(files);
    if (cached) return cached;
    const text = JSON.stringify(files);
    const hash = createHash("sha256").update(text).digest("hex");
    if (!this.#known.has(hash)) {
      this.db.query("INSERT OR IGNORE INTO blobs (hash, body) VALUES (?, ?)").run(hash, text);
      this.#known.add(hash);
    }
    this.#hashOf.set(Object.freeze(files), hash);
    return hash;
  }

  get(hash: string): Files {
    const row = this.db.query<{ body: string }, [string]>("SELECT body FROM blobs WHERE hash = ?").get(hash);
    if (!row) throw new Error(`lab state: blob ${hash} is missing`);
    const files = JSON.parse(row.body) as Files;
    this.#hashOf.set(Object.freeze(files), hash);
    return files;
  }

  has(hash: string): boolean {
    return this.#known.has(hash);
  }

  /** Removes the blobs `live` does not name (inside the write that stopped naming them). */
  sweep(live: Set<string>): void {
    const del = this.db.query("DELETE FROM blobs WHERE hash = ?");
    for (const hash of this.#known) {
      if (live.has(hash)) continue;
      del.run(hash);
      this.#known.delete(hash);
    }
  }

  get size(): number {
    return this.#known.size;
  }
}
