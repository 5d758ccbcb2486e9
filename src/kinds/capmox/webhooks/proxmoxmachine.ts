/**
 * ProxmoxMachine and ProxmoxMachineTemplate admission (v1alpha2), after upstream CAPMOX
 * `internal/webhook/proxmoxmachine_webhook.go` and `proxmoxmachinetemplate_webhook.go`.
 *
 * ProxmoxMachine defaulting: when no network device is the default for IPv4 (IPv6), net0 becomes it.
 * ProxmoxMachine validation (create and update): device names consecutive from net0; at most one
 * default device per family; `mtu` 1 or ≥ 1280, `linkMtu` ≥ 1280; every routing policy of a
 * device has a table; a route or rule whose target is the `default`/`all` placeholder needs `is6`
 * unless another of its addresses gives the family; a VRF's rules use the VRF's table. Update:
 * `spec.tags` is immutable (a plain 400 upstream).
 * ProxmoxMachineTemplate: `providerID` cannot be set in a template; the spec is immutable.
 *
 * Deliberate differences: every violation is reported (upstream stops at the first), at the real
 * field path and the device's own index (upstream reports `spec.network.networkDevices.<i>` with
 * the index after sorting by name); names sort by their number, so net10 follows net9 (upstream
 * sorts them as strings, which makes 11 or more devices always fail); the defaulting marks the device
 * named net0 (upstream: the first device of the list).
 * @module
 */
