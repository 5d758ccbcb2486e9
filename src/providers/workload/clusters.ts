/**
 * Workload clusters by their `<cluster>-kubeconfig` Secret: one client and one Node watch per
 * Secret version, torn down when the Secret goes away.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import type { Informer } from "../../runtime/informer.ts";
import type { Dialer } from "./dialer.ts";
import { HttpWorkloadClient, WorkloadNotConnectedError } from "./http-client.ts";
import { parseKubeconfig } from "./kubeconfig.ts";
import { NodeCache } from "./node-cache.ts";
import type { NodeEvent, WorkloadClient, WorkloadClusters } from "./types.ts";

/** How long a read waits for the first Node list before asking the cluster directly. */
const SYNC_WAIT_MS = 2_000;
const KUBECONFIG_SUFFIX = "-kubeconfig";

/** Node reads from the watch-fed cache once it is synced; everything else goes to the API. */
class CachedWorkloadClient implements WorkloadClient {
  readonly server: string;
  constructor(
    private readonly http: HttpWorkloadClient,
    readonly nodes: NodeCache,
  ) {
    this.server = http.server;
  }

  async listNodes(): Promise<KObject[]> {
    return (await this.#fromCache()) ? this.nodes.list() : this.http.listNodes();
  }

  async getNode(name: string): Promise<KObject | undefined> {
    return (await this.#fromCache()) ? this.nodes.get(name) : this.http.getNode(name);
  }

  async #fromCache(): Promise<boolean> {
    if (!(await this.nodes.waitSynced(SYNC_WAIT_MS))) return false;
    if (!this.nodes.connected) throw new WorkloadNotConnectedError(`workload cluster ${this.server} is not reachable: ${this.nodes.lastError ?? "watch down"}`);
    return true;
  }

  patchNode(name: string, patch: Record<string, unknown>): Promise<KObject> {
    return this.http.patchNode(name, patch);
  }

  deleteNode(name: string): Promise<void> {
    return this.http.deleteNode(name);
  }

  listPodsOnNode(nodeName: string): Promise<KObject[]> {
    return this.http.listPodsOnNode(nodeName);
  }

  evictPod(namespace: string, name: string): Promise<"evicted" | "gone" | "blocked"> {
    return this.http.evictPod(namespace, name);
  }
}

export class SecretWorkloadClusters implements WorkloadClusters {
  #clients = new Map<string, { rv: string; client: CachedWorkloadClient }>();
  #listeners = new Set<(e: NodeEvent) => void>();

  constructor(
    private readonly client: Client,
    private readonly dialer: Dialer,
  ) {}

  /** Stops a cluster's watch when its kubeconfig Secret is deleted. */
  followSecrets(secrets: Informer): void {
    secrets.addHandler((type, obj) => {
      const name = obj.metadata.name ?? "";
      if (type === "DELETED" && name.endsWith(KUBECONFIG_SUFFIX)) this.forget(obj.metadata.namespace!, name.slice(0, -KUBECONFIG_SUFFIX.length));
    });
  }

  onNodeEvent(listener: (e: NodeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async forCluster(namespace: string, clusterName: string): Promise<WorkloadClient | undefined> {
    const ref = { apiVersion: "v1", kind: "Secret", namespace, name: `${clusterName}${KUBECONFIG_SUFFIX}` };
    const key = `${namespace}/${clusterName}`;
    const cached = this.#clients.get(key);
    if (cached && cached.rv === this.client.getCachedMetadata(ref)?.metadata.resourceVersion) return cached.client;
    const secret = this.client.get(ref);
    const value = (secret?.data as { value?: string } | undefined)?.value;
    if (!secret || !value) {
      this.forget(namespace, clusterName);
      return undefined;
    }
    cached?.client.nodes.stop();
    const http = new HttpWorkloadClient(parseKubeconfig(Buffer.from(value, "base64").toString()), this.dialer);
    const nodes = new NodeCache(http, (type, node, old) => {
      for (const l of this.#listeners) l({ namespace, cluster: clusterName, type, node, old });
    });
    const wc = new CachedWorkloadClient(http, nodes);
    this.#clients.set(key, { rv: secret.metadata.resourceVersion!, client: wc });
    nodes.start();
    return wc;
  }

  /** When the cluster last answered its Node watch (ms since epoch), if it is being watched. */
  lastContact(namespace: string, clusterName: string): number | undefined {
    return this.#clients.get(`${namespace}/${clusterName}`)?.client.nodes.lastContact || undefined;
  }

  forget(namespace: string, clusterName: string): void {
    const key = `${namespace}/${clusterName}`;
    this.#clients.get(key)?.client.nodes.stop();
    this.#clients.delete(key);
  }

  stop(): void {
    for (const { client } of this.#clients.values()) client.nodes.stop();
    this.#clients.clear();
  }
}
