/**
 * The InClusterIPPool / GlobalInClusterIPPool spec (v1alpha2, the storage version) and the set of
 * addresses a pool hands out, after upstream's `poolutil.PoolSpecToIPSet`: the union of
 * `addresses`, minus `excludedAddresses`, minus the gateway, and — unless
 * `allocateReservedIPAddresses` — minus the first address of the subnet (`prefix` bits around the
 * lowest pool address; the network address of IPv4, the subnet-router anycast address of IPv6)
 * and, for IPv4, its last (broadcast) address.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { first, type IPSet, parseAddressEntries, single, subnetRange, subtract } from "./ipset.ts";
import { bitLen, parseAddr } from "./netip.ts";

export const IPAM_GROUP = "ipam.cluster.x-k8s.io";
export const POOL_VERSION = "v1alpha2";
export const POOL_API_VERSION = `${IPAM_GROUP}/${POOL_VERSION}`;
export const IN_CLUSTER_IP_POOL = "InClusterIPPool";
export const GLOBAL_IN_CLUSTER_IP_POOL = "GlobalInClusterIPPool";
export const POOL_KINDS = [IN_CLUSTER_IP_POOL, GLOBAL_IN_CLUSTER_IP_POOL] as const;

export interface PoolSpec {
  addresses?: string[];
  prefix?: number;
  gateway?: string;
  allocateReservedIPAddresses?: boolean;
  excludedAddresses?: string[];
  addressReuseGracePeriodSeconds?: number;
}

export function poolSpecOf(pool: KObject): PoolSpec {
  return (pool.spec ?? {}) as PoolSpec;
}

/** The addresses the pool may hand out; undefined when the spec does not parse (admission prevents that). */
export function allocatableSet(spec: PoolSpec): IPSet | undefined {
  const addresses = parseAddressEntries(spec.addresses ?? []);
  if (!addresses || addresses.length === 0) return undefined;
  let set = addresses;
  if (spec.excludedAddresses?.length) {
    const excluded = parseAddressEntries(spec.excludedAddresses);
    if (!excluded) return undefined;
    set = subtract(set, excluded);
  }
  const lowest = first(addresses)!;
  const prefix = spec.prefix ?? 0;
  if (prefix < 0 || prefix > bitLen(lowest.family)) return undefined;
  if (!spec.allocateReservedIPAddresses) {
    const subnet = subnetRange(lowest, prefix);
    const reserved = [{ family: subnet.family, from: subnet.from, to: subnet.from }];
    if (subnet.family === 4) reserved.push({ family: 4, from: subnet.to, to: subnet.to });
    set = subtract(set, reserved);
  }
  if (spec.gateway) {
    const gw = parseAddr(spec.gateway);
    if (!gw.ok) return undefined;
    set = subtract(set, [single(gw.value)]);
  }
  return set;
}
