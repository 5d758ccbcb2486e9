/**
 * Informers: an in-memory cache of one resource in one served version, filled from the store
 * and kept current by its committed changes (no polling), with indexes and event handlers.
 * Objects handed out are shared: treat them as read-only (clone before changing).
 * @module
 */
import type { KObject } from "../lib/kobject.ts";
import type { Resolved } from "../registry/registry.ts";
import { toVersion } from "../registry/rest/codec.ts";
import { parseRow, type RestDeps } from "../registry/rest/deps.ts";
import type { Change } from "../store/store.ts";
import { registerMemoryReporter, type MemoryReport } from "../daemon/memory-reporters.ts";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";
export type InformerHandler = (type: EventType, obj: KObject, old: KObject | undefined) => void;
export type IndexFunc = (obj: KObject) => string[];

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function keyOf(obj: KObject): string {
  return objectKey(obj.metadata.namespace, obj.metadata.name!);
}

/**
 * Resources whose informers keep only what the controllers select and map on, as
 * controller-runtime's metadata-only caches: a Secret's `data` is read from the store when a
 * controller asks for the Secret (Client does), so thousands of clusters' keys and machine
 * configs are not held twice.
 */
const PARTIAL: Record<string, (o: KObject) => KObject> = {
  secrets: (o) => {
    if (!("data" in o) && !("stringData" in o)) return o;
    const { data: _d, stringData: _s, ...rest } = o as KObject & { data?: unknown; stringData?: unknown };
    return rest as KObject;
  },
};

export class Informer {
  #cache = new Map<string, KObject>();
  /** Set when cached objects lack fields of the stored ones (see PARTIAL): read those from the store. */
  readonly partial: ((o: KObject) => KObject) | undefined;
  #handlers = new Set<InformerHandler>();
  #indexers = new Map<string, IndexFunc>();
  #indexes = new Map<string, Map<string, Set<string>>>();
  #unsubscribe?: () => void;

  constructor(
    private readonly d: RestDeps,
    readonly resolved: Resolved,
  ) {
    this.partial = resolved.resource.group === "" ? PARTIAL[resolved.resource.plural] : undefined;
  }

  get resourceKey(): string {
    return this.resolved.resource.qualified;
  }

