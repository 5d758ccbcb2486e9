/**
 * DATA_DIR/lab/pve-state.db: the lab PVE's state in SQLite, a row per entry (a VM, a volume, a
 * task, …) and a row per top-level member. A write is one transaction of the entries that changed
 * since the last one (state-tracker.ts tells which), debounced, and done on stop. Lab state is
 * hardware: it survives the daemon, even a SIGKILL — a change a client was told about is
 * committed first (`durable()`: the answer waits for the next write, shared by every request of
 * that moment, as a group commit). With 500 VMs, rewriting one whole state file on every
 * acknowledged change was a seventh of the daemon's CPU; a write now costs what changed.
 *
 * A state kept by an earlier version in pve-state.json (+ blobs/) is moved in on load.
 * @module
 */
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { BlobStore, type Files } from "./blobs.ts";
import type { LabState, VmRecord, VolumeRecord } from "./state.ts";
import { SECTIONS, type Section, type StateTracker } from "./state-tracker.ts";

const SECTION_NAMES = new Set<string>(SECTIONS);
/** Rows of top-level members: a section's own row only says it exists (its entries are rows of it). */
const TOP = "";
const SECTION_PRESENT = "{}";

/** On disk a file set is named by its blob's hash. */
type Stored<T> = T & { filesBlob?: string };

/** A write that took less than this the last time is done at once when someone waits for it. */
const SYNC_FLUSH_BELOW_MS = 1;

function openStateDatabase(path: string, readonly = false): Database {
  if (!readonly) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = readonly ? new Database(path, { readonly: true }) : new Database(path, { create: true });
  db.run("PRAGMA busy_timeout = 5000");
  if (readonly) return db;
  // A commit survives the process (SIGKILL) without an fsync, as the state file's rename did.
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = NORMAL");
  db.run("CREATE TABLE IF NOT EXISTS entries (section TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (section, key)) WITHOUT ROWID");
  db.run("CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID");
  chmodSync(path, 0o600);
  return db;
}

export class StateFile {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #waiters: (() => void)[] = [];
  /** How long the last write took: writes are spaced at least 20× that apart. */
  #lastFlushMs = 0;
  /** Unset until `bind`: there is nothing to write before. */
  #snapshot: (() => LabState) | undefined;
  readonly #db: Database;
  readonly blobs: BlobStore;
  #tracker: StateTracker | undefined;
  /** Sections written in full by this instance; the others are written in full next time. */
  #written = new Set<Section>();
  /** top-level member → its text as written */
  #top = new Map<string, string>();
  /** section → key → the blob its entry names */
  #blobs = new Map<Section, Map<string, string>>();
  /** A blob lost a name since the last sweep. */
  #blobNameDropped = false;
  /** pve-state.json and blobs/ of an earlier version, removed once their state is written here. */
  #legacy: { json: string; blobs: string } | undefined;
  /** How many entries the last write serialised. */
  lastSerialised = 0;

  constructor(
    readonly path: string,
    private readonly debounceMs = 50,
  ) {
    this.#db = openStateDatabase(path);
    this.blobs = new BlobStore(this.#db);
  }

  load(): LabState | undefined {
    const rows = this.#db.query<{ section: string; key: string; body: string }, []>("SELECT section, key, body FROM entries").all();
    if (!rows.length) return this.#loadLegacy();
    const state: Record<string, unknown> = {};
    for (const r of rows) if (r.section === TOP) state[r.key] = SECTION_NAMES.has(r.key) ? {} : JSON.parse(r.body);
    for (const r of rows) {
      if (r.section === TOP) continue;
      const section = (state[r.section] ??= {}) as Record<string, unknown>;
      section[r.key] = JSON.parse(r.body);
    }
    return this.#checked(state as unknown as LabState, (hash) => this.blobs.get(hash));
  }

  #loadLegacy(): LabState | undefined {
    const json = this.path.replace(/\.db$/, ".json");
    if (json === this.path || !existsSync(json)) return undefined;
    const blobs = join(dirname(json), "blobs");
    this.#legacy = { json, blobs };
    return this.#checked(JSON.parse(readFileSync(json, "utf8")) as LabState, (hash) => JSON.parse(readFileSync(join(blobs, hash), "utf8")) as Files);
  }