import { badRequest, type StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { jsonEqual } from "../../capi/conversion/util.ts";
import { cause, isObject, objAt, valueAt } from "../../capi/webhooks/util.ts";

export const PROXMOX_MACHINE_WEBHOOKS = {
  mutating: "default.proxmoxmachine.infrastructure.cluster.x-k8s.io",
  validating: "validation.proxmoxmachine.infrastructure.cluster.x-k8s.io",
};
export const PROXMOX_MACHINE_TEMPLATE_WEBHOOKS = {
  mutating: "default.proxmoxmachinetemplate.infrastructure.cluster.x-k8s.io",
  validating: "validation.proxmoxmachinetemplate.infrastructure.cluster.x-k8s.io",
};

const DEFAULT_NETWORK_DEVICE = "net0";

type Json = Record<string, unknown>;

function devicesOf(obj: unknown): Json[] {
  const list = valueAt(obj, "network", "networkDevices");
  return Array.isArray(list) ? list.filter(isObject) : [];
}

export function mutateProxmoxMachine(obj: KObject, _old: KObject | undefined): void {
  const devices = devicesOf(obj.spec);
  if (devices.length === 0) return;
  const target = devices.find((d) => d.name === DEFAULT_NETWORK_DEVICE) ?? devices[0];
  if (!devices.some((d) => d.defaultIPv4 === true)) target.defaultIPv4 = true;
  if (!devices.some((d) => d.defaultIPv6 === true)) target.defaultIPv6 = true;
}

const isPlaceholder = (v: unknown) => v === "default" || v === "all";
const isConcrete = (v: unknown) => typeof v === "string" && v !== "" && !isPlaceholder(v);

/** validateRoutingPolicyPlaceholder: the family of a `default`/`all` rule must be known. */
function policyPlaceholderError(p: Json): string | undefined {
  const placeholder = isPlaceholder(p.to) || isPlaceholder(p.from);
  const concrete = isConcrete(p.to) || isConcrete(p.from);
  if (placeholder && !concrete && p.is6 === undefined) return "is6 must be set when 'to'/'from' is a placeholder and neither provides an address family";
  return undefined;
}

/** validateRoutes: the family of a `default`/`all` route must be known. */
function routeErrors(routes: unknown): string[] {
  const out: string[] = [];
  (Array.isArray(routes) ? routes : []).forEach((r, i) => {
    if (isObject(r) && isPlaceholder(r.to) && !isConcrete(r.via) && r.is6 === undefined) {
      out.push(`route [${i}]: is6 must be set when 'to' is a placeholder and 'via' is unset`);
    }
  });
  return out;
}

function deviceErrors(d: Json, field: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const mtu = d.mtu;
  if (typeof mtu === "number" && mtu !== 1 && mtu < 1280) {
    causes.push(cause.invalid(`${field}.mtu`, d, `mtu must be at least 1280 or 1, but was ${mtu}`));
  }
  const linkMtu = d.linkMtu;
  if (typeof linkMtu === "number" && linkMtu < 1280) {
    causes.push(cause.invalid(`${field}.linkMtu`, d, `mtu must be at least 1280, but was ${linkMtu}`));
  }
  const policies = Array.isArray(d.routingPolicy) ? d.routingPolicy.filter(isObject) : [];
  policies.forEach((p, i) => {
    if (p.table === undefined) causes.push(cause.invalid(`${field}.routingPolicy`, d, `routing policy [${i}] requires a table`));
    const err = policyPlaceholderError(p);
    if (err) causes.push(cause.invalid(`${field}.routingPolicy`, d, `routing policy [${i}]: ${err}`));
  });
  for (const err of routeErrors(d.routes)) causes.push(cause.invalid(`${field}.routes`, d, err));
  return causes;
}

function vrfErrors(vrf: Json, field: string): StatusCause[] {
  const name = typeof vrf.name === "string" ? vrf.name : "";
  const errors: string[] = [];
  for (const p of Array.isArray(vrf.routingPolicy) ? vrf.routingPolicy.filter(isObject) : []) {
    // netplan refuses rules that do not match the l3mdev table.
    if (typeof p.table === "number" && p.table !== vrf.table) {
      errors.push(`VRF ${name}: device/rule routing table mismatch ${String(vrf.table)} != ${p.table}`);
    }
    const err = policyPlaceholderError(p);
    if (err) errors.push(`VRF ${name}: ${err}`);
  }
  for (const err of routeErrors(vrf.routes)) errors.push(`VRF ${name}: ${err}`);
  return errors.map((e) => cause.invalid(field, vrf, e));
}

/** net<N> → N (the CRD pattern guarantees the shape). */
function netOffset(name: unknown): number {
  return typeof name === "string" && /^net[0-9]+$/.test(name) ? Number(name.slice(3)) : -1;
}

export function validateNetworks(spec: unknown): StatusCause[] {
  const network = objAt(spec, "network");
  if (!network) return [];
  const causes: StatusCause[] = [];
  const listed = devicesOf(spec).map((device, index) => ({ device, index }));
  const sorted = [...listed].sort((a, b) => netOffset(a.device.name) - netOffset(b.device.name));
  let defaultIPv4 = 0;
  let defaultIPv6 = 0;
  sorted.forEach(({ device, index }, position) => {
    const field = `spec.network.networkDevices[${index}]`;
    if (netOffset(device.name) !== position) causes.push(cause.invalid(`${field}.name`, device.name, "Non-consecutive proxmox interface name"));
    if (device.defaultIPv4 === true) defaultIPv4++;
    if (device.defaultIPv6 === true) defaultIPv6++;
    if ((device.defaultIPv4 === true && defaultIPv4 > 1) || (device.defaultIPv6 === true && defaultIPv6 > 1)) {
      causes.push(cause.invalid(field, device, "More than one default IPv4/IPv6 interface in NetworkDevices"));
    }
    causes.push(...deviceErrors(device, field));
  });
  const vrfs = Array.isArray(network.vrfs) ? network.vrfs : [];
  vrfs.forEach((vrf, i) => {
    if (isObject(vrf)) causes.push(...vrfErrors(vrf, `spec.network.vrfs[${i}]`));
  });
  return causes;
}

export function validateProxmoxMachine(obj: KObject, old: KObject | undefined): StatusCause[] {
  if (old && !jsonEqual(valueAt(obj, "spec", "tags"), valueAt(old, "spec", "tags"))) {
    throw badRequest(`admission webhook "${PROXMOX_MACHINE_WEBHOOKS.validating}" denied the request: tags are immutable`);
  }
  return validateNetworks(obj.spec);
}

export function validateProxmoxMachineTemplate(obj: KObject, old: KObject | undefined): StatusCause[] {
  if (old) return jsonEqual(obj.spec, old.spec) ? [] : [cause.forbidden("spec", "ProxmoxMachineTemplate is immutable")];
  const providerID = valueAt(obj, "spec", "template", "spec", "providerID");
  if (typeof providerID === "string" && providerID !== "") {
    return [cause.forbidden("spec.template.spec.providerID", "cannot be set in templates")];
  }
  return [];
}
