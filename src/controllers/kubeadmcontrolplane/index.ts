/**
 * The KubeadmControlPlane controller (KCP's role): cluster certificates, control-plane machines,
 * scaling with etcd membership kept correct, rollouts, the cluster kubeconfig and status. Runs only
 * when the KubeadmControlPlane kind is served.
 * @module
 */
import type { Manager } from "../../runtime/manager.ts";
import { noEtcdClient, type EtcdMembershipFor } from "./etcd.ts";
import { setupKcpCleanupHookController } from "./kcp-cleanup-hook.ts";
import { setupKubeadmControlPlaneController } from "./kubeadmcontrolplane.ts";
import type { KubeadmInitProbe } from "./workload-init.ts";

export type { EtcdMachine, EtcdMemberState, EtcdMembership, EtcdMembershipFor } from "./etcd.ts";

export interface KubeadmControlPlaneEnv {
  /** etcd access per workload cluster (default: none — scale-down stops before deleting). */
  etcd?: EtcdMembershipFor;
  /** Has kubeadm init run in a workload cluster (default: a machine with a Node stands for it). */
  initProbe?: KubeadmInitProbe;
  labProxyUrl?: string;
  requeueMs?: number;
}

export function setupKubeadmControlPlaneControllers(m: Manager, env: KubeadmControlPlaneEnv = {}): void {
  const kcp = setupKubeadmControlPlaneController(m, { etcd: env.etcd ?? noEtcdClient, ...(env.initProbe ? { initProbe: env.initProbe } : {}), labProxyUrl: env.labProxyUrl, requeueMs: env.requeueMs });
  if (kcp) setupKcpCleanupHookController(m);
}
