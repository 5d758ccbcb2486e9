/**
 * The in-process API client controllers use: the same verbs and admission as HTTP clients
 * (never raw SQL), addressed by apiVersion and kind. Reads are synchronous; writes resolve once
 * committed, so a controller can record intent and only then act on the outside world.
 * @module
 */
import { ApiError } from "../lib/api-errors.ts";
import type { KObject } from "../lib/kobject.ts";
import type { Resolved } from "../registry/registry.ts";
import type { RequestContext } from "../registry/rest/context.ts";
import { create } from "../registry/rest/create.ts";
import { deleteObject, type DeleteOptions } from "../registry/rest/delete.ts";
import type { RestDeps } from "../registry/rest/deps.ts";
import { get } from "../registry/rest/get.ts";
import { compileFilter } from "../registry/rest/filter.ts";
import { list, type ListOptions } from "../registry/rest/list.ts";
import { patch, type PatchType } from "../registry/rest/patch.ts";
import { update, type Subresource } from "../registry/rest/update.ts";
import { splitApiVersion } from "../registry/types.ts";
import type { InformerFactory } from "./informer.ts";
import { cloneData } from "../lib/clone.ts";

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** What a request body is after the wire: JSON data only (undefined members vanish). */
function wire<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function byNamespaceAndName(a: KObject, b: KObject): number {
  const an = a.metadata.namespace ?? "";
  const bn = b.metadata.namespace ?? "";
  if (an !== bn) return an < bn ? -1 : 1;
  const a1 = a.metadata.name ?? "";
  const b1 = b.metadata.name ?? "";
  return a1 < b1 ? -1 : a1 > b1 ? 1 : 0;
}

export class Client {
  constructor(
    readonly deps: RestDeps,
    /** The field manager and user name of this client's writes. */
    readonly manager: string,
    /**
     * Serve reads from these shared informer caches (as controller-runtime's cached client):
     * no SQL and no parsing, and selectors filter before anything is copied. `get`/`list` hand
     * out private copies; `getShared`/`listShared` the caches' own frozen objects, for read-only
     * hot paths. Caches are current as of the last commit, and writes resolve after it.
     */
    private readonly cache?: InformerFactory,
  ) {}

