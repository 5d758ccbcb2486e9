import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { testLab, waitFor, type TestLab } from "./testing.ts";

let t: TestLab;
afterEach(async () => {
  await t?.close();
});

async function cloneVm(vmid: number, params: Record<string, string | number> = {}, source = 9001): Promise<void> {
  const s = await t.waitTask(await t.ok<string>("POST", `/nodes/pve1/qemu/${source}/clone`, { newid: vmid, full: 1, ...params }));
  expect(s.exitstatus).toBe("OK");
}

describe("start", () => {
  test("has no synchronous checks: every failure is the task's", async () => {
    t = testLab();
    const missing = await t.ok<string>("POST", "/nodes/pve1/qemu/777/status/start");
    expect(missing).toMatch(/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmstart:777:root@pam!capx:$/);
    expect((await t.waitTask(missing)).exitstatus).toBe("Configuration file 'nodes/pve1/qemu-server/777.conf' does not exist");
    const template = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/status/start");
    expect((await t.waitTask(template)).exitstatus).toBe("you can't start a vm if it's a template");
    await cloneVm(120);
    const first = await t.ok<string>("POST", "/nodes/pve1/qemu/120/status/start");
    expect((await t.waitTask(first)).exitstatus).toBe("OK");
    expect(await t.taskLog(first)).toEqual(["generating cloud-init ISO", "TASK OK"]);
    const again = await t.ok<string>("POST", "/nodes/pve1/qemu/120/status/start");
    expect((await t.waitTask(again)).exitstatus).toBe("VM 120 already running");
    expect(await t.taskLog(again)).toEqual(["TASK ERROR: VM 120 already running"]);
  });

  test("reads cicustom snippets on the node that starts the VM; a missing one fails the start", async () => {
    t = testLab();
    await cloneVm(121);
    await t.ok("PUT", "/nodes/pve1/qemu/121/config", { cicustom: "user=local:snippets/capx-121-user.yaml,network=shared:snippets/capx-121-net.yaml" });
    // PVE reads network, user, meta, vendor in that order
    let start = await t.ok<string>("POST", "/nodes/pve1/qemu/121/status/start");
    expect((await t.waitTask(start)).exitstatus).toBe("can't find file 'shared:snippets/capx-121-net.yaml'");
    // the appliance writes snippets straight into the storage's directory (shared: any node's path)
    const shared = join(t.lab.storagePath("pve2", "shared"), "snippets");
    mkdirSync(shared, { recursive: true });
    writeFileSync(join(shared, "capx-121-net.yaml"), "version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: \"bc:24:11:00:00:01\"\n    addresses: [10.10.0.50/24]\n");
    start = await t.ok<string>("POST", "/nodes/pve1/qemu/121/status/start");
    expect((await t.waitTask(start)).exitstatus).toBe("can't find file 'local:snippets/capx-121-user.yaml'");
    // node-local storage: a file on pve2's `local` does not help a VM on pve1
    const pve2local = join(t.lab.storagePath("pve2", "local"), "snippets");
    mkdirSync(pve2local, { recursive: true });
    writeFileSync(join(pve2local, "capx-121-user.yaml"), "#cloud-config\nhostname: wrong-node\n");
    start = await t.ok<string>("POST", "/nodes/pve1/qemu/121/status/start");
    expect((await t.waitTask(start)).exitstatus).toBe("can't find file 'local:snippets/capx-121-user.yaml'");
    const local = join(t.lab.storagePath("pve1", "local"), "snippets");
    mkdirSync(local, { recursive: true });
    writeFileSync(join(local, "capx-121-user.yaml"), "#cloud-config\nhostname: custom-121\n");
    start = await t.ok<string>("POST", "/nodes/pve1/qemu/121/status/start");
    expect((await t.waitTask(start)).exitstatus).toBe("OK");
    const iso = t.lab.host.state.volumes["*/shared:121/vm-121-cloudinit.qcow2"]!.iso!;
    expect(iso.label).toBe("cidata");
    expect(iso.files["/user-data"]).toBe("#cloud-config\nhostname: custom-121\n");
    expect(iso.files["/network-config"]).toContain("10.10.0.50/24");
    // meta-data is generated from the final user and network data
    expect(iso.files["/meta-data"]).toMatch(/^instance-id: [0-9a-f]{40}\n$/);
    // a snippet volume must be in the snippets directory
    await t.ok("POST", "/nodes/pve1/qemu/121/status/stop");
    await Bun.sleep(20);
    await t.ok("PUT", "/nodes/pve1/qemu/121/config", { cicustom: "user=local:iso/user.yaml" });
    start = await t.ok<string>("POST", "/nodes/pve1/qemu/121/status/start");
    expect((await t.waitTask(start)).exitstatus).toBe("local:iso/user.yaml is not in the snippets directory");
  });

  test("applies [PENDING] and rebuilds the cloud-init ISO; a running VM keeps non-hotplug changes pending", async () => {
    t = testLab();
    await cloneVm(122);
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/122/status/start"));
    await t.ok("PUT", "/nodes/pve1/qemu/122/config", { cores: 4, name: "renamed", ipconfig0: "ip=10.10.0.60/24,gw=10.10.0.1" });
    const pending = await t.ok<Record<string, string | number>>("GET", "/nodes/pve1/qemu/122/config");
    const current = await t.ok<Record<string, string | number>>("GET", "/nodes/pve1/qemu/122/config", { current: 1 });
    expect([pending.cores, current.cores]).toEqual([4, 2]);
    expect(current.name).toBe("renamed");
    expect(current.ipconfig0).toBe("ip=10.10.0.60/24,gw=10.10.0.1");
    const list = await t.ok<{ key: string; value?: unknown; pending?: unknown }[]>("GET", "/nodes/pve1/qemu/122/pending");
    expect(list.find((e) => e.key === "cores")).toEqual({ key: "cores", value: 2, pending: 4 });
    // the cloud-init view: the ISO was built without an ipconfig0
    const ci = await t.ok<{ key: string; value?: string; pending?: string }[]>("GET", "/nodes/pve1/qemu/122/cloudinit");
    expect(ci.find((e) => e.key === "ipconfig0")).toEqual({ key: "ipconfig0", pending: "ip=10.10.0.60/24,gw=10.10.0.1" });
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/122/status/stop"));
    const start = await t.ok<string>("POST", "/nodes/pve1/qemu/122/status/start");
    expect((await t.waitTask(start)).exitstatus).toBe("OK");
    expect((await t.ok<Record<string, string | number>>("GET", "/nodes/pve1/qemu/122/config", { current: 1 })).cores).toBe(4);
    expect(await t.ok("GET", "/nodes/pve1/qemu/122/pending")).not.toContainEqual(expect.objectContaining({ pending: expect.anything() }));
  });
});

