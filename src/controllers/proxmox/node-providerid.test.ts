import { describe, expect, it } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { matchNode } from "./node-providerid.ts";

const node = (name: string, ips: string[], hostname = name): KObject => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, labels: { "kubernetes.io/hostname": hostname } },
  status: { addresses: [{ type: "Hostname", address: hostname }, ...ips.map((address) => ({ type: "InternalIP", address }))] },
});

const pm = (name: string, ips: string[]): KObject => ({
  apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
  kind: "ProxmoxMachine",
  metadata: { name },
  status: { addresses: [{ type: "Hostname", address: name }, ...ips.map((address) => ({ type: "InternalIP", address }))] },
});

describe("pairing a Node with its ProxmoxMachine", () => {
  it("needs the hostname and a shared InternalIP", () => {
    const nodes = [node("c1-cp-a", ["10.10.0.21"]), node("c1-cp-b", ["10.10.0.22"])];
    expect(matchNode(nodes, pm("c1-cp-b", ["10.10.0.22"]))?.metadata.name).toBe("c1-cp-b");
    expect(matchNode(nodes, pm("c1-cp-b", ["10.10.0.99"]))).toBeUndefined();
    expect(matchNode(nodes, pm("c1-cp-c", ["10.10.0.22"]))).toBeUndefined();
  });

  it("accepts the hostname label when the Node is named otherwise", () => {
    expect(matchNode([node("talos-abc-xyz", ["10.10.0.30"], "c1-w-1")], pm("c1-w-1", ["10.10.0.30"]))?.metadata.name).toBe("talos-abc-xyz");
  });

  it("matches by hostname alone when the machine knows no address (DHCP without agent)", () => {
    expect(matchNode([node("c1-w-1", ["10.10.0.77"])], pm("c1-w-1", []))?.metadata.name).toBe("c1-w-1");
  });
});
