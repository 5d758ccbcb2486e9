import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LabState } from "./state.ts";
import { readStoredState, StateFile } from "./store.ts";
import { testLab, waitFor, type TestLab } from "./testing.ts";

const labs: TestLab[] = [];
afterEach(async () => {
  while (labs.length) await labs.pop()!.close();
});

function open(o: Parameters<typeof testLab>[0] = {}): TestLab {
  const t = testLab(o);
  labs.push(t);
  return t;
}

describe("lab state is hardware", () => {
  test("a clone running when the process stops finishes by wall clock after the restart", async () => {
    const latencies = { diskCopyMs: 1500 };
    const a = open({ latencies });
    const started = Date.now();
    const upid = await a.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 700, full: 1, name: "survivor" });
    // wait until the copy is under way (the full config is written after the cloud-init drive)
    await waitFor(async () => (await a.ok<Record<string, string>>("GET", "/nodes/pve1/qemu/700/config")).ide2, 5000, "first disk");
    await a.lab.stop();
    labs.pop();
    expect(existsSync(join(a.dataDir, "lab", "pve-state.db"))).toBe(true);

    const b = open({ dataDir: a.dataDir, latencies });
    // the task is still running and the VM still locked
    expect((await b.ok<{ status: string }>("GET", `/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`)).status).toBe("running");
    expect((await b.ok<Record<string, string>>("GET", "/nodes/pve1/qemu/700/config")).lock).toBe("clone");
    const s = await b.waitTask(upid);
    expect(s.exitstatus).toBe("OK");
    // it waited out the copy as scheduled before the restart, not from zero and not skipping it
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    const conf = await b.ok<Record<string, string>>("GET", "/nodes/pve1/qemu/700/config");
    expect(conf.lock).toBeUndefined();
    expect(conf.name).toBe("survivor");
    expect(conf.scsi0).toBe("shared:700/vm-700-disk-0.qcow2,size=10G");
    expect(await b.taskLog(upid)).toContain("transferred 10.0 GiB of 10.0 GiB (100.00%)");
  });

  test("a task whose time ran out while the process was down finishes on load; running VMs keep running", async () => {
    const a = open({ latencies: { startMs: 0, diskCopyMs: 300 } });
    await a.waitTask(await a.ok<string>("POST", "/nodes/pve1/qemu/9001/clone", { newid: 710, full: 1 }));
    await a.waitTask(await a.ok<string>("POST", "/nodes/pve1/qemu/710/status/start"));
    const upid = await a.ok<string>("POST", "/nodes/pve1/qemu/9001/clone", { newid: 711, full: 1 });
    await a.lab.stop();
    labs.pop();
    await Bun.sleep(500);
    const b = open({ dataDir: a.dataDir, latencies: { diskCopyMs: 300 } });
    expect((await b.waitTask(upid, 2000)).exitstatus).toBe("OK");
    expect((await b.ok<{ status: string }>("GET", "/nodes/pve1/qemu/710/status/current")).status).toBe("running");
    const ifaces = await b.ok<{ result: { name: string }[] }>("GET", "/nodes/pve1/qemu/710/agent/network-get-interfaces");
    expect(ifaces.result.map((i) => i.name)).toEqual(["lo", "eth0"]);
    // the API token survives too
    expect(b.lab.token).toBe(a.lab.token);
  });

  test("cloud-init files are write-once blobs of the state, read back on load, removed with their VM", async () => {
    const a = open({ latencies: { startMs: 0, diskCopyMs: 0 } });
    await a.waitTask(await a.ok<string>("POST", "/nodes/pve1/qemu/9001/clone", { newid: 720, full: 1 }));
    await a.ok("PUT", "/nodes/pve1/qemu/720/config", { ipconfig0: "ip=10.10.0.72/24,gw=10.10.0.1" });
    await a.waitTask(await a.ok<string>("POST", "/nodes/pve1/qemu/720/status/start"));
    const booted = a.lab.host.vm(720)!.boot!.cidata!;
    expect(booted.files["/network-config"]).toContain("10.10.0.72");
    a.lab.flush();
    const statePath = join(a.dataDir, "lab", "pve-state.db");
    const before = readStoredState(statePath);
    const stored = (before.state as { vms: Record<string, { boot: { cidata: { filesBlob?: string; files?: unknown } } }> }).vms["720"]!.boot.cidata;
    expect(stored.files).toBeUndefined();
    expect(stored.filesBlob).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(before.state).includes("/network-config")).toBe(false); // the VM's entry no longer carries the files
    expect(before.blob(stored.filesBlob!)).toEqual(booted.files);
    await a.lab.stop();
    labs.pop();

    const b = open({ dataDir: a.dataDir, latencies: { startMs: 0, diskCopyMs: 0 } });
    expect(b.lab.host.vm(720)!.boot!.cidata!.files).toEqual(booted.files);
    await b.waitTask(await b.ok<string>("POST", "/nodes/pve1/qemu/720/status/stop"));
    await b.waitTask(await b.ok<string>("DELETE", "/nodes/pve1/qemu/720"));
    await b.ok("PUT", "/nodes/pve1/qemu/9001/config", { description: "a later change writes the state again" });
    expect(readStoredState(statePath).blob(stored.filesBlob!)).toBeUndefined();
  });

  test("every request is in the access log", async () => {
    const a = open();
    await a.ok("GET", "/cluster/nextid");
    await a.call("POST", "/nodes/pve1/qemu/9000/clone", { newid: 720, cipassword: "secret" });
    await a.lab.request("GET", "/version", {}, undefined);
    await a.lab.request("GET", "/nodes/pve1/qemu", {}, { user: "root@pam" }, { cli: true, argv: ["qm", "list"] });
    a.lab.flush();
    const lines = readFileSync(join(a.dataDir, "lab", "pve-access.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.method, l.path, l.status])).toEqual([
      ["GET", "/cluster/nextid", 200],
      ["POST", "/nodes/pve1/qemu/9000/clone", 400],
      ["GET", "/version", 401],
      ["GET", "/nodes/pve1/qemu", 200],
    ]);
    expect(lines[1].params).toEqual({ newid: 720, cipassword: "<hidden>" });
    expect(lines[0].user).toBe("root@pam!capx");
    expect(lines[3]).toMatchObject({ via: "cli", user: "root@pam", argv: ["qm", "list"] });
  });
});

