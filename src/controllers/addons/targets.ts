/**
 * Where ClusterResourceSets apply their objects: a workload cluster's API, reached with its
 * `<cluster>-kubeconfig` Secret over HTTPS through the Dialer (lab mode: the simulated LAN to the
 * lab workload API server). One client per Secret version.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import type { Dialer } from "../../providers/workload/dialer.ts";
import { HttpWorkloadClient } from "../../providers/workload/http-client.ts";
import { parseKubeconfig } from "../../providers/workload/kubeconfig.ts";

export interface AddonTarget {
  readonly server: string;
  /** Creates the object; "exists" when it is already there. */
  createObject(obj: KObject): Promise<"created" | "exists">;
  createOrUpdateObject(obj: KObject): Promise<"created" | "updated">;
}

export interface AddonTargets {
  /** The cluster's API; undefined when its kubeconfig Secret does not exist (yet). */
  forCluster(namespace: string, clusterName: string): Promise<AddonTarget | undefined>;
}

export class KubeconfigAddonTargets implements AddonTargets {
  #clients = new Map<string, { rv: string; client: HttpWorkloadClient }>();

  constructor(
    private readonly client: Client,
    private readonly dialer: Dialer,
  ) {}

  async forCluster(namespace: string, clusterName: string): Promise<AddonTarget | undefined> {
    const key = `${namespace}/${clusterName}`;
    const secret = this.client.getShared({ apiVersion: "v1", kind: "Secret", namespace, name: `${clusterName}-kubeconfig` });
    const value = (secret?.data as { value?: string } | undefined)?.value;
    if (!secret || !value) {
      this.#clients.delete(key);
      return undefined;
    }
    const cached = this.#clients.get(key);
    if (cached && cached.rv === secret.metadata.resourceVersion) return cached.client;
    const client = new HttpWorkloadClient(parseKubeconfig(Buffer.from(value, "base64").toString()), this.dialer);
    this.#clients.set(key, { rv: secret.metadata.resourceVersion!, client });
    return client;
  }
}
