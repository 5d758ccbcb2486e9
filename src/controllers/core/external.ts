/**
 * Watches on provider kinds known only at run time (whatever a Cluster or Machine references):
 * an informer per kind, started on first use, reporting every change to `onChange`.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import type { Manager } from "../../runtime/manager.ts";
import { refApiVersion, type ContractRef } from "./contract.ts";

export class ExternalWatches {
  #watched = new Set<string>();
  onChange: (obj: KObject) => void = () => {};

  constructor(private readonly m: Manager) {}

  /** Starts watching the kind of `ref` (no-op when already watched or not served yet). */
  watch(client: Client, ref: ContractRef): void {
    const apiVersion = refApiVersion(client, ref);
    if (!apiVersion) return;
    const key = `${apiVersion}/${ref.kind}`;
    if (this.#watched.has(key)) return;
    const inf = this.m.informers.forKind(apiVersion, ref.kind);
    if (!inf) return;
    this.#watched.add(key);
    // The initial ADDED replay is harmless: reconciles are idempotent.
    inf.addHandler((_t, obj) => this.onChange(obj));
  }
}
