/**
 * The addons controllers: ClusterResourceSet and ClusterResourceSetBinding.
 * @module
 */
import type { Dialer } from "../../providers/workload/dialer.ts";
import type { Manager } from "../../runtime/manager.ts";
import { setupClusterResourceSetController } from "./clusterresourceset.ts";
import { setupClusterResourceSetBindingController } from "./clusterresourcesetbinding.ts";
import { KubeconfigAddonTargets, type AddonTargets } from "./targets.ts";

export interface AddonsControllersEnv {
  /** How workload APIs are reached (lab: the simulated LAN). */
  dialer: Dialer;
  /** Overrides the kubeconfig-based access to workload clusters (tests). */
  targets?: AddonTargets;
}

export function setupAddonsControllers(m: Manager, env: AddonsControllersEnv): void {
  setupClusterResourceSetController(m, env.targets ?? new KubeconfigAddonTargets(m.client("clusterresourceset-workload-access"), env.dialer));
  setupClusterResourceSetBindingController(m);
}