describe("destroy", () => {
  test("running VM: synchronous refusal; stopped VM: `lock: destroyed` during the task, then gone", async () => {
    t = testLab({ latencies: { destroyMs: 1500 } });
    await cloneVm(130, { name: "victim" });
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/130/status/start"));
    const refused = await t.call("DELETE", "/nodes/pve1/qemu/130");
    expect([refused.status, refused.reason]).toEqual([500, "VM 130 is running - destroy failed"]);
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/130/status/stop"));
    await t.ok("POST", "/pools", { poolid: "capx" });
    const upid = await t.ok<string>("DELETE", "/nodes/pve1/qemu/130", { purge: 1, "destroy-unreferenced-disks": 1 });
    expect(upid).toContain(":qmdestroy:130:");
    const during = await waitFor(async () => {
      const c = await t.ok<Record<string, string>>("GET", "/nodes/pve1/qemu/130/config");
      return c.lock === "destroyed" ? c : undefined;
    }, 5000, "lock: destroyed");
    // only the lock is left of the config while the task finishes
    expect(Object.keys(during).sort()).toEqual(["digest", "lock"]);
    expect(t.lab.host.tasks.get(upid)!.status).toBe("running");
    expect((await t.waitTask(upid)).exitstatus).toBe("OK");
    const gone = await t.call("GET", "/nodes/pve1/qemu/130/config");
    expect(gone.reason).toBe("Configuration file 'nodes/pve1/qemu-server/130.conf' does not exist");
    expect(await t.ok("GET", "/nodes/pve1/storage/shared/content", { vmid: 130 })).toEqual([]);
    expect(await t.taskLog(upid)).toContain("purging VM 130 from related configurations..");
    const missing = await t.call("DELETE", "/nodes/pve1/qemu/130");
    expect(missing.reason).toBe("Configuration file 'nodes/pve1/qemu-server/130.conf' does not exist");
  });

  test("a config lock is checked in the task; a template with linked clones cannot go", async () => {
    t = testLab();
    await cloneVm(131);
    await t.lab.request("PUT", "/nodes/pve1/qemu/131/config", { lock: "backup" }, { user: "root@pam" });
    const locked = await t.ok<string>("DELETE", "/nodes/pve1/qemu/131");
    expect((await t.waitTask(locked)).exitstatus).toBe("VM is locked (backup)");
    const skip = await t.lab.request("DELETE", "/nodes/pve1/qemu/131", { skiplock: 1 }, t.lab.token);
    expect(skip.status).toBe(400);
    expect(skip.body!.errors).toEqual({ skiplock: "Only root may use this option." });
    const asRoot = await t.lab.request("DELETE", "/nodes/pve1/qemu/131", { skiplock: 1 }, { user: "root@pam" });
    expect((await t.waitTask(asRoot.body!.data as string)).exitstatus).toBe("OK");

    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 132 }));
    const tmpl = await t.ok<string>("DELETE", "/nodes/pve1/qemu/9000");
    expect((await t.waitTask(tmpl)).exitstatus).toBe("base volume 'shared:9000/base-9000-disk-0.qcow2' is still in use by linked cloned");
  });
});

