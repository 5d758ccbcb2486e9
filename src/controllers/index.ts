/**
 * The controllers the daemon runs (when `controllers` is on), each a function registering
 * itself on the manager with what it needs from the environment.
 * @module
 */
import type { WorkloadClusters } from "../providers/workload/types.ts";
import type { Manager } from "../runtime/manager.ts";
import { setupClusterController } from "./core/cluster.ts";
import { setupMachineController } from "./core/machine.ts";
import { setupMachineDeploymentController } from "./core/machinedeployment.ts";
import { setupMachineHealthCheckController } from "./core/machinehealthcheck.ts";
import { setupMachineSetController } from "./core/machineset.ts";
import { setupIpamControllers } from "./ipam/index.ts";
import { setupProxmoxControllers, type ProxmoxBackendResolver } from "./proxmox/index.ts";
import { setupTalosControllers } from "./talos/index.ts";
import { setupAddonsControllers } from "./addons/index.ts";
import { setupKubeadmControllers } from "./kubeadm/index.ts";
import { setupKubeadmControlPlaneControllers } from "./kubeadmcontrolplane/index.ts";
import { etcdV3Membership } from "./kubeadmcontrolplane/etcd-client.ts";
import { kubeadmConfigProbe } from "./kubeadmcontrolplane/workload-init.ts";
import type { Dialer } from "../providers/workload/dialer.ts";

export interface ControllerEnv {
  workloads: WorkloadClusters;
  /** Lab mode: kubeconfigs the appliance writes carry this proxy-url onto the lab LAN. */
  labProxyUrl?: string;
  /** How the Proxmox controllers reach PVE (per ProxmoxCluster). */
  proxmox: ProxmoxBackendResolver;
  /** Outbound connections to workload machines (the Talos API): the lab LAN in lab mode. */
  dialer: Dialer;
}

export type ControllerSetupFn = (m: Manager, env: ControllerEnv) => void;

export function controllerSetups(): ControllerSetupFn[] {
  return [
    setupClusterController,
    (m) => setupMachineDeploymentController(m),
    (m) => setupMachineSetController(m),
    (m, env) => setupMachineController(m, env.workloads),
    (m, env) => setupMachineHealthCheckController(m, env.workloads),
    (m) => setupIpamControllers(m),
    (m, env) => setupProxmoxControllers(m, { resolver: env.proxmox, workloads: env.workloads }),
    (m, env) => setupTalosControllers(m, { dialer: env.dialer, labProxyUrl: env.labProxyUrl }),
    (m, env) => setupAddonsControllers(m, { dialer: env.dialer }),
    (m, env) => setupKubeadmControllers(m, { dialer: env.dialer }),
    (m, env) => setupKubeadmControlPlaneControllers(m, {
        labProxyUrl: env.labProxyUrl,
        initProbe: kubeadmConfigProbe(m.client("kubeadmcontrolplane-workload"), env.dialer),
        etcd: etcdV3Membership(m.client("kubeadmcontrolplane-etcd"), env.dialer) }),
  ];
}
