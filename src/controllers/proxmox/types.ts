/**
 * The ProxmoxCluster / ProxmoxMachine (v1alpha2, the storage version) fields the controllers
 * read and write, written by hand from the CAPMOX schema. Everything is optional on the wire.
 * @module
 */
import type { Condition } from "../../runtime/conditions.ts";

export interface IPConfigSpec {
  addresses: string[];
  prefix: number;
  gateway?: string;
  metric?: number;
}

export interface ZoneConfigSpec {
  zone: string;
  ipv4Config?: IPConfigSpec;
  ipv6Config?: IPConfigSpec;
  dnsServers?: string[];
}

export interface ProxmoxClusterSpec {
  controlPlaneEndpoint?: { host?: string; port?: number };
  externalManagedControlPlane?: boolean;
  allowedNodes?: string[];
  schedulerHints?: { memoryAdjustment?: number };
  ipv4Config?: IPConfigSpec;
  ipv6Config?: IPConfigSpec;
  dnsServers?: string[];
  zoneConfig?: ZoneConfigSpec[];
  credentialsRef?: { name?: string; namespace?: string };
}

export interface NodeLocation {
  machine: { name: string };
  node: string;
  zone?: string;
}

export interface FailureDomain {
  name: string;
  controlPlane?: boolean;
  attributes?: Record<string, string>;
}

export interface InClusterZoneRef {
  zone?: string;
  inClusterIPPoolRefV4?: { name: string };
  inClusterIPPoolRefV6?: { name: string };
}

export interface ProxmoxClusterStatus {
  initialization?: { provisioned?: boolean };
  conditions?: Condition[];
  inClusterIPPoolRef?: { name: string }[];
  inClusterZoneRef?: InClusterZoneRef[];
  nodeLocations?: { controlPlane?: NodeLocation[]; workers?: NodeLocation[] };
  /** Appliance extension: the PVE nodes machines may be placed on. */
  failureDomains?: FailureDomain[];
}

export interface RouteSpec {
  to?: string;
  via?: string;
  metric?: number;
  table?: number;
  is6?: boolean;
}

export interface RoutingPolicySpec {
  to?: string;
  from?: string;
  table?: number;
  priority?: number;
  is6?: boolean;
}

export interface PoolRef {
  apiGroup?: string;
  kind: string;
  name: string;
}

export interface NetworkDeviceSpec {
  name?: string;
  bridge?: string;
  model?: string;
  mtu?: number;
  vlan?: number;
  queues?: number;
  defaultIPv4?: boolean;
  defaultIPv6?: boolean;
  ipPoolRef?: PoolRef[];
  dnsServers?: string[];
  routes?: RouteSpec[];
  routingPolicy?: RoutingPolicySpec[];
  linkMtu?: number;
}

export interface VrfSpec {
  name: string;
  table: number;
  interfaces?: string[];
  routes?: RouteSpec[];
  routingPolicy?: RoutingPolicySpec[];
}

export interface ProxmoxMachineSpec {
  providerID?: string;
  virtualMachineID?: number;
  sourceNode?: string;
  templateID?: number;
  templateSelector?: { matchTags?: string[]; matchPolicy?: "exact" | "uniqueSubset" | "bestSubset" };
  description?: string;
  format?: "raw" | "qcow2" | "vmdk";
  full?: boolean;
  pool?: string;
  snapName?: string;
  storage?: string;
  numSockets?: number;
  numCores?: number;
  memoryMiB?: number;
  disks?: { bootVolume?: { disk: string; sizeGb: number } };
  network?: { zone?: string; networkDevices?: NetworkDeviceSpec[]; vrfs?: VrfSpec[] };
  vmIDRange?: { start: number; end: number };
  checks?: { skipCloudInitStatus?: boolean; skipQemuGuestAgent?: boolean };
  metadataSettings?: { providerIDInjection?: boolean };
  allowedNodes?: string[];
  tags?: string[];
}

export interface IPAddressesStatus {
  net: string;
  ipv4?: string[];
  ipv6?: string[];
}

export interface MachineAddress {
  type: "Hostname" | "InternalIP" | "ExternalIP" | "InternalDNS" | "ExternalDNS";
  address: string;
}

export interface ProxmoxMachineStatus {
  initialization?: { provisioned?: boolean };
  conditions?: Condition[];
  addresses?: MachineAddress[];
  vmStatus?: string;
  bootstrapDataProvided?: boolean;
  ipAddresses?: IPAddressesStatus[];
  proxmoxNode?: string;
  taskRef?: string;
  retryAfter?: string;
}