  #ctx(): RequestContext {
    return {
      user: { name: `system:controller:${this.manager}`, groups: ["system:masters"] },
      fieldManager: this.manager,
      fieldValidation: "Ignore",
      warnings: [],
    };
  }

  /** The served resource for an apiVersion/kind; throws 404 (NotFound) when not served. */
  resolve(apiVersion: string, kind: string): Resolved {
    const { group, version } = splitApiVersion(apiVersion);
    const r = this.deps.registry.byKind(group, version, kind);
    if (!r) throw new ApiError(404, "NotFound", `no matches for kind "${kind}" in version "${apiVersion}"`);
    return r;
  }

  served(apiVersion: string, kind: string): boolean {
    const { group, version } = splitApiVersion(apiVersion);
    return this.deps.registry.byKind(group, version, kind) !== undefined;
  }

  get(ref: ObjectRef): KObject | undefined {
    const inf = this.cache?.forKind(ref.apiVersion, ref.kind);
    if (inf) {
      const obj = inf.get(ref.namespace, ref.name);
      if (obj && inf.partial) return this.#getWhole(ref);
      return obj && cloneData(obj);
    }
    return this.#getStored(ref);
  }

  /**
   * Like `get`, but the cache's own deep-frozen object: never change it. (For a kind the cache
   * keeps partially, such as Secrets, a private copy read from the store.)
   */
  getShared(ref: ObjectRef): Readonly<KObject> | undefined {
    const inf = this.cache?.forKind(ref.apiVersion, ref.kind);
    if (!inf) return this.#getStored(ref);
    const obj = inf.get(ref.namespace, ref.name);
    return obj && inf.partial ? this.#getWhole(ref) : obj;
  }

  /** A stored object in the form the cache would hold it whole (no managedFields). */
  #getWhole(ref: ObjectRef): KObject | undefined {
    const obj = this.#getStored(ref);
    if (obj?.metadata.managedFields) delete obj.metadata.managedFields;
    return obj;
  }

  /**
   * The cache's frozen object even where the cache keeps it partially (a Secret without its
   * data): for checks on metadata, such as whether a resourceVersion is still current.
   */
  getCachedMetadata(ref: ObjectRef): Readonly<KObject> | undefined {
    const inf = this.cache?.forKind(ref.apiVersion, ref.kind);
    return inf ? inf.get(ref.namespace, ref.name) : this.#getStored(ref);
  }

  #getStored(ref: ObjectRef): KObject | undefined {
    try {
      return get(this.deps, this.resolve(ref.apiVersion, ref.kind), ref.namespace ?? "", ref.name);
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  }

  list(apiVersion: string, kind: string, namespace?: string, opts: ListOptions = {}): KObject[] {
    const shared = this.#listCached(apiVersion, kind, namespace, opts);
    if (shared && this.cache?.forKind(apiVersion, kind)?.partial) return shared as KObject[];
    return shared ? shared.map((o) => cloneData(o)) : list(this.deps, this.resolve(apiVersion, kind), namespace, opts).items;
  }

  /** Like `list`, but the cache's own deep-frozen objects: never change them. */
  listShared(apiVersion: string, kind: string, namespace?: string, opts: ListOptions = {}): readonly Readonly<KObject>[] {
    return this.#listCached(apiVersion, kind, namespace, opts) ?? list(this.deps, this.resolve(apiVersion, kind), namespace, opts).items;
  }

  #listCached(apiVersion: string, kind: string, namespace: string | undefined, opts: ListOptions): KObject[] | undefined {
    const inf = this.cache?.forKind(apiVersion, kind);
    if (!inf || opts.limit !== undefined || opts.continue !== undefined || opts.resourceVersion !== undefined) return undefined;
    const filter = compileFilter(inf.resolved, opts);
    const ns = inf.resolved.resource.namespaced ? namespace : undefined;
    const label = filter.requiredLabel;
    const items = label ? inf.byLabel(label.key, label.value).filter((o) => ns === undefined || o.metadata.namespace === ns) : inf.list(ns);
    const out = (filter.matchesAll ? items : items.filter(filter)).sort(byNamespaceAndName);
    if (!inf.partial) return out;
    // Selected on what the cache keeps, then read whole from the store (private copies).
    return out.flatMap((o) => this.#getWhole({ apiVersion, kind, namespace: o.metadata.namespace, name: o.metadata.name! }) ?? []);
  }

  async create(obj: KObject): Promise<KObject> {
    const r = this.resolve(obj.apiVersion!, obj.kind!);
    const out = create(this.deps, r, obj.metadata.namespace, wire(obj), this.#ctx());
    await this.deps.store.durable();
    return out;
  }

  /** PUT; obj.metadata.resourceVersion is the precondition (409 when stale). */
  async update(obj: KObject, subresource?: Subresource): Promise<KObject> {
    const r = this.resolve(obj.apiVersion!, obj.kind!);
    const out = update(this.deps, r, obj.metadata.namespace ?? "", obj.metadata.name!, wire(obj), this.#ctx(), subresource).object;
    await this.deps.store.durable();
    return out;
  }

  updateStatus(obj: KObject): Promise<KObject> {
    return this.update(obj, "status");
  }

  async patch(ref: ObjectRef, type: PatchType, body: unknown, opts: { subresource?: Subresource; force?: boolean } = {}): Promise<KObject> {
    const r = this.resolve(ref.apiVersion, ref.kind);
    const out = patch(this.deps, r, ref.namespace ?? "", ref.name, type, wire(body), this.#ctx(), opts).object;
    await this.deps.store.durable();
    return out;
  }

  /** Server-side apply of `obj` as this client's field manager. */
  apply(obj: KObject, opts: { force?: boolean; subresource?: Subresource } = {}): Promise<KObject> {
    return this.patch({ apiVersion: obj.apiVersion!, kind: obj.kind!, namespace: obj.metadata.namespace, name: obj.metadata.name! }, "apply", obj, {
      force: opts.force ?? true,
      subresource: opts.subresource,
    });
  }

  /** Deletes; resolves to false when the object was already gone. */
  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<boolean> {
    try {
      deleteObject(this.deps, this.resolve(ref.apiVersion, ref.kind), ref.namespace ?? "", ref.name, opts, this.#ctx());
    } catch (e) {
      if ((e as { code?: number }).code === 404) return false;
      throw e;
    }
    await this.deps.store.durable();
    return true;
  }
}

export function refOf(obj: KObject): ObjectRef {
  return { apiVersion: obj.apiVersion!, kind: obj.kind!, namespace: obj.metadata.namespace, name: obj.metadata.name! };
}
