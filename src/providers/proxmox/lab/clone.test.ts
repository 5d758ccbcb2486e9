import { afterEach, describe, expect, test } from "bun:test";
import { testLab, waitFor, type TestLab } from "./testing.ts";

let t: TestLab;
afterEach(async () => {
  await t?.close();
});

const UPID_RE = /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-F]{8}):([0-9A-F]{8,9}):([0-9A-F]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

describe("clone: synchronous errors", () => {
  test("a missing source, a source on another node, a locked source", async () => {
    t = testLab();
    let r = await t.call("POST", "/nodes/pve1/qemu/9999/clone", { newid: 200 });
    expect(r.status).toBe(500);
    expect(r.reason).toBe("unable to find configuration file for VM 9999 on node 'pve1'");
    expect(r.body).toEqual({ data: null, message: "unable to find configuration file for VM 9999 on node 'pve1'\n" });

    r = await t.call("POST", "/nodes/pve2/qemu/9000/clone", { newid: 200 });
    expect(r.reason).toBe("unable to find configuration file for VM 9000 on node 'pve2'");

    // an unlocked VM on pve1, then a config lock on it (root may set `lock`)
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 150, full: 1 }));
    await t.lab.request("PUT", "/nodes/pve1/qemu/150/config", { lock: "backup" }, { user: "root@pam" });
    r = await t.call("POST", "/nodes/pve1/qemu/150/clone", { newid: 151 });
    expect([r.status, r.reason]).toEqual([500, "VM is locked (backup)"]);
    expect(t.lab.host.vm(151)).toBeUndefined();
  });

  test("linked-clone rules", async () => {
    t = testLab();
    let r = await t.call("POST", "/nodes/pve1/qemu/9000/clone", { newid: 200, storage: "local-lvm" });
    expect(r.reason).toBe("parameter 'storage' not allowed for linked clones");
    r = await t.call("POST", "/nodes/pve1/qemu/9000/clone", { newid: 200, format: "raw" });
    expect(r.reason).toBe("parameter 'format' not allowed for linked clones");
    // a full clone of the template to local-lvm is a plain VM: it has no base image to link to
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 201, full: 1, storage: "local-lvm" }));
    r = await t.call("POST", "/nodes/pve1/qemu/201/clone", { newid: 202, full: 0 });
    const scsi0 = (await t.ok<Record<string, string>>("GET", "/nodes/pve1/qemu/201/config")).scsi0!.split(",")[0];
    expect(scsi0).toBe("local-lvm:vm-201-disk-0");
    expect(r.reason).toBe(`Linked clone feature is not supported for '${scsi0}' (scsi0)`);
  });

  test("cross-node clones follow the storage rules", async () => {
    t = testLab();
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 300, full: 1, storage: "local-lvm" }));
    // the VM's disk is on node-local storage: no clone to another node
    let r = await t.call("POST", "/nodes/pve1/qemu/300/clone", { newid: 301, target: "pve2" });
    expect([r.status, r.reason]).toEqual([500, "can't clone VM to node 'pve2' (VM uses local storage)"]);
    // a shared source, but a node-local target storage
    r = await t.call("POST", "/nodes/pve1/qemu/9000/clone", { newid: 301, target: "pve2", full: 1, storage: "local-lvm" });
    expect(r.reason).toBe("can't clone to non-shared storage 'local-lvm'");
    r = await t.call("POST", "/nodes/pve1/qemu/9000/clone", { newid: 301, target: "pve9" });
    expect(r.reason).toBe("no such cluster node 'pve9'");
    // shared to shared works; the config ends on the target node
    const upid = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 301, target: "pve2", full: 1, name: "w1" });
    expect((await t.waitTask(upid)).exitstatus).toBe("OK");
    expect((await t.ok<Record<string, string>>("GET", "/nodes/pve2/qemu/301/config")).name).toBe("w1");
    r = await t.call("GET", "/nodes/pve1/qemu/301/config");
    expect([r.status, r.reason]).toEqual([500, "Configuration file 'nodes/pve1/qemu-server/301.conf' does not exist"]);
  });

  test("nextid is not atomic: the second clone with the same id gets `config file already exists`", async () => {
    t = testLab();
    const a = await t.ok<string>("GET", "/cluster/nextid");
    const b = await t.ok<string>("GET", "/cluster/nextid");
    expect(a).toBe("100");
    expect(b).toBe(a);
    const first = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: a });
    const second = await t.call("POST", "/nodes/pve1/qemu/9001/clone", { newid: b });
    expect([second.status, second.reason]).toEqual([500, `unable to create VM ${b}: config file already exists`]);
    expect((await t.waitTask(first)).exitstatus).toBe("OK");
    // the id is taken now
    expect(await t.ok<string>("GET", "/cluster/nextid")).toBe("101");
    const inUse = await t.call("GET", "/cluster/nextid", { vmid: 100 });
    expect(inUse.status).toBe(400);
    expect(inUse.body!.errors).toEqual({ vmid: "VM 100 already exists" });
  });
});

