/**
 * DATA_DIR/lab/pve-state.json: written atomically (temp file + rename), debounced, and flushed on
 * stop. Lab state is hardware: it survives the daemon, even a SIGKILL — a change a client was told
 * about is on disk first (`durable()`: the answer waits for the next write, shared by every request
 * of that moment, as a group commit). The bulky per-VM cloud-init files live in write-once blobs
 * beside it (blobs.ts), so a write costs a few KB per VM, not the whole of every VM's data.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BlobStore, type Files } from "./blobs.ts";
import type { LabState, VmRecord, VolumeRecord } from "./state.ts";

/** On disk a file set is named by its blob's hash. */
type Stored<T> = T & { filesBlob?: string };

/** A write that took less than this the last time is done at once when someone waits for it. */
const SYNC_FLUSH_BELOW_MS = 1;

export class StateFile {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #waiters: (() => void)[] = [];
  /** How long the last write took: the whole state is serialised each time, so writes are spaced at least 20× that apart. */
  #lastFlushMs = 0;
  #snapshot: () => LabState = () => {
    throw new Error("state file has no source");
  };
  readonly blobs: BlobStore;

  constructor(
    readonly path: string,
    private readonly debounceMs = 50,
  ) {
    this.blobs = new BlobStore(join(dirname(path), "blobs"));
  }

  load(): LabState | undefined {
    if (!existsSync(this.path)) return undefined;
    const state = JSON.parse(readFileSync(this.path, "utf8")) as LabState;
    if (state.version !== 1) throw new Error(`${this.path}: unsupported lab state version ${String(state.version)}`);
    for (const vm of Object.values(state.vms)) {
      const cidata = vm.boot?.cidata as Stored<{ source: string; files?: Files }> | undefined;
      if (cidata?.filesBlob) cidata.files = this.blobs.get(cidata.filesBlob);
      delete cidata?.filesBlob;
    }
    for (const vol of Object.values(state.volumes)) {
      const iso = vol.iso as Stored<{ label: string; files?: Files }> | undefined;
      if (iso?.filesBlob) iso.files = this.blobs.get(iso.filesBlob);
      delete iso?.filesBlob;
    }
    return state;
  }

  /** The state as written: file sets replaced by the hashes of their blobs (written first). */
  #toDisk(state: LabState, live: Set<string>): unknown {
    const blob = (files: Files) => {
      const hash = this.blobs.put(files);
      live.add(hash);
      return hash;
    };
    const vms: Record<string, VmRecord | object> = {};
    for (const [id, vm] of Object.entries(state.vms)) {
      const cidata = vm.boot?.cidata;
      vms[id] = cidata ? { ...vm, boot: { ...vm.boot, cidata: { source: cidata.source, filesBlob: blob(cidata.files) } } } : vm;
    }
    const volumes: Record<string, VolumeRecord | object> = {};
    for (const [id, vol] of Object.entries(state.volumes)) {
      volumes[id] = vol.iso ? { ...vol, iso: { label: vol.iso.label, filesBlob: blob(vol.iso.files) } } : vol;
    }
    return { ...state, vms, volumes };
  }

  /** Where `schedule` and `flush` read the state from. */
  bind(snapshot: () => LabState): void {
    this.#snapshot = snapshot;
  }

  schedule(): void {
    if (this.#timer || this.#closed) return;
    this.#arm(Math.max(this.debounceMs, 20 * this.#lastFlushMs));
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, ms);
  }

  /**
   * Resolves once every change made so far is written. With someone waiting, the write comes
   * sooner (at most 2× its own duration after the last one, not 20×).
   */
  durable(): Promise<void> {
    if (!this.#timer || this.#closed) return Promise.resolve();
    // A small state is cheaper to write now than to wait for: the answer goes out in this turn.
    if (this.#lastFlushMs < SYNC_FLUSH_BELOW_MS) {
      this.flush();
      return Promise.resolve();
    }
    if (!this.#waiters.length) {
      clearTimeout(this.#timer);
      this.#arm(Math.min(this.debounceMs, 2 * this.#lastFlushMs));
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const t0 = performance.now();
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    const live = new Set<string>();
    writeFileSync(tmp, JSON.stringify(this.#toDisk(this.#snapshot(), live)));
    renameSync(tmp, this.path);
    this.blobs.sweep(live);
    this.#lastFlushMs = performance.now() - t0;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  /** Writes once more and ignores later changes (the process is handing the state over). */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}
