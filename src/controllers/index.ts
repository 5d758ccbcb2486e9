/**
 * The controllers the daemon runs (when `controllers` is on), each a function registering
 * itself on the manager with what it needs from the environment.
 * @module
 */
import type { WorkloadClusters } from "../providers/workload/types.ts";
import type { Manager } from "../runtime/manager.ts";
import { setupClusterController } from "./core/cluster.ts";

export interface ControllerEnv {
  workloads: WorkloadClusters;
  /** Lab mode: kubeconfigs the appliance writes carry this proxy-url onto the lab LAN. */
  labProxyUrl?: string;
}

export type ControllerSetupFn = (m: Manager, env: ControllerEnv) => void;

export function controllerSetups(): ControllerSetupFn[] {
  return [setupClusterController];
}
