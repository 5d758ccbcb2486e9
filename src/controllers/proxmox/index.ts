/**
 * The Proxmox infrastructure controllers: ProxmoxCluster, ProxmoxMachine, and the providerID
 * assignment for workload Nodes. Each reaches Proxmox through the {@link ProxmoxBackendResolver}
 * it is given (per ProxmoxCluster: its credentialsRef, else the daemon's default backend).
 * @module
 */
import type { WorkloadClusters } from "../../providers/workload/types.ts";
import type { Manager } from "../../runtime/manager.ts";
import type { ProxmoxControllerOptions } from "./machine-scope.ts";
import { setupNodeProviderIdController } from "./node-providerid.ts";
import { setupProxmoxClusterController } from "./proxmoxcluster.ts";
import { setupProxmoxMachineController } from "./proxmoxmachine.ts";

export type { ProxmoxBackendResolver, ProxmoxCredentials } from "./backend-resolver.ts";
export { CredentialsError, SecretBackendResolver, parseCredentials } from "./backend-resolver.ts";
export type { ProxmoxControllerOptions } from "./machine-scope.ts";

export interface ProxmoxControllersEnv extends ProxmoxControllerOptions {
  /** Workload cluster access, for setting Node providerIDs (omitted: no providerID assignment). */
  workloads?: WorkloadClusters;
}

export function setupProxmoxControllers(m: Manager, env: ProxmoxControllersEnv): void {
  setupProxmoxClusterController(m, { resolver: env.resolver, requeueMs: env.requeueMs });
  setupProxmoxMachineController(m, env);
  if (env.workloads) setupNodeProviderIdController(m, env.workloads);
}
