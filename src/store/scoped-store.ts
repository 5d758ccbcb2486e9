/**
 * Many small stores in one database: each scope's keys live under `<scope>|<resource>`, with the
 * shared revision (resourceVersions stay unique and increasing within every scope). The lab's
 * workload clusters use it — one SQLite connection for all of them instead of one each, which
 * cost about 180 KiB per cluster (prepared statements, page cache, lookaside).
 * @module
 */
import type { KObject } from "../lib/kobject.ts";
import { Change, type ChangeListener, type ListOptions, type ListResult, type ObjectKey, type ObjectStore, type Store, type StoredRow, type WriteOptions } from "./store.ts";

const SEP = "|";

export class StoreScopes {
  readonly #subscribers = new Map<string, Set<ChangeListener>>();
  readonly #observers = new Map<string, Set<ChangeListener>>();

  constructor(readonly base: Store) {
    base.subscribe((c) => this.#route(this.#subscribers, c));
    base.observe((c) => this.#route(this.#observers, c));
  }

  /** The store of one scope (a name without `|`). */
  scope(id: string): ObjectStore {
    if (!id || id.includes(SEP)) throw new Error(`store scope ${JSON.stringify(id)}: must be non-empty and without "${SEP}"`);
    return new ScopedStore(this, id);
  }

  /** Whether a scope holds anything. */
  has(id: string): boolean {
    const { lo, hi } = range(id);
    return Boolean(this.base.database.query("SELECT 1 FROM objects WHERE resource >= ? AND resource < ? LIMIT 1").get(lo, hi));
  }

  /** Removes a scope's objects, owner links and log (its cluster is gone: nobody watches it). */
  drop(id: string): void {
    const { lo, hi } = range(id);
    this.base.transaction(() => {
      for (const table of ["objects", "owners", "changes"]) this.base.database.query(`DELETE FROM ${table} WHERE resource >= ? AND resource < ?`).run(lo, hi);
    });
  }

  listen(kind: "subscribe" | "observe", id: string, listener: ChangeListener): () => void {
    const map = kind === "subscribe" ? this.#subscribers : this.#observers;
    let set = map.get(id);
    if (!set) map.set(id, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (!set.size) map.delete(id);
    };
  }

  #route(map: Map<string, Set<ChangeListener>>, c: Change): void {
    const at = c.resource.indexOf(SEP);
    if (at < 0) return;
    const listeners = map.get(c.resource.slice(0, at));
    if (!listeners?.size) return;
    const local = unscoped(c, c.resource.slice(at + 1));
    for (const l of listeners) l(local);
  }
}

/** The keys of a scope sort between `<scope>|` and `<scope>}` ("}" follows "|"). */
function range(id: string): { lo: string; hi: string } {
  return { lo: `${id}${SEP}`, hi: `${id}}` };
}

function unscoped(c: Change, resource: string): Change {
  return new Change(c.rv, c.type, resource, c.namespace, c.name, c.body, c.prevBody);
}

class ScopedStore implements ObjectStore {
  readonly #prefix: string;

  constructor(
    private readonly scopes: StoreScopes,
    private readonly id: string,
  ) {
    this.#prefix = `${id}${SEP}`;
  }

  get #base(): Store {
    return this.scopes.base;
  }

  #r(resource: string): string {
    return this.#prefix + resource;
  }

  #mine<T extends { resource: string }>(rows: T[]): T[] {
    const out: T[] = [];
    for (const r of rows) if (r.resource.startsWith(this.#prefix)) out.push({ ...r, resource: r.resource.slice(this.#prefix.length) });
    return out;
  }

  get revision(): number {
    return this.#base.revision;
  }

  get compactedRevision(): number {
    return this.#base.compactedRevision;
  }

  get(resource: string, namespace: string, name: string): StoredRow | undefined {
    const row = this.#base.get(this.#r(resource), namespace, name);
    return row && { ...row, resource };
  }

  count(resource: string, namespace?: string): number {
    return this.#base.count(this.#r(resource), namespace);
  }

  countAfter(resource: string, namespace: string | undefined, after: { namespace: string; name: string }): number {
    return this.#base.countAfter(this.#r(resource), namespace, after);
  }

  list(resource: string, opts?: ListOptions): ListResult {
    const out = this.#base.list(this.#r(resource), opts);
    return { ...out, rows: out.rows.map((r) => ({ ...r, resource })) };
  }

  create(resource: string, obj: KObject, opts?: WriteOptions): Change {
    return unscoped(this.#base.create(this.#r(resource), obj, opts), resource);
  }

  update(resource: string, obj: KObject, expectedRv: number, opts?: WriteOptions): Change {
    return unscoped(this.#base.update(this.#r(resource), obj, expectedRv, opts), resource);
  }

  delete(resource: string, namespace: string, name: string, expectedRv?: number, finalState?: KObject): Change {
    return unscoped(this.#base.delete(this.#r(resource), namespace, name, expectedRv, finalState), resource);
  }

  changesSince(after: number, resource?: string, batch?: number): Change[] {
    if (resource === undefined) throw new Error("a scoped store replays one resource at a time");
    return this.#base.changesSince(after, this.#r(resource), batch).map((c) => unscoped(c, resource));
  }

  subscribe(listener: ChangeListener): () => void {
    return this.scopes.listen("subscribe", this.id, listener);
  }

  observe(observer: ChangeListener): () => void {
    return this.scopes.listen("observe", this.id, observer);
  }

  dependents(ownerUid: string): ObjectKey[] {
    return this.#mine(this.#base.dependents(ownerUid));
  }

  expired(nowMs: number, limit?: number): (ObjectKey & { rv: number })[] {
    return this.#mine(this.#base.expired(nowMs, limit));
  }

  transaction<T>(fn: () => T): T {
    return this.#base.transaction(fn);
  }

  durable(): Promise<void> {
    return this.#base.durable();
  }

  commit(): void {
    this.#base.commit();
  }
}
