/**
 * The kcp-cleanup pre-terminate hook (upstream reconcilePreTerminateHook): every KCP machine is
 * created with {@link KCP_CLEANUP_HOOK}, so the Machine controller stops a deletion — by the KCP
 * or by anyone, e.g. `kubectl delete machine` — after drain, before the infrastructure goes. Once
 * the Machine waits on it (`Deleting` reason WaitingForPreTerminateHook, and no other
 * pre-terminate hook left from Kubernetes v1.31), the KCP checks that the control plane and etcd
 * quorum survive without it, moves etcd leadership away, removes its member and drops the
 * annotation. The last machine, or one with external etcd, is let go without etcd calls.
 *
 * When the KCP itself is gone or being deleted, or the Cluster is, the whole control plane goes:
 * {@link setupKcpCleanupHookController} drops the hook (upstream reconcileDelete).
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import { getCondition } from "../../runtime/conditions.ts";
import { Controller, type ReconcileContext, type Request } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import { CAPI_VERSION, CLUSTER_NAME_LABEL } from "../core/contract.ts";
import { PRE_TERMINATE_HOOK_PREFIX } from "../core/machine-api.ts";
import type { EtcdMembership } from "./etcd.ts";
import { componentsHealthyWithout, etcdHealthyWithout, etcdMachineOf, nodeNameOf } from "./kcp-etcd-health.ts";
import { CONTROL_PLANE_NAME_LABEL, KCP_CLEANUP_HOOK, KCP_VERSION } from "./kcp-machines.ts";

export { KCP_CLEANUP_HOOK };

const hasHook = (m: KObject) => KCP_CLEANUP_HOOK in (m.metadata.annotations ?? {});

async function dropHook(client: Client, m: KObject): Promise<void> {
  await client.patch({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: m.metadata.namespace, name: m.metadata.name! }, "merge", { metadata: { annotations: { [KCP_CLEANUP_HOOK]: null } } });
}

function kubernetesAtLeast131(version: string | undefined): boolean {
  const [maj, min] = (version ?? "").replace(/^v/, "").split(".").map((x) => Number.parseInt(x, 10));
  return (maj ?? 0) > 1 || ((maj ?? 0) === 1 && (min ?? 0) >= 31);
}

export interface CleanupHookInput {
  client: Client;
  recorder: EventRecorder;
  kcp: KObject;
  machines: KObject[];
  externalEtcd: boolean;
  etcd: EtcdMembership | undefined;
  log: ReconcileContext["log"];
}

/** Releases at most one deleting machine; returns a requeue delay while one still waits. */
export async function reconcileCleanupHook(x: CleanupHookInput): Promise<number | undefined> {
  const { client, recorder, kcp, machines, log } = x;
  const deletingMachines = machines.filter((m) => m.metadata.deletionTimestamp);
  if (!deletingMachines.length) return undefined;
  // A deleting machine without the hook goes first; then one at a time, oldest deletion first.
  if (deletingMachines.some((m) => !hasHook(m))) return 1_000;
  const m = [...deletingMachines].sort((a, b) => (a.metadata.deletionTimestamp! < b.metadata.deletionTimestamp! ? -1 : a.metadata.deletionTimestamp! > b.metadata.deletionTimestamp! ? 1 : 0))[0]!;
  const name = m.metadata.name!;
  const version = (kcp.spec as { version?: string } | undefined)?.version;
  // The KCP hook runs last, so the kubelet still works while other pre-terminate hooks run.
  if (kubernetesAtLeast131(version) && Object.keys(m.metadata.annotations ?? {}).some((k) => k.startsWith(`${PRE_TERMINATE_HOOK_PREFIX}/`) && k !== KCP_CLEANUP_HOOK)) return 1_000;
  const deletingCond = getCondition(m, "Deleting");
  if (deletingCond?.status !== "True" || deletingCond.reason !== "WaitingForPreTerminateHook") return 1_000;

  if (machines.length <= 1) {
    await dropHook(client, m);
    return undefined;
  }
  if (!componentsHealthyWithout(machines, name)) {
    log.info({ machine: name }, `cannot delete control plane Machine ${name} when there are no control plane Machines with all Kubernetes control plane components in healthy state`);
    return 2_000;
  }
  if (x.externalEtcd) {
    await dropHook(client, m);
    return undefined;
  }
  if (!x.etcd) {
    log.info({ machine: name }, "no etcd client for the cluster: the deleting machine keeps its kcp-cleanup hook");
    return 2_000;
  }
  const others = machines.filter((o) => o.metadata.name !== name && !o.metadata.deletionTimestamp);
  let members;
  try {
    members = await x.etcd.members(others.map(etcdMachineOf));
  } catch (e) {
    log.info({ machine: name, err: String(e) }, "unable to remove pre-terminate hook: etcd members not listed");
    return 2_000;
  }
  const memberName = nodeNameOf(m);
  if (memberName && members.some((mm) => mm.name === memberName)) {
    if (!etcdHealthyWithout(members, memberName)) {
      log.info({ machine: name }, `cannot delete control plane Machine ${name}, the operation can lead to etcd quorum loss`);
      return 2_000;
    }
    const newest = [...others].sort((a, b) => (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "") || (b.metadata.name! < a.metadata.name! ? -1 : 1))[0];
    try {
      if (newest) await x.etcd.forwardLeadership(etcdMachineOf(m), etcdMachineOf(newest));
      await x.etcd.removeMember(etcdMachineOf(m), others.map(etcdMachineOf));
    } catch (e) {
      log.info({ machine: name, err: String(e) }, "failed to remove the etcd member of the deleting machine");
      return 2_000;
    }
    recorder.normal(kcp, "EtcdMemberRemoved", `removed the etcd member of deleting machine ${name}`);
  }
  await dropHook(client, m);
  log.info({ machine: name }, "kcp-cleanup hook removed; waiting for the Machine to be deleted");
  return undefined;
}

