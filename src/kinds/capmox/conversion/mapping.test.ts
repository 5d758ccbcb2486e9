import { describe, expect, test } from "bun:test";
import type { KObject } from "../../../lib/kobject.ts";
import { CONVERSION_DATA_ANNOTATION, withoutConversionData } from "../../capi/conversion/preserve.ts";
import * as F from "./fixtures.ts";
import { capmoxConverters, INFRA_GROUP } from "./index.ts";

type Any = Record<string, any>;

const convert = (o: KObject, version: string): Any => capmoxConverters[`${INFRA_GROUP}/${o.kind}`](o, `${INFRA_GROUP}/${version}`);
/** The plain mapping: what the target version shows, without the kept data. */
const plain = (o: KObject, version: string): Any => withoutConversionData(convert(withoutConversionData(o), version) as KObject);
const POOL = (name: string, kind = "InClusterIPPool") => ({ apiGroup: "ipam.cluster.x-k8s.io", kind, name });

function machine(version: "v1alpha1" | "v1alpha2", spec: Record<string, unknown>): KObject {
  return { apiVersion: `${INFRA_GROUP}/${version}`, kind: "ProxmoxMachine", metadata: { name: "m", namespace: "default" }, spec };
}

describe("ProxmoxMachine v1alpha1 → v1alpha2", () => {
  const hub = plain(F.proxmoxMachineV1Alpha1, "v1alpha2");

  test("target becomes the only allowed node; v1alpha1-only fields vanish", () => {
    expect(hub.spec.allowedNodes).toEqual(["pve3"]);
    expect(hub.spec.target).toBeUndefined();
    expect(hub.status.failureReason).toBeUndefined();
    expect(hub.status.failureMessage).toBeUndefined();
    expect(hub.status.ready).toBeUndefined();
  });

  test("the default device becomes net0 (default for both families), additional devices follow", () => {
    expect(hub.spec.network.networkDevices).toEqual([
      {
        name: "net0",
        bridge: "vmbr0",
        model: "virtio",
        mtu: 9000,
        vlan: 10,
        dnsServers: ["10.10.0.1"],
        ipPoolRef: [POOL("extra-v4"), POOL("extra-inet6")],
        defaultIPv4: true,
        defaultIPv6: true,
      },
      {
        name: "net1",
        bridge: "vmbr1",
        model: "e1000",
        mtu: 1500,
        vlan: 20,
        dnsServers: ["10.20.0.1"],
        ipPoolRef: [POOL("shared", "GlobalInClusterIPPool")],
        routes: (F.proxmoxMachineV1Alpha1 as Any).spec.network.additionalDevices[0].routes,
        routingPolicy: (F.proxmoxMachineV1Alpha1 as Any).spec.network.additionalDevices[0].routingPolicy,
        linkMtu: 1500,
      },
    ]);
    expect(hub.spec.network.vrfs).toEqual((F.proxmoxMachineV1Alpha1 as Any).spec.network.vrfs);
  });

  test("status: ready, the IP map and the conditions take the v1alpha2 shapes", () => {
    expect(hub.status.initialization).toEqual({ provisioned: true });
    expect(hub.status.ipAddresses).toEqual([
      { net: "net0", ipv4: ["10.10.0.21"], ipv6: ["fd00:10::21"] },
      { net: "net1", ipv4: ["10.20.0.21"] },
    ]);
    expect(hub.status.conditions).toEqual([
      { type: "Ready", status: "False", lastTransitionTime: "2025-01-01T00:00:00Z", reason: "Cloning", message: "cloning VM 9000" },
      { type: "VMProvisioned", status: "True", lastTransitionTime: "2025-02-01T10:20:30Z", reason: "APIConversionReason", message: "API Conversion" },
    ]);
    expect(hub.status.taskRef).toBe((F.proxmoxMachineV1Alpha1 as Any).status.taskRef);
  });

  test("a spec without network gets upstream's placeholder net0 on vmbr0", () => {
    const out = plain(machine("v1alpha1", { sourceNode: "pve1", templateID: 100 }), "v1alpha2");
    expect(out.spec.network).toEqual({ networkDevices: [{ name: "net0", bridge: "vmbr0", model: "virtio", defaultIPv4: true, defaultIPv6: true }] });
  });

  test("nothing is kept when the plain mapping is lossless (a typical v0.7.7 template spec)", () => {
    const src = machine("v1alpha1", {
      sourceNode: "pve1",
      templateID: 100,
      format: "qcow2",
      full: true,
      numSockets: 2,
      disks: { bootVolume: { disk: "scsi0", sizeGb: 100 } },
      network: { default: { bridge: "vmbr0", model: "virtio" } },
    });
    const out = convert(src, "v1alpha2");
    expect(out.metadata.annotations).toBeUndefined();
    expect(out.spec.network.networkDevices).toEqual([{ name: "net0", bridge: "vmbr0", model: "virtio", defaultIPv4: true, defaultIPv6: true }]);
  });

  test("what v1alpha2 cannot express is kept on the hub", () => {
    const out = convert(machine("v1alpha1", { sourceNode: "pve1", templateID: 100, target: "pve2", network: { default: { bridge: "vmbr0" } } }), "v1alpha2");
    expect(JSON.parse(out.metadata.annotations?.[CONVERSION_DATA_ANNOTATION] ?? "{}")).toEqual({
      kind: "ProxmoxMachine",
      apiVersion: `${INFRA_GROUP}/v1alpha1`,
      spec: { sourceNode: "pve1", templateID: 100, target: "pve2", network: { default: { bridge: "vmbr0" } } },
    });
  });
});

