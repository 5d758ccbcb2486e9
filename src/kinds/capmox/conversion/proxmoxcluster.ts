/**
 * ProxmoxCluster and ProxmoxClusterTemplate v1alpha1 ⇄ v1alpha2 (hub), after upstream CAPMOX
 * `api/v1alpha1/conversion.go` and `proxmoxcluster_conversion.go`.
 *
 * spec: same fields in both, except `cloneSpec` (v1alpha1 only: it has no function on a
 * ProxmoxCluster and moved to ClusterClass patches) and `zoneConfig` (v1alpha2 only);
 * `externalManagedControlPlane` false is not shown in v1alpha1 and always set in v1alpha2.
 * status: `ready` ⇄ `initialization.provisioned` (false ⇒ unset); `inClusterIpPoolRef` ⇄
 * `inClusterIPPoolRef`; `nodeLocations` (the per-location `zone` is v1alpha2 only);
 * `inClusterZoneRef` (v1alpha2 only); `failureReason`/`failureMessage` (v1alpha1 only);
 * conditions change flavour (common.ts). The appliance's `failureDomains` extension is a map
 * (Cluster API v1beta1 contract) in v1alpha1 and a list (v1beta2 contract) in v1alpha2.
 *
 * Deliberate difference: upstream answers a v1alpha1 read of a ProxmoxClusterTemplate with a made-up
 * `cloneSpec` (so that old ClusterClass patches apply); ClusterClass is not served here, so none is
 * invented.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import type { SpokeConversion } from "../../capi/conversion/hub.ts";
import { arr, copyKeys, isObj, type J, obj, orUndef, put } from "../../capi/conversion/util.ts";
import { convertConditions, HUB_API_VERSION, shell, SPOKE_API_VERSION, templateMetadata } from "./common.ts";

const SAME_SPEC_FIELDS = ["allowedNodes", "controlPlaneEndpoint", "credentialsRef", "dnsServers", "ipv4Config", "ipv6Config", "schedulerHints"] as const;

/**
 * `externalManagedControlPlane` is a plain bool (omitempty) in v1alpha1 and a pointer defaulting to
 * false in v1alpha2: always set going up, only `true` shows going down (as Go renders them).
 */
export function clusterSpecToHub(s: J): J {
  const out: J = {};
  copyKeys(out, s, SAME_SPEC_FIELDS);
  out.externalManagedControlPlane = s.externalManagedControlPlane === true;
  return out;
}

export function clusterSpecFromHub(h: J): J {
  const out: J = {};
  copyKeys(out, h, SAME_SPEC_FIELDS);
  if (h.externalManagedControlPlane === true) out.externalManagedControlPlane = true;
  return out;
}

function nodeLocationsFromHub(n: unknown): J | undefined {
  const locations = obj(n);
  if (!locations) return undefined;
  const out: J = {};
  for (const role of ["controlPlane", "workers"]) {
    const list = arr(locations[role]);
    if (list) out[role] = list.map((l) => (isObj(l) ? { machine: l.machine, node: l.node } : l));
  }
  return out;
}

function failureDomainsToHub(m: unknown): J[] | undefined {
  if (!isObj(m)) return undefined;
  return Object.keys(m)
    .sort()
    .map((name) => ({ name, ...(obj(m[name]) ?? {}) }));
}

function failureDomainsFromHub(list: unknown): J | undefined {
  const entries = arr(list);
  if (!entries) return undefined;
  const out: J = {};
  for (const e of entries) {
    if (!isObj(e) || typeof e.name !== "string") continue;
    const { name, ...rest } = e;
    out[name] = rest;
  }
  return out;
}

function statusToHub(s: J): J | undefined {
  const out: J = {};
  put(out, "conditions", convertConditions(s.conditions));
  if (s.ready === true) out.initialization = { provisioned: true };
  put(out, "inClusterIPPoolRef", s.inClusterIpPoolRef);
  put(out, "nodeLocations", s.nodeLocations);
  put(out, "failureDomains", failureDomainsToHub(s.failureDomains));
  return orUndef(out);
}

function statusFromHub(h: J): J {
  const out: J = { ready: obj(h.initialization)?.provisioned === true };
  put(out, "inClusterIpPoolRef", h.inClusterIPPoolRef);
  put(out, "nodeLocations", nodeLocationsFromHub(h.nodeLocations));
  put(out, "conditions", convertConditions(h.conditions));
  put(out, "failureDomains", failureDomainsFromHub(h.failureDomains));
  return out;
}

export const proxmoxClusterV1Alpha1: SpokeConversion = {
  version: "v1alpha1",
  toHub(src: KObject): KObject {
    const out = shell(src, HUB_API_VERSION);
    const spec = obj(src.spec);
    if (spec) out.spec = clusterSpecToHub(spec);
    const status = obj(src.status);
    if (status) put(out, "status", statusToHub(status));
    return out;
  },
  fromHub(src: KObject): KObject {
    const out = shell(src, SPOKE_API_VERSION);
    const spec = obj(src.spec);
    if (spec) out.spec = clusterSpecFromHub(spec);
    const status = obj(src.status);
    if (status) out.status = statusFromHub(status);
    return out;
  },
  marshalHub: "always",
};

function templateSpec(t: unknown, mapSpec: (s: J) => J): J | undefined {
  const spec = obj(t);
  if (!spec) return undefined;
  const template = obj(spec.template);
  if (!template) return {};
  const out: J = {};
  put(out, "metadata", templateMetadata(template.metadata));
  const inner = obj(template.spec);
  if (inner) out.spec = mapSpec(inner);
  return { template: out };
}

export const proxmoxClusterTemplateV1Alpha1: SpokeConversion = {
  version: "v1alpha1",
  toHub(src: KObject): KObject {
    const out = shell(src, HUB_API_VERSION);
    put(out, "spec", templateSpec(src.spec, clusterSpecToHub));
    return out;
  },
  fromHub(src: KObject): KObject {
    const out = shell(src, SPOKE_API_VERSION);
    put(out, "spec", templateSpec(src.spec, clusterSpecFromHub));
    return out;
  },
  marshalHub: "always",
};
