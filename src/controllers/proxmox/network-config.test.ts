import { describe, expect, it } from "bun:test";
import { parseAddr, parsePrefix } from "./ip.ts";
import { EMPTY_NETWORK_V1, NetworkErrors, renderNetworkConfig, toFibRules, toRoutes, validateNetwork, type EthernetDevice, type NetworkDevice } from "./network-config.ts";

const p = (s: string) => parsePrefix(s)!;
const a = (s: string) => parseAddr(s)!;

function eth(name: string, mac: string, extra: Partial<EthernetDevice> = {}): EthernetDevice {
  return { type: "ethernet", name, proxName: `net${name.slice(3)}`, mac, dhcp4: false, dhcp6: false, addresses: [], routes: [], rules: [], dns: [], ...extra };
}

describe("netplan v2 network-config in CAPMOX's byte shape", () => {
  it("renders a static NIC with a default route, DNS and no trailing newline", () => {
    const out = renderNetworkConfig([
      eth("eth0", "BC:24:11:00:00:01", {
        addresses: [p("10.10.0.21/24")],
        routes: [{ to: p("0.0.0.0/0"), via: a("10.10.0.1"), metric: 100 }],
        dns: ["10.10.0.1", "9.9.9.9"],
      }),
    ]);
    expect(out).toBe(
      [
        "network:",
        "  version: 2",
        "  renderer: networkd",
        "  ethernets:",
        "    eth0:",
        "      match:",
        "        macaddress: BC:24:11:00:00:01",
        "      dhcp4: false",
        "      dhcp6: false",
        "      addresses:",
        "        - '10.10.0.21/24'",
        "      routes:",
        '        - { "to": "0.0.0.0/0",  "via": "10.10.0.1",  "metric": 100, }',
        "      nameservers:",
        "        addresses:",
        "          - '10.10.0.1'",
        "          - '9.9.9.9'",
      ].join("\n"),
    );
  });

  it("renders dual stack, a second NIC with MTU, extra routes, routing policy and VRFs", () => {
    const out = renderNetworkConfig([
      eth("eth0", "bc:24:11:00:00:01", {
        addresses: [p("10.10.0.21/24"), p("fd00:10:0:0::15/64")],
        routes: [
          { to: p("0.0.0.0/0"), via: a("10.10.0.1"), metric: 100 },
          { to: p("::/0"), via: a("fd00:10::1"), metric: 100 },
        ],
      }),
      eth("eth1", "bc:24:11:00:00:02", {
        addresses: [p("10.20.0.5/24")],
        routes: [
          { to: p("172.16.24.1/24"), via: a("10.20.0.254"), metric: 50 },
          { to: p("2002::/64"), via: a("2001:db8:0::1") },
        ],
        rules: [{ to: p("0.0.0.0/0"), from: p("192.168.178.1/24"), priority: 999, table: 100 }],
        mtu: 9000,
      }),
      {
        type: "vrf",
        name: "vrf-blue",
        table: 500,
        interfaces: ["eth0", "eth1"],
        routes: [{ to: p("10.10.10.0/24"), via: a("192.168.178.254"), metric: 100, table: 100 }],
        rules: [{ from: p("10.10.0.0/16") }],
      },
    ]);
    expect(out).toBe(
      [
        "network:",
        "  version: 2",
        "  renderer: networkd",
        "  ethernets:",
        "    eth0:",
        "      match:",
        "        macaddress: bc:24:11:00:00:01",
        "      dhcp4: false",
        "      dhcp6: false",
        "      addresses:",
        "        - '10.10.0.21/24'",
        "        - 'fd00:10::15/64'",
        "      routes:",
        '        - { "to": "0.0.0.0/0",  "via": "10.10.0.1",  "metric": 100, }',
        '        - { "to": "::/0",  "via": "fd00:10::1",  "metric": 100, }',
        "    eth1:",
        "      match:",
        "        macaddress: bc:24:11:00:00:02",
        "      dhcp4: false",
        "      dhcp6: false",
        "      addresses:",
        "        - '10.20.0.5/24'",
        "      routes:",
        '        - { "to": "172.16.24.1/24",  "via": "10.20.0.254",  "metric": 50, }',
        '        - { "to": "2002::/64",  "via": "2001:db8::1", }',
        "      routing-policy:",
        '        - { "to": "0.0.0.0/0",  "from": "192.168.178.1/24",  "priority": 999,  "table": 100, }',
        "      mtu: 9000",
        "  vrfs:",
        "    vrf-blue:",
        "      table: 500",
        "      routes:",
        '        - { "to": "10.10.10.0/24",  "via": "192.168.178.254",  "metric": 100,  "table": 100, }',
        "      routing-policy:",
        '        - { "from": "10.10.0.0/16", }',
        "      interfaces:",
        "        - 'eth0'",
        "        - 'eth1'",
      ].join("\n"),
    );
  });

  it("renders a DHCP NIC without addresses or routes", () => {
    expect(renderNetworkConfig([eth("eth0", "bc:24:11:00:00:09", { dhcp4: true })])).toBe(
      "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    eth0:\n      match:\n        macaddress: bc:24:11:00:00:09\n      dhcp4: true\n      dhcp6: false",
    );
  });

  it("rejects what CAPMOX rejects, with its texts", () => {
    expect(() => validateNetwork([])).toThrow(NetworkErrors.missingData);
    expect(() => validateNetwork([eth("eth0", "m", { addresses: [p("10.0.0.2/24")] })])).toThrow(NetworkErrors.missingGateway);
    const dup: NetworkDevice[] = [
      eth("eth0", "m", { routes: [{ to: p("0.0.0.0/0"), via: a("10.0.0.1"), metric: 100 }] }),
      eth("eth1", "n", { routes: [{ to: p("0.0.0.0/0"), via: a("10.1.0.1"), metric: 100 }] }),
    ];
    expect(() => validateNetwork(dup)).toThrow(NetworkErrors.conflictingMetrics);
    // The same route in a VRF's table does not collide with the main table.
    const inVrf: NetworkDevice[] = [...dup.slice(0, 1), eth("eth1", "n", { routes: [{ to: p("0.0.0.0/0"), via: a("10.1.0.1"), metric: 100 }] }), { type: "vrf", name: "v", table: 100, interfaces: ["eth1"], routes: [], rules: [] }];
    expect(() => validateNetwork(inVrf)).not.toThrow();
    expect(() => validateNetwork([eth("eth0", "m", { dhcp4: true, routes: [{ via: a("10.0.0.1") }] })])).toThrow(NetworkErrors.malformedRoute);
    expect(() => validateNetwork([eth("eth0", "m", { dhcp4: true, rules: [{ to: p("10.0.0.0/8") }] })])).toThrow(NetworkErrors.malformedRule);
    expect(() => validateNetwork([eth("eth0", "m", { dhcp4: true, rules: [{ to: p("10.0.0.0/8"), from: p("fd00::/8"), table: 5 }] })])).toThrow(NetworkErrors.malformedRule);
  });

  it("reads route targets as CAPMOX does: bare addresses become host prefixes, default/all take a family", () => {
    const [host, def4, def6, via6] = toRoutes([{ to: "10.0.0.7", via: "10.0.0.1" }, { to: "default", via: "10.0.0.1" }, { to: "all", is6: true }, { to: "default", via: "fd00::1" }]);
    expect(host!.to).toEqual(p("10.0.0.7/32"));
    expect(def4!.to).toEqual(p("0.0.0.0/0"));
    expect(def6!.to).toEqual(p("::/0"));
    expect(via6!.to).toEqual(p("::/0"));
    const [rule] = toFibRules([{ to: "default", from: "fd00::/8", table: 7 }]);
    expect(rule!.to).toEqual(p("::/0"));
    expect(() => toRoutes([{ to: "not-an-ip" }])).toThrow('invalid target "not-an-ip"');
  });

  it("has CAPMOX's empty v1 network-config for Ignition", () => {
    expect(EMPTY_NETWORK_V1).toBe("version: 1\nconfig: []");
  });
});
