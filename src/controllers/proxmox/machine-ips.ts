/**
 * CAPMOX step 3: an IPAddressClaim per NIC and pool, each resolved to its IPAddress once the
 * IPAM controller fulfils it (CAPMOX ResolveIPAddressClaim: a claim owned by someone else, on
 * another pool, or pointing at a missing or foreign address blocks provisioning with CAPMOX's
 * message). Then `status.ipAddresses` and the `ip_net0_<ipv4>` tags.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { setVmProvisioned } from "./conditions.ts";
import { DHCP_ANNOTATION, INFRA_GROUP, IPAM_CONTRACT_VERSION, POOL_VERSION, VmReasons } from "./constants.ts";
import { groupOf } from "../core/contract.ts";
import { buildClaim, claimDefs, claimName, ipAddressesStatus, ipTags, parseDhcpAnnotation, type ClaimDef, type DefaultPools, type ResolvedAddress } from "./ipam-claims.ts";
import type { LocatedVm } from "./locate.ts";
import type { MachineScope, Step } from "./machine-scope.ts";
import { formatTags, parseTags } from "./vmconfig.ts";
import { cloneData } from "../../lib/clone.ts";

export interface IpResult {
  addresses: ResolvedAddress[];
  dhcp: Set<string>;
}

type PoolRefFields = { apiGroup?: string; kind?: string; name?: string };

/** A group, or the group of a group/version (CAPMOX normalizedAPIGroup). */
function normalizeGroup(g: string): string {
  const i = g.indexOf("/");
  return i < 0 ? g : g.slice(0, i);
}

function samePool(ref: PoolRefFields | undefined, def: ClaimDef): boolean {
  if (ref?.name !== def.pool.name) return false;
  if (ref.kind && ref.kind !== def.pool.kind) return false;
  return !ref.apiGroup || normalizeGroup(ref.apiGroup) === def.pool.apiGroup;
}

/** The NICs configured by DHCP: the machine's annotation, else its cluster's. */
export function dhcpNics(s: MachineScope): Set<string> {
  const value = s.annotation(DHCP_ANNOTATION) ?? s.pc.metadata.annotations?.[DHCP_ANNOTATION];
  return parseDhcpAnnotation(value, s.spec.network?.networkDevices ?? []);
}

/** The cluster's default pools for the machine's zone (CAPMOX GetInClusterPools). */
export function defaultPools(s: MachineScope): DefaultPools | string {
  const zone = s.spec.network?.zone ?? "default";
  const ref = s.pcStatus.inClusterZoneRef?.find((z) => (z.zone ?? "default") === zone);
  if (!ref) return `zone ${zone} not found`;
  return { ipv4: ref.inClusterIPPoolRefV4?.name || undefined, ipv6: ref.inClusterIPPoolRefV6?.name || undefined };
}

export function poolObject(s: MachineScope, pool: { kind: string; name: string }): KObject | undefined {
  const namespaced = pool.kind === "InClusterIPPool";
  return s.client.get({ apiVersion: POOL_VERSION, kind: pool.kind, namespace: namespaced ? s.namespace : undefined, name: pool.name });
}

type Resolution = { kind: "resolved"; address: ResolvedAddress } | { kind: "pending" } | { kind: "conflict"; message: string } | { kind: "missing-pool"; message: string };

