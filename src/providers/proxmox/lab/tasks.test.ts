import { afterEach, describe, expect, test } from "bun:test";
import { TaskEngine, type Worker } from "./tasks.ts";
import { testLab, type TestLab } from "./testing.ts";

let t: TestLab;
afterEach(async () => {
  await t?.close();
});

const statusPath = (upid: string, node = upid.split(":")[1]) => `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`;

describe("task endpoints", () => {
  test("status, log with paging and total, and the UPID checks", async () => {
    t = testLab();
    const upid = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 400, full: 1 });
    const [, node, pid, pstart, starttime, type, id, user] = upid.split(":");
    expect([node, type, id, user]).toEqual(["pve1", "qmclone", "9000", "root@pam!capx"]);
    expect(pid).toMatch(/^[0-9A-F]{8}$/);
    expect(pstart).toMatch(/^[0-9A-F]{8,9}$/);
    expect(Math.abs(parseInt(starttime!, 16) - Date.now() / 1000)).toBeLessThan(60);
    const s = await t.waitTask(upid);
    expect(s).toEqual({ upid, node: "pve1", pid: parseInt(pid!, 16), pstart: parseInt(pstart!, 16), starttime: parseInt(starttime!, 16), type: "qmclone", id: "9000", user: "root@pam", tokenid: "capx", status: "stopped", exitstatus: "OK" });

    const page = await t.call("GET", `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log`, { start: 1, limit: 2 });
    const all = await t.taskLog(upid);
    expect(page.body).toEqual({ data: [{ n: 2, t: all[1] }, { n: 3, t: all[2] }], total: all.length });
    expect(all[all.length - 1]).toBe("TASK OK");

    const other = await t.call("GET", statusPath(upid, "pve2"));
    expect([other.status, other.reason, other.body!.errors]).toEqual([400, "Parameter verification failed.", { upid: "no such task" }]);
    const bad = await t.call("GET", statusPath("UPID:nope", "pve1"));
    expect(bad.body!.errors).toEqual({ upid: "unable to parse worker upid 'UPID:nope'" });
    const unknownNode = await t.call("GET", statusPath(upid, "pve7"));
    expect([unknownNode.status, unknownNode.reason]).toEqual([500, "hostname lookup 'pve7' failed - failed to get address info for: pve7: Name or service not known"]);
  });

  test("listing with filters, and stopping a running task", async () => {
    t = testLab({ latencies: { diskCopyMs: 2000 } });
    const slow = await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid: 401, full: 1 });
    const active = await t.ok<{ upid: string; status?: string }[]>("GET", "/nodes/pve1/tasks", { source: "active" });
    expect(active.map((x) => x.upid)).toEqual([slow]);
    expect(active[0]!.status).toBeUndefined();
    expect(await t.ok("GET", "/nodes/pve1/tasks")).toEqual([]);
    expect(await t.ok("DELETE", `/nodes/pve1/tasks/${encodeURIComponent(slow)}`)).toBeNull();
    const s = await t.waitTask(slow);
    expect(s.exitstatus).toBe("clone failed: interrupted by signal");
    expect(t.lab.host.vm(401)).toBeUndefined();
    const listed = await t.ok<{ upid: string; status: string; endtime: number }[]>("GET", "/nodes/pve1/tasks", { vmid: 9000, typefilter: "qmclone" });
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ upid: slow, status: "clone failed: interrupted by signal" });
    expect(typeof listed[0]!.endtime).toBe("number");
    expect(await t.ok("GET", "/nodes/pve1/tasks", { errors: 1, typefilter: "qmstart" })).toEqual([]);
  });

  test("log_warn counts toward `WARNINGS: n` (a success); an error's newlines become spaces", async () => {
    t = testLab();
    const workers: Record<string, Worker> = {
      warns: { steps: (w) => [{ run: () => (w.warn("Could not remove disk 'x', check manually"), w.warn("second")) }] },
      fails: { steps: () => [{ sleep: 0 }, { run: () => { throw new Error("line one\nline two\n"); } }] },
    };
    const engine = new TaskEngine(t.lab.host, workers);
    const warned = engine.fork({ node: "pve2", type: "qmdestroy", id: "123", user: "root@pam", worker: "warns" });
    expect(await t.waitTask(warned)).toMatchObject({ exitstatus: "WARNINGS: 2", user: "root@pam" });
    expect(await t.taskLog(warned)).toEqual(["WARN: Could not remove disk 'x', check manually", "WARN: second", "TASK WARNINGS: 2"]);
    const failed = engine.fork({ node: "pve2", type: "qmstart", id: "123", user: "root@pam", worker: "fails" });
    expect((await t.waitTask(failed)).exitstatus).toBe("line one line two");
    expect(await t.taskLog(failed)).toEqual(["TASK ERROR: line one line two"]);
  });
});
