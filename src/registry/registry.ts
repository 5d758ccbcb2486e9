/**
 * The set of served resources: built-in kinds plus every established CRD in the store, kept
 * current by a store listener so a CRD is served (and unserved) in the same tick it is written.
 * @module
 */
import type { KObject } from "../lib/kobject.ts";
import type { ObjectStore } from "../store/store.ts";
import { configMapDefinition } from "./builtin/configmap.ts";
import { crdDefinition } from "./builtin/crd.ts";
import { eventDefinition, eventsV1Definition } from "./builtin/event.ts";
import { leaseDefinition } from "./builtin/lease.ts";
import { namespaceDefinition } from "./builtin/namespace.ts";
import { secretDefinition } from "./builtin/secret.ts";
import { serviceDefinition } from "./builtin/service.ts";
import { selfSubjectAccessReviewDefinition } from "./builtin/access-review.ts";
import { conditionOf, crdToResource, type CRDObject } from "./crd/to-resource.ts";
import { makeResource, type KindHooks, type Resource, type ResourceDefinition, type ResourceVersion } from "./types.ts";

export const CRD_RESOURCE = "customresourcedefinitions.apiextensions.k8s.io";

export interface Resolved {
  resource: Resource;
  version: ResourceVersion;
}

type Listener = () => void;

/**
 * Built-in kinds are the same objects in every Registry (the lab runs one per workload cluster):
 * their resources and resolved versions are built once per definition, not once per registry.
 */
const sharedResources = new WeakMap<ResourceDefinition, Resource>();
const sharedResolved = new WeakMap<Resource, Map<string, Resolved>>();

function builtinResource(def: ResourceDefinition): Resource {
  let r = sharedResources.get(def);
  if (!r) sharedResources.set(def, (r = makeResource(def)));
  return r;
}

function resolvedOf(resource: Resource, version: ResourceVersion): Resolved {
  let byVersion = sharedResolved.get(resource);
  if (!byVersion) sharedResolved.set(resource, (byVersion = new Map()));
  let r = byVersion.get(version.name);
  if (!r) byVersion.set(version.name, (r = { resource, version }));
  return r;
}

function isTerminating(ns: KObject): boolean {
  return Boolean(ns.metadata.deletionTimestamp) || (ns.status as { phase?: string } | undefined)?.phase === "Terminating";
}

export class Registry {
  readonly #builtins: Resource[];
  #custom = new Map<string, Resource>();
  #byPath = new Map<string, Resolved>();
  #listeners = new Set<Listener>();
  #generation = 0;
  /** Namespace name → terminating? (every create into a namespace checks it). */
  #namespaces = new Map<string, boolean>();
  #terminatingCRDs = new Set<string>();

  /** Behaviour of the kinds the appliance ships, by CRD name (conversion, admission). */
  readonly #bundledHooks: Map<string, KindHooks>;
  readonly #lookups = new Map<string, unknown>();

