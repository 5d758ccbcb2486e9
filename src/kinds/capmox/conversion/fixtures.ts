/**
 * Hand-written, schema-valid CAPMOX objects with (nearly) every field set, for every kind and
 * served version: the round-trip and mapping tests start from these.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";

const NS = "ns1";
const T1 = "2025-01-01T00:00:00Z";
const T2 = "2025-02-01T10:20:30Z";
const UUID = "0c3a9e25-6f2b-4d1e-9a57-3b1f0e8c2d4a";
const POOL = (name: string, kind = "InClusterIPPool") => ({ apiGroup: "ipam.cluster.x-k8s.io", kind, name });

const v1beta1Conditions = [
  { type: "Ready", status: "False", severity: "Warning", lastTransitionTime: T1, reason: "Cloning", message: "cloning VM 9000" },
  { type: "VMProvisioned", status: "True", lastTransitionTime: T2 },
];
const metav1Conditions = [
  { type: "Ready", status: "False", observedGeneration: 3, lastTransitionTime: T1, reason: "Cloning", message: "cloning VM 9000" },
  { type: "VirtualMachineProvisioned", status: "True", lastTransitionTime: T2, reason: "Provisioned", message: "" },
];

// ---- ProxmoxMachine spec -----------------------------------------------------------------------

const commonMachineSpec = {
  allowedNodes: ["pve1", "pve2"],
  checks: { skipCloudInitStatus: true, skipQemuGuestAgent: false },
  description: "worker VM",
  disks: { bootVolume: { disk: "scsi0", sizeGb: 40 } },
  format: "qcow2",
  full: true,
  memoryMiB: 8192,
  metadataSettings: { providerIDInjection: true },
  numCores: 4,
  numSockets: 2,
  pool: "k8s",
  providerID: `proxmox://${UUID}`,
  snapName: "base",
  storage: "local-lvm",
  tags: ["k8s", "worker"],
  virtualMachineID: 1042,
  vmIDRange: { start: 1000, end: 1999 },
};

const routes = [
  { to: "10.30.0.0/16", via: "10.20.0.1", metric: 100, table: 100 },
  { to: "default", via: "10.20.0.254", metric: 200 },
];
const routingPolicy = [{ to: "10.30.0.0/16", from: "10.20.0.0/24", table: 100, priority: 100 }];

export const machineSpecV1Alpha1 = {
  ...commonMachineSpec,
  sourceNode: "pve1",
  templateID: 9001,
  network: {
    default: {
      bridge: "vmbr0",
      model: "virtio",
      mtu: 9000,
      vlan: 10,
      dnsServers: ["10.10.0.1"],
      ipv4PoolRef: POOL("extra-v4"),
      ipv6PoolRef: POOL("extra-inet6"),
    },
    additionalDevices: [
      {
        name: "net1",
        bridge: "vmbr1",
        model: "e1000",
        mtu: 1500,
        vlan: 20,
        dnsServers: ["10.20.0.1"],
        ipv4PoolRef: POOL("shared", "GlobalInClusterIPPool"),
        routes,
        routingPolicy,
        linkMtu: 1500,
      },
    ],
    vrfs: [{ name: "vrf-ext", table: 500, interfaces: ["net1"], routes: [{ to: "0.0.0.0/0", via: "10.20.0.1" }], routingPolicy: [{ from: "10.20.0.0/24" }] }],
  },
};

export const machineSpecV1Alpha2 = {
  ...commonMachineSpec,
  templateSelector: { matchTags: ["talos", "v1.9"], matchPolicy: "uniqueSubset" },
  network: {
    zone: "zone-a",
    networkDevices: [
      {
        name: "net0",
        bridge: "vmbr0",
        model: "virtio",
        mtu: 1,
        vlan: 10,
        queues: 4,
        defaultIPv4: true,
        defaultIPv6: false,
        dnsServers: ["10.10.0.1", "fd00:10::1"],
        ipPoolRef: [POOL("extra-v4"), POOL("extra-v6")],
        routes: [{ to: "default", via: "10.10.0.254", metric: 50, is6: false }],
        linkMtu: 1500,
      },
      {
        name: "net1",
        bridge: "vmbr1",
        model: "vmxnet3",
        defaultIPv6: true,
        ipPoolRef: [POOL("shared-v4", "GlobalInClusterIPPool"), POOL("shared-v6", "GlobalInClusterIPPool"), POOL("third")],
        routes: [...routes, { to: "all", table: 7, is6: true }],
        routingPolicy: [...routingPolicy, { from: "all", table: 100, priority: 40000, is6: true }],
      },
      { name: "net2", bridge: "vmbr2" },
    ],
    vrfs: [
      {
        name: "vrf-ext",
        table: 500,
        interfaces: ["net2"],
        routes: [{ to: "default", via: "10.40.0.1", is6: false }],
        routingPolicy: [{ from: "10.40.0.0/24", table: 500, is6: false }],
      },
    ],
  },
};

// ---- ProxmoxMachine ---------------------------------------------------------------------------

export const proxmoxMachineV1Alpha1: KObject = {
  apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1",
  kind: "ProxmoxMachine",
  metadata: { name: "c1-md-0-abcde", namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": "c1" }, annotations: { note: "x" } },
  spec: { ...machineSpecV1Alpha1, target: "pve3" },
  status: {
    ready: true,
    addresses: [
      { type: "Hostname", address: "c1-md-0-abcde" },
      { type: "InternalIP", address: "10.10.0.21" },
    ],
    vmStatus: "ready",
    bootstrapDataProvided: true,
    ipAddresses: { net0: { ipv4: "10.10.0.21", ipv6: "fd00:10::21" }, net1: { ipv4: "10.20.0.21" } },
    network: [{ connected: true, ipAddrs: ["10.10.0.21"], macAddr: "BC:24:11:00:00:01", networkName: "net0" }],
    proxmoxNode: "pve3",
    taskRef: "UPID:pve3:0000A1B2:00C0FFEE:65A1B2C3:qmclone:9001:root@pam:",
    retryAfter: T2,
    failureReason: "CreateError",
    failureMessage: "clone failed",
    conditions: v1beta1Conditions,
  },
};

export const proxmoxMachineV1Alpha2: KObject = {
  apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
  kind: "ProxmoxMachine",
  metadata: { name: "c1-cp-xyz12", namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": "c1" } },
  spec: machineSpecV1Alpha2,
  status: {
    conditions: metav1Conditions,
    initialization: { provisioned: true },
    addresses: [{ type: "InternalIP", address: "10.10.0.22" }],
    vmStatus: "ready",
    bootstrapDataProvided: true,
    ipAddresses: [
      { net: "net0", ipv4: ["10.10.0.22", "10.10.0.122"], ipv6: ["fd00:10::22"] },
      { net: "net1", ipv4: ["10.20.0.22"] },
    ],
    network: [{ connected: true, ipAddrs: ["10.10.0.22"], macAddr: "BC:24:11:00:00:02", networkName: "net0" }],
    proxmoxNode: "pve1",
    taskRef: "UPID:pve1:0000A1B3:00C0FFEF:65A1B2C4:qmstart:1042:root@pam:",
    retryAfter: T1,
  },
};

// Templates carry no providerID (the webhook forbids it) and no VMID.
const { providerID: _p1, virtualMachineID: _v1, ...templateSpecV1Alpha1 } = machineSpecV1Alpha1;
const { providerID: _p2, virtualMachineID: _v2, ...templateSpecV1Alpha2 } = machineSpecV1Alpha2;

export const proxmoxMachineTemplateV1Alpha1: KObject = {
  apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1",
  kind: "ProxmoxMachineTemplate",
  metadata: { name: "c1-worker", namespace: NS },
  spec: {
    template: {
      metadata: { labels: { role: "worker" }, annotations: { a: "b" } },
      spec: { ...templateSpecV1Alpha1, target: "pve2" },
    },
  },
};

export const proxmoxMachineTemplateV1Alpha2: KObject = {
  apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
  kind: "ProxmoxMachineTemplate",
  metadata: { name: "c1-control-plane", namespace: NS },
  spec: {
    template: {
      metadata: { labels: { role: "cp" }, annotations: { a: "b" } },
      spec: templateSpecV1Alpha2,
    },
  },
};

// ---- ProxmoxCluster ---------------------------------------------------------------------------

const commonClusterSpec = {
  allowedNodes: ["pve1", "pve2", "pve3"],
  controlPlaneEndpoint: { host: "10.10.0.5", port: 6443 },
  credentialsRef: { name: "pve-creds", namespace: NS },
  dnsServers: ["10.10.0.1", "1.1.1.1"],
  externalManagedControlPlane: false,
  ipv4Config: { addresses: ["10.10.0.20-10.10.0.50", "10.10.0.64/28"], prefix: 24, gateway: "10.10.0.1", metric: 100 },
  ipv6Config: { addresses: ["fd00:10::20-fd00:10::50"], prefix: 64, gateway: "fd00:10::1", metric: 200 },
  schedulerHints: { memoryAdjustment: 120 },
};

const cloneSpec = {
  machineSpec: {
    controlPlane: { sourceNode: "pve1", templateID: 9001, network: { default: { bridge: "vmbr0", model: "virtio" } } },
    workerNode: { templateSelector: { matchTags: ["ubuntu"], matchPolicy: "exact" } },
  },
  sshAuthorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample user@host"],
  virtualIPNetworkInterface: "eth0",
};

export const proxmoxClusterV1Alpha1: KObject = {
  apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1",
  kind: "ProxmoxCluster",
  metadata: { name: "c1", namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": "c1" } },
  spec: { ...commonClusterSpec, cloneSpec },
  status: {
    ready: true,
    inClusterIpPoolRef: [{ name: "c1-v4-icip" }, { name: "c1-v6-icip" }],
    nodeLocations: {
      controlPlane: [{ machine: { name: "c1-cp-1" }, node: "pve1" }],
      workers: [{ machine: { name: "c1-md-0-abcde" }, node: "pve3" }],
    },
    failureReason: "InvalidConfiguration",
    failureMessage: "bad",
    conditions: v1beta1Conditions,
    failureDomains: { pve1: { controlPlane: true, attributes: { zone: "a" } }, pve2: { controlPlane: false } },
  },
};

export const proxmoxClusterV1Alpha2: KObject = {
  apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
  kind: "ProxmoxCluster",
  metadata: { name: "c2", namespace: NS },
  spec: {
    ...commonClusterSpec,
    externalManagedControlPlane: true,
    zoneConfig: [
      {
        zone: "zone-a",
        dnsServers: ["10.30.0.1"],
        ipv4Config: { addresses: ["10.30.0.10-10.30.0.20"], prefix: 24, gateway: "10.30.0.1", metric: 100 },
        ipv6Config: { addresses: ["fd00:30::/120"], prefix: 64, gateway: "fd00:30::1", metric: 100 },
      },
    ],
  },
  status: {
    conditions: metav1Conditions,
    initialization: { provisioned: true },
    inClusterIPPoolRef: [{ name: "c2-v4-icip" }],
    inClusterZoneRef: [{ zone: "zone-a", inClusterIPPoolRefV4: { name: "c2-zone-a-v4-icip" }, inClusterIPPoolRefV6: { name: "c2-zone-a-v6-icip" } }],
    nodeLocations: {
      controlPlane: [{ machine: { name: "c2-cp-1" }, node: "pve2", zone: "zone-a" }],
      workers: [{ machine: { name: "c2-md-0-1" }, node: "pve1" }],
    },
    failureDomains: [
      { name: "pve1", controlPlane: true },
      { name: "pve2", controlPlane: true, attributes: { rack: "r2" } },
    ],
  },
};

export const proxmoxClusterTemplateV1Alpha1: KObject = {
  apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1",
  kind: "ProxmoxClusterTemplate",
  metadata: { name: "tmpl", namespace: NS },
  spec: { template: { metadata: { labels: { a: "b" }, annotations: { c: "d" } }, spec: { ...commonClusterSpec, cloneSpec } } },
};

export const proxmoxClusterTemplateV1Alpha2: KObject = {
  apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
  kind: "ProxmoxClusterTemplate",
  metadata: { name: "tmpl2", namespace: NS },
  spec: { template: { metadata: { labels: { a: "b" } }, spec: { ...(proxmoxClusterV1Alpha2.spec as object) } } },
};

export interface Fixture {
  name: string;
  object: KObject;
}

export const FIXTURES: Fixture[] = [
  { name: "ProxmoxMachine v1alpha1", object: proxmoxMachineV1Alpha1 },
  { name: "ProxmoxMachine v1alpha2", object: proxmoxMachineV1Alpha2 },
  { name: "ProxmoxMachineTemplate v1alpha1", object: proxmoxMachineTemplateV1Alpha1 },
  { name: "ProxmoxMachineTemplate v1alpha2", object: proxmoxMachineTemplateV1Alpha2 },
  { name: "ProxmoxCluster v1alpha1", object: proxmoxClusterV1Alpha1 },
  { name: "ProxmoxCluster v1alpha2", object: proxmoxClusterV1Alpha2 },
  { name: "ProxmoxClusterTemplate v1alpha1", object: proxmoxClusterTemplateV1Alpha1 },
  { name: "ProxmoxClusterTemplate v1alpha2", object: proxmoxClusterTemplateV1Alpha2 },
];
