/**
 * The ClusterResourceSetBinding controller (Cluster API `core/reconcilers/clusterresourcesetbinding`):
 * a binding goes away when its Cluster (`spec.clusterName`) is gone or being deleted.
 * @module
 */
import type { Client } from "../../runtime/client.ts";
import { Controller, type ReconcileContext, type Request } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { ADDONS_VERSION, type BindingSpec } from "./binding.ts";

export function setupClusterResourceSetBindingController(m: Manager): void {
  const client = m.client("clusterresourcesetbinding-controller");
  const bindings = m.informers.forKind(ADDONS_VERSION, "ClusterResourceSetBinding");
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (!bindings || !clusters) return;
  const c = new Controller("clusterresourcesetbinding", (req, ctx) => reconcile(client, req, ctx));
  c.watchFor(bindings);
  // The binding of a Cluster has the Cluster's name.
  c.watchMapped(clusters, (cl) => [{ namespace: cl.metadata.namespace, name: cl.metadata.name! }]);
  m.add(c);
}

async function reconcile(client: Client, req: Request, ctx: ReconcileContext): Promise<void> {
  const binding = client.getShared({ apiVersion: ADDONS_VERSION, kind: "ClusterResourceSetBinding", namespace: req.namespace, name: req.name });
  if (!binding || binding.metadata.deletionTimestamp) return;
  const clusterName = (binding.spec as BindingSpec | undefined)?.clusterName || req.name;
  const cluster = client.getShared({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: req.namespace, name: clusterName });
  if (cluster && !cluster.metadata.deletionTimestamp) return;
  ctx.log.info({ cluster: clusterName }, cluster ? "deleting the ClusterResourceSetBinding: its Cluster is being deleted" : "deleting the ClusterResourceSetBinding: its Cluster no longer exists");
  await client.delete({ apiVersion: ADDONS_VERSION, kind: "ClusterResourceSetBinding", namespace: req.namespace, name: req.name });
}
