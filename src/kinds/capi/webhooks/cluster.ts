/**
 * Cluster admission (cluster.x-k8s.io/v1beta2), after upstream release-1.14
 * `core/webhooks/admission/cluster.go`, for Clusters without a managed topology.
 *
 * Product decision (not upstream): `spec.topology` (ClusterClass / managed topologies) is not
 * supported by capx-appliance yet and is rejected with an Invalid cause at `spec.topology`.
 * Upstream's Cluster defaulting only acts on `spec.topology` (version `v` prefix, ClusterClass
 * variables), and the v1beta2 CRD has no schema defaults, so there is no Cluster mutation here;
 * in particular `spec.clusterNetwork.apiServerPort` is not defaulted (consumers fall back to 6443).
 * @module
 */
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { parseIP } from "../../../registry/schema/formats.ts";
import { cause, objAt, refIsDefined, valueAt } from "./util.ts";
import { labelValueErrors } from "./validation.ts";

export const CLUSTER_WEBHOOKS = {
  mutating: "default.cluster.cluster.x-k8s.io",
  validating: "validation.cluster.cluster.x-k8s.io",
};

export const TOPOLOGY_NOT_SUPPORTED =
  "ClusterClass (managed topologies) is not supported by capx-appliance yet: remove spec.topology and reference the control plane and infrastructure objects with spec.controlPlaneRef and spec.infrastructureRef";

/** Go net.ParseCIDR acceptance (strict address as netip.ParseAddr, no zone; prefix 0..32 / 0..128). */
export function isGoCIDR(s: string): boolean {
  const slash = s.indexOf("/");
  if (slash < 0) return false;
  const ip = parseIP(s.slice(0, slash));
  if (!ip) return false;
  const mask = s.slice(slash + 1);
  if (!/^[0-9]+$/.test(mask)) return false;
  const bits = Number(mask.length > 4 ? Infinity : mask);
  return bits <= ip.length * 8;
}

function validateCIDRBlocks(field: string, cidrs: unknown): StatusCause[] {
  if (!Array.isArray(cidrs)) return [];
  const causes: StatusCause[] = [];
  cidrs.forEach((cidr, i) => {
    if (typeof cidr !== "string") return;
    if (!isGoCIDR(cidr)) causes.push(cause.invalid(`${field}[${i}]`, cidr, `invalid CIDR address: ${cidr}`));
  });
  return causes;
}

/**
 * Topology.IsDefined: not deep-equal to the zero Topology. Approximated on JSON: any non-empty
 * string, non-zero number, true, or list (a decoded list is a non-nil slice) makes it defined.
 */
function topologyIsDefined(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (Array.isArray(v)) return true;
  if (typeof v === "object") return Object.values(v).some(topologyIsDefined);
  return v !== "" && v !== 0 && v !== false;
}

export function validateCluster(obj: KObject, old: KObject | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = obj.metadata?.name ?? "";
  for (const msg of labelValueErrors(name)) causes.push(cause.invalid("metadata.name", name, `must be a valid label value ${msg}`));

  const spec = objAt(obj, "spec");
  const infraDefined = refIsDefined(valueAt(spec, "infrastructureRef"));
  const cpDefined = refIsDefined(valueAt(spec, "controlPlaneRef"));
  const topology = valueAt(spec, "topology");
  const topologyDefined = topologyIsDefined(topology);

  if (!infraDefined && old && refIsDefined(valueAt(old, "spec", "infrastructureRef"))) {
    causes.push(cause.forbidden("spec.infrastructureRef", "cannot be removed"));
  }
  if (!cpDefined && !infraDefined && !topologyDefined) {
    causes.push(cause.forbidden("spec", "one of spec.controlPlaneRef, spec.infrastructureRef or spec.topology must be set"));
  }
  if (!cpDefined && old && refIsDefined(valueAt(old, "spec", "controlPlaneRef"))) {
    causes.push(cause.forbidden("spec.controlPlaneRef", "cannot be removed"));
  }

  causes.push(...validateCIDRBlocks("spec.clusterNetwork.pods.cidrBlocks", valueAt(spec, "clusterNetwork", "pods", "cidrBlocks")));
  causes.push(...validateCIDRBlocks("spec.clusterNetwork.services.cidrBlocks", valueAt(spec, "clusterNetwork", "services", "cidrBlocks")));

  if (topologyDefined) causes.push(cause.invalid("spec.topology", "object", TOPOLOGY_NOT_SUPPORTED));
  // Upstream also forbids removing spec.topology from an existing Cluster ("cannot be removed from
  // an existing Cluster"); since the appliance never accepts a topology, removing one (e.g. from a
  // moved-in object) is the only way forward and stays allowed.
  return causes;
}
