/**
 * InClusterIPPool / GlobalInClusterIPPool admission, after upstream cluster-api-ipam-provider-in-cluster
 * `internal/webhooks/inclusterippool.go` (one webhook for both kinds, on the v1alpha2 form). The
 * defaulting webhook sets nothing. Create and update:
 *
 * - `spec.addresses` must not be empty ("addresses is required"); each entry must be an IP, a
 *   range `a-b` or a CIDR; IPv4 and IPv6 entries must not be mixed; the same for
 *   `spec.excludedAddresses`, which must also be of the addresses' family;
 * - `spec.gateway` must parse (netip's message) and be of the addresses' family;
 * - `spec.prefix` and `spec.addressReuseGracePeriodSeconds` must not be negative;
 * - when all that holds: `<lowest address>/<prefix>` must be a valid prefix, and every entry of
 *   `spec.addresses` must lie inside it ("belongs to a different subnet than others").
 *
 * Upstream does not check that the gateway lies in the subnet (nor do we).
 *
 * Update also refuses (400) a spec that no longer contains addresses already allocated from the
 * pool; delete refuses (400) while any IPAddress still references the pool, unless the pool carries
 * `ipam.cluster.x-k8s.io/skip-validate-delete-webhook` (for clusterctl move). Upstream wording and
 * codes; the messages carry kube-apiserver's `admission webhook "<name>" denied the request:`
 * prefix. Two deliberate differences: the update check only runs when the spec changed (a spec
 * that is unchanged cannot strand an address, and so finalizer and label updates are never
 * refused), and a pool in a namespace being deleted may be deleted (its
 * `ipam.cluster.x-k8s.io/ProtectPool` finalizer still holds it until its addresses are gone): the
 * appliance's namespace cleanup stops at the first refused delete, where Kubernetes' carries on.
 * @module
 */
import { badRequest, type StatusCause } from "../../../lib/api-errors.ts";
import { deepEqual, type KObject } from "../../../lib/kobject.ts";
import { cause } from "../../capi/webhooks/util.ts";
import { containsRange, formatRange, type IPSet, normalize, parseAddressEntries, parseAddressEntry, subtract, single, subnetRange, first } from "../ipset.ts";
import { bitLen, parseAddr } from "../netip.ts";
import { allocatableSet, GLOBAL_IN_CLUSTER_IP_POOL, IN_CLUSTER_IP_POOL, type PoolSpec, poolSpecOf } from "../pool-spec.ts";
import { poolUsage } from "./usage.ts";

export const SKIP_VALIDATE_DELETE_ANNOTATION = "ipam.cluster.x-k8s.io/skip-validate-delete-webhook";

export const POOL_WEBHOOKS: Record<string, { mutating: string; validating: string }> = {
  [IN_CLUSTER_IP_POOL]: {
    mutating: "default.inclusterippool.ipam.cluster.x-k8s.io",
    validating: "validation.inclusterippool.ipam.cluster.x-k8s.io",
  },
  [GLOBAL_IN_CLUSTER_IP_POOL]: {
    mutating: "default.globalinclusterippool.ipam.cluster.x-k8s.io",
    validating: "validation.globalinclusterippool.ipam.cluster.x-k8s.io",
  },
};

const NOT_AN_ADDRESS = "provided address is not a valid IP, range, nor CIDR";
const MIXED = "provided addresses are of mixed IP families";

function denied(kind: string, message: string) {
  const name = POOL_WEBHOOKS[kind]?.validating ?? POOL_WEBHOOKS[IN_CLUSTER_IP_POOL]!.validating;
  return badRequest(`admission webhook "${name}" denied the request: ${message}`);
}

/** Families present among the entries; unparsable entries get a cause at `field`. */
function families(entries: readonly string[], field: string, causes: StatusCause[]): { v4: boolean; v6: boolean } {
  let v4 = false;
  let v6 = false;
  for (const e of entries) {
    const r = parseAddressEntry(e);
    if (!r) {
      causes.push(cause.invalid(field, e, NOT_AN_ADDRESS));
      continue;
    }
    v4 ||= r.family === 4;
    v6 ||= r.family === 6;
  }
  return { v4, v6 };
}

