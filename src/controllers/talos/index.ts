/**
 * The Talos providers' controllers: TalosConfig (bootstrap data, CABPT's role) and
 * TalosControlPlane (control-plane machines, etcd bootstrap, health, scaling, rollouts and the
 * cluster kubeconfig, CACPPT's role).
 * @module
 */
import type { Dialer } from "../../providers/workload/dialer.ts";
import type { Manager } from "../../runtime/manager.ts";
import { setupTalosConfigController } from "./talosconfig.ts";
import { setupTalosControlPlaneController } from "./taloscontrolplane.ts";
import { setupEtcdHookController } from "./tcp-hooks.ts";

export { talosApiServerName } from "./common.ts";

export interface TalosControllersEnv {
  /** How the Talos API (port 50000) of the machines is reached (lab: the simulated LAN). */
  dialer?: Dialer;
  /** Written into the cluster kubeconfig as `proxy-url` (lab mode). */
  labProxyUrl?: string;
  /** Re-check interval while waiting on machines (default 10s). */
  requeueMs?: number;
  /** Per-call deadline of Talos API calls, ms (default 10s). */
  talosTimeoutMs?: number;
}

export function setupTalosControllers(m: Manager, env: TalosControllersEnv = {}): void {
  setupTalosConfigController(m, { requeueMs: env.requeueMs });
  setupTalosControlPlaneController(m, env);
  setupEtcdHookController(m);
}
