import { describe, expect, test } from "bun:test";
import { ApiError, type StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { mutateProxmoxMachine, validateProxmoxMachine, validateProxmoxMachineTemplate } from "./proxmoxmachine.ts";

type Device = Record<string, unknown>;
type Obj = KObject & Record<string, any>;

function machine(devices: Device[], extra: Record<string, unknown> = {}): Obj {
  return {
    apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
    kind: "ProxmoxMachine",
    metadata: { name: "m1", namespace: "default" },
    spec: { sourceNode: "pve1", templateID: 9001, tags: ["k8s"], network: { networkDevices: devices, ...extra } },
  };
}

const net = (n: number, more: Device = {}): Device => ({ name: `net${n}`, bridge: `vmbr${n}`, model: "virtio", ...more });
const inv = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: "FieldValueInvalid",
  field,
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
});

describe("ProxmoxMachine defaulting", () => {
  test("net0 becomes the default device of both families when none is", () => {
    const m = machine([net(0), net(1)]);
    mutateProxmoxMachine(m, undefined);
    expect(m.spec.network.networkDevices).toEqual([net(0, { defaultIPv4: true, defaultIPv6: true }), net(1)]);
  });

  test("a family that already has a default is left alone", () => {
    const m = machine([net(0), net(1, { defaultIPv4: true })]);
    mutateProxmoxMachine(m, undefined);
    expect(m.spec.network.networkDevices).toEqual([net(0, { defaultIPv6: true }), net(1, { defaultIPv4: true })]);
  });

  test("explicit false still counts as no default (as upstream)", () => {
    const m = machine([net(0, { defaultIPv4: false, defaultIPv6: false })]);
    mutateProxmoxMachine(m, undefined);
    expect(m.spec.network.networkDevices[0]).toEqual(net(0, { defaultIPv4: true, defaultIPv6: true }));
  });

  test("the device named net0 is chosen even when listed later", () => {
    const m = machine([net(1), net(0)]);
    mutateProxmoxMachine(m, undefined);
    expect(m.spec.network.networkDevices).toEqual([net(1), net(0, { defaultIPv4: true, defaultIPv6: true })]);
  });

  test("no devices: nothing to default", () => {
    const m = machine([]);
    mutateProxmoxMachine(m, undefined);
    expect(m.spec.network.networkDevices).toEqual([]);
  });
});

