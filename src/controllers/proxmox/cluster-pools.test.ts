import { describe, expect, it } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { plannedPools, poolName, poolRefs } from "./cluster-pools.ts";
import { failureDomains } from "./proxmoxcluster.ts";

const pc = (spec: Record<string, unknown>): KObject => ({ apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxCluster", metadata: { name: "c1", namespace: "default" }, spec });

describe("the ProxmoxCluster's InClusterIPPools", () => {
  it("names pools as CAPMOX, per family and zone", () => {
    expect(poolName("c1", undefined, "v4")).toBe("c1-v4-icip");
    expect(poolName("c1", "rack-a", "v6")).toBe("c1-rack-a-v6-icip");
  });

  it("plans one pool per configured family, default zone first", () => {
    const plans = plannedPools(
      pc({
        ipv4Config: { addresses: ["10.10.0.20-10.10.0.60"], prefix: 24, gateway: "10.10.0.1", metric: 100 },
        ipv6Config: { addresses: ["fd00:10::20/124"], prefix: 64, gateway: "fd00:10::1" },
        zoneConfig: [{ zone: "rack-a", ipv4Config: { addresses: ["10.20.0.10"], prefix: 24 } }],
      }),
    );
    expect(plans.map((p) => [p.name, p.zone, p.family])).toEqual([
      ["c1-v4-icip", "default", "ipv4"],
      ["c1-v6-icip", "default", "ipv6"],
      ["c1-rack-a-v4-icip", "rack-a", "ipv4"],
    ]);
  });

  it("reports the pools by zone in the status", () => {
    const plans = plannedPools(pc({ ipv4Config: { addresses: ["10.10.0.20-10.10.0.60"], prefix: 24 }, ipv6Config: { addresses: ["fd00:10::20/124"], prefix: 64 } }));
    expect(poolRefs(plans.map((plan) => ({ plan })))).toEqual({
      inClusterIPPoolRef: [{ name: "c1-v4-icip" }, { name: "c1-v6-icip" }],
      inClusterZoneRef: [{ zone: "default", inClusterIPPoolRefV4: { name: "c1-v4-icip" }, inClusterIPPoolRefV6: { name: "c1-v6-icip" } }],
    });
    expect(poolRefs([])).toEqual({});
  });
});

describe("failure domains", () => {
  it("lists the online PVE nodes, limited to allowedNodes when set", () => {
    const nodes = [{ node: "pve2", online: true }, { node: "pve1", online: true }, { node: "pve3", online: false }];
    expect(failureDomains({}, nodes)).toEqual([{ name: "pve1", controlPlane: true }, { name: "pve2", controlPlane: true }]);
    expect(failureDomains({ allowedNodes: ["pve2", "pve3"] }, nodes)).toEqual([{ name: "pve2", controlPlane: true }]);
  });
});
