import { describe, expect, it } from "bun:test";
import type { PveNodeInfo, PveVmInfo } from "../../providers/proxmox/types.ts";
import { InsufficientMemoryError, NodeUnavailableError, reservableMemory, scheduleVm } from "./scheduler.ts";

const GiB = 1024 ** 3;
const node = (name: string, gib: number, online = true): PveNodeInfo => ({ node: name, online, maxmem: gib * GiB, mem: 0, maxcpu: 16 });
const vm = (vmid: number, on: string, gib: number, extra: Partial<PveVmInfo> = {}): PveVmInfo => ({
  vmid,
  node: on,
  template: false,
  status: "running",
  maxmem: gib * GiB,
  tags: [],
  type: "qemu",
  ...extra,
});

describe("reservable memory (CAPMOX GetReservableMemoryBytes)", () => {
  it("subtracts every non-template VM and container on the node, scaled by memoryAdjustment", () => {
    const vms = [vm(100, "pve1", 8), vm(101, "pve1", 4, { type: "lxc" }), vm(9000, "pve1", 32, { template: true }), vm(102, "pve2", 8)];
    expect(reservableMemory(node("pve1", 64), vms)).toBe(52 * GiB);
    expect(reservableMemory(node("pve1", 64), vms, 150)).toBe(84 * GiB);
    expect(reservableMemory(node("pve1", 64), vms, 10)).toBe(0);
  });

  it("treats 0% as 'no accounting': the whole total", () => {
    expect(reservableMemory(node("pve1", 64), [vm(100, "pve1", 60)], 0)).toBe(64 * GiB);
  });

  it("ignores entries whose maxmem is not known yet (lagging /cluster/resources)", () => {
    expect(reservableMemory(node("pve1", 64), [vm(100, "pve1", 8, { maxmem: undefined })])).toBe(64 * GiB);
  });
});

describe("scheduleVm", () => {
  const nodes = [node("pve1", 64), node("pve2", 64), node("pve3", 32)];

  it("spreads a role over the nodes: fewest machines of the role first", () => {
    const r = scheduleVm({ allowedNodes: ["pve1", "pve2", "pve3"], nodes, vms: [], memoryMiB: 4096, locations: [{ machine: { name: "a" }, node: "pve1" }, { machine: { name: "b" }, node: "pve2" }] });
    expect(r.node).toBe("pve3");
  });

  it("breaks ties by free memory", () => {
    const r = scheduleVm({ allowedNodes: ["pve3", "pve1", "pve2"], nodes, vms: [vm(100, "pve1", 16)], memoryMiB: 4096, locations: [] });
    expect(r.node).toBe("pve2");
  });

  it("skips a node without room even if it has the fewest machines", () => {
    const r = scheduleVm({ allowedNodes: ["pve1", "pve3"], nodes, vms: [vm(100, "pve3", 30)], memoryMiB: 4096, locations: [{ machine: { name: "a" }, node: "pve1" }] });
    expect(r.node).toBe("pve1");
  });

  it("fails with CAPMOX's text when no node can hold the machine", () => {
    let err: unknown;
    try {
      scheduleVm({ allowedNodes: ["pve1", "pve2"], nodes, vms: [vm(100, "pve1", 60), vm(101, "pve2", 62)], memoryMiB: 8192, locations: [] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InsufficientMemoryError);
    expect((err as Error).message).toBe(`cannot reserve ${8 * GiB}B of memory on node pve1: ${4 * GiB}B available memory left`);
  });

  it("leaves out offline and unknown nodes; none online is a retryable error", () => {
    const r = scheduleVm({ allowedNodes: ["pve1", "pve2", "pve9"], nodes: [node("pve1", 64, false), node("pve2", 8)], vms: [], memoryMiB: 1, locations: [] });
    expect(r.node).toBe("pve2");
    expect(r.candidates.map((c) => c.name)).toEqual(["pve2"]);
    expect(() => scheduleVm({ allowedNodes: ["pve1", "pve9"], nodes: [node("pve1", 64, false)], vms: [], memoryMiB: 1, locations: [] })).toThrow(
      new NodeUnavailableError("none of the allowed nodes is online: pve1 (offline), pve9 (unknown)"),
    );
  });
});
