/**
 * The NoCloud `meta-data` CAPMOX writes: the SMBIOS UUID as instance-id (so kubeadm's
 * `{{ ds.meta_data.instance_id }}` yields the providerID), the machine name as hostname, the
 * providerID only when `metadataSettings.providerIDInjection` is on, and the Kubernetes version.
 *
 * Beyond upstream: `proxmox-node` (the PVE node the VM runs on) and `zone` (its network zone,
 * `default` without one). CAPMOX's own cluster-template-proxmox-labels.yaml reads them as
 * `{{ ds.meta_data.proxmox_node }}` / `{{ ds.meta_data.zone }}`, but the CAPMOX change that wrote
 * them (3c08bfb) never reached its metadata template, so upstream that flavor renders cloud-init's
 * missing-variable marker into the kubelet's node labels.
 * @module
 */

export interface MetaDataInput {
  instanceId: string;
  hostname: string;
  kubernetesVersion?: string;
  providerIdInjection?: boolean;
  proxmoxNode?: string;
  zone?: string;
}

export class MetaDataError extends Error {
  override readonly name = "MetaDataError";
}

export function renderMetaData(m: MetaDataInput): string {
  if (!m.hostname) throw new MetaDataError("hostname is not set");
  if (!m.instanceId) throw new MetaDataError("instance-id is not set");
  let out = `instance-id: ${m.instanceId}\nlocal-hostname: ${m.hostname}\nhostname: ${m.hostname}\n`;
  if (m.providerIdInjection) out += `provider-id: proxmox://${m.instanceId}\n`;
  if (m.kubernetesVersion) out += `kubernetes-version: ${m.kubernetesVersion}\n`;
  if (m.proxmoxNode) out += `proxmox-node: ${m.proxmoxNode}\n`;
  if (m.zone) out += `zone: ${m.zone}\n`;
  return out;
}