describe("an acknowledged change is on disk (the daemon may die right after the answer)", () => {
  const onDisk = (t: TestLab) => readStoredState(join(t.dataDir, "lab", "pve-state.db")).state as { vms: Record<string, { config: Record<string, string> }> };

  test("a config change is in pve-state.db when its answer arrives, with no flush or stop", async () => {
    const t = open();
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 710, name: "acked" }));
    await t.ok("PUT", "/nodes/pve1/qemu/710/config", { cores: 7, description: "acknowledged" });
    expect(onDisk(t).vms["710"]!.config).toMatchObject({ cores: "7", description: "acknowledged" });
  });

  test("a large state: answers wait for one shared write (group commit) and find it there", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lab-state-"));
    try {
      const file = new StateFile(join(dir, "state.db"));
      let value = 0;
      file.bind(() => {
        const end = performance.now() + 8; // a write slower than the synchronous threshold
        while (performance.now() < end);
        return { version: 1, value, vms: {}, volumes: {} } as unknown as LabState;
      });
      file.flush(); // measures the write
      value = 1;
      file.schedule();
      const a = file.durable();
      value = 2;
      const b = file.durable();
      let settled = false;
      void a.then(() => (settled = true));
      await Promise.resolve();
      expect(settled).toBe(false); // not written in this turn
      await Promise.all([a, b]);
      expect(readStoredState(join(dir, "state.db")).state.value).toBe(2);
      file.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
