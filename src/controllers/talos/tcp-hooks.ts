/**
 * Orphaned etcd hooks: a control-plane Machine being deleted keeps this provider's pre-terminate
 * hook until the TalosControlPlane controller has removed its etcd member. When the
 * TalosControlPlane itself is gone or being deleted (the whole control plane goes with it), or the
 * Cluster is being deleted, nobody will do that — the hook is dropped so the deletion can finish.
 * @module
 */
import type { Client } from "../../runtime/client.ts";
import { Controller, type Request } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { CAPI_VERSION, CLUSTER_NAME_LABEL } from "../core/contract.ts";
import { CONTROL_PLANE_NAME_LABEL, TCP_VERSION } from "./common.ts";
import { ETCD_HOOK_ANNOTATION } from "./tcp-machines.ts";

export function setupEtcdHookController(m: Manager): Controller | undefined {
  const machines = m.informers.forKind(CAPI_VERSION, "Machine");
  if (!machines) return undefined;
  const client = m.client("taloscontrolplane-hooks");
  const c = new Controller("taloscontrolplane-hooks", (req) => reconcile(client, req), 1);
  c.watchMapped(machines, (o) => (o.metadata.deletionTimestamp && ETCD_HOOK_ANNOTATION in (o.metadata.annotations ?? {}) ? [{ namespace: o.metadata.namespace, name: o.metadata.name! }] : []));
  const tcps = m.informers.forKind(TCP_VERSION, "TalosControlPlane");
  if (tcps) {
    c.watchMapped(tcps, (o) => {
      if (!o.metadata.deletionTimestamp) return [];
      return client
        .listShared(CAPI_VERSION, "Machine", o.metadata.namespace, { labelSelector: `${CONTROL_PLANE_NAME_LABEL}=${o.metadata.name}` })
        .filter((mm) => mm.metadata.deletionTimestamp && ETCD_HOOK_ANNOTATION in (mm.metadata.annotations ?? {}))
        .map((mm) => ({ namespace: mm.metadata.namespace, name: mm.metadata.name! }));
    });
  }
  m.add(c);
  return c;
}

async function reconcile(client: Client, req: Request): Promise<void> {
  const machine = client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: req.namespace, name: req.name });
  if (!machine?.metadata.deletionTimestamp || !(ETCD_HOOK_ANNOTATION in (machine.metadata.annotations ?? {}))) return;
  const tcpName = machine.metadata.labels?.[CONTROL_PLANE_NAME_LABEL];
  const tcp = tcpName ? client.get({ apiVersion: TCP_VERSION, kind: "TalosControlPlane", namespace: req.namespace, name: tcpName }) : undefined;
  const clusterName = machine.metadata.labels?.[CLUSTER_NAME_LABEL];
  const cluster = clusterName ? client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: req.namespace, name: clusterName }) : undefined;
  const orphaned = !tcp || Boolean(tcp.metadata.deletionTimestamp) || Boolean(cluster?.metadata.deletionTimestamp);
  if (!orphaned) return; // the TalosControlPlane controller releases it after removing the etcd member
  await client.patch({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: req.namespace, name: req.name }, "merge", { metadata: { annotations: { [ETCD_HOOK_ANNOTATION]: null } } });
}
