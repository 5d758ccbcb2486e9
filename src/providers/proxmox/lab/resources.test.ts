import { afterEach, describe, expect, test } from "bun:test";
import { testLab, waitFor, type TestLab } from "./testing.ts";

let t: TestLab;
afterEach(async () => {
  await t?.close();
});

type Res = { id: string; vmid?: number; status?: string; name?: string; maxmem?: number; lock?: string; tags?: string; template?: number; node: string; type: string };

describe("/cluster/resources", () => {
  test("VM data lags like pvestatd's: a new VM is `unknown` without name or maxmem; lock and tags are live", async () => {
    // storageOpMs: the first disk (after which the config holds the template's tags) waits until the first look
    t = testLab({ latencies: { resourcesLagMs: 1500, diskCopyMs: 300, storageOpMs: 300 } });
    const vms = () => t.ok<Res[]>("GET", "/cluster/resources", { type: "vm" });
    // the templates are old enough to be fully reported
    expect((await vms()).find((r) => r.vmid === 9000)).toMatchObject({ id: "qemu/9000", type: "qemu", node: "pve1", status: "stopped", name: "talos-nocloud", template: 1, tags: "talos", maxmem: 2048 * 1024 * 1024 });
    const upid = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 500, full: 1, name: "lagging" });
    const fresh = (await vms()).find((r) => r.vmid === 500)!;
    expect(fresh).toEqual({ id: "qemu/500", type: "qemu", vmid: 500, node: "pve1", status: "unknown", lock: "clone" });
    await t.waitTask(upid);
    // the config is consistent at once, the resources entry is not
    expect((await t.ok<Record<string, string>>("GET", "/nodes/pve1/qemu/500/config")).name).toBe("lagging");
    const stillLagging = (await vms()).find((r) => r.vmid === 500)!;
    expect(stillLagging.name).not.toBe("lagging");
    expect(stillLagging.lock).toBeUndefined();
    const caughtUp = await waitFor(async () => (await vms()).find((r) => r.vmid === 500 && r.name === "lagging"), 5000, "resources to catch up");
    expect(caughtUp).toMatchObject({ status: "stopped", template: 0, tags: "talos", maxmem: 2048 * 1024 * 1024 });
    // types: vmid a number; nodes and storages are listed too
    const all = await t.ok<Res[]>("GET", "/cluster/resources");
    expect(all.filter((r) => r.type === "node").map((r) => r.id)).toEqual(["node/pve1", "node/pve2", "node/pve3"]);
    expect(all.find((r) => r.id === "storage/pve2/local-lvm")).toMatchObject({ type: "storage", storage: "local-lvm", plugintype: "lvmthin", content: "images", shared: 0 });
    expect(all.find((r) => r.id === "storage/pve3/shared")).toMatchObject({ plugintype: "nfs", content: "images,iso,snippets", shared: 1 });
  });

  test("with no lag configured the view is live", async () => {
    t = testLab();
    const upid = await t.ok<string>("POST", "/nodes/pve1/qemu/9001/clone", { newid: 501, name: "live" });
    await t.waitTask(upid);
    const entry = (await t.ok<(Res & { maxdisk: number })[]>("GET", "/cluster/resources", { type: "vm" })).find((r) => r.vmid === 501)!;
    expect(entry).toMatchObject({ name: "live", status: "stopped", tags: "cloud-init;ubuntu" });
    const nodes = await t.ok<{ node: string; maxmem: number; maxcpu: number; mem: number }[]>("GET", "/cluster/resources", { type: "node" });
    expect(nodes[0]).toMatchObject({ node: "pve1", maxmem: 64 * 1024 ** 3, maxcpu: 16 });
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/501/status/start"));
    const after = await t.ok<{ node: string; mem: number }[]>("GET", "/cluster/resources", { type: "node" });
    expect(after[0]!.mem - nodes[0]!.mem).toBe(2048 * 1024 * 1024);
    // a VM's data is worked out once per change of it (cached), and a change shows at once
    // (memory of a running VM is pending until it restarts, as on PVE)
    await t.ok("PUT", "/nodes/pve1/qemu/501/config", { memory: 4096, name: "renamed" });
    await t.waitTask(await t.ok<string>("PUT", "/nodes/pve1/qemu/501/resize", { disk: "scsi0", size: "+1G" }));
    const changed = (await t.ok<(Res & { maxdisk: number })[]>("GET", "/cluster/resources", { type: "vm" })).find((r) => r.vmid === 501)!;
    expect(changed).toMatchObject({ name: "renamed", maxmem: 2048 * 1024 * 1024 });
    expect(changed.maxdisk).toBe(entry.maxdisk + 1024 ** 3);
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/501/status/stop"));
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/501/status/start"));
    const restarted = (await t.ok<Res[]>("GET", "/cluster/resources", { type: "vm" })).find((r) => r.vmid === 501)!;
    expect(restarted.maxmem).toBe(4096 * 1024 * 1024);
  });
});
