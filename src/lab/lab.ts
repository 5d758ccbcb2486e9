/**
 * Lab mode: the simulated LAN (lab dialer), the CONNECT proxy onto it, and the simulated
 * infrastructure behind it (workload clusters here; the Proxmox host and Talos nodes arrive
 * with their providers).
 * @module
 */
import { parseListen, type Config } from "../config/config.ts";
import { log } from "../lib/log.ts";
import { LabNetwork } from "../providers/workload/dialer.ts";
import type { Manager } from "../runtime/manager.ts";
import { LabCloudInit } from "./cloud-init/index.ts";
import { startConnectProxy, type RunningProxy } from "./connect-proxy.ts";
import { LabKubeadm } from "./kubeadm/index.ts";
import { startLabProxmox, type LabProxmox } from "./proxmox.ts";
import { LabTalosNodes } from "./talos-nodes.ts";
import { LabWorkloads } from "./workloads.ts";

export interface Lab {
  network: LabNetwork;
  proxy: RunningProxy;
  workloads: LabWorkloads;
  proxmox: LabProxmox;
  /** Talos nodes of lab VMs booted with a machine config. */
  talos: LabTalosNodes;
  /** cloud-init of lab VMs booted with a cloud-config (kubeadm plugs in with registerProgram). */
  cloudInit: LabCloudInit;
  /** kubeadm init/join/reset of those VMs: lab etcd members and Node registration. */
  kubeadm: LabKubeadm;
  stop(): Promise<void>;
}

export async function startLab(m: Manager, config: Config): Promise<Lab> {
  const proxmox = await startLabProxmox(config);
  // The simulated LAN is the lab PVE's first bridge (vmbr0, 10.10.0.0/24 by default; an inventory may widen it).
  const network = new LabNetwork(proxmox.pve.inventory.bridges[0]?.cidr);
  // pveproxy on every node answers for the whole cluster: https://10.10.0.2:8006 (pve1) by default.
  const pveRoutes = proxmox.https ? proxmox.pve.inventory.nodes.flatMap((n) => (n.address ? [network.listen(n.address, 8006, proxmox.https!.port)] : [])) : [];
  const { host, port } = parseListen(config.lab.proxyListen);
  const proxy = await startConnectProxy(network, host, port);
  const workloads = new LabWorkloads(m, network, config.dataDir);
  workloads.start();
  const talos = new LabTalosNodes({ pve: proxmox.pve, network, dataDir: config.dataDir, workloadServer: (h, p) => workloads.serverAt(h, p) });
  await talos.start();
  const cloudInit = new LabCloudInit({ pve: proxmox.pve, dataDir: config.dataDir });
  // registered before cloud-init resumes interrupted runs, which may call it
  const kubeadm = new LabKubeadm({ pve: proxmox.pve, network, cloudInit, dataDir: config.dataDir, workloadServer: (h, p) => workloads.serverAt(h, p) });
  await kubeadm.start();
  await cloudInit.start();
  log.info({ component: "lab", proxy: proxy.url, lan: network.cidr }, "lab mode: simulated infrastructure is running");
  return {
    network,
    proxy,
    workloads,
    proxmox,
    talos,
    cloudInit,
    kubeadm,
    async stop() {
      await talos.stop();
      await cloudInit.stop();
      await kubeadm.stop();
      for (const unroute of pveRoutes) unroute();
      await proxmox.stop();
      await workloads.stop();
      await proxy.close();
    },
  };
}
