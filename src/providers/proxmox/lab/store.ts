/**
 * DATA_DIR/lab/pve-state.json: written atomically (temp file + rename), debounced, and flushed on
 * stop. Lab state is hardware: it survives the daemon, even a SIGKILL — a change a client was told
 * about is on disk first (`durable()`: the answer waits for the next write, shared by every request
 * of that moment, as a group commit). The bulky per-VM cloud-init files live in write-once blobs
 * beside it (blobs.ts), so a write costs a few KB per VM, not the whole of every VM's data, and
 * only the entries that changed since the last write are serialised again (state-tracker.ts).
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BlobStore, type Files } from "./blobs.ts";
import type { LabState, VmRecord, VolumeRecord } from "./state.ts";
import { SECTIONS, type Section, type StateTracker } from "./state-tracker.ts";

const SECTION_NAMES = new Set<string>(SECTIONS);

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
  #tracker: StateTracker | undefined;
  /** section → key → the entry's text as last written */
  #texts = new Map<Section, Map<string, string>>();
  /** section → key → the blob its entry names */
  #blobs = new Map<Section, Map<string, string>>();
  /** How many entries the last write serialised (the rest reused their text). */
  lastSerialised = 0;

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

  /** An entry as written: a file set replaced by the hash of its blob (written first). */
  #entryText(section: Section, key: string, value: unknown): string | undefined {
    const blobs = this.#blobs.get(section);
    blobs?.delete(key);
    const blob = (files: Files) => {
      const hash = this.blobs.put(files);
      let m = this.#blobs.get(section);
      if (!m) this.#blobs.set(section, (m = new Map()));
      m.set(key, hash);
      return hash;
    };
    if (section === "vms") {
      const vm = value as VmRecord;
      const cidata = vm.boot?.cidata;
      if (cidata) return JSON.stringify({ ...vm, boot: { ...vm.boot, cidata: { source: cidata.source, filesBlob: blob(cidata.files) } } });
    }
    if (section === "volumes") {
      const vol = value as VolumeRecord;
      if (vol.iso) return JSON.stringify({ ...vol, iso: { label: vol.iso.label, filesBlob: blob(vol.iso.files) } });
    }
    return JSON.stringify(value);
  }

  /** The state file's text: the entries that changed serialised again, the others' text reused. */
  #serialise(state: LabState): string {
    const { whole, dirty } = this.#tracker?.take() ?? { whole: new Set(SECTIONS), dirty: new Map<Section, Set<string>>() };
    const record = (section: Section) => state[section] as Record<string, unknown> | undefined;
    this.lastSerialised = 0;
    for (const section of SECTIONS) {
      const entries = record(section);
      let texts = this.#texts.get(section);
      let keys = dirty.get(section);
      if (whole.has(section) || !texts) {
        this.#blobs.delete(section);
        this.#texts.set(section, (texts = new Map()));
        keys = new Set(Object.keys(entries ?? {}));
      }
      for (const key of keys ?? []) {
        const text = entries && Object.hasOwn(entries, key) ? this.#entryText(section, key, entries[key]) : undefined;
        this.lastSerialised++;
        if (text === undefined) {
          texts.delete(key);
          this.#blobs.get(section)?.delete(key);
        } else texts.set(key, text);
      }
    }
    const parts: string[] = [];
    for (const [key, value] of Object.entries(state)) {
      if (!SECTION_NAMES.has(key) && value !== undefined) parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
    }
    for (const section of SECTIONS) {
      if (record(section) === undefined) continue;
      const body: string[] = [];
      for (const [key, text] of this.#texts.get(section)!) body.push(`${JSON.stringify(key)}:${text}`);
      parts.push(`${JSON.stringify(section)}:{${body.join(",")}}`);
    }
    return `{${parts.join(",")}}`;
  }

  /** Where `schedule` and `flush` read the (plain) state from, and what tells which of its entries changed. */
  bind(snapshot: () => LabState, tracker?: StateTracker): void {
    this.#snapshot = snapshot;
    this.#tracker = tracker;
    this.#texts.clear();
    this.#blobs.clear();
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
    writeFileSync(tmp, this.#serialise(this.#snapshot()));
    renameSync(tmp, this.path);
    this.blobs.sweep(new Set([...this.#blobs.values()].flatMap((m) => [...m.values()])));
    this.#lastFlushMs = performance.now() - t0;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  /** Writes once more and ignores later changes (the process is handing the state over). */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}