describe("resize", () => {
  test("a task since PVE 8: every check inside it, grow only", async () => {
    t = testLab();
    const missingVm = await t.ok<string>("PUT", "/nodes/pve1/qemu/555/resize", { disk: "scsi0", size: "+1G" });
    expect(missingVm).toContain(":resize:555:");
    expect((await t.waitTask(missingVm)).exitstatus).toBe("Configuration file 'nodes/pve1/qemu-server/555.conf' does not exist");
    await cloneVm(140);
    const cases: [Record<string, string>, string][] = [
      [{ disk: "scsi1", size: "20G" }, "disk 'scsi1' does not exist"],
      [{ disk: "ide2", size: "20G" }, "you can't resize a cdrom"],
      [{ disk: "scsi0", size: "1G" }, "shrinking disks is not supported"],
    ];
    for (const [params, error] of cases) {
      const upid = await t.ok<string>("PUT", "/nodes/pve1/qemu/140/resize", params);
      expect((await t.waitTask(upid)).exitstatus).toBe(error);
    }
    const bad = await t.call("PUT", "/nodes/pve1/qemu/140/resize", { disk: "scsi0", size: "20GB" });
    expect(bad.status).toBe(400);
    expect(bad.body!.errors).toEqual({ size: "value does not match the regex pattern" });
    const grow = await t.ok<string>("PUT", "/nodes/pve1/qemu/140/resize", { disk: "scsi0", size: "+6G" });
    expect((await t.waitTask(grow)).exitstatus).toBe("OK");
    expect(await t.taskLog(grow)).toEqual(["update VM 140: resize --disk scsi0 --size +6G", "TASK OK"]);
    expect((await t.ok<Record<string, string>>("GET", "/nodes/pve1/qemu/140/config")).scsi0).toBe("shared:140/vm-140-disk-0.qcow2,size=10G");
    const same = await t.ok<string>("PUT", "/nodes/pve1/qemu/140/resize", { disk: "scsi0", size: "10G" });
    expect(await t.taskLog(same)).toEqual(["TASK OK"]);
  });
});

