/**
 * ProxmoxCluster and ProxmoxClusterTemplate admission (v1alpha2), after upstream CAPMOX
 * `internal/webhook/proxmoxcluster_webhook.go` and `proxmoxclustertemplate_webhook.go`. No
 * defaulting (upstream's defaulters do nothing).
 *
 * Create: at least one of `ipv4Config` / `ipv6Config` (a plain error upstream: 403 "denied the
 * request"). Create and update: unless `externalManagedControlPlane`, the control-plane endpoint
 * host must be a hostname/FQDN or an IP address, and an IP must not lie in the IPv4 / IPv6
 * address pools (ranges, CIDRs, single addresses), which must parse.
 *
 * Deliberate difference: the field paths name the real fields (`spec.controlPlaneEndpoint.host`,
 * `spec.ipv4Config.addresses`, under `spec.template.spec` for templates); upstream reports
 * `spec.controlplaneEndpoint` / `spec.IPv4Config.addresses` for both kinds. Messages are upstream's.
 * @module
 */
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { cause, objAt, strAt, valueAt, webhookDenied } from "../../capi/webhooks/util.ts";
import { buildAddressSet, parseAddr, setContains } from "./ipset.ts";

export const PROXMOX_CLUSTER_WEBHOOKS = {
  mutating: "default.proxmoxcluster.infrastructure.cluster.x-k8s.io",
  validating: "validation.proxmoxcluster.infrastructure.cluster.x-k8s.io",
};
export const PROXMOX_CLUSTER_TEMPLATE_WEBHOOKS = {
  mutating: "default.proxmoxclustertemplate.infrastructure.cluster.x-k8s.io",
  validating: "validation.proxmoxclustertemplate.infrastructure.cluster.x-k8s.io",
};

export const NO_IP_POOL_CONFIG = "proxmox cluster must define at least one IP pool config";

/** CAPMOX's hostname check: a short name or an optional host label plus a domain, any case. */
const HOSTNAME = new RegExp(
  "^(([a-z0-9]{1,253}|[a-z0-9][a-z0-9-]{1,251}[a-z0-9])|([a-z0-9]{1,63}|[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\\.)?((([a-z0-9]{1,63}|[a-z0-9][a-z0-9-]{1,61}[a-z0-9])\\.)+?[a-z]{2,63}))$",
  "i",
);

export function isHostname(h: string): boolean {
  return HOSTNAME.test(h);
}

/** validateControlPlaneEndpoint on a ProxmoxClusterSpec found at `path` (`spec` or `spec.template.spec`). */
export function validateControlPlaneEndpoint(spec: unknown, path: string): StatusCause[] {
  if (valueAt(spec, "externalManagedControlPlane") === true) return [];
  const host = strAt(spec, "controlPlaneEndpoint", "host");
  if (isHostname(host)) return [];
  const addr = parseAddr(host);
  if (!addr) return [cause.invalid(`${path}.controlPlaneEndpoint.host`, host, "provided endpoint address is not a valid IP or FQDN")];
  for (const family of ["ipv4Config", "ipv6Config"] as const) {
    const config = objAt(spec, family);
    if (!config) continue;
    const addresses = Array.isArray(config.addresses) ? config.addresses.filter((a): a is string => typeof a === "string") : [];
    const field = `${path}.${family}.addresses`;
    const set = buildAddressSet(addresses);
    if (!set) return [cause.invalid(field, addresses, "provided addresses are not valid IP addresses, ranges or CIDRs")];
    if (setContains(set, addr)) return [cause.invalid(field, addresses, "addresses may not contain the endpoint IP")];
  }
  return [];
}

function hasIPPoolConfig(spec: unknown): boolean {
  return objAt(spec, "ipv4Config") !== undefined || objAt(spec, "ipv6Config") !== undefined;
}

export function validateProxmoxCluster(obj: KObject, old: KObject | undefined): StatusCause[] {
  const spec = objAt(obj, "spec");
  if (!old && !hasIPPoolConfig(spec)) throw webhookDenied(PROXMOX_CLUSTER_WEBHOOKS.validating, NO_IP_POOL_CONFIG);
  return validateControlPlaneEndpoint(spec, "spec");
}

export function validateProxmoxClusterTemplate(obj: KObject, old: KObject | undefined): StatusCause[] {
  const spec = objAt(obj, "spec", "template", "spec");
  if (!old && !hasIPPoolConfig(spec)) throw webhookDenied(PROXMOX_CLUSTER_TEMPLATE_WEBHOOKS.validating, NO_IP_POOL_CONFIG);
  return validateControlPlaneEndpoint(spec, "spec.template.spec");
}
