/**
 * The object store: current objects plus a change log, one global revision, in-process watch
 * fan-out after each commit. Narrow on purpose (kine's Backend): it knows keys, revisions and
 * JSON bodies, nothing about API semantics.
 * @module
 */
import type { Database, Statement } from "bun:sqlite";
import type { KObject } from "../lib/kobject.ts";

export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

export interface ObjectKey {
  resource: string;
  namespace: string;
  name: string;
}

export interface StoredRow {
  resource: string;
  namespace: string;
  name: string;
  uid: string;
  rv: number;
  body: string;
}

/** One committed write, as delivered to watchers (live) and replayed from the log. */
export class Change {
  #object?: KObject;
  #prev?: KObject | null;
  constructor(
    readonly rv: number,
    readonly type: ChangeType,
    readonly resource: string,
    readonly namespace: string,
    readonly name: string,
    readonly body: string,
    readonly prevBody: string | null,
    object?: KObject,
  ) {
    this.#object = object;
  }
  /** The object after the change (for DELETED: its last state, stamped with the delete's rv). */
  get object(): KObject {
    return (this.#object ??= JSON.parse(this.body) as KObject);
  }
  /** The state before the change; undefined for ADDED. */
  get prev(): KObject | undefined {
    if (this.#prev === undefined) this.#prev = this.prevBody === null ? null : (JSON.parse(this.prevBody) as KObject);
    return this.#prev ?? undefined;
  }
}

export type ChangeListener = (change: Change) => void;

export class KeyExistsError extends Error {}
export class KeyNotFoundError extends Error {}
export class RevisionConflictError extends Error {}
export class CompactedError extends Error {
  constructor(
    readonly requested: number,
    readonly compacted: number,
  ) {
    super(`too old resource version: ${requested} (${compacted})`);
  }
}

export interface ListOptions {
  namespace?: string;
  /** Read the state as of this revision (must not be older than the compacted revision). */
  atRevision?: number;
  /** Exclusive start key for paging. */
  after?: { namespace: string; name: string };
  limit?: number;
}

export interface ListResult {
  rows: StoredRow[];
  revision: number;
  /** True when more rows follow the last one returned. */
  more: boolean;
}

export interface CompactOptions {
  /** Always keep at least this many most recent revisions. */
  minRetain: number;
  /** Never keep more than this many revisions, however recent. */
  maxRetain: number;
  /** Keep changes younger than this. */
  minAgeMs: number;
}

export const DEFAULT_COMPACTION: CompactOptions = { minRetain: 1000, maxRetain: 20000, minAgeMs: 5 * 60_000 };

export interface WriteOptions {
  /** Unix ms at which the TTL sweeper deletes the object (Events). */
  expiresAt?: number | null;
}

/** What the API verbs, informers and lifecycle controllers use of a store (a Store, or one scope of a shared one). */
export interface ObjectStore {
  readonly revision: number;
  readonly compactedRevision: number;
  get(resource: string, namespace: string, name: string): StoredRow | undefined;
  count(resource: string, namespace?: string): number;
  countAfter(resource: string, namespace: string | undefined, after: { namespace: string; name: string }): number;
  list(resource: string, opts?: ListOptions): ListResult;
  create(resource: string, obj: KObject, opts?: WriteOptions): Change;
  update(resource: string, obj: KObject, expectedRv: number, opts?: WriteOptions): Change;
  delete(resource: string, namespace: string, name: string, expectedRv?: number, finalState?: KObject): Change;
  changesSince(after: number, resource?: string, batch?: number): Change[];
  subscribe(listener: ChangeListener): () => void;
  observe(observer: ChangeListener): () => void;
  dependents(ownerUid: string): ObjectKey[];
  expired(nowMs: number, limit?: number): (ObjectKey & { rv: number })[];
  transaction<T>(fn: () => T): T;
  durable(): Promise<void>;
  commit(): void;
}

export class Store implements ObjectStore {
  #db: Database;
  #rev: number;
  #compacted: number;
  #listeners = new Set<ChangeListener>();
  #stmts: ReturnType<typeof prepare>;
  #now: () => number;

  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
    this.#stmts = prepare(db);
    const meta = (k: string) => Number((db.query("SELECT value FROM meta WHERE key = ?").get(k) as { value: string } | null)?.value ?? 0);
    const maxChange = (db.query("SELECT MAX(rv) AS m FROM changes").get() as { m: number | null }).m ?? 0;
    const maxObject = (db.query("SELECT MAX(rv) AS m FROM objects").get() as { m: number | null }).m ?? 0;
    this.#compacted = meta("compacted_rv");
    this.#rev = Math.max(maxChange, maxObject, this.#compacted, meta("revision"));
  }

  get revision(): number {
    return this.#rev;
  }

  get compactedRevision(): number {
    return this.#compacted;
  }

  get database(): Database {
    return this.#db;
  }

  get(resource: string, namespace: string, name: string): StoredRow | undefined {
    return (this.#stmts.get.get(resource, namespace, name) as StoredRow | null) ?? undefined;
  }


  count(resource: string, namespace?: string): number {
    const row = (namespace === undefined
      ? this.#stmts.countAll.get(resource)
      : this.#stmts.countNs.get(resource, namespace)) as { n: number };
    return row.n;
  }

  /** How many current objects sort after `after` (the remainingItemCount of a page). */
  countAfter(resource: string, namespace: string | undefined, after: { namespace: string; name: string }): number {
    const row = this.#stmts.countAfter.get(resource, namespace ?? "", namespace === undefined ? 1 : 0, 1, after.namespace, after.name) as { n: number };
    return row.n;
  }

  /** Ordered by (namespace, name). With `atRevision`, reconstructs the past state from the log. */
  list(resource: string, opts: ListOptions = {}): ListResult {
    const revision = opts.atRevision ?? this.#rev;
    if (revision > this.#rev) throw new RevisionConflictError(`revision ${revision} is in the future (current ${this.#rev})`);
    if (revision < this.#rev && revision < this.#compacted) throw new CompactedError(revision, this.#compacted);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Number.MAX_SAFE_INTEGER;
    const afterNs = opts.after?.namespace ?? "";
    const afterName = opts.after?.name ?? "";
    const hasAfter = opts.after !== undefined;
    const fetch = Math.min(limit + 1, Number.MAX_SAFE_INTEGER);
    const ns = opts.namespace;
    const args = [resource, ns ?? "", ns === undefined ? 1 : 0, hasAfter ? 1 : 0, afterNs, afterName];
    let rows: StoredRow[];
    if (revision === this.#rev) {
      rows = this.#stmts.listCurrent.all(...args, fetch) as StoredRow[];
    } else {
      rows = this.#listAt(revision, args, fetch);
    }
    const more = rows.length > limit;
    if (more) rows.length = limit;
    return { rows, revision, more };
  }

  #listAt(revision: number, args: (string | number)[], fetch: number): StoredRow[] {
    const unchanged = this.#stmts.listUnchangedSince.all(...args, revision, fetch) as StoredRow[];
    // Keys written after the snapshot: their first later change carries the state as of the
    // snapshot. The log is scanned in revision order (it has no secondary index: appends stay cheap).
    const [resource, ns, allNs, hasAfter, afterNs, afterName] = args as [string, string, number, number, string, string];
    const later = this.#stmts.changesOfAfter.all(resource, revision) as (ChangeRow & { prev_body: string | null })[];
    const seen = new Set<string>();
    const restored: StoredRow[] = [];
    for (const c of later) {
      if (!allNs && c.namespace !== ns) continue;
      if (hasAfter && (c.namespace < afterNs || (c.namespace === afterNs && c.name <= afterName))) continue;
      const key = `${c.namespace}\u0000${c.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (c.type === "ADDED" || c.prev_body === null) continue;
      const prev = JSON.parse(c.prev_body) as KObject;
      restored.push({
        resource: c.resource,
        namespace: c.namespace,
        name: c.name,
        uid: prev.metadata.uid ?? "",
        rv: Number(prev.metadata.resourceVersion ?? 0),
        body: c.prev_body,
      });
    }
    const merged = unchanged.concat(restored);
    merged.sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (merged.length > fetch) merged.length = fetch;
    return merged;
  }

  /** Creates the object; sets metadata.resourceVersion. Throws KeyExistsError. */
  create(resource: string, obj: KObject, opts: WriteOptions = {}): Change {
    const key = keyOf(resource, obj);
    return this.transaction(() => {
      const rv = this.#rev + 1;
      obj.metadata.resourceVersion = String(rv);
      const body = JSON.stringify(obj);
      try {
        this.#stmts.insert.run(key.resource, key.namespace, key.name, obj.metadata.uid ?? "", rv, body, opts.expiresAt ?? null);
      } catch (e) {
        if ((e as { code?: string }).code?.startsWith("SQLITE_CONSTRAINT")) throw new KeyExistsError(key.name);
        throw e;
      }
      this.#addOwners(key, obj);
      return this.#log(rv, "ADDED", key, body, null, obj);
    });
  }

  /** Replaces the object if its current revision is `expectedRv`. Throws KeyNotFoundError / RevisionConflictError. */
  update(resource: string, obj: KObject, expectedRv: number, opts: WriteOptions = {}): Change {
    const key = keyOf(resource, obj);
    return this.transaction(() => {
      const cur = this.#stmts.get.get(key.resource, key.namespace, key.name) as StoredRow | null;
      if (!cur) throw new KeyNotFoundError(key.name);
      if (cur.rv !== expectedRv) throw new RevisionConflictError(`${key.name}: expected ${expectedRv}, have ${cur.rv}`);
      const rv = this.#rev + 1;
      obj.metadata.resourceVersion = String(rv);
      const body = JSON.stringify(obj);
      this.#stmts.update.run(body, rv, obj.metadata.uid ?? cur.uid, opts.expiresAt ?? null, key.resource, key.namespace, key.name);
      // Most updates leave ownerReferences alone (and most objects have none).
      if (cur.body.includes('"ownerReferences"') || obj.metadata.ownerReferences?.length) {
        this.#stmts.removeOwners.run(key.resource, key.namespace, key.name);
        this.#addOwners(key, obj);
      }
      return this.#log(rv, "MODIFIED", key, body, cur.body, obj);
    });
  }

  /**
   * Removes the object if its current revision is `expectedRv` (when given). `finalState`, when
   * given, is the last state watchers see (an update that removed the last finalizer).
   */
  delete(resource: string, namespace: string, name: string, expectedRv?: number, finalState?: KObject): Change {
    const key = { resource, namespace, name };
    return this.transaction(() => {
      const cur = this.#stmts.get.get(resource, namespace, name) as StoredRow | null;
      if (!cur) throw new KeyNotFoundError(name);
      if (expectedRv !== undefined && cur.rv !== expectedRv) throw new RevisionConflictError(`${name}: expected ${expectedRv}, have ${cur.rv}`);
      const rv = this.#rev + 1;
      const obj = finalState ?? (JSON.parse(cur.body) as KObject);
      obj.metadata.resourceVersion = String(rv);
      const body = JSON.stringify(obj);
      this.#stmts.remove.run(resource, namespace, name);
      this.#stmts.removeOwners.run(resource, namespace, name);
      return this.#log(rv, "DELETED", key, body, cur.body, obj);
    });
  }

  /** Changes with rv > `after`, oldest first. Throws CompactedError when the log no longer reaches back. */
  changesSince(after: number, resource?: string, batch = 1000): Change[] {
    if (after < this.#compacted) throw new CompactedError(after, this.#compacted);
    const rows = (resource === undefined
      ? this.#stmts.changesAll.all(after, batch)
      : this.#stmts.changesOf.all(resource, after, batch)) as ChangeRow[];
    return rows.map(toChange);
  }

  /** Registers a live listener called synchronously after every commit, in revision order. */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Keys of the objects whose ownerReferences name `ownerUid`. */
  dependents(ownerUid: string): ObjectKey[] {
    return this.#stmts.dependents.all(ownerUid) as ObjectKey[];
  }

  /** Keys whose TTL has passed. */
  expired(nowMs: number, limit = 500): (ObjectKey & { rv: number })[] {
    return this.#stmts.expired.all(nowMs, limit) as (ObjectKey & { rv: number })[];
  }

  /** Drops old log entries (keeping what the options ask for); returns the new compacted revision. */
  compact(opts: CompactOptions = DEFAULT_COMPACTION): number {
    const byCount = this.#rev - opts.minRetain;
    const cap = this.#rev - opts.maxRetain;
    const oldEnough = (this.#stmts.newestBefore.get(this.#now() - opts.minAgeMs) as { rv: number } | null)?.rv ?? 0;
    const target = Math.max(cap, Math.min(byCount, oldEnough));
    if (target <= this.#compacted) return this.#compacted;
    this.transaction(() => {
      this.#stmts.deleteChanges.run(target);
      this.#stmts.setMeta.run("compacted_rv", String(target));
      this.#stmts.setMeta.run("revision", String(this.#rev));
    });
    this.#compacted = target;
    return target;
  }

  /**
   * Runs `fn` as one atomic operation. Operations join the open *batch*: one IMMEDIATE
   * transaction committed at the end of the current tick (group commit: concurrent writers share
   * one WAL append, and one fsync under synchronous=FULL). Each operation runs in a savepoint,
   * so a failing one is undone alone. Observers see an operation's changes when it completes;
   * subscribers and `durable()` only after COMMIT. Callers that acknowledge a write to someone
   * (an HTTP response, a side effect such as cloning a VM) must await `durable()` first.
   */
  transaction<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    const batch = this.#openBatch();
    const startRev = this.#rev;
    const startLen = batch.pending.length;
    this.#stmts.savepoint.run();
    this.#depth++;
    let result: T;
    try {
      result = fn();
      this.#stmts.release.run();
    } catch (e) {
      this.#stmts.rollbackTo.run();
      this.#stmts.release.run();
      this.#rev = startRev;
      batch.pending.length = startLen;
      throw e;
    } finally {
      this.#depth--;
    }
    for (let i = startLen; i < batch.pending.length; i++) {
      for (const o of this.#observers) o(batch.pending[i]!);
    }
    return result;
  }

  /** Resolves once every write made so far is committed (and its changes delivered). */
  durable(): Promise<void> {
    return this.#batch?.done ?? Promise.resolve();
  }

  /** Commits the open batch now and delivers its changes to subscribers. */
  commit(): void {
    const batch = this.#batch;
    if (!batch) return;
    this.#batch = undefined;
    try {
      this.#stmts.commit.run();
    } catch (e) {
      try {
        this.#stmts.rollback.run();
      } catch {
        // the transaction is already gone
      }
      this.#rev = batch.start;
      batch.fail(e);
      this.onCommitFailure(e);
      return;
    }
    for (const c of batch.pending) this.#emit(c);
    batch.succeed();
  }

  /** Called when COMMIT fails (I/O error, disk full): the daemon stops rather than serve state it lost. */
  onCommitFailure: (e: unknown) => void = () => {};

  /**
   * Registers a synchronous observer of completed operations, before COMMIT: for in-memory
   * caches that must follow writes at once (the registry's CRDs and namespaces).
   */
  observe(observer: ChangeListener): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  #depth = 0;
  #batch?: Batch;
  #observers = new Set<ChangeListener>();

  #openBatch(): Batch {
    if (this.#batch) return this.#batch;
    this.#stmts.begin.run();
    let succeed!: () => void;
    let fail!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      succeed = res;
      fail = rej;
    });
    done.catch(() => {});
    const batch: Batch = { start: this.#rev, pending: [], done, succeed, fail };
    this.#batch = batch;
    setImmediate(() => this.commit());
    return batch;
  }

  #log(rv: number, type: ChangeType, key: ObjectKey, body: string, prevBody: string | null, obj: KObject): Change {
    this.#stmts.logChange.run(rv, key.resource, key.namespace, key.name, type, body, prevBody, this.#now());
    this.#rev = rv;
    const change = new Change(rv, type, key.resource, key.namespace, key.name, body, prevBody, obj);
    this.#batch!.pending.push(change);
    return change;
  }

  #addOwners(key: ObjectKey, obj: KObject): void {
    for (const ref of obj.metadata.ownerReferences ?? []) {
      if (ref.uid) this.#stmts.addOwner.run(ref.uid, key.resource, key.namespace, key.name);
    }
  }

  #outbox: Change[] = [];
  #emitting = false;

  /**
   * Delivers in revision order even when a listener writes: a write made during delivery is
   * queued and delivered after every listener has seen the current change.
   */
  #emit(change: Change): void {
    this.#outbox.push(change);
    if (this.#emitting) return;
    this.#emitting = true;
    try {
      for (let c = this.#outbox.shift(); c; c = this.#outbox.shift()) {
        for (const l of this.#listeners) {
          try {
            l(c);
          } catch (e) {
            console.error(JSON.stringify({ level: "error", msg: "change listener failed", err: String(e) }));
          }
        }
      }
    } finally {
      this.#emitting = false;
    }
  }
}

interface Batch {
  /** Revision before the batch's first write. */
  start: number;
  pending: Change[];
  done: Promise<void>;
  succeed(): void;
  fail(e: unknown): void;
}

interface ChangeRow {
  rv: number;
  type: ChangeType;
  resource: string;
  namespace: string;
  name: string;
  body: string;
  prev_body: string | null;
}

function toChange(r: ChangeRow): Change {
  return new Change(r.rv, r.type, r.resource, r.namespace, r.name, r.body, r.prev_body);
}

function keyOf(resource: string, obj: KObject): ObjectKey {
  const name = obj.metadata.name;
  if (!name) throw new Error("store: object has no name");
  return { resource, namespace: obj.metadata.namespace ?? "", name };
}

// Range filter shared by the list queries: ?1 resource, ?2 namespace, ?3 all-namespaces flag,
// ?4 has-cursor flag, ?5/?6 cursor (namespace, name).
const RANGE = `resource = ?1 AND (?3 = 1 OR namespace = ?2) AND (?4 = 0 OR (namespace, name) > (?5, ?6))`;

function prepare(db: Database) {
  const q = (sql: string): Statement => db.query(sql);
  return lazy({
    get: () => q("SELECT resource, namespace, name, uid, rv, body FROM objects WHERE resource = ? AND namespace = ? AND name = ?"),
    countAll: () => q("SELECT COUNT(*) AS n FROM objects WHERE resource = ?"),
    countNs: () => q("SELECT COUNT(*) AS n FROM objects WHERE resource = ? AND namespace = ?"),
    countAfter: () => q(`SELECT COUNT(*) AS n FROM objects WHERE ${RANGE}`),
    listCurrent: () => q(`SELECT resource, namespace, name, uid, rv, body FROM objects WHERE ${RANGE} ORDER BY namespace, name LIMIT ?7`),
    listUnchangedSince: () => q(
      `SELECT resource, namespace, name, uid, rv, body FROM objects WHERE ${RANGE} AND rv <= ?7 ORDER BY namespace, name LIMIT ?8`,
    ),
    changesOfAfter: () => q("SELECT rv, type, resource, namespace, name, prev_body FROM changes WHERE resource = ?1 AND rv > ?2 ORDER BY rv"),
    insert: () => q("INSERT INTO objects (resource, namespace, name, uid, rv, body, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
    update: () => q("UPDATE objects SET body = ?, rv = ?, uid = ?, expires_at = ? WHERE resource = ? AND namespace = ? AND name = ?"),
    remove: () => q("DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?"),
    logChange: () => q("INSERT INTO changes (rv, resource, namespace, name, type, body, prev_body, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
    changesAll: () => q("SELECT rv, type, resource, namespace, name, body, prev_body FROM changes WHERE rv > ? ORDER BY rv LIMIT ?"),
    changesOf: () => q("SELECT rv, type, resource, namespace, name, body, prev_body FROM changes WHERE resource = ? AND rv > ? ORDER BY rv LIMIT ?"),
    addOwner: () => q("INSERT OR IGNORE INTO owners (owner_uid, resource, namespace, name) VALUES (?, ?, ?, ?)"),
    removeOwners: () => q("DELETE FROM owners WHERE resource = ? AND namespace = ? AND name = ?"),
    dependents: () => q("SELECT resource, namespace, name FROM owners WHERE owner_uid = ?"),
    expired: () => q("SELECT resource, namespace, name, rv FROM objects WHERE expires_at IS NOT NULL AND expires_at < ? LIMIT ?"),
    // ts grows with rv: scanning down from the newest row stops at the first old enough one.
    newestBefore: () => q("SELECT rv FROM changes WHERE ts < ? ORDER BY rv DESC LIMIT 1"),
    deleteChanges: () => q("DELETE FROM changes WHERE rv <= ?"),
    begin: () => q("BEGIN IMMEDIATE"),
    commit: () => q("COMMIT"),
    rollback: () => q("ROLLBACK"),
    savepoint: () => q("SAVEPOINT op"),
    release: () => q("RELEASE op"),
    rollbackTo: () => q("ROLLBACK TO op"),
    setMeta: () => q("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
  });
}

/**
 * Statements compiled on first use: a small database (a lab workload cluster's) uses a third of
 * them, and each compiled statement holds native memory for the life of the connection.
 */
function lazy<T extends Record<string, () => Statement>>(makers: T): { [K in keyof T]: Statement } {
  const out = {} as { [K in keyof T]: Statement };
  for (const [name, make] of Object.entries(makers)) {
    Object.defineProperty(out, name, {
      configurable: true,
      enumerable: true,
      get() {
        const stmt = make();
        Object.defineProperty(out, name, { value: stmt, enumerable: true });
        return stmt;
      },
    });
  }
  return out;
}
