/**
 * The kubeadm bootstrap provider's controller (CABPK's role): KubeadmConfig → cloud-config
 * bootstrap data, cluster certificates and workload bootstrap tokens. Runs only when the
 * KubeadmConfig kind is served.
 * @module
 */
import type { Dialer } from "../../providers/workload/dialer.ts";
import type { Manager } from "../../runtime/manager.ts";
import { setupKubeadmConfigController } from "./kubeadmconfig.ts";
import { KubeconfigSecretAccess, type WorkloadSecretAccess } from "./workload-secrets.ts";

export interface KubeadmControllersEnv {
  /** How workload APIs are reached (lab: the simulated LAN). */
  dialer: Dialer;
  /** Overrides the kubeconfig-based workload Secret access (tests). */
  workloads?: WorkloadSecretAccess;
  requeueMs?: number;
  tokenTtlMs?: number;
}

export function setupKubeadmControllers(m: Manager, env: KubeadmControllersEnv): void {
  const workloads = env.workloads ?? new KubeconfigSecretAccess(m.client("kubeadm-workload-access"), env.dialer);
  setupKubeadmConfigController(m, { workloads, ...(env.requeueMs ? { requeueMs: env.requeueMs } : {}), ...(env.tokenTtlMs ? { tokenTtlMs: env.tokenTtlMs } : {}) });
}