  /** Loads the current state and follows committed changes from here on. */
  start(): void {
    if (this.#unsubscribe) return;
    const { resource } = this.resolved;
    for (const row of this.d.store.list(resource.qualified).rows) this.#put(this.#present(parseRow(row)));
    this.#unsubscribe = this.d.store.subscribe((c) => this.#apply(c));
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  /** Handlers get the current contents first (as ADDED), then every change. */
  addHandler(handler: InformerHandler): () => void {
    this.#handlers.add(handler);
    for (const obj of this.#cache.values()) handler("ADDED", obj, undefined);
    return () => this.#handlers.delete(handler);
  }

  addIndex(name: string, fn: IndexFunc): void {
    this.#indexers.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.#indexes.set(name, index);
    for (const [key, obj] of this.#cache) for (const v of fn(obj)) addTo(index, v, key);
  }

  get(namespace: string | undefined, name: string): KObject | undefined {
    return this.#cache.get(objectKey(this.resolved.resource.namespaced ? namespace : undefined, name));
  }

  list(namespace?: string): KObject[] {
    const all = [...this.#cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  byIndex(name: string, value: string): KObject[] {
    const keys = this.#indexes.get(name)?.get(value);
    if (!keys) return [];
    return [...keys].map((k) => this.#cache.get(k)!).filter(Boolean);
  }

  /** Objects whose label `key` is `value`, from an index made on first use. */
  byLabel(key: string, value: string): KObject[] {
    const name = `label:${key}`;
    if (!this.#indexers.has(name)) this.addIndex(name, (o) => (o.metadata.labels?.[key] !== undefined ? [o.metadata.labels[key]!] : []));
    return this.byIndex(name, value);
  }

  get size(): number {
    return this.#cache.size;
  }

  /**
   * The cached form of a stored object: in this informer's version, without managedFields (no
   * controller reads them, and writes keep the stored ones, as upstream's caches strip them),
   * and frozen — shared with every reader, so a reader changing it fails loudly instead of
   * corrupting the cache. `stored` must be this informer's own copy.
   */
  #present(stored: KObject): KObject {
    let obj = toVersion(this.resolved.resource, stored, this.resolved.version.name);
    if (this.partial) obj = this.partial(obj);
    if (obj.metadata.managedFields) {
      const { managedFields: _, ...metadata } = obj.metadata;
      obj = { ...obj, metadata };
    }
    return deepFreeze(obj);
  }

  #apply(c: Change): void {
    if (c.resource !== this.resolved.resource.qualified) return;
    const key = objectKey(c.namespace || undefined, c.name);
    const old = this.#cache.get(key);
    if (c.type === "DELETED") {
      if (!old) return;
      this.#remove(key, old);
      const last = this.#present(JSON.parse(c.body) as KObject);
      for (const h of this.#handlers) h("DELETED", last, old);
      return;
    }
    // Parsed afresh (native, cheaper than a deep copy of the shared c.object): the informer's own copy.
    const obj = this.#present(JSON.parse(c.body) as KObject);
    if (old) this.#remove(key, old);
    this.#put(obj);
    const type: EventType = old ? "MODIFIED" : "ADDED";
    for (const h of this.#handlers) h(type, obj, old);
  }

  #put(obj: KObject): void {
    const key = keyOf(obj);
    this.#cache.set(key, obj);
    for (const [name, fn] of this.#indexers) for (const v of fn(obj)) addTo(this.#indexes.get(name)!, v, key);
  }

  #remove(key: string, obj: KObject): void {
    this.#cache.delete(key);
    for (const [name, fn] of this.#indexers) {
      const index = this.#indexes.get(name)!;
      for (const v of fn(obj)) {
        const set = index.get(v);
        set?.delete(key);
        if (set && set.size === 0) index.delete(v);
      }
    }
  }
}

/**
 * Arrays are frozen only under `bun test`: JavaScriptCore keeps a frozen array in a sparse map,
 * twice the memory and a third slower to read — tens of MiB across a thousand clusters' caches —
 * while the tests already catch a controller that writes into a shared array.
 */
const FREEZE_ARRAYS = process.env.NODE_ENV === "test";

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    if (FREEZE_ARRAYS || !Array.isArray(v)) Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

function addTo(index: Map<string, Set<string>>, value: string, key: string): void {
  let set = index.get(value);
  if (!set) index.set(value, (set = new Set()));
  set.add(key);
}

/** One informer per resource and version, shared by the controllers that watch it. */
export class InformerFactory {
  #informers = new Map<string, Informer>();
  readonly #unregister: () => void;
  constructor(private readonly d: RestDeps) {
    this.#unregister = registerMemoryReporter("informers", () => this.#report());
  }

  #report(): MemoryReport {
    const out: MemoryReport = {};
    for (const [key, inf] of this.#informers) {
      let bytes = 0;
      for (const o of inf.list()) bytes += JSON.stringify(o).length;
      out[key] = `${inf.size} objects, ${(bytes / 1048576).toFixed(2)} MiB as JSON`;
    }
    return out;
  }

  /** The informer for `apiVersion`/`kind`; undefined when the kind is not served (yet). */
  forKind(apiVersion: string, kind: string): Informer | undefined {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const resolved = this.d.registry.byKind(group!, version!, kind);
    if (!resolved) return undefined;
    const key = `${resolved.resource.qualified}@${resolved.version.name}`;
    let inf = this.#informers.get(key);
    if (!inf) {
      inf = new Informer(this.d, resolved);
      inf.start();
      this.#informers.set(key, inf);
    }
    return inf;
  }

  /** `<resource>@<version>` of every informer started so far. */
  keys(): string[] {
    return [...this.#informers.keys()];
  }

  stop(): void {
    for (const inf of this.#informers.values()) inf.stop();
    this.#informers.clear();
    this.#unregister();
  }
}