describe("ProxmoxMachine v1alpha2 → v1alpha1", () => {
  const spoke = plain(F.proxmoxMachineV1Alpha2, "v1alpha1");

  test("net0 becomes the default device; the pool list is split by family (by name)", () => {
    expect(spoke.spec.network.default).toEqual({
      bridge: "vmbr0",
      model: "virtio",
      mtu: 1,
      vlan: 10,
      dnsServers: ["10.10.0.1", "fd00:10::1"],
      ipv4PoolRef: POOL("extra-v4"),
      ipv6PoolRef: POOL("extra-v6"),
    });
  });

  test("other devices become additional devices, without is6, queues or default flags", () => {
    expect(spoke.spec.network.additionalDevices).toEqual([
      {
        name: "net1",
        bridge: "vmbr1",
        model: "vmxnet3",
        ipv4PoolRef: POOL("shared-v4", "GlobalInClusterIPPool"),
        ipv6PoolRef: POOL("shared-v6", "GlobalInClusterIPPool"),
        routes: [
          { to: "10.30.0.0/16", via: "10.20.0.1", metric: 100, table: 100 },
          { to: "default", via: "10.20.0.254", metric: 200 },
          { to: "all", table: 7 },
        ],
        routingPolicy: [
          { to: "10.30.0.0/16", from: "10.20.0.0/24", table: 100, priority: 100 },
          { from: "all", table: 100, priority: 40000 },
        ],
      },
      { name: "net2", bridge: "vmbr2" },
    ]);
    expect(spoke.spec.network.vrfs).toEqual([
      { name: "vrf-ext", table: 500, interfaces: ["net2"], routes: [{ to: "default", via: "10.40.0.1" }], routingPolicy: [{ from: "10.40.0.0/24", table: 500 }] },
    ]);
    expect(spoke.spec.network.zone).toBeUndefined();
  });

  test("status: provisioned → ready, first address per family, conditions without observedGeneration", () => {
    expect(spoke.status.ready).toBe(true);
    expect(spoke.status.initialization).toBeUndefined();
    expect(spoke.status.ipAddresses).toEqual({ net0: { ipv4: "10.10.0.22", ipv6: "fd00:10::22" }, net1: { ipv4: "10.20.0.22" } });
    expect(spoke.status.conditions[0]).toEqual({ type: "Ready", status: "False", lastTransitionTime: "2025-01-01T00:00:00Z", reason: "Cloning", message: "cloning VM 9000" });
  });

  test("the hub is always kept on a v1alpha1 object (upstream MarshalData)", () => {
    const out = convert(F.proxmoxMachineV1Alpha2, "v1alpha1");
    const kept = JSON.parse(out.metadata.annotations?.[CONVERSION_DATA_ANNOTATION] ?? "{}");
    expect(kept.apiVersion).toBe(`${INFRA_GROUP}/v1alpha2`);
    expect(kept.spec).toEqual((F.proxmoxMachineV1Alpha2 as Any).spec);
    expect(kept.metadata).toBeUndefined();
  });

  test("edits made in v1alpha1 win over the kept data; untouched v1alpha2-only fields come back", () => {
    const spokeObj = convert(F.proxmoxMachineV1Alpha2, "v1alpha1");
    spokeObj.spec.network.default.bridge = "vmbr9";
    spokeObj.spec.numCores = 8;
    const back = convert(spokeObj as KObject, "v1alpha2");
    const net0 = back.spec.network.networkDevices[0];
    expect(net0.bridge).toBe("vmbr9");
    expect(net0.queues).toBe(4);
    expect(net0.defaultIPv6).toBe(false);
    expect(back.spec.numCores).toBe(8);
    expect(back.spec.network.zone).toBe("zone-a");
  });
});

