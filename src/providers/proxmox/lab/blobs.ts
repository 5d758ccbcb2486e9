/**
 * Write-once blobs of the lab state (DATA_DIR/lab/blobs/<sha256>): the cloud-init files a VM
 * booted with and a cloud-init drive's ISO content — about 12 KB each per VM, which would
 * otherwise be serialised again with the whole state on every acknowledged change. The state
 * file names them by hash; a blob is written before the state that names it, and removed only
 * after a state that no longer names it is on disk.
 *
 * A file set becomes immutable (frozen) once stored: it is only ever replaced, never edited.
 * @module
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type Files = Record<string, string>;

export class BlobStore {
  readonly #known = new Set<string>();
  readonly #hashOf = new WeakMap<object, string>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(dir)) if (/^[0-9a-f]{64}$/.test(f)) this.#known.add(f);
  }

  /** The hash naming `files`, written to disk the first time it is seen. */
  put(files: Files): string {
    const cached = this.#hashOf.get(files);
    if (cached) return cached;
    const text = JSON.stringify(files);
    const hash = createHash("sha256").update(text).digest("hex");
    if (!this.#known.has(hash)) {
      const tmp = join(this.dir, `${hash}.tmp`);
      writeFileSync(tmp, text, { mode: 0o600 });
      renameSync(tmp, join(this.dir, hash));
      this.#known.add(hash);
    }
    this.#hashOf.set(Object.freeze(files), hash);
    return hash;
  }

  get(hash: string): Files {
    const files = JSON.parse(readFileSync(join(this.dir, hash), "utf8")) as Files;
    this.#hashOf.set(Object.freeze(files), hash);
    return files;
  }

  /** Removes the blobs `live` does not name (call once the state naming `live` is written). */
  sweep(live: Set<string>): void {
    for (const hash of this.#known) {
      if (live.has(hash)) continue;
      try {
        unlinkSync(join(this.dir, hash));
      } catch {
        // already gone
      }
      this.#known.delete(hash);
    }
  }

  get size(): number {
    return this.#known.size;
  }
}
