import { describe, expect, it } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { buildClaim, claimDefs, claimName, ipAddressesStatus, ipTags, parseDhcpAnnotation, type ResolvedAddress } from "./ipam-claims.ts";

const machine: KObject = { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxMachine", metadata: { name: "c1-w-abc12", namespace: "default", uid: "u-1" } };

describe("IPAddressClaims of a ProxmoxMachine", () => {
  it("names claims <machine>-<netN>-<NN>-inet", () => {
    expect(claimName("c1-w-abc12", "net0", 0)).toBe("c1-w-abc12-net0-00-inet");
    expect(claimName("m", "net1", 12)).toBe("m-net1-12-inet");
  });

  it("puts the cluster's default pools first, then the NIC's own pools", () => {
    const defs = claimDefs(
      [
        { name: "net0", defaultIPv4: true, defaultIPv6: true, ipPoolRef: [{ apiGroup: "ipam.cluster.x-k8s.io", kind: "GlobalInClusterIPPool", name: "shared" }] },
        { name: "net1", ipPoolRef: [{ apiGroup: "ipam.cluster.x-k8s.io", kind: "InClusterIPPool", name: "storage" }] },
        { name: "net2" },
      ],
      { ipv4: "c1-v4-icip", ipv6: "c1-v6-icip" },
    );
    expect(defs.map((d) => [d.device, d.offset, d.pool.kind, d.pool.name, d.defaultGateway])).toEqual([
      ["net0", 0, "InClusterIPPool", "c1-v4-icip", true],
      ["net0", 1, "InClusterIPPool", "c1-v6-icip", true],
      ["net0", 2, "GlobalInClusterIPPool", "shared", false],
      ["net1", 0, "InClusterIPPool", "storage", false],
    ]);
  });

  it("makes no claims for NICs the dhcp annotation names", () => {
    const devices = [{ name: "net0", defaultIPv4: true }, { name: "net1", ipPoolRef: [{ kind: "InClusterIPPool", name: "p" }] }];
    expect([...parseDhcpAnnotation("net0, net7", devices)]).toEqual(["net0"]);
    expect([...parseDhcpAnnotation("all", devices)]).toEqual(["net0", "net1"]);
    expect([...parseDhcpAnnotation(undefined, devices)]).toEqual([]);
    expect(claimDefs(devices, { ipv4: "v4" }, parseDhcpAnnotation("net0", devices)).map((d) => d.device)).toEqual(["net1"]);
  });

  it("skips a default flag whose family has no cluster pool", () => {
    expect(claimDefs([{ name: "net0", defaultIPv4: true, defaultIPv6: true }], { ipv4: "c1-v4-icip" }).map((d) => d.pool.name)).toEqual(["c1-v4-icip"]);
  });

  it("builds the claim with CAPMOX's labels, annotations and controller owner", () => {
    const [def] = claimDefs([{ name: "net0", defaultIPv4: true }], { ipv4: "c1-v4-icip" });
    const claim = buildClaim(def!, machine, "c1", { "topology.kubernetes.io/proxmox-zone": "default" });
    expect(claim).toEqual({
      apiVersion: "ipam.cluster.x-k8s.io/v1beta2",
      kind: "IPAddressClaim",
      metadata: {
        name: "c1-w-abc12-net0-00-inet",
        namespace: "default",
        labels: { "cluster.x-k8s.io/cluster-name": "c1", "topology.kubernetes.io/proxmox-zone": "default" },
        annotations: { "ipam.capmox.cluster.x-k8s.io/pool-ref-counter": "0", "ipam.capmox.cluster.x-k8s.io/default-gateway": "true" },
        ownerReferences: [{ apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxMachine", name: "c1-w-abc12", uid: "u-1", controller: true, blockOwnerDeletion: true }],
      },
      spec: { poolRef: { apiGroup: "ipam.cluster.x-k8s.io", kind: "InClusterIPPool", name: "c1-v4-icip" } },
    });
  });

  it("reports addresses under default and per NIC, and tags the default IPv4", () => {
    const defs = claimDefs([{ name: "net0", defaultIPv4: true, defaultIPv6: true }, { name: "net1", ipPoolRef: [{ kind: "InClusterIPPool", name: "p" }] }], { ipv4: "v4", ipv6: "v6" });
    const resolved: ResolvedAddress[] = [
      { def: defs[1]!, name: "c1-w-abc12-net0-01-inet", address: "fd00:10::15", prefix: 64, annotations: {} },
      { def: defs[0]!, name: "c1-w-abc12-net0-00-inet", address: "10.10.0.21", prefix: 24, gateway: "10.10.0.1", annotations: {} },
      { def: defs[2]!, name: "c1-w-abc12-net1-00-inet", address: "10.20.0.5", prefix: 24, annotations: {} },
    ];
    expect(ipAddressesStatus([{ name: "net0" }, { name: "net1" }], resolved)).toEqual([
      { net: "default", ipv4: ["10.10.0.21"], ipv6: ["fd00:10::15"] },
      { net: "net0", ipv4: ["10.10.0.21"], ipv6: ["fd00:10::15"] },
      { net: "net1", ipv4: ["10.20.0.5"] },
    ]);
    expect(ipTags(resolved)).toEqual(["ip_net0_10.10.0.21"]);
  });
});