  constructor(store: ObjectStore, bundledHooks: Map<string, KindHooks> = new Map(), extraBuiltins: ResourceDefinition[] = []) {
    this.#bundledHooks = bundledHooks;
    this.#builtins = [
      ...extraBuiltins,
      namespaceDefinition,
      configMapDefinition,
      secretDefinition,
      serviceDefinition,
      eventDefinition,
      eventsV1Definition,
      leaseDefinition,
      crdDefinition((crd) => this.nameConflict(crd)),
      selfSubjectAccessReviewDefinition,
    ].map(builtinResource);
    for (const row of store.list(CRD_RESOURCE).rows) this.#applyCRD(JSON.parse(row.body) as CRDObject);
    for (const row of store.list("namespaces").rows) this.#namespaces.set(row.name, isTerminating(JSON.parse(row.body) as KObject));
    this.#reindex();
    // Observed as writes complete (before COMMIT): a CRD is served, and a namespace's state
    // known, to the very next request.
    store.observe((change) => {
      if (change.resource === "namespaces") {
        if (change.type === "DELETED") this.#namespaces.delete(change.name);
        else this.#namespaces.set(change.name, isTerminating(change.object));
        return;
      }
      if (change.resource !== CRD_RESOURCE) return;
      if (change.type === "DELETED") {
        this.#custom.delete(change.name);
        this.#terminatingCRDs.delete(change.name);
      } else this.#applyCRD(change.object as CRDObject);
      this.#reindex();
    });
  }

  /** Bumped whenever the served set changes (OpenAPI and discovery caches key on it). */
  get generation(): number {
    return this.#generation;
  }

  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every served resource, built-ins first. */
  all(): Resource[] {
    return [...this.#builtins, ...this.#custom.values()];
  }

  resolve(group: string, version: string, plural: string): Resolved | undefined {
    return this.#byPath.get(`${group}/${version}/${plural}`);
  }

  byKind(group: string, version: string, kind: string): Resolved | undefined {
    return this.#memo(`kind\0${group}\0${version}\0${kind}`, () => {
      for (const r of this.all()) {
        if (r.group !== group || r.kind !== kind) continue;
        const v = r.version(version);
        if (v?.served) return { resource: r, version: v };
      }
      return undefined;
    });
  }

  /** A served resource of this group and kind, whatever the version (owner references). */
  byGroupKind(group: string, kind: string): Resource | undefined {
    return this.#memo(`groupkind\0${group}\0${kind}`, () => this.all().find((r) => r.group === group && r.kind === kind && !r.storage && !r.hooks?.virtualCreate));
  }

  /** The resource stored under a store key prefix (`configmaps`, `clusters.cluster.x-k8s.io`). */
  byQualified(qualified: string): Resource | undefined {
    return this.#memo(`qualified\0${qualified}`, () => this.all().find((r) => r.qualified === qualified && !r.storage));
  }

  /** Lookups by kind run on every controller read: answered from a map until the served set changes. */
  #memo<T>(key: string, find: () => T): T {
    if (this.#lookups.has(key)) return this.#lookups.get(key) as T;
    const found = find();
    this.#lookups.set(key, found);
    return found;
  }

  /** Whether the CRD defining `resource` is being deleted (its objects may not be created). */
  crdTerminating(resource: Resource): boolean {
    return resource.crdName !== undefined && this.#terminatingCRDs.has(resource.crdName);
  }

  /** undefined: no such namespace; otherwise whether it is terminating. */
  namespaceTerminating(name: string): boolean | undefined {
    return this.#namespaces.get(name);
  }

  /** A name of `crd` already taken in its group by another resource, as a message; else undefined. */
  nameConflict(crd: CRDObject): string | undefined {
    const names = crd.spec.names;
    const mine = new Set([names.plural, names.singular || names.kind.toLowerCase(), ...(names.shortNames ?? [])]);
    for (const r of this.all()) {
      if (r.group !== crd.spec.group || r.crdName === crd.metadata.name) continue;
      for (const n of [r.plural, r.singular, ...r.shortNames]) {
        if (mine.has(n)) return `"${n}" is already in use`;
      }
      if (r.kind === names.kind) return `"${names.kind}" is already in use`;
      if (r.listKind === (names.listKind || `${names.kind}List`)) return `"${r.listKind}" is already in use`;
    }
    return undefined;
  }

  #applyCRD(crd: CRDObject): void {
    const established = conditionOf(crd, "Established")?.status === "True";
    const name = crd.metadata.name!;
    if (crd.metadata.deletionTimestamp) this.#terminatingCRDs.add(name);
    else this.#terminatingCRDs.delete(name);
    if (!established) {
      this.#custom.delete(name);
      return;
    }
    try {
      const def = crdToResource(crd);
      const hooks = this.#bundledHooks.get(name);
      this.#custom.set(name, makeResource(hooks ? { ...def, hooks } : def));
    } catch {
      this.#custom.delete(name);
    }
  }

  #reindex(): void {
    const next = new Map<string, Resolved>();
    for (const r of this.all()) {
      for (const v of r.versions) {
        if (v.served) next.set(`${r.group}/${v.name}/${r.plural}`, resolvedOf(r, v));
      }
    }
    this.#byPath = next;
    this.#lookups.clear();
    this.#generation++;
    for (const l of this.#listeners) l();
  }
}