async function resolveClaim(s: MachineScope, def: ClaimDef): Promise<Resolution> {
  const name = claimName(s.name, def.device, def.offset);
  const claim = s.client.get({ apiVersion: IPAM_CONTRACT_VERSION, kind: "IPAddressClaim", namespace: s.namespace, name });
  if (!claim) {
    const pool = poolObject(s, def.pool);
    if (!pool) return { kind: "missing-pool", message: `unable to find ${def.pool.kind} ${def.pool.name} for cluster ${s.name}` };
    await s.client.create(buildClaim(def, s.pm, s.clusterName, pool.metadata.labels));
    return { kind: "pending" };
  }
  const owned = claim.metadata.ownerReferences?.some((r) => r.uid === s.uid && r.kind === "ProxmoxMachine" && groupOf(r.apiVersion) === INFRA_GROUP);
  if (!owned) return { kind: "conflict", message: `Static IP claim "${name}" is conflicting (OwnerMismatch); inspect the IPAddressClaim ownership, poolRef, and referenced IPAddress before provisioning can continue.` };
  const spec = claim.spec as { poolRef?: PoolRefFields } | undefined;
  if (!samePool(spec?.poolRef, def)) return { kind: "conflict", message: `Static IP claim "${name}" is conflicting (PoolMismatch); inspect the IPAddressClaim ownership, poolRef, and referenced IPAddress before provisioning can continue.` };
  const addressName = (claim.status as { addressRef?: { name?: string } } | undefined)?.addressRef?.name;
  if (!addressName) return { kind: "pending" };
  const address = s.client.get({ apiVersion: IPAM_CONTRACT_VERSION, kind: "IPAddress", namespace: s.namespace, name: addressName });
  if (!address) {
    return { kind: "conflict", message: `Static IP claim "${name}" references a missing IPAddress "${addressName}"; delete the stale IPAddressClaim to allow recovery.` };
  }
  const a = (address.spec ?? {}) as { address?: string; prefix?: number; gateway?: string; poolRef?: PoolRefFields };
  if (!samePool(a.poolRef, def) || !a.address) {
    return { kind: "conflict", message: `Static IP claim "${name}" is conflicting (AddressPoolRef); inspect the IPAddressClaim ownership, poolRef, and referenced IPAddress before provisioning can continue.` };
  }
  return {
    kind: "resolved",
    address: {
      def,
      name: address.metadata.name!,
      address: a.address,
      prefix: a.prefix ?? 0,
      ...(a.gateway ? { gateway: a.gateway } : {}),
      annotations: { ...(address.metadata.annotations ?? {}), ...(claim.metadata.annotations ?? {}) },
    },
  };
}

/** Claims and resolves every address; tags the VM. `step` set means: wait. */
export async function reconcileIps(s: MachineScope, vm: LocatedVm): Promise<{ step: Step } | IpResult> {
  const devices = s.spec.network?.networkDevices ?? [];
  const dhcp = dhcpNics(s);
  const pools = defaultPools(s);
  if (typeof pools === "string") {
    setVmProvisioned(s.pm, "False", VmReasons.WaitingForStaticIPAllocation, pools);
    return { step: { requeueAfter: s.shared.timings.requeueMs } };
  }
  const defs = claimDefs(devices, pools, dhcp);
  const addresses: ResolvedAddress[] = [];
  const blocked: string[] = [];
  let pending = 0;
  for (const def of defs) {
    const r = await resolveClaim(s, def);
    if (r.kind === "resolved") addresses.push(r.address);
    else if (r.kind === "pending") pending++;
    else blocked.push(r.message);
  }
  if (blocked.length || pending) {
    const message = blocked.length ? blocked.join("; ") : `waiting for ${pending} of ${defs.length} IP addresses`;
    setVmProvisioned(s.pm, "False", VmReasons.WaitingForStaticIPAllocation, message);
    return { step: { requeueAfter: s.shared.timings.requeueMs } };
  }
  s.status.ipAddresses = ipAddressesStatus(devices, addresses);
  const current = parseTags(vm.config.tags);
  const tags = formatTags([...current, ...ipTags(addresses)]);
  if (tags !== formatTags(current)) {
    await s.backend.setVmConfig(vm.node, s.spec.virtualMachineID!, { tags });
    vm.config.tags = tags;
  }
  return { addresses, dhcp };
}

/** The claims the machine may have made (for release on deletion). */
export function machineClaims(s: MachineScope): KObject[] {
  return s.client
    .listShared(IPAM_CONTRACT_VERSION, "IPAddressClaim", s.namespace)
    .filter((c) => c.metadata.ownerReferences?.some((r) => r.uid === s.uid))
    .map((c) => cloneData(c) as KObject);
}
