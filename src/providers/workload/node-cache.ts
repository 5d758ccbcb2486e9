/**
 * A workload cluster's Nodes, cached from list + watch (upstream's ClusterCache does the same
 * for the core controllers): reads are served from memory once synced, and every change is
 * reported so controllers react to Nodes instead of polling them. The watch resumes from the
 * last resourceVersion, relists after a 410, and retries with backoff while the cluster is
 * unreachable.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { WorkloadApiError, type HttpWorkloadClient, type WatchEvent } from "./http-client.ts";

export type NodeEventType = "ADDED" | "MODIFIED" | "DELETED";
export type NodeListener = (type: NodeEventType, node: KObject, old: KObject | undefined) => void;

const MIN_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 30_000;

export class NodeCache {
  #nodes = new Map<string, KObject>();
  #synced = false;
  #waiters: (() => void)[] = [];
  #abort = new AbortController();
  #rv = "";
  /** When the cluster last answered (list or watch data); 0 before that. */
  lastContact = 0;
  lastError?: string;
  /** Whether the last list or watch request got through. */
  connected = false;

  constructor(
    private readonly http: HttpWorkloadClient,
    private readonly listener: NodeListener,
  ) {}

  get synced(): boolean {
    return this.#synced;
  }

  start(): void {
    void this.#run();
  }

  stop(): void {
    this.#abort.abort();
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves true once the first list is in, false when `timeoutMs` passes first. */
  waitSynced(timeoutMs: number): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.#synced), timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve(this.#synced);
      });
    });
  }

  get(name: string): KObject | undefined {
    return this.#nodes.get(name);
  }

  list(): KObject[] {
    return [...this.#nodes.values()];
  }

  async #run(): Promise<void> {
    let backoff = MIN_BACKOFF_MS;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        if (!this.#rv) await this.#relist();
        await this.http.watchNodes(this.#rv, (e) => this.#onWatch(e), signal, () => {
          this.connected = true;
          this.lastContact = Date.now();
          this.lastError = undefined;
        });
        backoff = MIN_BACKOFF_MS;
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof WorkloadApiError && e.status === 410) {
          this.#rv = "";
          continue;
        }
        this.lastError = (e as Error).message ?? String(e);
        this.connected = false;
        // Readers waiting for the first list ask the cluster themselves (and see why it fails).
        for (const w of this.#waiters.splice(0)) w();
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  async #relist(): Promise<void> {
    const { items, resourceVersion } = await this.http.listNodesForWatch();
    this.lastContact = Date.now();
    this.lastError = undefined;
    this.connected = true;
    const seen = new Set<string>();
    for (const node of items) {
      seen.add(node.metadata.name!);
      this.#put(node);
    }
    for (const [name, node] of this.#nodes) {
      if (seen.has(name)) continue;
      this.#nodes.delete(name);
      this.listener("DELETED", node, undefined);
    }
    this.#rv = resourceVersion;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#waiters.splice(0)) w();
    }
  }

  #put(node: KObject): void {
    const name = node.metadata.name!;
    const old = this.#nodes.get(name);
    if (old && old.metadata.resourceVersion === node.metadata.resourceVersion) return;
    this.#nodes.set(name, node);
    this.listener(old ? "MODIFIED" : "ADDED", node, old);
  }

  #onWatch(e: WatchEvent): void {
    this.lastContact = Date.now();
    if (e.object.metadata?.resourceVersion) this.#rv = e.object.metadata.resourceVersion;
    if (e.type === "BOOKMARK") return;
    if (e.type === "DELETED") {
      const old = this.#nodes.get(e.object.metadata.name!);
      this.#nodes.delete(e.object.metadata.name!);
      this.listener("DELETED", e.object, old);
      return;
    }
    this.#put(e.object);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
