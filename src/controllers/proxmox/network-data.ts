/**
 * The network devices a machine's network-config describes (CAPMOX getNetworkConfigData):
 * NIC `i` of the spec becomes `eth<i>` matched by the MAC PVE gave `netN`; its static addresses
 * (ordered by IPAddress name) each add a default route via the pool's gateway with the pool's
 * gateway metric; DNS is the cluster's unless the NIC names its own; routes, routing policy and
 * link MTU come from the NIC; VRFs follow with their member NICs. NICs without any address
 * source use DHCP (appliance extension).
 * @module
 */
import type { VmConfig } from "../../providers/proxmox/types.ts";
import { GATEWAY_METRIC_ANNOTATION, LEGACY_METRIC_ANNOTATION } from "./constants.ts";
import type { ResolvedAddress } from "./ipam-claims.ts";
import { defaultPrefix, parseAddr, parsePrefix } from "./ip.ts";
import { NetworkConfigError, toFibRules, toRoutes, type EthernetDevice, type NetworkDevice, type Route, type VrfDevice } from "./network-config.ts";
import { parseNetDevice } from "./vmconfig.ts";
import type { NetworkDeviceSpec, VrfSpec } from "./types.ts";

export interface NetworkDataInput {
  devices: readonly NetworkDeviceSpec[];
  vrfs?: readonly VrfSpec[];
  config: VmConfig;
  clusterDns?: readonly string[];
  addresses: readonly ResolvedAddress[];
  /** Annotations of the pool an address came from (for its gateway metric). */
  poolAnnotations(a: ResolvedAddress): Record<string, string> | undefined;
  dhcp: ReadonlySet<string>;
}

function gatewayMetric(annotations: Record<string, string> | undefined): number | undefined {
  let metric: number | undefined;
  for (const key of [LEGACY_METRIC_ANNOTATION, GATEWAY_METRIC_ANNOTATION]) {
    const v = annotations?.[key];
    if (!v) continue;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new NetworkConfigError(`error converting metric annotation ${key}=${JSON.stringify(v)}`);
    metric = n;
  }
  return metric;
}

export function buildNetworkDevices(input: NetworkDataInput): NetworkDevice[] {
  const out: NetworkDevice[] = [];
  input.devices.forEach((nic, i) => {
    const proxName = nic.name ?? "net0";
    const mac = input.config[proxName] ? parseNetDevice(input.config[proxName]!).mac : undefined;
    if (!mac) throw new NetworkConfigError(`unable to get network config data for device=${proxName}: unable to extract mac address`);
    const mine = input.addresses.filter((a) => a.def.device === proxName).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const routes: Route[] = [];
    const addresses = mine.map((a) => {
      const p = parsePrefix(`${a.address}/${a.prefix}`);
      if (!p) throw new NetworkConfigError(`error converting ip address spec to netip prefix: ${a.address}/${a.prefix}`);
      if (a.gateway) {
        const via = parseAddr(a.gateway);
        if (!via) throw new NetworkConfigError(`invalid gateway "${a.gateway}" for ip ${a.name}`);
        routes.push({ to: defaultPrefix(p.addr.family), via, metric: gatewayMetric(input.poolAnnotations(a)) });
      }
      return p;
    });
    const dhcp = input.dhcp.has(proxName);
    const dev: EthernetDevice = {
      type: "ethernet",
      name: `eth${i}`,
      proxName,
      mac,
      dhcp4: dhcp,
      dhcp6: false,
      addresses,
      routes: [...routes, ...toRoutes(nic.routes)],
      rules: toFibRules(nic.routingPolicy),
      dns: [...(nic.dnsServers?.length ? nic.dnsServers : (input.clusterDns ?? []))],
      ...(nic.linkMtu !== undefined ? { mtu: nic.linkMtu } : {}),
    };
    out.push(dev);
  });
  const ethernets = out as EthernetDevice[];
  for (const v of input.vrfs ?? []) {
    const interfaces: string[] = [];
    for (const child of v.interfaces ?? []) {
      const nic = ethernets.find((e) => e.name === child || e.proxName === child);
      if (!nic) throw new NetworkConfigError(`unable to find vrf interface=${v.name} child interface ${child}`);
      interfaces.push(nic.name);
    }
    const vrf: VrfDevice = { type: "vrf", name: v.name, table: v.table, interfaces, routes: toRoutes(v.routes), rules: toFibRules(v.routingPolicy) };
    out.push(vrf);
  }
  return out;
}
