import { describe, expect, it } from "bun:test";
import { renderMetaData } from "./metadata.ts";

const uuid = "7a6d2f5e-1c3b-4e8a-9f00-112233445566";

describe("NoCloud meta-data (CAPMOX metadata template)", () => {
  it("has the SMBIOS uuid as instance-id and the machine name as hostname", () => {
    expect(renderMetaData({ instanceId: uuid, hostname: "c1-cp-x7k2p" })).toBe(`instance-id: ${uuid}\nlocal-hostname: c1-cp-x7k2p\nhostname: c1-cp-x7k2p\n`);
  });

  it("adds provider-id only with providerIDInjection, and the Kubernetes version", () => {
    expect(renderMetaData({ instanceId: uuid, hostname: "w1", kubernetesVersion: "v1.32.3", providerIdInjection: true })).toBe(
      `instance-id: ${uuid}\nlocal-hostname: w1\nhostname: w1\nprovider-id: proxmox://${uuid}\nkubernetes-version: v1.32.3\n`,
    );
    expect(renderMetaData({ instanceId: uuid, hostname: "w1", kubernetesVersion: "v1.32.3", providerIdInjection: false })).not.toContain("provider-id");
  });

  it("adds the PVE node and the network zone, which CAPMOX's proxmox-labels template reads", () => {
    expect(renderMetaData({ instanceId: uuid, hostname: "w1", proxmoxNode: "pve2", zone: "default" })).toBe(`instance-id: ${uuid}\nlocal-hostname: w1\nhostname: w1\nproxmox-node: pve2\nzone: default\n`);
  });

  it("refuses to render without hostname or instance-id (CAPMOX's texts)", () => {
    expect(() => renderMetaData({ instanceId: uuid, hostname: "" })).toThrow("hostname is not set");
    expect(() => renderMetaData({ instanceId: "", hostname: "w1" })).toThrow("instance-id is not set");
  });
});
