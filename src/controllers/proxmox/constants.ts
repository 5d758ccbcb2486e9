/**
 * Names the Proxmox controllers share with CAPMOX (finalizers, conditions and their reasons,
 * IPAM annotations and labels) and the appliance's own ownership marks on VMs.
 * @module
 */

export const INFRA_GROUP = "infrastructure.cluster.x-k8s.io";
export const INFRA_VERSION = `${INFRA_GROUP}/v1alpha2`;
export const IPAM_GROUP = "ipam.cluster.x-k8s.io";
/** The in-cluster IPAM provider's pools (InClusterIPPool, GlobalInClusterIPPool). */
export const POOL_VERSION = `${IPAM_GROUP}/v1alpha2`;
/** The CAPI IPAM contract kinds (IPAddressClaim, IPAddress). */
export const IPAM_CONTRACT_VERSION = `${IPAM_GROUP}/v1beta2`;

export const CLUSTER_FINALIZER = "proxmoxcluster.infrastructure.cluster.x-k8s.io";
export const MACHINE_FINALIZER = "proxmoxmachine.infrastructure.cluster.x-k8s.io";
export const SECRET_FINALIZER = "proxmoxcluster.infrastructure.cluster.x-k8s.io/secret";

export const ZONE_LABEL = "topology.kubernetes.io/proxmox-zone";
export const IP_FAMILY_ANNOTATION = "ipam.capmox.cluster.x-k8s.io/ip-family";
export const POOL_OFFSET_ANNOTATION = "ipam.capmox.cluster.x-k8s.io/pool-ref-counter";
export const GATEWAY_METRIC_ANNOTATION = "ipam.capmox.cluster.x-k8s.io/gateway-metric";
export const DEFAULT_GATEWAY_ANNOTATION = "ipam.capmox.cluster.x-k8s.io/default-gateway";
/** The pre-prefix name of the gateway-metric annotation CAPMOX still writes and reads. */
export const LEGACY_METRIC_ANNOTATION = "metric";

/** Where the appliance records a clone before sending it (source, target, VMID). */
export const CLONE_INTENT_ANNOTATION = "proxmox.capx.dev/clone";
/**
 * DHCP instead of static IPAM (appliance extension, CAPMOX#29), on a ProxmoxMachine (or its
 * ProxmoxCluster, for all its machines): the NICs to configure by DHCP, comma-separated
 * (`net0`, `net0,net1`), or `all`. Those NICs get no IPAddressClaims and `dhcp4: true`; the
 * machine's InternalIPs then come from the guest agent.
 */
export const DHCP_ANNOTATION = "proxmox.capx.dev/dhcp";
/** Where the appliance records the bootstrap volumes it wrote for the VM. */
export const BOOTSTRAP_ANNOTATION = "proxmox.capx.dev/bootstrap-data";

export const ProxmoxClusterConditions = {
  ProxmoxAvailable: "ProxmoxAvailable",
  Ready: "Ready",
} as const;

export const ProxmoxClusterReasons = {
  ProxmoxUnreachable: "ProxmoxUnreachable",
  CredentialsNotFound: "CredentialsNotFound",
  MissingControlPlaneEndpoint: "MissingControlPlaneEndpoint",
  Deleting: "Deleting",
  Provisioned: "Provisioned",
} as const;

export const VM_PROVISIONED = "VirtualMachineProvisioned";

/** The reasons of `VirtualMachineProvisioned`; CAPMOX uses them as the provisioning state. */
export const VmReasons = {
  WaitingForClusterInfrastructureReady: "WaitingForClusterInfrastructureReady",
  WaitingForBootstrapData: "WaitingForBootstrapData",
  Cloning: "Cloning",
  CloningFailed: "CloningFailed",
  WaitingForDiskReconciliation: "WaitingForDiskReconciliation",
  WaitingForStaticIPAllocation: "WaitingForStaticIPAllocation",
  WaitingForBootstrapDataReconciliation: "WaitingForBootstrapDataReconciliation",
  WaitingForVMPowerUp: "WaitingForVMPowerUp",
  PoweringOnFailed: "PoweringOnFailed",
  WaitingForClusterAPIMachineAddresses: "WaitingForClusterAPIMachineAddresses",
  WaitingForCloudInit: "WaitingForCloudInit",
  WaitingForBootstrapReady: "WaitingForBootstrapReady",
  VMProvisionFailed: "VMProvisionFailed",
  TaskFailed: "TaskFailed",
  Deleting: "Deleting",
  DeletionFailed: "DeletionFailed",
  Provisioned: "Provisioned",
} as const;

/**
 * The only reasons provisioning stops for good (the appliance's refinement of CAPMOX's
 * VMProvisionFailed: the reason says which; the message keeps CAPMOX's text). Everything else
 * is retried with backoff.
 */
export const TerminalReasons = {
  TemplateNotFound: "TemplateNotFound",
  VmidsExhausted: "VMIDsExhausted",
  NoFittingNode: "NoFittingNode",
} as const;
export type TerminalReason = (typeof TerminalReasons)[keyof typeof TerminalReasons];

export function isTerminalReason(reason: string | undefined): boolean {
  return Object.values(TerminalReasons).includes(reason as TerminalReason);
}

/** CAPMOX's default requeue while provisioning. */
export const REQUEUE_MS = 10_000;
