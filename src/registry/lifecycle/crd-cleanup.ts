/**
 * CRD deletion: the objects of a terminating CRD are deleted, then its cleanup finalizer is
 * removed, which removes the CRD and stops serving it.
 * @module
 */
import type { Change } from "../../store/store.ts";
import { CRD_CLEANUP_FINALIZER } from "../builtin/crd.ts";
import type { CRDObject } from "../crd/to-resource.ts";
import { CRD_RESOURCE } from "../registry.ts";
import { systemContext } from "../rest/context.ts";
import { deleteObject } from "../rest/delete.ts";
import { parseRow, type RestDeps } from "../rest/deps.ts";
import { patch } from "../rest/patch.ts";
import { KeyQueue } from "./queue.ts";

const ctx = () => systemContext("apiextensions-crd-finalizer");

export class CRDCleanup {
  readonly #queue: KeyQueue;
  readonly #unsubscribe: () => void;
  /** store key prefix → CRD name, for terminating CRDs */
  readonly #terminating = new Map<string, string>();

  constructor(private readonly d: RestDeps) {
    this.#queue = new KeyQueue("crd-cleanup", (name) => this.#sync(name));
    this.#unsubscribe = d.store.subscribe((c) => this.#observe(c));
    for (const row of d.store.list(CRD_RESOURCE).rows) this.#track(parseRow(row) as CRDObject);
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  stop(): void {
    this.#unsubscribe();
    this.#queue.stop();
  }

  #track(crd: CRDObject): void {
    if (!crd.metadata.deletionTimestamp || !crd.metadata.finalizers?.includes(CRD_CLEANUP_FINALIZER)) return;
    this.#terminating.set(`${crd.spec.names.plural}.${crd.spec.group}`, crd.metadata.name!);
    this.#queue.add(crd.metadata.name!);
  }

  #observe(c: Change): void {
    if (c.resource === CRD_RESOURCE) {
      if (c.type === "DELETED") {
        for (const [k, v] of this.#terminating) if (v === c.name) this.#terminating.delete(k);
      } else this.#track(c.object as CRDObject);
      return;
    }
    if (c.type === "DELETED") {
      const crd = this.#terminating.get(c.resource);
      if (crd) this.#queue.add(crd);
    }
  }

  #sync(name: string): void {
    const row = this.d.store.get(CRD_RESOURCE, "", name);
    if (!row) return;
    const crd = parseRow(row) as CRDObject;
    if (!crd.metadata.deletionTimestamp) return;
    const qualified = `${crd.spec.names.plural}.${crd.spec.group}`;
    const served = this.d.registry.byQualified(qualified);
    const rows = this.d.store.list(qualified).rows;
    if (served) {
      const resolved = { resource: served, version: served.version(served.storageVersion)! };
      for (const r of rows) {
        const obj = parseRow(r);
        if (obj.metadata.deletionTimestamp) continue;
        try {
          deleteObject(this.d, resolved, r.namespace, r.name, { propagationPolicy: "Background" }, ctx());
        } catch (e) {
          if ((e as { code?: number }).code !== 404) throw e;
        }
      }
    }
    if (this.d.store.count(qualified) > 0) return;
    const crdRes = this.d.registry.byQualified(CRD_RESOURCE)!;
    const remaining = (crd.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
    patch(this.d, { resource: crdRes, version: crdRes.version("v1")! }, "", name, "merge", {
      metadata: { finalizers: remaining.length ? remaining : null, resourceVersion: crd.metadata.resourceVersion },
    }, ctx());
  }
}