  /** The state with its file sets read back from their blobs. */
  #checked(state: LabState, blob: (hash: string) => Files): LabState {
    if (state.version !== 1) throw new Error(`${this.path}: unsupported lab state version ${String(state.version)}`);
    for (const vm of Object.values(state.vms ?? {})) {
      const cidata = vm.boot?.cidata as Stored<{ source: string; files?: Files }> | undefined;
      if (cidata?.filesBlob) cidata.files = blob(cidata.filesBlob);
      delete cidata?.filesBlob;
    }
    for (const vol of Object.values(state.volumes ?? {})) {
      const iso = vol.iso as Stored<{ label: string; files?: Files }> | undefined;
      if (iso?.filesBlob) iso.files = blob(iso.filesBlob);
      delete iso?.filesBlob;
    }
    return state;
  }

  /** An entry as written: a file set replaced by the hash of its blob (stored in the same transaction). */
  #entryText(section: Section, key: string, value: unknown): string {
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

  /** Writes the top-level members and the entries that changed (every entry of a section replaced as a whole). */
  #write(state: LabState): void {
    const { whole, dirty } = this.#tracker?.take() ?? { whole: new Set(SECTIONS), dirty: new Map<Section, Set<string>>() };
    const put = this.#db.query("INSERT INTO entries (section, key, body) VALUES (?, ?, ?) ON CONFLICT (section, key) DO UPDATE SET body = excluded.body");
    const del = this.#db.query("DELETE FROM entries WHERE section = ? AND key = ?");
    this.lastSerialised = 0;
    const seen = new Set<string>();
    for (const [key, value] of Object.entries(state)) {
      if (value === undefined) continue;
      const text = SECTION_NAMES.has(key) ? SECTION_PRESENT : JSON.stringify(value);
      seen.add(key);
      if (this.#top.get(key) === text) continue;
      put.run(TOP, key, text);
      this.#top.set(key, text);
    }
    for (const key of [...this.#top.keys()]) {
      if (seen.has(key)) continue;
      del.run(TOP, key);
      this.#top.delete(key);
    }
    for (const section of SECTIONS) {
      const entries = state[section] as Record<string, unknown> | undefined;
      let keys = dirty.get(section);
      if (whole.has(section) || !this.#written.has(section)) {
        this.#db.query("DELETE FROM entries WHERE section = ?").run(section);
        if (this.#blobs.delete(section)) this.#blobNameDropped = true;
        this.#written.add(section);
        keys = new Set(Object.keys(entries ?? {}));
      }
      for (const key of keys ?? []) {
        this.lastSerialised++;
        const named = this.#blobs.get(section)?.get(key);
        this.#blobs.get(section)?.delete(key);
        if (entries && Object.hasOwn(entries, key)) put.run(section, key, this.#entryText(section, key, entries[key]));
        else del.run(section, key);
        if (named && named !== this.#blobs.get(section)?.get(key)) this.#blobNameDropped = true;
      }
    }
    if (this.#blobNameDropped) {
      this.blobs.sweep(new Set([...this.#blobs.values()].flatMap((m) => [...m.values()])));
      this.#blobNameDropped = false;
    }
  }

  /** Where `schedule` and `flush` read the (plain) state from, and what tells which of its entries changed. */
  bind(snapshot: () => LabState, tracker?: StateTracker): void {
    this.#snapshot = snapshot;
    this.#tracker = tracker;
    this.#written.clear();
    this.#top.clear();
    this.#blobs.clear();
    // whatever the blobs table holds beyond what the next (full) write names goes then
    this.#blobNameDropped = true;
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
    // A quick write is cheaper to do now than to wait for: the answer goes out in this turn.
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
    if (this.#closed || !this.#snapshot) return;
    const snapshot = this.#snapshot;
    const t0 = performance.now();
    this.#db.transaction(() => this.#write(snapshot()))();
    if (this.#legacy) {
      rmSync(this.#legacy.json, { force: true });
      rmSync(this.#legacy.blobs, { recursive: true, force: true });
      this.#legacy = undefined;
    }
    this.#lastFlushMs = performance.now() - t0;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  /** Writes once more and ignores later changes (the process is handing the state over). */
  close(): void {
    this.flush();
    this.#closed = true;
    this.#db.close();
  }
}

/**
 * The state as stored (file sets as `filesBlob` hashes), read through a connection of its own:
 * what a restarted daemon would find. For tests and inspection.
 */
export function readStoredState(path: string): { state: Record<string, unknown>; blob: (hash: string) => Files | undefined } {
  const db = openStateDatabase(path, true);
  try {
    const state: Record<string, unknown> = {};
    const rows = db.query<{ section: string; key: string; body: string }, []>("SELECT section, key, body FROM entries").all();
    for (const r of rows) if (r.section === TOP) state[r.key] = SECTION_NAMES.has(r.key) ? {} : JSON.parse(r.body);
    for (const r of rows) if (r.section !== TOP) ((state[r.section] ??= {}) as Record<string, unknown>)[r.key] = JSON.parse(r.body);
    const blobs = new Map(db.query<{ hash: string; body: string }, []>("SELECT hash, body FROM blobs").all().map((b) => [b.hash, JSON.parse(b.body) as Files]));
    return { state, blob: (hash) => blobs.get(hash) };
  } finally {
    db.close();
  }
}
