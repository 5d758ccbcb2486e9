/**
 * Whether kubeadm init has run in a workload cluster, as upstream KCP decides it: the kube-system
 * `kubeadm-config` ConfigMap exists, read with the cluster's `<cluster>-kubeconfig` Secret over
 * HTTPS through the Dialer.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Dialer } from "../../providers/workload/dialer.ts";
import { HttpWorkloadClient } from "../../providers/workload/http-client.ts";
import { parseKubeconfig } from "../../providers/workload/kubeconfig.ts";
import type { Client } from "../../runtime/client.ts";

/** True: kubeadm-config exists; false: the API answered without it; a string: why it could not tell. */
export type KubeadmInitProbe = (cluster: KObject) => Promise<boolean | string>;

export const KUBEADM_CONFIG_PATH = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config";

export function kubeadmConfigProbe(client: Client, dialer: Dialer, timeoutMs = 5_000): KubeadmInitProbe {
  return async (cluster) => {
    const ns = cluster.metadata.namespace!;
    const name = cluster.metadata.name!;
    const secret = client.get({ apiVersion: "v1", kind: "Secret", namespace: ns, name: `${name}-kubeconfig` });
    const value = (secret?.data as { value?: string } | undefined)?.value;
    if (!value) return `Secret ${name}-kubeconfig does not exist yet`;
    const http = new HttpWorkloadClient(parseKubeconfig(Buffer.from(value, "base64").toString()), dialer, timeoutMs);
    try {
      const r = await http.request("GET", KUBEADM_CONFIG_PATH);
      if (r.status === 200) return true;
      if (r.status === 404) return false;
      return `${http.server} answered ${r.status} for kube-system/kubeadm-config`;
    } catch (e) {
      return `${http.server} does not answer: ${e instanceof Error ? e.message : String(e)}`;
    }
  };
}

/** No workload access (unit tests without a lab): a Node on any machine stands for kubeadm init. */
export const noInitProbe: KubeadmInitProbe = async () => "no workload access";