describe("ProxmoxMachine validation", () => {
  test("a valid machine passes (create and update)", () => {
    const m = machine(
      [
        net(0, { defaultIPv4: true, defaultIPv6: true, mtu: 1, linkMtu: 9000, routes: [{ to: "default", via: "10.10.0.1" }, { to: "all", is6: true }] }),
        net(2, { mtu: 1500, routingPolicy: [{ to: "10.0.0.0/8", table: 100 }, { from: "all", to: "fd00::/8", table: 101 }] }),
        net(1, { mtu: 9000 }),
      ],
      { vrfs: [{ name: "vrf-a", table: 500, interfaces: ["net2"], routingPolicy: [{ from: "10.20.0.0/24", table: 500 }, { from: "default", is6: false }] }] },
    );
    expect(validateProxmoxMachine(m, undefined)).toEqual([]);
    expect(validateProxmoxMachine(m, structuredClone(m))).toEqual([]);
  });

  test("names must be consecutive from net0 (sorted by number, so net10 follows net9)", () => {
    expect(validateProxmoxMachine(machine([net(0), net(2)]), undefined)).toEqual([inv("spec.network.networkDevices[1].name", "net2", "Non-consecutive proxmox interface name")]);
    expect(validateProxmoxMachine(machine([net(1)]), undefined)).toEqual([inv("spec.network.networkDevices[0].name", "net1", "Non-consecutive proxmox interface name")]);
    const eleven = Array.from({ length: 11 }, (_, i) => net(10 - i));
    expect(validateProxmoxMachine(machine(eleven), undefined)).toEqual([]);
  });

  test("at most one default device per family", () => {
    const second = net(1, { defaultIPv4: true });
    expect(validateProxmoxMachine(machine([net(0, { defaultIPv4: true }), second]), undefined)).toEqual([
      inv("spec.network.networkDevices[1]", second, "More than one default IPv4/IPv6 interface in NetworkDevices"),
    ]);
    const v6 = net(1, { defaultIPv6: true });
    expect(validateProxmoxMachine(machine([net(0, { defaultIPv6: true }), v6]), undefined)).toHaveLength(1);
    expect(validateProxmoxMachine(machine([net(0, { defaultIPv4: true }), net(1, { defaultIPv6: true })]), undefined)).toEqual([]);
  });

  test("mtu is 1 (inherit from the bridge) or at least 1280", () => {
    const d = net(0, { mtu: 1000 });
    expect(validateProxmoxMachine(machine([d]), undefined)).toEqual([inv("spec.network.networkDevices[0].mtu", d, "mtu must be at least 1280 or 1, but was 1000")]);
    expect(validateProxmoxMachine(machine([net(0, { mtu: 1280 })]), undefined)).toEqual([]);
  });

  test("linkMtu is at least 1280", () => {
    const d = net(0, { linkMtu: 1279 });
    expect(validateProxmoxMachine(machine([d]), undefined)).toEqual([inv("spec.network.networkDevices[0].linkMtu", d, "mtu must be at least 1280, but was 1279")]);
  });

  test("a device's routing policy needs a table", () => {
    const d = net(0, { routingPolicy: [{ to: "10.0.0.0/8", table: 5 }, { to: "10.1.0.0/16" }] });
    expect(validateProxmoxMachine(machine([d]), undefined)).toEqual([inv("spec.network.networkDevices[0].routingPolicy", d, "routing policy [1] requires a table")]);
  });

  test("a placeholder rule needs is6 unless to/from gives the family", () => {
    const d = net(0, { routingPolicy: [{ from: "all", table: 5 }] });
    expect(validateProxmoxMachine(machine([d]), undefined)).toEqual([
      inv("spec.network.networkDevices[0].routingPolicy", d, "routing policy [0]: is6 must be set when 'to'/'from' is a placeholder and neither provides an address family"),
    ]);
    expect(validateProxmoxMachine(machine([net(0, { routingPolicy: [{ from: "all", to: "10.0.0.0/8", table: 5 }] })]), undefined)).toEqual([]);
    expect(validateProxmoxMachine(machine([net(0, { routingPolicy: [{ from: "all", table: 5, is6: false }] })]), undefined)).toEqual([]);
  });

  test("a placeholder route needs is6 unless via gives the family", () => {
    const d = net(0, { routes: [{ to: "10.0.0.0/8", via: "10.10.0.1" }, { to: "default" }] });
    expect(validateProxmoxMachine(machine([d]), undefined)).toEqual([
      inv("spec.network.networkDevices[0].routes", d, "route [1]: is6 must be set when 'to' is a placeholder and 'via' is unset"),
    ]);
  });

  test("VRF rules must use the VRF's table; VRF placeholders need is6", () => {
    const vrf = { name: "vrf-a", table: 500, routingPolicy: [{ from: "10.0.0.0/8", table: 501 }], routes: [{ to: "all" }] };
    expect(validateProxmoxMachine(machine([net(0)], { vrfs: [vrf] }), undefined)).toEqual([
      inv("spec.network.vrfs[0]", vrf, "VRF vrf-a: device/rule routing table mismatch 500 != 501"),
      inv("spec.network.vrfs[0]", vrf, "VRF vrf-a: route [0]: is6 must be set when 'to' is a placeholder and 'via' is unset"),
    ]);
  });

  test("every violation is reported", () => {
    expect(validateProxmoxMachine(machine([net(0, { mtu: 600 }), net(3, { linkMtu: 600 })]), undefined)).toHaveLength(3);
  });

  test("tags are immutable (400, as upstream)", () => {
    const old = machine([net(0)]);
    const changed = machine([net(0)]);
    changed.spec.tags = ["k8s", "other"];
    let err: unknown;
    try {
      validateProxmoxMachine(changed, old);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(400);
    expect((err as ApiError).message).toBe('admission webhook "validation.proxmoxmachine.infrastructure.cluster.x-k8s.io" denied the request: tags are immutable');
    // Creating with tags and changing other fields is fine.
    const resized = machine([net(0)]);
    resized.spec.numCores = 4;
    expect(validateProxmoxMachine(resized, old)).toEqual([]);
  });
});

describe("ProxmoxMachineTemplate validation", () => {
  function tmpl(spec: Record<string, unknown>): KObject {
    return { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxMachineTemplate", metadata: { name: "t" }, spec: { template: { spec } } };
  }
  const spec = { sourceNode: "pve1", templateID: 9001, network: { networkDevices: [net(0)] } };

  test("a template without providerID passes", () => {
    expect(validateProxmoxMachineTemplate(tmpl(spec), undefined)).toEqual([]);
  });

  test("providerID cannot be set in a template", () => {
    expect(validateProxmoxMachineTemplate(tmpl({ ...spec, providerID: "proxmox://0c3a9e25-6f2b-4d1e-9a57-3b1f0e8c2d4a" }), undefined)).toEqual([
      { reason: "FieldValueForbidden", field: "spec.template.spec.providerID", message: "Forbidden: cannot be set in templates" },
    ]);
  });

  test("the spec is immutable; metadata may change", () => {
    const old = tmpl(spec);
    expect(validateProxmoxMachineTemplate(tmpl({ ...spec, numCores: 8 }), old)).toEqual([
      { reason: "FieldValueForbidden", field: "spec", message: "Forbidden: ProxmoxMachineTemplate is immutable" },
    ]);
    const relabelled = tmpl(spec);
    relabelled.metadata.labels = { a: "b" };
    expect(validateProxmoxMachineTemplate(relabelled, old)).toEqual([]);
  });
});
