import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { testLab, waitFor, type TestLab } from "../../providers/proxmox/lab/testing.ts";
import { GuestFs, LabCloudInit } from "./index.ts";

let t: TestLab;
let ci: LabCloudInit;

beforeAll(async () => {
  t = testLab();
  ci = new LabCloudInit({ pve: t.lab, dataDir: t.dataDir });
  await ci.start();
});
afterAll(async () => {
  await ci.stop();
  await t.close();
});

/** Runs `cloud-init status` through the guest agent as CAPMOX does; returns [exitcode, out]. */
async function cloudInitStatus(vmid: number): Promise<[number, string]> {
  const { pid } = await t.ok<{ pid: number }>("POST", `/nodes/pve1/qemu/${vmid}/agent/exec`, { command: ["cloud-init", "status"] });
  const s = await waitFor(async () => {
    const r = await t.ok<{ exited: number; exitcode?: number; "out-data"?: string }>("GET", `/nodes/pve1/qemu/${vmid}/agent/exec-status`, { pid });
    return r.exited ? r : undefined;
  }, 3000, "exec");
  return [s.exitcode!, s["out-data"] ?? ""];
}

async function bootWith(vmid: number, userData: string): Promise<void> {
  expect((await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/9001/clone", { newid: vmid, name: `u${vmid}`, full: 1 }))).exitstatus).toBe("OK");
  const dir = join(t.lab.storagePath("pve1", "local"), "snippets");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `u${vmid}.yaml`), userData);
  writeFileSync(join(dir, `m${vmid}.yaml`), `instance-id: iid-${vmid}\nlocal-hostname: u${vmid}\n`);
  await t.ok("PUT", `/nodes/pve1/qemu/${vmid}/config`, { cicustom: `user=local:snippets/u${vmid}.yaml,meta=local:snippets/m${vmid}.yaml` });
  expect((await t.waitTask(await t.ok<string>("POST", `/nodes/pve1/qemu/${vmid}/status/start`))).exitstatus).toBe("OK");
}

describe("lab VMs with a cloud-config run cloud-init", () => {
  test("Ubuntu template 9001 with a cicustom cloud-config: status running → done, the sentinel on its disk, stages on the console", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: string[][] = [];
    ci.registerProgram("kubeadm", async (ctx) => {
      seen.push(ctx.argv);
      await gate;
      return { stdout: `joined as ${ctx.fs.readText("/etc/hostname")}` };
    });
    await bootWith(
      320,
      "## template: jinja\n#cloud-config\nruncmd:\n  - 'kubeadm join --config /run/kubeadm/{{ ds.meta_data.instance_id }}.yaml && mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete'\n",
    );
    expect(await cloudInitStatus(320)).toEqual([0, "status: running\n"]);
    await waitFor(() => seen.length > 0, 3000, "kubeadm to be called");
    expect(seen[0]).toEqual(["kubeadm", "join", "--config", "/run/kubeadm/iid-320.yaml"]);
    release();
    await ci.idle();
    expect(await cloudInitStatus(320)).toEqual([0, "status: done\n"]);
    expect(ci.disk(320).readText("/run/cluster-api/bootstrap-success.complete")).toBe("success\n");
    const console = t.lab.host.serial.read(320);
    expect(console).toContain("running 'modules:final'");
    expect(console).toContain("joined as u320");
    expect(console).toMatch(/finished at .*Datasource DataSourceNoCloud/);

    // a daemon restart reads the same disk and keeps the status
    const again = new LabCloudInit({ pve: t.lab, dataDir: t.dataDir });
    await again.start();
    expect(again.disk(320).readText("/run/cluster-api/bootstrap-success.complete")).toBe("success\n");
    await again.stop();
    await ci.stop();
    ci = new LabCloudInit({ pve: t.lab, dataDir: t.dataDir });
    await ci.start();
    expect(await cloudInitStatus(320)).toEqual([0, "status: done\n"]);

    // destroying the VM wipes its disk
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/320/status/stop"));
    await t.waitTask(await t.ok<string>("DELETE", "/nodes/pve1/qemu/320"));
    await ci.idle();
    expect(existsSync(GuestFs.dirOf(t.dataDir, 320))).toBe(false);
  });

  test("a program the image does not have: status error (exit 1), the failure on the console", async () => {
    await bootWith(321, "#cloud-config\nruncmd:\n  - nosuchprog --flag\n");
    await ci.idle();
    expect(await cloudInitStatus(321)).toEqual([1, "status: error\n"]);
    expect(t.lab.host.serial.read(321)).toContain("/var/lib/cloud/instance/scripts/runcmd: 2: nosuchprog: not found");
  });
});
