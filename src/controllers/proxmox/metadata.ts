/**
 * The NoCloud `meta-data` CAPMOX writes: the SMBIOS UUID as instance-id (so kubeadm's
 * `{{ ds.meta_data.instance_id }}` yields the providerID), the machine name as hostname, the
 * providerID only when `metadataSettings.providerIDInjection` is on, and the Kubernetes version.
 * @module
 */

export interface MetaDataInput {
  instanceId: string;
  hostname: string;
  kubernetesVersion?: string;
  providerIdInjection?: boolean;
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
  return out;
}
