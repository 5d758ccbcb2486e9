/**
 * Garbage collection by ownerReferences, as kube-controller-manager's GC does it:
 * - a dependent none of whose owners exists (by uid) is deleted (background; foreground when an
 *   owner went away in foreground), a dependent with some owners gone loses those references;
 * - an owner terminating with `foregroundDeletion` has its dependents deleted first and is
 *   released when no dependent with blockOwnerDeletion remains;
 * - an owner terminating with `orphan` has its references removed from the dependents, then is
 *   released.
 * @module
 */
import { log } from "../../lib/log.ts";
import type { KObject, OwnerReference } from "../../lib/kobject.ts";
import type { Change, ObjectKey } from "../../store/store.ts";
import { splitApiVersion, type Resource } from "../types.ts";
import { systemContext } from "../rest/context.ts";
import { deleteObject, FOREGROUND_FINALIZER, ORPHAN_FINALIZER, type PropagationPolicy } from "../rest/delete.ts";
import { parseRow, type RestDeps } from "../rest/deps.ts";
import { patch } from "../rest/patch.ts";
import { KeyQueue } from "./queue.ts";

const ctx = () => systemContext("generic-garbage-collector");

function keyString(k: ObjectKey): string {
  return `${k.resource}\u0000${k.namespace}\u0000${k.name}`;
}

function parseKey(s: string): ObjectKey {
  const [resource, namespace, name] = s.split("\u0000") as [string, string, string];
  return { resource, namespace, name };
}

export class GarbageCollector {
  readonly #dependents: KeyQueue;
  readonly #owners: KeyQueue;
  #unsubscribe: () => void;

  constructor(private readonly d: RestDeps) {
    this.#dependents = new KeyQueue("gc-dependents", (k) => this.#checkDependent(parseKey(k)));
    this.#owners = new KeyQueue("gc-owners", (k) => this.#checkOwner(parseKey(k)));
    this.#unsubscribe = d.store.subscribe((c) => this.#observe(c));
    // Catch up on what happened while the appliance was down.
    for (const r of d.registry.all()) {
      if (r.storage || r.hooks?.virtualCreate) continue;
      for (const row of d.store.list(r.qualified).rows) {
        const obj = parseRow(row);
        if (obj.metadata.ownerReferences?.length) this.#dependents.add(keyString(row));
        if (obj.metadata.deletionTimestamp) this.#owners.add(keyString(row));
      }
    }
  }

