/**
 * Finding a VM by VMID: first on the nodes the appliance recorded (config reads are consistent
 * at once), then through `/cluster/resources` (which lags for new VMs but covers every node).
 * @module
 */
import type { ProxmoxBackend, VmConfig } from "../../providers/proxmox/types.ts";

export interface LocatedVm {
  node: string;
  config: VmConfig;
}

export async function locateVm(backend: ProxmoxBackend, vmid: number, hints: readonly (string | undefined)[]): Promise<LocatedVm | undefined> {
  const tried = new Set<string>();
  for (const node of hints) {
    if (!node || tried.has(node)) continue;
    tried.add(node);
    const config = await backend.vmConfig(node, vmid);
    if (config) return { node, config };
  }
  const entry = (await backend.vms()).find((v) => v.vmid === vmid && v.type === "qemu");
  if (!entry || tried.has(entry.node)) return undefined;
  const config = await backend.vmConfig(entry.node, vmid);
  return config ? { node: entry.node, config } : undefined;
}
