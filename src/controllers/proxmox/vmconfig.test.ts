import { describe, expect, it } from "bun:test";
import {
  allNicsHaveMacs,
  bootOrderWith,
  desiredConfigChanges,
  diskSizeBytes,
  formatNetDevice,
  formatTags,
  netDeviceDiffers,
  parseNetDevice,
  parseProviderId,
  parseTags,
  providerIdFor,
  smbiosUuid,
} from "./vmconfig.ts";

describe("netN property strings", () => {
  it("parses PVE's form with the MAC on the model", () => {
    expect(parseNetDevice("virtio=BC:24:11:5E:0A:01,bridge=vmbr0,firewall=1,mtu=1500,tag=30,queues=4")).toEqual({
      model: "virtio",
      mac: "BC:24:11:5E:0A:01",
      bridge: "vmbr0",
      mtu: 1500,
      tag: 30,
      queues: 4,
    });
    expect(parseNetDevice("e1000,bridge=vmbr1")).toEqual({ model: "e1000", bridge: "vmbr1" });
  });

  it("formats as CAPMOX: model, bridge, then mtu, tag, queues when set", () => {
    expect(formatNetDevice({ bridge: "vmbr0" })).toBe("virtio,bridge=vmbr0");
    expect(formatNetDevice({ name: "net1", bridge: "vmbr1", model: "e1000", mtu: 9000, vlan: 100, queues: 2 })).toBe("e1000,bridge=vmbr1,mtu=9000,tag=100,queues=2");
  });

  it("compares only what the spec sets", () => {
    expect(netDeviceDiffers("virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1", { bridge: "vmbr0" })).toBe(false);
    expect(netDeviceDiffers("virtio=BC:24:11:00:00:01,bridge=vmbr0", { bridge: "vmbr1" })).toBe(true);
    expect(netDeviceDiffers("virtio=BC:24:11:00:00:01,bridge=vmbr0", { bridge: "vmbr0", vlan: 5 })).toBe(true);
    expect(netDeviceDiffers(undefined, { bridge: "vmbr0" })).toBe(true);
  });
});

describe("identity", () => {
  it("reads the SMBIOS uuid from smbios1 as CAPMOX (uuid= at the start or after a comma)", () => {
    expect(smbiosUuid("uuid=6F8A0B1C-2D3E-4F50-8A9B-0C1D2E3F4A5B,serial=abc,base64=1")).toBe("6f8a0b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b");
    expect(smbiosUuid("serial=x,uuid=6f8a0b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b")).toBe("6f8a0b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b");
    expect(smbiosUuid("serial=xuuid=6f8a0b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b")).toBeUndefined();
    expect(smbiosUuid(undefined)).toBeUndefined();
    expect(smbiosUuid("uuid=not-a-uuid")).toBeUndefined();
  });

  it("builds and parses proxmox:// provider IDs", () => {
    const id = providerIdFor("6f8a0b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b");
    expect(id).toBe("proxmox://6f8a0b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b");
    expect(parseProviderId(id.toUpperCase().replace("PROXMOX", "proxmox"))).toBe("6f8a0b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b");
    expect(parseProviderId("talos://nocloud/10.0.0.1")).toBeUndefined();
  });
});

describe("tags, disks, boot order", () => {
  it("reads and writes tags as PVE stores them", () => {
    expect(parseTags("talos;V1.10, ip_net0_10.10.0.5")).toEqual(["talos", "v1.10", "ip_net0_10.10.0.5"]);
    expect(formatTags(["talos", "capx-managed", "Talos", "ip_net0_10.10.0.5"])).toBe("capx-managed;ip_net0_10.10.0.5;talos");
  });

  it("reads a disk's size", () => {
    expect(diskSizeBytes("shared:base-9000-disk-0/vm-101-disk-0,iothread=1,size=20G")).toBe(20 * 1024 ** 3);
    expect(diskSizeBytes("local-lvm:vm-101-disk-0,size=512M,ssd=1")).toBe(512 * 1024 ** 2);
    expect(diskSizeBytes("none,media=cdrom")).toBeUndefined();
  });

  it("appends a device to the boot order once", () => {
    expect(bootOrderWith("order=scsi0;net0", "ide0")).toBe("order=scsi0;net0;ide0");
    expect(bootOrderWith("order=scsi0;ide0", "ide0")).toBe("order=scsi0;ide0");
    expect(bootOrderWith(undefined, "ide0")).toBe("order=ide0");
  });

  it("knows when every NIC has its MAC", () => {
    expect(allNicsHaveMacs({ net0: "virtio=BC:24:11:00:00:01,bridge=vmbr0", net1: "virtio,bridge=vmbr1" })).toBe(false);
    expect(allNicsHaveMacs({ net0: "virtio=BC:24:11:00:00:01,bridge=vmbr0" })).toBe(true);
    expect(allNicsHaveMacs({})).toBe(false);
  });
});

describe("config changes before the first boot", () => {
  const cloned = { name: "w1", sockets: "1", cores: "2", memory: "2048", net0: "virtio=BC:24:11:00:00:01,bridge=vmbr0", description: "x" };

  it("sends only what differs, keeping the MAC of changed NICs", () => {
    expect(desiredConfigChanges({ numSockets: 1, numCores: 4, memoryMiB: 8192, network: { networkDevices: [{ name: "net0", bridge: "vmbr0" }] } }, cloned, "x")).toEqual({ cores: 4, memory: 8192 });
    expect(desiredConfigChanges({ network: { networkDevices: [{ name: "net0", bridge: "vmbr1", vlan: 7 }, { name: "net1", bridge: "vmbr0" }] } }, cloned, "y")).toEqual({
      description: "y",
      net0: "virtio=BC:24:11:00:00:01,bridge=vmbr1,tag=7",
      net1: "virtio,bridge=vmbr0",
    });
  });

  it("reads memory in its property-string form", () => {
    expect(desiredConfigChanges({ memoryMiB: 2048 }, { ...cloned, memory: "current=2048" }, undefined)).toEqual({});
  });
});
