/**
 * The IPAddressClaims a ProxmoxMachine needs (CAPMOX pkg/kubernetes/ipam + vmservice/ip.go):
 * per NIC, the cluster's default pools first (when `defaultIPv4`/`defaultIPv6`), then its
 * `ipPoolRef`s; claim `i` of NIC `netN` is named `<machine>-<netN>-<ii>-inet`, carries the
 * cluster-name and zone labels and the pool-offset (and default-gateway) annotations, and is
 * controller-owned by the ProxmoxMachine. Addresses are reported per NIC and under `default`.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { CLUSTER_NAME_LABEL, ownerRefTo } from "../core/contract.ts";
import { DEFAULT_GATEWAY_ANNOTATION, IPAM_CONTRACT_VERSION, IPAM_GROUP, POOL_OFFSET_ANNOTATION, ZONE_LABEL } from "./constants.ts";
import { isIPv4 } from "./ip.ts";
import type { IPAddressesStatus, NetworkDeviceSpec, PoolRef } from "./types.ts";

export interface ClaimDef {
  device: string;
  /** Position among the NIC's pools (drives the name and the address order). */
  offset: number;
  pool: { apiGroup: string; kind: string; name: string };
  /** Addresses from this claim carry the default route. */
  defaultGateway: boolean;
  /** From one of the cluster's default pools (reported under `default`). */
  fromDefaultPool: boolean;
}

export interface DefaultPools {
  ipv4?: string;
  ipv6?: string;
}

export function claimName(machine: string, device: string, offset: number): string {
  return `${machine}-${device}-${String(offset).padStart(2, "0")}-inet`;
}

/** The NICs a `proxmox.capx.dev/dhcp` annotation value names (`all`, or `net0,net1`). */
export function parseDhcpAnnotation(value: string | undefined, devices: readonly NetworkDeviceSpec[]): Set<string> {
  const names = devices.map((d) => d.name ?? "net0");
  if (!value?.trim()) return new Set();
  if (value.trim() === "all") return new Set(names);
  const wanted = new Set(value.split(",").map((v) => v.trim()).filter(Boolean));
  return new Set(names.filter((n) => wanted.has(n)));
}

/** The claims to make; NICs configured by DHCP get none. */
export function claimDefs(devices: readonly NetworkDeviceSpec[], pools: DefaultPools, dhcp: ReadonlySet<string> = new Set()): ClaimDef[] {
  const out: ClaimDef[] = [];
  for (const nic of devices) {
    const device = nic.name ?? "net0";
    if (dhcp.has(device)) continue;
    const refs: { ref: PoolRef; isDefault: boolean }[] = [];
    if (nic.defaultIPv4 && pools.ipv4) refs.push({ ref: { kind: "InClusterIPPool", name: pools.ipv4 }, isDefault: true });
    if (nic.defaultIPv6 && pools.ipv6) refs.push({ ref: { kind: "InClusterIPPool", name: pools.ipv6 }, isDefault: true });
    for (const ref of nic.ipPoolRef ?? []) {
      const isDefault = ref.kind === "InClusterIPPool" && ((nic.defaultIPv4 === true && ref.name === pools.ipv4) || (nic.defaultIPv6 === true && ref.name === pools.ipv6));
      refs.push({ ref, isDefault });
    }
    refs.forEach(({ ref, isDefault }, offset) =>
      out.push({ device, offset, pool: { apiGroup: IPAM_GROUP, kind: ref.kind, name: ref.name }, defaultGateway: isDefault, fromDefaultPool: isDefault }),
    );
  }
  return out;
}

export function buildClaim(def: ClaimDef, machine: KObject, clusterName: string, poolLabels: Record<string, string> | undefined): KObject {
  const labels: Record<string, string> = { [CLUSTER_NAME_LABEL]: clusterName };
  if (poolLabels?.[ZONE_LABEL]) labels[ZONE_LABEL] = poolLabels[ZONE_LABEL];
  const annotations: Record<string, string> = { [POOL_OFFSET_ANNOTATION]: String(def.offset) };
  if (def.defaultGateway) annotations[DEFAULT_GATEWAY_ANNOTATION] = "true";
  return {
    apiVersion: IPAM_CONTRACT_VERSION,
    kind: "IPAddressClaim",
    metadata: {
      name: claimName(machine.metadata.name!, def.device, def.offset),
      namespace: machine.metadata.namespace,
      labels,
      annotations,
      ownerReferences: [ownerRefTo(machine, true)],
    },
    spec: { poolRef: { ...def.pool } },
  };
}

export interface ResolvedAddress {
  def: ClaimDef;
  /** The IPAddress object's name. */
  name: string;
  address: string;
  prefix: number;
  gateway?: string;
  /** The address's annotations overlaid with the claim's (CAPMOX's source of truth). */
  annotations: Record<string, string>;
}

/** `status.ipAddresses`: `default` first, then each NIC in spec order; IPv4 and IPv6 by pool offset. */
export function ipAddressesStatus(devices: readonly NetworkDeviceSpec[], resolved: readonly ResolvedAddress[]): IPAddressesStatus[] {
  const entry = (net: string, list: readonly ResolvedAddress[]): IPAddressesStatus => {
    const sorted = [...list].sort((a, b) => a.def.offset - b.def.offset);
    const ipv4 = sorted.filter((r) => isIPv4(r.address)).map((r) => r.address);
    const ipv6 = sorted.filter((r) => !isIPv4(r.address)).map((r) => r.address);
    return { net, ...(ipv4.length ? { ipv4 } : {}), ...(ipv6.length ? { ipv6 } : {}) };
  };
  const out = [entry("default", resolved.filter((r) => r.def.fromDefaultPool))];
  for (const d of devices) {
    const net = d.name ?? "net0";
    const list = resolved.filter((r) => r.def.device === net);
    if (list.length) out.push(entry(net, list));
  }
  return out;
}

/** The VM tags CAPMOX adds for the default NIC's IPv4 addresses: `ip_net0_<ipv4>`. */
export function ipTags(resolved: readonly ResolvedAddress[]): string[] {
  return resolved.filter((r) => r.def.fromDefaultPool && isIPv4(r.address)).map((r) => `ip_net0_${r.address}`);
}
