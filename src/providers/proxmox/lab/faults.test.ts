import { afterEach, describe, expect, test } from "bun:test";
import { testLab, type TestLab } from "./testing.ts";

let t: TestLab;
afterEach(async () => {
  await t?.close();
});

describe("fault injection", () => {
  test("task failures: a failed clone removes its volumes and config, as PVE", async () => {
    t = testLab({ faults: { taskFailureRate: 1 } });
    const before = Object.keys(t.lab.host.state.volumes).sort();
    const upid = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 800, full: 1 });
    const s = await t.waitTask(upid);
    expect(s.exitstatus).toBe("clone failed: copy failed: command '/usr/bin/qemu-img convert -p -n -O qcow2 shared:9000/base-9000-disk-0.qcow2 shared:800/vm-800-disk-0.qcow2' failed: exit code 1");
    expect(t.lab.host.vm(800)).toBeUndefined();
    expect(Object.keys(t.lab.host.state.volumes).sort()).toEqual(before);
    const gone = await t.call("GET", "/nodes/pve1/qemu/800/config");
    expect(gone.reason).toBe("Configuration file 'nodes/pve1/qemu-server/800.conf' does not exist");
    // the knob is live: turn it off and the same clone works
    t.lab.setFaults({ taskFailureRate: 0 });
    expect((await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 800, full: 1 }))).exitstatus).toBe("OK");
    t.lab.setFaults({ taskFailureRate: 1 });
    const start = await t.ok<string>("POST", "/nodes/pve1/qemu/800/status/start");
    expect((await t.waitTask(start)).exitstatus).toBe("start failed: QEMU exited with code 1");
    expect((await t.ok<{ status: string }>("GET", "/nodes/pve1/qemu/800/status/current")).status).toBe("stopped");
  });

  test("lock timeouts", async () => {
    t = testLab({ faults: { lockTimeoutRate: 1 } });
    const clone = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 801 });
    expect((await t.waitTask(clone)).exitstatus).toBe("can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout");
    const resize = await t.ok<string>("PUT", "/nodes/pve1/qemu/9000/resize", { disk: "scsi0", size: "+1G" });
    expect((await t.waitTask(resize)).exitstatus).toBe("can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout");
  });

  test("HTTP 500s before anything happens", async () => {
    t = testLab({ faults: { http500Rate: 1 } });
    const r = await t.call("POST", "/nodes/pve1/qemu/9000/clone", { newid: 802 });
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ data: null, message: `${r.reason}\n` });
    expect(t.lab.host.vm(802)).toBeUndefined();
    t.lab.setFaults({ http500Rate: 0 });
    expect((await t.call("GET", "/version")).status).toBe(200);
  });

  test("slow tasks hold their locks longer", async () => {
    t = testLab({ faults: { slowTaskRate: 1, slowTaskMs: 1500 } });
    const upid = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 803 });
    await Bun.sleep(150);
    expect(t.lab.host.tasks.get(upid)!.status).toBe("running");
    expect(t.lab.host.locks.holders("vm:803")).toEqual([upid]);
    expect((await t.waitTask(upid)).exitstatus).toBe("OK");
    expect(t.lab.host.locks.holders("vm:803")).toEqual([]);
  });

  test("a seed makes the dice replayable", async () => {
    const outcomes: string[][] = [];
    for (let run = 0; run < 2; run++) {
      t = testLab({ faults: { taskFailureRate: 0.5, seed: 42 } });
      const results: string[] = [];
      for (let i = 0; i < 6; i++) {
        const s = await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 810 + i, full: 1 }));
        results.push(s.exitstatus === "OK" ? "OK" : s.exitstatus!.replace(/\d{3}/g, "N"));
      }
      outcomes.push(results);
      await t.close();
    }
    expect(outcomes[0]).toEqual(outcomes[1]!);
    expect(new Set(outcomes[0]).size).toBe(2);
  });
});
