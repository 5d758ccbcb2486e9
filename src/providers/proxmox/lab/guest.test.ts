import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildIso, testLab, waitFor, type TestLab } from "./testing.ts";

let t: TestLab;
afterEach(async () => {
  await t?.close();
});

type Iface = { name: string; "hardware-address": string; "ip-addresses": { "ip-address": string; "ip-address-type": string; prefix: number }[] };

async function cloneAndConfigure(vmid: number, source: number, config: Record<string, string | number>): Promise<string> {
  expect((await t.waitTask(await t.ok<string>("POST", `/nodes/pve1/qemu/${source}/clone`, { newid: vmid, full: 1, name: `vm${vmid}` }))).exitstatus).toBe("OK");
  if (Object.keys(config).length) await t.ok("PUT", `/nodes/pve1/qemu/${vmid}/config`, config);
  const net0 = (await t.ok<Record<string, string>>("GET", `/nodes/pve1/qemu/${vmid}/config`)).net0!;
  return /=([0-9A-F:]{17})/.exec(net0)![1]!.toLowerCase();
}

const agentPath = (vmid: number, cmd: string) => `/nodes/pve1/qemu/${vmid}/agent/${cmd}`;

describe("guest agent", () => {
  test("errors until the configured boot delay has passed, then the VM's MAC and its static address", async () => {
    t = testLab({ latencies: { bootMs: 1500 } });
    const mac = await cloneAndConfigure(200, 9000, { ipconfig0: "ip=10.10.0.21/24,gw=10.10.0.1" });
    let r = await t.call("GET", agentPath(200, "network-get-interfaces"));
    expect([r.status, r.reason]).toEqual([500, "VM 200 is not running"]);
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/200/status/start"));
    r = await t.call("GET", agentPath(200, "network-get-interfaces"));
    expect([r.status, r.reason]).toEqual([500, "QEMU guest agent is not running"]);
    expect((await t.call("POST", agentPath(200, "ping"))).reason).toBe("QEMU guest agent is not running");
    const result = await waitFor(async () => {
      const res = await t.call("GET", agentPath(200, "network-get-interfaces"));
      return res.status === 200 ? ((res.body!.data as { result: Iface[] }).result as Iface[]) : undefined;
    }, 5000, "the agent");
    expect(result.map((i) => i.name)).toEqual(["lo", "eth0"]);
    const eth0 = result[1]!;
    expect(eth0["hardware-address"]).toBe(mac);
    expect(eth0["ip-addresses"][0]).toEqual({ "ip-address": "10.10.0.21", "ip-address-type": "ipv4", prefix: 24 });
    expect(eth0["ip-addresses"][1]!["ip-address"]).toMatch(/^fe80::/);
    expect(await t.ok("POST", agentPath(200, "ping"))).toEqual({ result: {} });
    expect(await t.ok("GET", agentPath(200, "get-host-name"))).toEqual({ result: { "host-name": "vm200" } });
  });

  test("no agent configured; an image without the agent; a stopped VM", async () => {
    t = testLab({
      inventory: {
        nodes: [{ name: "pve1", memory: 65536, cpus: 16 }],
        storages: [{ id: "shared", type: "nfs", content: ["images", "snippets"], shared: true, size: 1024 ** 4 }],
        bridges: [{ name: "vmbr0", cidr: "10.10.0.0/24", gateway: "10.10.0.1" }],
        dns: { nameservers: ["10.10.0.1"], search: [] },
        templates: [{ vmid: 9100, node: "pve1", name: "plain-talos", tags: ["talos"], storage: "shared", disk: "10G", cores: 2, memory: 2048, bridge: "vmbr0", guest: { os: "talos", agent: false, cloudInit: false } }],
        pools: [],
      },
    });
    await cloneAndConfigure(201, 9100, { delete: "agent" });
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/201/status/start"));
    expect((await t.call("GET", agentPath(201, "network-get-interfaces"))).reason).toBe("No QEMU guest agent configured");
    // enabling the agent on a running VM is not hotpluggable: it waits in [PENDING]
    await t.ok("PUT", "/nodes/pve1/qemu/201/config", { agent: "enabled=1" });
    expect((await t.call("GET", agentPath(201, "network-get-interfaces"))).reason).toBe("No QEMU guest agent configured");
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/201/status/stop"));
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/201/status/start"));
    // now the device is there, but the Talos image has no qemu-guest-agent extension
    expect((await t.call("GET", agentPath(201, "network-get-interfaces"))).reason).toBe("QEMU guest agent is not running");
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/201/status/stop"));
    expect((await t.call("GET", agentPath(201, "network-get-interfaces"))).reason).toBe("VM 201 is not running");
  });

  test("DHCP: an address from the bridge's subnet, stable per MAC; network-config v2 from a snippet", async () => {
    t = testLab();
    const macA = await cloneAndConfigure(210, 9001, { ipconfig0: "ip=dhcp" });
    // a new NIC without a MAC gets one generated
    const netB = await cloneAndConfigure(211, 9001, { net0: "virtio,bridge=vmbr1" });
    expect(netB).toMatch(/^bc:24:11:/);
    const dir = join(t.lab.storagePath("pve1", "shared"), "snippets");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "net-211.yaml"), `network:\n  version: 2\n  ethernets:\n    nic0:\n      match:\n        macaddress: "${netB}"\n      set-name: ens18\n      addresses: ["10.20.0.7/24"]\n      gateway4: 10.20.0.1\n`);
    await t.ok("PUT", "/nodes/pve1/qemu/211/config", { cicustom: "network=shared:snippets/net-211.yaml" });
    for (const id of [210, 211]) expect((await t.waitTask(await t.ok<string>("POST", `/nodes/pve1/qemu/${id}/status/start`))).exitstatus).toBe("OK");
    const a = ((await t.ok<{ result: Iface[] }>("GET", agentPath(210, "network-get-interfaces"))).result)[1]!;
    expect(a["hardware-address"]).toBe(macA);
    const dhcp = a["ip-addresses"][0]!;
    expect(dhcp["ip-address"]).toMatch(/^10\.10\.0\.(\d+)$/);
    expect(Number(dhcp["ip-address"].split(".")[3])).toBeGreaterThanOrEqual(100);
    expect(dhcp.prefix).toBe(24);
    const again = ((await t.ok<{ result: Iface[] }>("GET", agentPath(210, "network-get-interfaces"))).result)[1]!;
    expect(again["ip-addresses"][0]).toEqual(dhcp);
    const b = ((await t.ok<{ result: Iface[] }>("GET", agentPath(211, "network-get-interfaces"))).result)[1]!;
    expect(b.name).toBe("ens18");
    expect(b["ip-addresses"][0]).toEqual({ "ip-address": "10.20.0.7", "ip-address-type": "ipv4", prefix: 24 });
  });

  test("exec answers `cloud-init status`: running until cloud-init is done", async () => {
    t = testLab({ latencies: { cloudInitMs: 1500 } });
    await cloneAndConfigure(220, 9001, {});
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/220/status/start"));
    const run = async (command: string[]) => {
      const { pid } = await t.ok<{ pid: number }>("POST", agentPath(220, "exec"), { command });
      return waitFor(async () => {
        const s = await t.ok<{ exited: number; exitcode?: number; "out-data"?: string }>("GET", agentPath(220, "exec-status"), { pid });
        return s.exited ? s : undefined;
      }, 5000, "exec");
    };
    expect(await run(["cloud-init", "status"])).toEqual({ exited: 1, exitcode: 0, "out-data": "status: running\n" });
    const waited = await run(["cloud-init", "status", "--wait"]);
    expect(waited).toEqual({ exited: 1, exitcode: 0, "out-data": "status: done\n" });
    expect(await run(["cloud-init", "status"])).toEqual({ exited: 1, exitcode: 0, "out-data": "status: done\n" });
    const missing = await t.call("POST", agentPath(220, "exec"), { command: ["kubectl", "version"] });
    expect(missing.reason).toBe("Agent error: Failed to execute child process “kubectl” (No such file or directory)");
  });

  test("Talos has no cloud-init binary", async () => {
    t = testLab();
    await cloneAndConfigure(221, 9000, {});
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/221/status/start"));
    const r = await t.call("POST", agentPath(221, "exec"), { command: ["cloud-init", "status"] });
    expect([r.status, r.reason]).toEqual([500, "Agent error: Failed to execute child process “cloud-init” (No such file or directory)"]);
  });

  test("an uploaded NoCloud ISO on a cdrom is what the guest boots with (CAPMOX's way)", async () => {
    t = testLab();
    const mac = await cloneAndConfigure(230, 9000, {});
    const iso = buildIso("cidata", {
      "/user-data": "version: v1alpha1\nmachine:\n  type: worker\n",
      "/meta-data": "instance-id: 11111111-2222-3333-4444-555555555555\nlocal-hostname: worker-0\nprovider-id: proxmox://11111111-2222-3333-4444-555555555555\n",
      "/network-config": `version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: "${mac}"\n    addresses:\n      - 10.10.0.44/24\n`,
    }, "joliet");
    const tmpfilename = t.lab.stageUpload(iso);
    const up = await t.ok<string>("POST", "/nodes/pve1/storage/local/upload", { content: "iso", filename: "user-data-230.iso", tmpfilename });
    expect((await t.waitTask(up)).exitstatus).toBe("OK");
    await t.ok("PUT", "/nodes/pve1/qemu/230/config", { ide0: "local:iso/user-data-230.iso,media=cdrom" });
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/230/status/start"));
    const eth0 = (await t.ok<{ result: Iface[] }>("GET", agentPath(230, "network-get-interfaces"))).result[1]!;
    expect(eth0["ip-addresses"][0]).toEqual({ "ip-address": "10.10.0.44", "ip-address-type": "ipv4", prefix: 24 });
    expect(await t.ok("GET", agentPath(230, "get-host-name"))).toEqual({ result: { "host-name": "worker-0" } });
    expect(t.lab.host.vm(230)!.boot!.cidata!.source).toBe("local:iso/user-data-230.iso");
  });
});