  /** Resolves once no housekeeping is pending (tests and graceful shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      await this.#dependents.idle();
      await this.#owners.idle();
      await new Promise((r) => setImmediate(r));
      if (this.#dependents.isIdle && this.#owners.isIdle) return;
    }
  }

  stop(): void {
    this.#unsubscribe();
    this.#dependents.stop();
    this.#owners.stop();
  }

  #observe(c: Change): void {
    const key = { resource: c.resource, namespace: c.namespace, name: c.name };
    const obj = c.object;
    if (c.type === "DELETED") {
      const uid = obj.metadata.uid;
      if (uid) for (const dep of this.d.store.dependents(uid)) this.#dependents.add(keyString(dep));
      // A foreground owner waiting for this dependent may now be released.
      for (const ref of obj.metadata.ownerReferences ?? []) {
        const row = this.#ownerRow(ref, c.namespace);
        if (row) this.#owners.add(keyString(row));
      }
      return;
    }
    if (obj.metadata.ownerReferences?.length) {
      const before = c.prev?.metadata.ownerReferences;
      if (c.type === "ADDED" || JSON.stringify(before) !== JSON.stringify(obj.metadata.ownerReferences)) {
        this.#dependents.add(keyString(key));
      }
    }
    const fin = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp && (fin.includes(FOREGROUND_FINALIZER) || fin.includes(ORPHAN_FINALIZER))) {
      this.#owners.add(keyString(key));
    }
  }

  #resourceOf(qualified: string): Resource | undefined {
    return this.d.registry.byQualified(qualified);
  }

  #resolved(r: Resource) {
    const version = r.version(r.storageVersion)!;
    return { resource: r, version };
  }

  #load(k: ObjectKey): { r: Resource; obj: KObject } | undefined {
    const r = this.#resourceOf(k.resource);
    const row = this.d.store.get(k.resource, k.namespace, k.name);
    if (!r || !row) return undefined;
    return { r, obj: parseRow(row) };
  }

  /**
   * The stored owner a reference names: found by its kind and name (in the dependent's namespace,
   * or cluster-scoped) and only if the uid matches — a re-created namesake is not the owner.
   */
  #ownerRow(ref: OwnerReference, namespace: string) {
    const { group } = splitApiVersion(ref.apiVersion ?? "");
    const r = this.d.registry.byGroupKind(group, ref.kind);
    if (!r) return undefined;
    const row = this.d.store.get(r.qualified, r.namespaced ? namespace : "", ref.name);
    return row && row.uid === ref.uid ? row : undefined;
  }

  #servesOwnerKind(ref: OwnerReference): boolean {
    return Boolean(this.d.registry.byGroupKind(splitApiVersion(ref.apiVersion ?? "").group, ref.kind));
  }

  #owner(ref: OwnerReference, namespace: string): KObject | undefined {
    const row = this.#ownerRow(ref, namespace);
    return row ? parseRow(row) : undefined;
  }

  #checkDependent(k: ObjectKey): void {
    const loaded = this.#load(k);
    if (!loaded) return;
    const { r, obj } = loaded;
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const absent: OwnerReference[] = [];
    let foregroundOwner = false;
    let solid = 0;
    for (const ref of refs) {
      // An owner of a kind this server does not serve cannot be proven gone: kept, as upstream's
      // garbage collector keeps (and retries) dependents whose owner it cannot map.
      if (!this.#servesOwnerKind(ref)) {
        solid++;
        continue;
      }
      const owner = this.#owner(ref, k.namespace);
      if (!owner) absent.push(ref);
      else if (owner.metadata.deletionTimestamp && owner.metadata.finalizers?.includes(FOREGROUND_FINALIZER)) foregroundOwner = true;
      else solid++;
    }
    if (solid === 0 && (absent.length > 0 || foregroundOwner)) {
      if (obj.metadata.deletionTimestamp) return;
      const policy: PropagationPolicy = foregroundOwner ? "Foreground" : "Background";
      log.debug({ controller: "garbage-collector", object: `${k.resource}/${k.namespace}/${k.name}`, policy }, "deleting dependent whose owners are gone");
      this.#delete(r, k, policy, obj.metadata.uid);
      return;
    }
    if (absent.length > 0) {
      const gone = new Set(absent.map((a) => a.uid));
      this.#setOwnerReferences(r, k, refs.filter((ref) => !gone.has(ref.uid)));
    }
  }

  #checkOwner(k: ObjectKey): void {
    const loaded = this.#load(k);
    if (!loaded || !loaded.obj.metadata.deletionTimestamp) return;
    const { r, obj } = loaded;
    const uid = obj.metadata.uid!;
    const fin = obj.metadata.finalizers ?? [];
    const deps = this.d.store.dependents(uid);
    if (fin.includes(ORPHAN_FINALIZER)) {
      for (const dep of deps) {
        const dl = this.#load(dep);
        if (!dl) continue;
        const refs = (dl.obj.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== uid);
        this.#setOwnerReferences(dl.r, dep, refs);
      }
      this.#removeFinalizer(r, k, ORPHAN_FINALIZER);
      return;
    }
    if (!fin.includes(FOREGROUND_FINALIZER)) return;
    let blocking = 0;
    for (const dep of deps) {
      const dl = this.#load(dep);
      if (!dl) continue;
      const ref = dl.obj.metadata.ownerReferences?.find((o) => o.uid === uid);
      if (ref?.blockOwnerDeletion) blocking++;
      if (!dl.obj.metadata.deletionTimestamp) this.#delete(dl.r, dep, "Foreground", dl.obj.metadata.uid);
    }
    if (blocking === 0) this.#removeFinalizer(r, k, FOREGROUND_FINALIZER);
    // Otherwise the DELETED events of the dependents re-check this owner.
  }

  #delete(r: Resource, k: ObjectKey, policy: PropagationPolicy, uid: string | undefined): void {
    try {
      deleteObject(this.d, this.#resolved(r), k.namespace, k.name, { propagationPolicy: policy, preconditions: { uid } }, ctx());
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === 404 || code === 409) return;
      throw e;
    }
  }

  #setOwnerReferences(r: Resource, k: ObjectKey, refs: OwnerReference[]): void {
    try {
      patch(this.d, this.#resolved(r), k.namespace, k.name, "merge", { metadata: { ownerReferences: refs.length ? refs : null } }, ctx());
    } catch (e) {
      if ((e as { code?: number }).code === 404) return;
      throw e;
    }
  }

  #removeFinalizer(r: Resource, k: ObjectKey, finalizer: string): void {
    const loaded = this.#load(k);
    if (!loaded) return;
    const remaining = (loaded.obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    try {
      patch(this.d, this.#resolved(r), k.namespace, k.name, "merge", {
        metadata: { finalizers: remaining.length ? remaining : null, resourceVersion: loaded.obj.metadata.resourceVersion },
      }, ctx());
    } catch (e) {
      if ((e as { code?: number }).code === 404) return;
      throw e;
    }
  }
}