/** The create/update rules on a pool spec (field causes for a 422). */
export function validatePoolSpec(spec: PoolSpec): StatusCause[] {
  const causes: StatusCause[] = [];
  const addresses = spec.addresses ?? [];
  if (addresses.length === 0) causes.push(cause.invalid("spec.addresses", spec.addresses ?? null, "addresses is required"));
  // (Upstream reports the addresses as the bad value of this one.)
  if ((spec.prefix ?? 0) < 0) causes.push(cause.invalid("spec.prefix", spec.addresses ?? null, "a valid prefix is required"));
  const fam = families(addresses, "spec.addresses", causes);
  if (fam.v4 && fam.v6) causes.push(cause.invalid("spec.addresses", addresses, MIXED));
  if (spec.gateway) {
    const gw = parseAddr(spec.gateway);
    if (!gw.ok) causes.push(cause.invalid("spec.gateway", spec.gateway, gw.error));
    else if ((gw.value.family === 6 && fam.v4) || (gw.value.family === 4 && fam.v6)) {
      causes.push(cause.invalid("spec.gateway", spec.gateway, "provided gateway and addresses are of mixed IP families"));
    }
  }
  const excluded = spec.excludedAddresses ?? [];
  const ex = families(excluded, "spec.excludedAddresses", causes);
  if (ex.v4 && ex.v6) causes.push(cause.invalid("spec.excludedAddresses", excluded, MIXED));
  if ((fam.v4 && ex.v6) || (fam.v6 && ex.v4)) {
    causes.push(cause.invalid("spec.excludedAddresses", excluded, "addresses and excluded addresses are of mixed IP families"));
  }
  const grace = spec.addressReuseGracePeriodSeconds;
  if (grace !== undefined && grace < 0) {
    causes.push(cause.invalid("spec.addressReuseGracePeriodSeconds", grace, "addressReuseGracePeriodSeconds must not be negative"));
  }
  if (causes.length === 0) causes.push(...addressesWithinPrefix(spec));
  return causes;
}

/** Every address entry inside `<lowest pool address>/<prefix>`. */
function addressesWithinPrefix(spec: PoolSpec): StatusCause[] {
  const all = parseAddressEntries(spec.addresses ?? [])!;
  const lowest = first(all)!;
  const prefix = spec.prefix ?? 0;
  if (prefix > bitLen(lowest.family)) return [cause.invalid("spec.prefix", prefix, "provided prefix is not valid")];
  const subnet: IPSet = [subnetRange(lowest, prefix)];
  const causes: StatusCause[] = [];
  for (const entry of spec.addresses ?? []) {
    if (!containsRange(subnet, parseAddressEntry(entry)!)) {
      causes.push(cause.invalid("spec.addresses", entry, "provided address belongs to a different subnet than others"));
    }
  }
  return causes;
}

/** The allocated addresses (IPAddress `spec.address`) a pool spec would no longer contain, as ranges. */
export function strandedAddresses(spec: PoolSpec, allocated: readonly string[]): IPSet {
  const inUse = normalize(allocated.flatMap((a) => {
    const p = parseAddr(a);
    return p.ok ? [single(p.value)] : [];
  }));
  return subtract(inUse, allocatableSet(spec) ?? []);
}

function poolKeyOf(obj: KObject) {
  return { kind: obj.kind ?? IN_CLUSTER_IP_POOL, name: obj.metadata.name ?? "", namespace: obj.metadata.namespace };
}

/** The validating webhook on create (`old` unset) and update; throws the 400 of the in-use rule. */
export function validatePool(obj: KObject, old: KObject | undefined): StatusCause[] {
  const causes = validatePoolSpec(poolSpecOf(obj));
  if (causes.length || !old || deepEqual(old.spec, obj.spec)) return causes;
  const usage = poolUsage();
  if (!usage) return causes;
  const allocated = usage.addressesOf(poolKeyOf(old)).map((a) => String((a.spec as { address?: unknown } | undefined)?.address ?? ""));
  const stranded = strandedAddresses(poolSpecOf(obj), allocated);
  if (stranded.length) {
    throw denied(obj.kind ?? IN_CLUSTER_IP_POOL, `pool addresses do not contain allocated addresses: [${stranded.map(formatRange).join(" ")}]`);
  }
  return causes;
}

/** The validating webhook on delete: throws while IPAddresses reference the pool. */
export function validatePoolDelete(obj: KObject): void {
  if (Object.prototype.hasOwnProperty.call(obj.metadata.annotations ?? {}, SKIP_VALIDATE_DELETE_ANNOTATION)) return;
  const usage = poolUsage();
  if (!usage) return;
  const ns = obj.metadata.namespace;
  if (ns && usage.namespaceTerminating(ns)) return;
  if (usage.addressesOf(poolKeyOf(obj)).length > 0) {
    throw denied(obj.kind ?? IN_CLUSTER_IP_POOL, "Pool has IPAddresses allocated. Cannot delete Pool until all IPAddresses have been removed.");
  }
}
