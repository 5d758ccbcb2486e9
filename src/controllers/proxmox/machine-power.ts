/**
 * CAPMOX step 5: power on (a `qmstart` task), then the machine addresses (Hostname and the
 * default NIC's IPAM addresses; in DHCP mode the guest agent's addresses of that NIC), then the
 * guest checks (QEMU agent, `cloud-init status`; each skippable as upstream), then provisioned.
 * After the Machine is Available with a Node, an attached ISO is ejected and deleted (snippets
 * stay until the VM is destroyed: PVE re-reads them at every start).
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { PveError, type AgentInterface } from "../../providers/proxmox/types.ts";
import { CLOUD_INIT_TAG } from "./machine-bootstrap.ts";
import { readAttachment, writeAttachment } from "./clone-intent.ts";
import { setVmProvisioned } from "./conditions.ts";
import { VmReasons, ZONE_LABEL } from "./constants.ts";
import { isLinkLocalOrLoopback } from "./ip.ts";
import type { LocatedVm } from "./locate.ts";
import type { MachineScope, Step } from "./machine-scope.ts";
import type { MachineAddress } from "./types.ts";
import { formatTags, parseNetDevice, parseTags } from "./vmconfig.ts";

function waitFor(s: MachineScope, reason: string, message: string, ms: number): Step {
  setVmProvisioned(s.pm, "False", reason, message);
  return { requeueAfter: ms };
}

export async function powerOn(s: MachineScope, vm: LocatedVm): Promise<Step> {
  const vmid = s.spec.virtualMachineID!;
  const state = await s.backend.vmStatus(vm.node, vmid);
  if (state?.status === "running") return undefined;
  const task = await s.backend.startVm(vm.node, vmid);
  s.status.taskRef = task.upid;
  s.status.vmStatus = "pending";
  setVmProvisioned(s.pm, "False", VmReasons.WaitingForVMPowerUp, "");
  await s.save();
  s.log.info({ vmid, node: vm.node }, "starting VM");
  return { requeueAfter: s.shared.timings.taskPollMs };
}

function agentAddresses(ifaces: AgentInterface[], mac: string | undefined): string[] {
  const want = mac?.toLowerCase();
  const nic = ifaces.find((i) => i.mac?.toLowerCase() === want);
  return (nic?.addresses ?? []).map((a) => a.ip).filter((ip) => !isLinkLocalOrLoopback(ip));
}

/** `status.addresses`: Hostname, then InternalIPs (IPAM's default addresses, or the agent's in DHCP mode). */
export async function reconcileAddresses(s: MachineScope, vm: LocatedVm): Promise<Step> {
  const out: MachineAddress[] = [{ type: "Hostname", address: s.name }];
  const def = s.status.ipAddresses?.find((e) => e.net === "default");
  const ipam = [...(def?.ipv4 ?? []), ...(def?.ipv6 ?? [])].filter(Boolean);
  if (ipam.length) {
    for (const a of ipam) out.push({ type: "InternalIP", address: a });
  } else if (!s.spec.checks?.skipQemuGuestAgent) {
    // DHCP on the default NIC (appliance extension, CAPMOX#29): ask the guest agent.
    const net0 = s.spec.network?.networkDevices?.[0]?.name ?? "net0";
    const mac = vm.config[net0] ? parseNetDevice(vm.config[net0]!).mac : undefined;
    let found: string[] = [];
    try {
      found = agentAddresses(await s.backend.agentNetworkInterfaces(vm.node, s.spec.virtualMachineID!), mac);
    } catch (e) {
      if (!(e instanceof PveError)) throw e;
      return waitFor(s, VmReasons.WaitingForClusterAPIMachineAddresses, `waiting for the guest agent to report the addresses of ${net0}: ${e.message}`, s.shared.timings.taskPollMs);
    }
    if (!found.length) return waitFor(s, VmReasons.WaitingForClusterAPIMachineAddresses, `waiting for ${net0} to get an address by DHCP`, s.shared.timings.taskPollMs);
    for (const a of found) out.push({ type: "InternalIP", address: a });
  }
  s.status.addresses = out;
  return undefined;
}

/** The QEMU agent and `cloud-init status` checks (CAPMOX checkCloudInitStatus). */
export async function checkGuest(s: MachineScope, vm: LocatedVm): Promise<Step> {
  const checks = s.spec.checks ?? {};
  if (checks.skipQemuGuestAgent) return undefined;
  const vmid = s.spec.virtualMachineID!;
  const poll = s.shared.timings.taskPollMs;
  try {
    if (checks.skipCloudInitStatus) {
      await s.backend.agentNetworkInterfaces(vm.node, vmid);
      return undefined;
    }
    const r = await s.backend.agentExec(vm.node, vmid, ["cloud-init", "status"]);
    if (r.exitcode === 0 && r.stdout.includes("running")) return waitFor(s, VmReasons.WaitingForCloudInit, "cloud-init is running", poll);
    if (r.exitcode !== 0) return waitFor(s, VmReasons.VMProvisionFailed, "cloud-init failed execution", s.shared.timings.requeueMs * 6);
    return undefined;
  } catch (e) {
    if (!(e instanceof PveError)) throw e;
    return waitFor(s, VmReasons.WaitingForCloudInit, `error waiting for agent: ${e.message}`, poll);
  }
}

export function markProvisioned(s: MachineScope): void {
  (s.status.initialization ??= {}).provisioned = true;
  s.status.vmStatus = "ready";
  setVmProvisioned(s.pm, "True", VmReasons.Provisioned);
  const labels = (s.pm.metadata.labels ??= {});
  labels[ZONE_LABEL] = s.spec.network?.zone ?? "default";
}

function machineAvailableWithNode(m: KObject): boolean {
  const st = (m.status ?? {}) as { nodeRef?: { name?: string }; conditions?: { type: string; status: string }[] };
  return Boolean(st.nodeRef?.name) && (st.conditions ?? []).some((c) => c.type === "Available" && c.status === "True");
}

/** CAPMOX unmountCloudInitISO: once the Machine is Available with a Node, detach and delete the ISO. */
export async function ejectIso(s: MachineScope): Promise<void> {
  const a = readAttachment(s);
  if (!a || a.kind !== "iso" || a.ejected || !machineAvailableWithNode(s.machine)) return;
  const vmid = s.spec.virtualMachineID!;
  const config = await s.backend.vmConfig(a.node, vmid);
  if (config) {
    const devices = Object.keys(a.config).filter((k) => /^(ide|sata|scsi)\d+$/.test(k) && config[k] !== undefined);
    const tags = parseTags(config.tags);
    const set: Record<string, string> = tags.includes(CLOUD_INIT_TAG) ? { tags: formatTags(tags.filter((t) => t !== CLOUD_INIT_TAG)) } : {};
    if (devices.length || Object.keys(set).length) await s.backend.setVmConfig(a.node, vmid, set, devices);
  }
  await s.backend.removeBootstrapData(a.node, a);
  writeAttachment(s, { ...a, ejected: true });
  s.log.info({ vmid }, "cloud-init ISO ejected");
}