describe("ProxmoxCluster", () => {
  test("v1alpha1 → v1alpha2: status renames, failure domains map → list, cloneSpec and failure texts dropped", () => {
    const hub = plain(F.proxmoxClusterV1Alpha1, "v1alpha2");
    expect(hub.spec.cloneSpec).toBeUndefined();
    expect(hub.spec.ipv4Config).toEqual((F.proxmoxClusterV1Alpha1 as Any).spec.ipv4Config);
    expect(hub.status.inClusterIPPoolRef).toEqual([{ name: "c1-v4-icip" }, { name: "c1-v6-icip" }]);
    expect(hub.status.inClusterIpPoolRef).toBeUndefined();
    expect(hub.status.initialization).toEqual({ provisioned: true });
    expect(hub.status.failureDomains).toEqual([
      { name: "pve1", controlPlane: true, attributes: { zone: "a" } },
      { name: "pve2", controlPlane: false },
    ]);
    expect(hub.status.failureReason).toBeUndefined();
  });

  test("externalManagedControlPlane: always set in v1alpha2, shown in v1alpha1 only when true", () => {
    const cluster = (version: string, spec: Record<string, unknown>): KObject => ({ apiVersion: `${INFRA_GROUP}/${version}`, kind: "ProxmoxCluster", metadata: { name: "c" }, spec });
    expect(plain(cluster("v1alpha1", { dnsServers: ["1.1.1.1"] }), "v1alpha2").spec).toEqual({ dnsServers: ["1.1.1.1"], externalManagedControlPlane: false });
    expect(plain(cluster("v1alpha1", { externalManagedControlPlane: true }), "v1alpha2").spec).toEqual({ externalManagedControlPlane: true });
    expect(plain(cluster("v1alpha2", { externalManagedControlPlane: false }), "v1alpha1").spec).toEqual({});
    expect(plain(cluster("v1alpha2", { externalManagedControlPlane: true }), "v1alpha1").spec).toEqual({ externalManagedControlPlane: true });
    // A v1alpha1 object without the field needs no conversion data.
    expect(convert(cluster("v1alpha1", { dnsServers: ["1.1.1.1"] }), "v1alpha2").metadata.annotations).toBeUndefined();
  });

  test("v1alpha2 → v1alpha1: zone data dropped, failure domains list → map", () => {
    const spoke = plain(F.proxmoxClusterV1Alpha2, "v1alpha1");
    expect(spoke.spec.zoneConfig).toBeUndefined();
    expect(spoke.status.inClusterZoneRef).toBeUndefined();
    expect(spoke.status.inClusterIpPoolRef).toEqual([{ name: "c2-v4-icip" }]);
    expect(spoke.status.nodeLocations.controlPlane).toEqual([{ machine: { name: "c2-cp-1" }, node: "pve2" }]);
    expect(spoke.status.failureDomains).toEqual({ pve1: { controlPlane: true }, pve2: { controlPlane: true, attributes: { rack: "r2" } } });
    expect(spoke.status.ready).toBe(true);
  });

  test("a v1alpha1 status without ready reads back ready: false (upstream's non-omitempty bool)", () => {
    const hub: KObject = { ...structuredClone(F.proxmoxClusterV1Alpha2), status: { inClusterIPPoolRef: [{ name: "p" }] } };
    expect(plain(hub, "v1alpha1").status).toEqual({ ready: false, inClusterIpPoolRef: [{ name: "p" }] });
  });
});

describe("unknown versions", () => {
  test("are refused", () => {
    expect(() => convert(F.proxmoxClusterV1Alpha2, "v1beta1")).toThrow(/cannot convert to apiVersion/);
  });
});
