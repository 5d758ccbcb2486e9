/**
 * The control-plane init lock (upstream `bootstrap/kubeadm/pkg/locking/control_plane_init_mutex.go`):
 * a ConfigMap `<cluster>-lock` (data `lock-information: {"machineName": ...}`, owned by the
 * Cluster) names the one Machine that runs `kubeadm init`. Whoever creates it holds it; a lock
 * whose Machine is gone is released; it is released once the control plane is initialized.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import { CAPI_VERSION, CLUSTER_NAME_LABEL } from "../core/contract.ts";

const INFO_KEY = "lock-information";

export function lockName(cluster: string): string {
  return `${cluster}-lock`;
}

function holder(cm: KObject): string | undefined {
  try {
    return (JSON.parse((cm.data as Record<string, string> | undefined)?.[INFO_KEY] ?? "") as { machineName?: string }).machineName;
  } catch {
    return undefined;
  }
}

/** True when `machine` holds (or just took) the cluster's init lock. */
export async function acquireInitLock(client: Client, cluster: KObject, machine: KObject): Promise<boolean> {
  const ns = cluster.metadata.namespace!;
  const name = lockName(cluster.metadata.name!);
  const existing = client.get({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name });
  if (existing) {
    const h = holder(existing);
    if (h === undefined) return false;
    if (h === machine.metadata.name) return true;
    if (!client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: ns, name: h })) await releaseInitLock(client, cluster);
    return false;
  }
  try {
    await client.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name,
        namespace: ns,
        labels: { [CLUSTER_NAME_LABEL]: cluster.metadata.name! },
        ownerReferences: [{ apiVersion: CAPI_VERSION, kind: "Cluster", name: cluster.metadata.name!, uid: cluster.metadata.uid! }],
      },
      data: { [INFO_KEY]: JSON.stringify({ machineName: machine.metadata.name }) },
    } as KObject);
    return true;
  } catch (e) {
    if ((e as { code?: number }).code === 409) return false;
    throw e;
  }
}

export async function releaseInitLock(client: Client, cluster: KObject): Promise<void> {
  const ref = { apiVersion: "v1", kind: "ConfigMap", namespace: cluster.metadata.namespace!, name: lockName(cluster.metadata.name!) };
  if (!client.get(ref)) return;
  try {
    await client.delete(ref);
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
  }
}