describe("clone: the task", () => {
  test("UPID with the SOURCE vmid; new MACs and SMBIOS uuid; template flag dropped", async () => {
    t = testLab();
    const upid = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 101, name: "cp1" });
    const m = UPID_RE.exec(upid)!;
    expect(m).not.toBeNull();
    expect([m[1], m[6], m[7], m[8]]).toEqual(["pve1", "qmclone", "9000", "root@pam!capx"]);
    const status = await t.waitTask(upid);
    expect(status).toMatchObject({ upid, node: "pve1", type: "qmclone", id: "9000", user: "root@pam", tokenid: "capx", status: "stopped", exitstatus: "OK" });
    expect(typeof status.pid).toBe("number");
    const src = await t.ok<Record<string, string | number>>("GET", "/nodes/pve1/qemu/9000/config");
    const dst = await t.ok<Record<string, string | number>>("GET", "/nodes/pve1/qemu/101/config");
    expect(dst.name).toBe("cp1");
    expect(dst.template).toBeUndefined();
    expect(dst.lock).toBeUndefined();
    expect(dst.net0).toMatch(/^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0$/);
    expect(dst.net0).not.toBe(src.net0);
    expect(dst.smbios1).toMatch(/^uuid=[0-9a-f-]{36}$/);
    expect(dst.smbios1).not.toBe(src.smbios1);
    expect(dst.vmgenid).not.toBe(src.vmgenid);
    // a template clones linked by default; the cloud-init drive gets a fresh volume
    expect(dst.scsi0).toBe("shared:9000/base-9000-disk-0.qcow2/101/vm-101-disk-0.qcow2,size=10G");
    expect(dst.ide2).toBe("shared:101/vm-101-cloudinit.qcow2,media=cdrom");
    expect(await t.taskLog(upid)).toEqual([
      "creating a clone of VM 9000 with ID 101",
      "create full clone of drive ide2 (shared:9000/vm-9000-cloudinit.qcow2)",
      "Formatting '/mnt/pve/shared/images/101/vm-101-cloudinit.qcow2', fmt=qcow2 size=4194304",
      "create linked clone of drive scsi0 (shared:9000/base-9000-disk-0.qcow2)",
      "TASK OK",
    ]);
  });

  test("the new config exists at once with `lock: clone`; others wait for its flock or see the lock", async () => {
    t = testLab({ latencies: { diskCopyMs: 2000, vmLockTimeoutMs: 100 } });
    const upid = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 102, full: 1 });
    const during = await t.ok<Record<string, string>>("GET", "/nodes/pve1/qemu/102/config");
    expect(during.lock).toBe("clone");
    expect(during.description).toBe(" qmclone temporary file\n");
    // PUT config checks the config lock before taking the flock: synchronous 500
    const put = await t.call("PUT", "/nodes/pve1/qemu/102/config", { cores: 4 });
    expect([put.status, put.reason]).toEqual([500, "VM is locked (clone)"]);
    // start and destroy have no such early check: their tasks wait for the flock the clone holds
    const start = await t.ok<string>("POST", "/nodes/pve1/qemu/102/status/start");
    const destroy = await t.ok<string>("DELETE", "/nodes/pve1/qemu/102");
    expect((await t.waitTask(start)).exitstatus).toBe("can't lock file '/var/lock/qemu-server/lock-102.conf' - got timeout");
    expect((await t.waitTask(destroy)).exitstatus).toBe("can't lock file '/var/lock/qemu-server/lock-102.conf' - got timeout");
    // after the first disk (the cloud-init drive), the full config is there, still locked
    const mid = await waitFor(async () => {
      const c = await t.ok<Record<string, string>>("GET", "/nodes/pve1/qemu/102/config");
      return c.name ? c : undefined;
    }, 5000, "the full config");
    expect(mid.lock).toBe("clone");
    expect(t.lab.host.tasks.get(upid)!.status).toBe("running");
    expect(mid.name).toBe("Copy-of-VM-talos-nocloud");
    expect((await t.waitTask(upid)).exitstatus).toBe("OK");
    const after = await t.ok<Record<string, string>>("GET", "/nodes/pve1/qemu/102/config");
    expect(after.lock).toBeUndefined();
    expect(after.scsi0).toBe("shared:102/vm-102-disk-0.qcow2,size=10G");
  });

  test("VM lock timeout (1 s) inside the task while the source is held exclusively", async () => {
    t = testLab({ latencies: { configMs: 1600 } });
    // a qmconfig task holds the template's flock exclusively for 1.6 s
    const cfg = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/config", { description: "updated" });
    const clone = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 103 });
    const s = await t.waitTask(clone);
    expect(s.exitstatus).toBe("can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout");
    expect(t.lab.host.vm(103)).toBeUndefined();
    expect((await t.waitTask(cfg)).exitstatus).toBe("OK");
  });

  test("per-storage serialisation: a clone waiting too long for the storage lock fails and is removed", async () => {
    t = testLab({ latencies: { storageOpMs: 500, storageLockTimeoutMs: 200 } });
    const a = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 110, full: 1 });
    const b = await t.ok<string>("POST", "/nodes/pve1/qemu/9001/clone", { newid: 111, full: 1 });
    expect((await t.waitTask(a)).exitstatus).toBe("OK");
    const sb = await t.waitTask(b);
    expect(sb.exitstatus).toBe("clone failed: cfs-lock 'storage-shared' error: got lock request timeout");
    // the failed clone left nothing behind: no config, no volumes
    expect(t.lab.host.vm(111)).toBeUndefined();
    const vols = await t.ok<{ volid: string; vmid: number }[]>("GET", "/nodes/pve1/storage/shared/content", { vmid: 111 });
    expect(vols).toEqual([]);
    // node-local storage has its own lock per node
    t.lab.setLatencies({ storageLockTimeoutMs: 10000 });
    const c = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 112, full: 1, storage: "local-lvm" });
    expect((await t.waitTask(c)).exitstatus).toBe("OK");
    expect(await t.taskLog(c)).toContain('  Logical volume "vm-112-disk-0" created.');
  });
});
