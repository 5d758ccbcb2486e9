/**
 * Workload clusters by their `<cluster>-kubeconfig` Secret, one client per Secret version.
 * @module
 */
import type { Client } from "../../runtime/client.ts";
import type { Dialer } from "./dialer.ts";
import { HttpWorkloadClient } from "./http-client.ts";
import { parseKubeconfig } from "./kubeconfig.ts";
import type { WorkloadClient, WorkloadClusters } from "./types.ts";

export class SecretWorkloadClusters implements WorkloadClusters {
  #clients = new Map<string, { rv: string; client: WorkloadClient }>();

  constructor(
    private readonly client: Client,
    private readonly dialer: Dialer,
  ) {}

  async forCluster(namespace: string, clusterName: string): Promise<WorkloadClient | undefined> {
    const secret = this.client.get({ apiVersion: "v1", kind: "Secret", namespace, name: `${clusterName}-kubeconfig` });
    const value = (secret?.data as { value?: string } | undefined)?.value;
    if (!secret || !value) return undefined;
    const key = `${namespace}/${clusterName}`;
    const cached = this.#clients.get(key);
    if (cached && cached.rv === secret.metadata.resourceVersion) return cached.client;
    const wc = new HttpWorkloadClient(parseKubeconfig(Buffer.from(value, "base64").toString()), this.dialer);
    this.#clients.set(key, { rv: secret.metadata.resourceVersion!, client: wc });
    return wc;
  }
}
