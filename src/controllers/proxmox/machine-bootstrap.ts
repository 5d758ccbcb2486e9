/**
 * CAPMOX step 4: the NoCloud data for the VM — user-data = the bootstrap Secret's `value`
 * verbatim, meta-data with the SMBIOS UUID, network-config from the NIC MACs and IPAM addresses —
 * written by the backend (snippets or an ISO) and attached to the VM. Where it went is recorded
 * on the ProxmoxMachine before it is attached, so deletion can remove it.
 * @module
 */
import { PveError } from "../../providers/proxmox/types.ts";
import { readAttachment, writeAttachment } from "./clone-intent.ts";
import { setVmProvisioned } from "./conditions.ts";
import { VmReasons } from "./constants.ts";
import type { IpResult } from "./machine-ips.ts";
import { poolObject } from "./machine-ips.ts";
import type { LocatedVm } from "./locate.ts";
import type { MachineScope, Step } from "./machine-scope.ts";
import { renderMetaData, MetaDataError } from "./metadata.ts";
import { buildNetworkDevices } from "./network-data.ts";
import { NetworkConfigError, renderNetworkConfig } from "./network-config.ts";
import { allNicsHaveMacs, bootOrderWith, formatTags, parseTags, smbiosUuid } from "./vmconfig.ts";

/** The tag CAPMOX (go-proxmox) puts on a VM with an attached cloud-init ISO. */
export const CLOUD_INIT_TAG = "cloud-init";

function decode(v: string | undefined): string | undefined {
  return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
}

function fail(s: MachineScope, reason: string, message: string, ms: number): Step {
  setVmProvisioned(s.pm, "False", reason, message);
  return { requeueAfter: ms };
}

export async function reconcileBootstrap(s: MachineScope, vm: LocatedVm, ips: IpResult): Promise<Step> {
  if (s.status.bootstrapDataProvided && readAttachment(s)) return undefined;
  const { requeueMs, taskPollMs } = s.shared.timings;
  if (!allNicsHaveMacs(vm.config)) return fail(s, VmReasons.WaitingForBootstrapDataReconciliation, "waiting for the NICs' MAC addresses", taskPollMs);

  const secretName = (s.machine.spec as { bootstrap?: { dataSecretName?: string } } | undefined)?.bootstrap?.dataSecretName;
  const secret = secretName ? s.client.get({ apiVersion: "v1", kind: "Secret", namespace: s.namespace, name: secretName }) : undefined;
  if (!secret) return fail(s, VmReasons.CloningFailed, `failed to retrieve bootstrap data secret: secret ${s.namespace}/${secretName ?? ""} not found`, requeueMs);
  const data = (secret as { data?: Record<string, string> }).data ?? {};
  const userData = decode(data.value);
  if (userData === undefined) return fail(s, VmReasons.CloningFailed, "error retrieving bootstrap data: secret `value` key is missing", requeueMs);
  const format = decode(data.format) ?? "cloud-config";
  if (format !== "cloud-config") {
    return fail(s, VmReasons.VMProvisionFailed, `bootstrap data format ${JSON.stringify(format)} is not supported by the appliance (only cloud-config)`, requeueMs);
  }
  const uuid = smbiosUuid(vm.config.smbios1);
  if (!uuid) return fail(s, VmReasons.WaitingForBootstrapDataReconciliation, "the VM has no SMBIOS uuid yet", taskPollMs);

  let metaData: string;
  let networkConfig: string;
  try {
    const devices = buildNetworkDevices({
      devices: s.spec.network?.networkDevices ?? [],
      vrfs: s.spec.network?.vrfs,
      config: vm.config,
      clusterDns: s.pcSpec.dnsServers,
      addresses: ips.addresses,
      poolAnnotations: (a) => poolObject(s, a.def.pool)?.metadata.annotations,
      dhcp: ips.dhcp,
    });
    metaData = renderMetaData({
      instanceId: uuid,
      hostname: s.name,
      kubernetesVersion: (s.machine.spec as { version?: string } | undefined)?.version,
      providerIdInjection: s.spec.metadataSettings?.providerIDInjection ?? false,
      proxmoxNode: vm.node,
      zone: s.spec.network?.zone ?? "default",
    });
    networkConfig = renderNetworkConfig(devices);
  } catch (e) {
    if (e instanceof NetworkConfigError || e instanceof MetaDataError) {
      return fail(s, VmReasons.VMProvisionFailed, `failed to inject bootstrap data: ${e.message}`, requeueMs);
    }
    throw e;
  }

  const vmid = s.spec.virtualMachineID!;
  let attachment;
  try {
    attachment = await s.backend.putBootstrapData({ node: vm.node, vmid }, { userData, metaData, networkConfig });
  } catch (e) {
    if (e instanceof PveError) return fail(s, VmReasons.WaitingForBootstrapDataReconciliation, `unable to write bootstrap data: ${e.message}`, requeueMs);
    throw e;
  }
  writeAttachment(s, { ...attachment, node: vm.node });
  await s.save();

  const set: Record<string, string> = { ...attachment.config };
  if (attachment.kind === "iso") {
    const device = Object.keys(attachment.config).find((k) => /^(ide|sata|scsi)\d+$/.test(k));
    if (device) set.boot = bootOrderWith(vm.config.boot, device);
    set.tags = formatTags([...parseTags(vm.config.tags), CLOUD_INIT_TAG]);
  }
  await s.backend.setVmConfig(vm.node, vmid, set);
  Object.assign(vm.config, set);
  s.status.bootstrapDataProvided = true;
  s.log.info({ vmid, kind: attachment.kind, storage: attachment.storage }, "bootstrap data attached");
  return undefined;
}
