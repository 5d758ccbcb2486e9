import { describe, expect, it } from "bun:test";
import { claimDefs, type ResolvedAddress } from "./ipam-claims.ts";
import { buildNetworkDevices } from "./network-data.ts";
import { renderNetworkConfig } from "./network-config.ts";

const config = { net0: "virtio=BC:24:11:0A:00:01,bridge=vmbr0", net1: "virtio=BC:24:11:0A:00:02,bridge=vmbr1" };

describe("network devices from spec, VM config and IPAM addresses", () => {
  it("renders a dual-NIC machine like CAPMOX, with pool metrics and per-NIC DNS", () => {
    const devices = [
      { name: "net0", defaultIPv4: true },
      { name: "net1", ipPoolRef: [{ apiGroup: "ipam.cluster.x-k8s.io", kind: "InClusterIPPool", name: "storage" }], dnsServers: ["10.20.0.53"], linkMtu: 9000, routes: [{ to: "172.16.0.0/16", via: "10.20.0.254", metric: 50 }] },
    ];
    const defs = claimDefs(devices, { ipv4: "c1-v4-icip" });
    const addresses: ResolvedAddress[] = [
      { def: defs[0]!, name: "m-net0-00-inet", address: "10.10.0.21", prefix: 24, gateway: "10.10.0.1", annotations: {} },
      { def: defs[1]!, name: "m-net1-00-inet", address: "10.20.0.5", prefix: 24, gateway: "10.20.0.1", annotations: {} },
    ];
    const metrics: Record<string, Record<string, string>> = {
      "c1-v4-icip": { "ipam.capmox.cluster.x-k8s.io/gateway-metric": "100", metric: "100" },
      storage: { metric: "200" },
    };
    const out = buildNetworkDevices({ devices, config, clusterDns: ["10.10.0.1"], addresses, poolAnnotations: (a) => metrics[a.def.pool.name], dhcp: new Set() });
    expect(renderNetworkConfig(out)).toBe(
      [
        "network:",
        "  version: 2",
        "  renderer: networkd",
        "  ethernets:",
        "    eth0:",
        "      match:",
        "        macaddress: BC:24:11:0A:00:01",
        "      dhcp4: false",
        "      dhcp6: false",
        "      addresses:",
        "        - '10.10.0.21/24'",
        "      routes:",
        '        - { "to": "0.0.0.0/0",  "via": "10.10.0.1",  "metric": 100, }',
        "      nameservers:",
        "        addresses:",
        "          - '10.10.0.1'",
        "    eth1:",
        "      match:",
        "        macaddress: BC:24:11:0A:00:02",
        "      dhcp4: false",
        "      dhcp6: false",
        "      addresses:",
        "        - '10.20.0.5/24'",
        "      routes:",
        '        - { "to": "0.0.0.0/0",  "via": "10.20.0.1",  "metric": 200, }',
        '        - { "to": "172.16.0.0/16",  "via": "10.20.0.254",  "metric": 50, }',
        "      nameservers:",
        "        addresses:",
        "          - '10.20.0.53'",
        "      mtu: 9000",
      ].join("\n"),
    );
  });

  it("maps VRF members by eth or net name and fails on an unknown member", () => {
    const base = { devices: [{ name: "net0" }], config, addresses: [], poolAnnotations: () => undefined, dhcp: new Set(["net0"]) };
    const out = buildNetworkDevices({ ...base, vrfs: [{ name: "vrf-a", table: 100, interfaces: ["net0"] }] });
    expect(out[1]).toMatchObject({ type: "vrf", name: "vrf-a", interfaces: ["eth0"] });
    expect(out[0]).toMatchObject({ dhcp4: true, dhcp6: false });
    expect(() => buildNetworkDevices({ ...base, vrfs: [{ name: "vrf-a", table: 100, interfaces: ["net5"] }] })).toThrow("unable to find vrf interface=vrf-a child interface net5");
  });

  it("needs the MAC PVE gave each NIC", () => {
    expect(() => buildNetworkDevices({ devices: [{ name: "net2" }], config, addresses: [], poolAnnotations: () => undefined, dhcp: new Set() })).toThrow("unable to extract mac address");
  });
});
