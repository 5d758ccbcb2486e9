/**
 * ProxmoxMachineSpec v1alpha1 ⇄ v1alpha2, after upstream CAPMOX `api/v1alpha1/conversion.go` and
 * `proxmoxmachine_conversion.go` (shared by ProxmoxMachine and ProxmoxMachineTemplate):
 *
 * - `target` (v1alpha1) becomes `allowedNodes: [target]` (v1alpha2 has no target);
 * - `network.default` becomes the `net0` entry of `network.networkDevices` with `defaultIPv4` and
 *   `defaultIPv6` set, `network.additionalDevices[]` the other entries; each device's
 *   `ipv4PoolRef`/`ipv6PoolRef` become its `ipPoolRef` list (IPv4 first). Going down, `net0`
 *   becomes `default` and the pool list is split by family, judged by the pool name
 *   (`inet6`/`v6` in it means IPv6), as upstream guesses it;
 * - a v1alpha1 spec without `network` gets upstream's placeholder `net0` on bridge `vmbr0`
 *   (v1alpha2 requires one);
 * - v1alpha2-only fields (`network.zone`, `queues`, `is6` on routes and rules, `defaultIPv4/6`
 *   beyond net0) and `sourceNode: ""` have no place in v1alpha1: the hub machinery keeps them in
 *   the conversion-data annotation.
 * @module
 */
import { arr, copyKeys, isObj, type J, nonEmptyStr, obj, put } from "../../capi/conversion/util.ts";

export const DEFAULT_NETWORK_DEVICE = "net0";

/** Fields with the same name and JSON shape in both versions. */
const SAME_FIELDS = [
  "allowedNodes",
  "checks",
  "description",
  "disks",
  "format",
  "full",
  "memoryMiB",
  "metadataSettings",
  "numCores",
  "numSockets",
  "pool",
  "providerID",
  "snapName",
  "storage",
  "tags",
  "templateID",
  "templateSelector",
  "virtualMachineID",
  "vmIDRange",
] as const;

/** Fields a v1alpha1 NetworkDevice (default or additional) shares with a v1alpha2 one. */
const DEVICE_FIELDS = ["bridge", "model", "mtu", "vlan", "dnsServers"] as const;
/** The v1alpha1 InterfaceConfig part of an additional device. */
const INTERFACE_FIELDS = ["linkMtu"] as const;

function withoutIs6(list: unknown): unknown {
  if (!Array.isArray(list)) return undefined;
  return list.map((entry) => {
    if (!isObj(entry)) return entry;
    const { is6: _is6, ...rest } = entry;
    return rest;
  });
}

function routingFromHub(d: J, out: J): void {
  put(out, "routes", withoutIs6(d.routes));
  put(out, "routingPolicy", withoutIs6(d.routingPolicy));
}

function poolRefsToHub(d: J): J[] | undefined {
  const refs = [obj(d.ipv4PoolRef), obj(d.ipv6PoolRef)].filter((r): r is J => r !== undefined);
  return refs.length ? refs : undefined;
}

function isIPv6PoolName(name: unknown): boolean {
  return typeof name === "string" && (name.includes("inet6") || name.includes("v6"));
}

function poolRefsFromHub(refs: unknown, out: J): void {
  const list = (arr(refs) ?? []).filter(isObj);
  const v6 = list.find((r) => isIPv6PoolName(r.name));
  const v4 = list.find((r) => r !== v6);
  put(out, "ipv4PoolRef", v4);
  put(out, "ipv6PoolRef", v6);
}

function deviceToHub(d: J, name: unknown): J {
  const out: J = {};
  put(out, "name", name);
  copyKeys(out, d, DEVICE_FIELDS);
  put(out, "ipPoolRef", poolRefsToHub(d));
  return out;
}

function networkToHub(n: J | undefined): J {
  if (!n) {
    // The model is v1alpha2's schema default, which a stored object shows when read.
    return { networkDevices: [{ name: DEFAULT_NETWORK_DEVICE, bridge: "vmbr0", model: "virtio", defaultIPv4: true, defaultIPv6: true }] };
  }
  const devices: J[] = [];
  const def = obj(n.default);
  if (def) devices.push({ ...deviceToHub(def, DEFAULT_NETWORK_DEVICE), defaultIPv4: true, defaultIPv6: true });
  for (const d of arr(n.additionalDevices) ?? []) {
    if (!isObj(d)) continue;
    const device = deviceToHub(d, d.name);
    put(device, "routes", d.routes);
    put(device, "routingPolicy", d.routingPolicy);
    copyKeys(device, d, INTERFACE_FIELDS);
    devices.push(device);
  }
  const out: J = {};
  if (devices.length) out.networkDevices = devices;
  put(out, "vrfs", n.vrfs);
  return out;
}

function vrfsFromHub(vrfs: unknown): unknown {
  if (!Array.isArray(vrfs)) return undefined;
  return vrfs.map((v) => {
    if (!isObj(v)) return v;
    const out: J = { ...v };
    delete out.routes;
    delete out.routingPolicy;
    routingFromHub(v, out);
    return out;
  });
}

function networkFromHub(n: J): J {
  const out: J = {};
  const additional: J[] = [];
  for (const d of arr(n.networkDevices) ?? []) {
    if (!isObj(d)) continue;
    const name = d.name ?? DEFAULT_NETWORK_DEVICE;
    const device: J = {};
    copyKeys(device, d, DEVICE_FIELDS);
    poolRefsFromHub(d.ipPoolRef, device);
    if (name === DEFAULT_NETWORK_DEVICE && out.default === undefined) {
      out.default = device;
      continue;
    }
    routingFromHub(d, device);
    copyKeys(device, d, INTERFACE_FIELDS);
    additional.push({ name, ...device });
  }
  if (additional.length) out.additionalDevices = additional;
  put(out, "vrfs", vrfsFromHub(n.vrfs));
  return out;
}

export function machineSpecToHub(s: J): J {
  const out: J = {};
  copyKeys(out, s, SAME_FIELDS);
  put(out, "sourceNode", nonEmptyStr(s.sourceNode));
  const target = nonEmptyStr(s.target);
  if (target) out.allowedNodes = [target];
  out.network = networkToHub(obj(s.network));
  return out;
}

export function machineSpecFromHub(h: J): J {
  const out: J = {};
  copyKeys(out, h, SAME_FIELDS);
  put(out, "sourceNode", nonEmptyStr(h.sourceNode));
  const network = obj(h.network);
  if (network) out.network = networkFromHub(network);
  return out;
}