describe("create and template", () => {
  test("create allocates disks in the task; template renames them to base volumes", async () => {
    t = testLab();
    const upid = await t.ok<string>("POST", "/nodes/pve2/qemu", { vmid: 600, name: "fresh", scsi0: "local-lvm:8", ide2: "local-lvm:cloudinit", net0: "virtio,bridge=vmbr1", memory: 1024 });
    expect((await t.waitTask(upid)).exitstatus).toBe("OK");
    expect(await t.taskLog(upid)).toEqual([
      "ide2: successfully created disk 'local-lvm:vm-600-cloudinit,media=cdrom'",
      "scsi0: successfully created disk 'local-lvm:vm-600-disk-0,size=8G'",
      "TASK OK",
    ]);
    const conf = await t.ok<Record<string, string | number>>("GET", "/nodes/pve2/qemu/600/config");
    expect(conf).toMatchObject({ name: "fresh", memory: "1024", scsi0: "local-lvm:vm-600-disk-0,size=8G", boot: "order=scsi0;net0" });
    expect(conf.net0).toMatch(/^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr1$/);
    const dup = await t.call("POST", "/nodes/pve1/qemu", { vmid: 600 });
    expect(dup.reason).toBe("unable to create VM 600 - VM 600 already exists on node 'pve2'");
    const second = await t.call("PUT", "/nodes/pve2/qemu/600/config", { ide0: "local-lvm:cloudinit" });
    expect(second.reason).toBe("ide0 - cloud-init drive is already attached at 'ide2'");
    const tpl = await t.ok<string>("POST", "/nodes/pve2/qemu/600/template");
    expect((await t.waitTask(tpl)).exitstatus).toBe("OK");
    const after = await t.ok<Record<string, string | number>>("GET", "/nodes/pve2/qemu/600/config");
    expect([after.template, after.scsi0]).toEqual([1, "local-lvm:base-600-disk-0,size=8G"]);
    const again = await t.call("POST", "/nodes/pve2/qemu/600/template");
    expect(again.reason).toBe("you can't convert a template to a template");
    // lvmthin base volumes clone linked on the same node
    const linked = await t.ok<string>("POST", "/nodes/pve2/qemu/600/clone", { newid: 601 });
    expect((await t.waitTask(linked)).exitstatus).toBe("OK");
    expect((await t.ok<Record<string, string>>("GET", "/nodes/pve2/qemu/601/config")).scsi0).toBe("local-lvm:vm-601-disk-0,size=8G");
  });
});

describe("config", () => {
  test("PUT is synchronous; POST is a qmconfig task, or null when background_delay covers it", async () => {
    t = testLab();
    await cloneVm(150);
    expect(await t.ok("PUT", "/nodes/pve1/qemu/150/config", { cores: 3, tags: "Zeta;alpha;zeta" })).toBeNull();
    const conf = await t.ok<Record<string, string | number>>("GET", "/nodes/pve1/qemu/150/config");
    expect([conf.cores, conf.tags]).toEqual([3, "alpha;zeta"]);
    const none = await t.call("PUT", "/nodes/pve1/qemu/150/config", {});
    expect([none.status, none.reason]).toEqual([500, "no options specified"]);
    const stale = await t.call("PUT", "/nodes/pve1/qemu/150/config", { cores: 2, digest: "0".repeat(40) });
    expect(stale.reason).toBe("checksum mismatch (file change by other user?)");
    const unknown = await t.call("PUT", "/nodes/pve1/qemu/150/config", { delete: "frobs" });
    expect(unknown.body!.errors).toEqual({ delete: "unknown option 'frobs'" });

    const upid = await t.ok<string>("POST", "/nodes/pve1/qemu/150/config", { memory: 4096 });
    expect(upid).toContain(":qmconfig:150:");
    expect((await t.waitTask(upid)).exitstatus).toBe("OK");
    expect(await t.taskLog(upid)).toEqual(["update VM 150: -memory 4096", "TASK OK"]);
    expect(await t.ok("POST", "/nodes/pve1/qemu/150/config", { memory: 2048, background_delay: 5 })).toBeNull();
    const failed = await t.call("POST", "/nodes/pve1/qemu/150/config", { boot: "order=scsi9", background_delay: 5 });
    expect([failed.status, failed.reason]).toEqual([500, "failed to update VM 150: invalid bootorder: device 'scsi9' does not exist'"]);
    const bad = await t.call("PUT", "/nodes/pve1/qemu/150/config", { balloon: 9000 });
    expect(bad.reason).toBe("balloon value too large (must be smaller than assigned memory)");
  });
});