/** Drops the hook from a deleting Machine whose KCP or Cluster is gone or being deleted. */
export function setupKcpCleanupHookController(m: Manager): Controller | undefined {
  const machines = m.informers.forKind(CAPI_VERSION, "Machine");
  if (!machines) return undefined;
  const client = m.client("kubeadmcontrolplane-cleanup-hook");
  const c = new Controller("kubeadmcontrolplane-cleanup-hook", (req) => releaseOrphan(client, req), 1);
  c.watchMapped(machines, (o) => (o.metadata.deletionTimestamp && hasHook(o) ? [{ namespace: o.metadata.namespace, name: o.metadata.name! }] : []));
  const kcps = m.informers.forKind(KCP_VERSION, "KubeadmControlPlane");
  if (kcps) {
    c.watchMapped(kcps, (o) =>
      o.metadata.deletionTimestamp
        ? client
            .listShared(CAPI_VERSION, "Machine", o.metadata.namespace, { labelSelector: `${CONTROL_PLANE_NAME_LABEL}=${o.metadata.name}` })
            .filter((mm) => mm.metadata.deletionTimestamp && hasHook(mm))
            .map((mm) => ({ namespace: mm.metadata.namespace, name: mm.metadata.name! }))
        : [],
    );
  }
  m.add(c);
  return c;
}

async function releaseOrphan(client: Client, req: Request): Promise<void> {
  const machine = client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: req.namespace, name: req.name });
  if (!machine?.metadata.deletionTimestamp || !hasHook(machine)) return;
  const kcpName = machine.metadata.labels?.[CONTROL_PLANE_NAME_LABEL];
  const kcp = kcpName ? client.get({ apiVersion: KCP_VERSION, kind: "KubeadmControlPlane", namespace: req.namespace, name: kcpName }) : undefined;
  const clusterName = machine.metadata.labels?.[CLUSTER_NAME_LABEL];
  const cluster = clusterName ? client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: req.namespace, name: clusterName }) : undefined;
  const orphaned = !kcp || Boolean(kcp.metadata.deletionTimestamp) || !cluster || Boolean(cluster.metadata.deletionTimestamp);
  if (orphaned) await dropHook(client, machine); // otherwise the KCP controller releases it
}
