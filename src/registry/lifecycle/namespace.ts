/**
 * Namespace deletion: a terminating namespace has its contents deleted (every namespaced
 * resource, built-in or custom), then its `kubernetes` spec finalizer removed, which removes
 * it. Conditions on the namespace say what is still holding it.
 * @module
 */
import { nowRfc3339, type KObject } from "../../lib/kobject.ts";
import type { Change } from "../../store/store.ts";
import { systemContext } from "../rest/context.ts";
import { deleteObject } from "../rest/delete.ts";
import { parseRow, type RestDeps } from "../rest/deps.ts";
import { applyUpdate } from "../rest/update.ts";
import { KeyQueue } from "./queue.ts";
import { cloneData } from "../../lib/clone.ts";

const ctx = () => systemContext("namespace-controller");

interface Condition {
  type: string;
  status: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export class NamespaceController {
  readonly #queue: KeyQueue;
  readonly #unsubscribe: () => void;

  constructor(private readonly d: RestDeps) {
    this.#queue = new KeyQueue("namespace-controller", (ns) => this.#sync(ns));
    this.#unsubscribe = d.store.subscribe((c) => this.#observe(c));
    for (const row of d.store.list("namespaces").rows) {
      if (parseRow(row).metadata.deletionTimestamp) this.#queue.add(row.name);
    }
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  stop(): void {
    this.#unsubscribe();
    this.#queue.stop();
  }

  #observe(c: Change): void {
    if (c.resource === "namespaces") {
      if (c.type !== "DELETED" && c.object.metadata.deletionTimestamp) this.#queue.add(c.name);
      return;
    }
    if (c.namespace && (c.type === "DELETED" || c.object.metadata.deletionTimestamp)) {
      const ns = this.d.store.get("namespaces", "", c.namespace);
      if (ns && parseRow(ns).metadata.deletionTimestamp) this.#queue.add(c.namespace);
    }
  }

  #sync(name: string): void {
    const row = this.d.store.get("namespaces", "", name);
    if (!row) return;
    const ns = parseRow(row);
    if (!ns.metadata.deletionTimestamp) return;
    const remaining = new Map<string, number>();
    const finalizers = new Map<string, number>();
    for (const r of this.d.registry.all()) {
      if (!r.namespaced || r.storage || r.hooks?.virtualCreate) continue;
      const resolved = { resource: r, version: r.version(r.storageVersion)! };
      for (const obj of this.d.store.list(r.qualified, { namespace: name }).rows.map(parseRow)) {
        remaining.set(r.displayName, (remaining.get(r.displayName) ?? 0) + 1);
        for (const f of obj.metadata.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
        if (obj.metadata.deletionTimestamp) continue;
        try {
          deleteObject(this.d, resolved, name, obj.metadata.name!, { propagationPolicy: "Background" }, ctx());
        } catch (e) {
          if ((e as { code?: number }).code !== 404) throw e;
        }
      }
    }
    // Re-count after the deletions: objects without finalizers are gone now.
    let left = 0;
    for (const r of this.d.registry.all()) {
      if (!r.namespaced || r.storage || r.hooks?.virtualCreate) continue;
      left += this.d.store.count(r.qualified, name);
    }
    const resolvedNs = { resource: this.d.registry.byQualified("namespaces")!, version: this.d.registry.byQualified("namespaces")!.version("v1")! };
    if (left === 0) {
      const fresh = parseRow(this.d.store.get("namespaces", "", name)!);
      const candidate = cloneData(fresh);
      (candidate.spec as Record<string, unknown>) = { ...(candidate.spec as object), finalizers: [] };
      applyUpdate(this.d, resolvedNs, fresh, candidate, ctx(), { subresource: "finalize" });
      return;
    }
    this.#setConditions(resolvedNs, name, remaining, finalizers);
  }

  #setConditions(resolvedNs: Parameters<typeof applyUpdate>[1], name: string, remaining: Map<string, number>, finalizers: Map<string, number>): void {
    const row = this.d.store.get("namespaces", "", name);
    if (!row) return;
    const ns = parseRow(row);
    const now = nowRfc3339(this.d.now());
    const content = [...remaining].map(([r, n]) => `${r} has ${n} resource instances`).join(", ");
    const fins = [...finalizers].map(([f, n]) => `${f} in ${n} resource instances`).join(", ");
    const conditions: Condition[] = [
      { type: "NamespaceContentRemaining", status: "True", lastTransitionTime: now, reason: "SomeResourcesRemain", message: `Some resources are remaining: ${content}` },
      fins
        ? { type: "NamespaceFinalizersRemaining", status: "True", lastTransitionTime: now, reason: "SomeFinalizersRemain", message: `Some content in the namespace has finalizers remaining: ${fins}` }
        : { type: "NamespaceFinalizersRemaining", status: "False", lastTransitionTime: now, reason: "ContentHasNoFinalizers", message: "All content-preserving finalizers finished" },
    ];
    const old = ((ns.status as { conditions?: Condition[] } | undefined)?.conditions ?? []);
    const same = conditions.every((c) => old.some((o) => o.type === c.type && o.status === c.status && o.message === c.message));
    if (same) return;
    const candidate: KObject = { ...cloneData(ns), status: { ...(ns.status as object), phase: "Terminating", conditions } };
    applyUpdate(this.d, resolvedNs, ns, candidate, ctx(), { subresource: "status" });
  }
}
