import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { LabHttps } from "./index.ts";
import { openTerminal, testLab, waitFor, type TestLab } from "./testing.ts";

let t: TestLab;
let srv: LabHttps;

async function cloneVm(newid: number, start: boolean): Promise<void> {
  await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/9000/clone", { newid, name: `vm${newid}` }));
  if (start) await t.waitTask(await t.ok<string>("POST", `/nodes/pve1/qemu/${newid}/status/start`));
}

beforeAll(async () => {
  t = testLab();
  srv = await t.lab.serveHttps({ host: "127.0.0.1", port: 0 });
  await cloneVm(100, true);
  await cloneVm(101, false);
});
afterAll(async () => {
  await t.close();
});

describe("serial consoles through termproxy and vncwebsocket", () => {
  test("a running VM: OK, the interface banner, what the guest printed before and after attaching; closing ends the vncproxy task", async () => {
    t.lab.host.serial.write(100, "booting\nboot halted: invalid config\n");
    const term = await openTerminal(srv, "pve1", 100);
    expect(term.upid).toMatch(/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:vncproxy:100:root@pam!capx:$/);
    await waitFor(() => term.text().includes("invalid config"), 5000, "the backlog");
    expect(term.text()).toBe("OKstarting serial terminal on interface serial0\r\nbooting\r\nboot halted: invalid config\r\n");
    t.lab.host.serial.write(100, "a new line\n");
    await waitFor(() => term.text().endsWith("a new line\r\n"), 5000, "live output");
    expect((await t.ok<{ status: string }>("GET", `/nodes/pve1/tasks/${encodeURIComponent(term.upid)}/status`)).status).toBe("running");
    term.close();
    await term.closed;
    expect((await t.waitTask(term.upid)).exitstatus).toBe("OK");
    // the log stays beside the lab's state until the VM is destroyed
    expect(t.lab.host.serial.read(100)).toContain("a new line");
  });

  test("a stopped VM: qm terminal says so in the stream and the connection ends", async () => {
    const term = await openTerminal(srv, "pve1", 101);
    await term.closed;
    expect(term.text()).toBe("OKVM 101 not running\r\n");
  });

  test("an interface the VM does not have", async () => {
    const term = await openTerminal(srv, "pve1", 100, "serial2");
    await term.closed;
    expect(term.text()).toBe("OKserial interface 'serial2' is not configured\r\n");
  });

  test("a wrong ticket is refused by vncwebsocket (500, PVE's text); a wrong login closes the terminal", async () => {
    const r = await t.call("GET", "/nodes/pve1/qemu/100/vncwebsocket", { port: 5900, vncticket: "PVEVNC:00000000::forged" });
    expect(r.status).toBe(500);
    expect(r.reason).toBe("permission denied - invalid vnc ticket");
    const good = await t.ok<{ ticket: string; port: number; upid: string }>("POST", "/nodes/pve1/qemu/100/termproxy");
    // a ticket for another VM's path does not open this one
    const other = t.lab.host.terminals.ticket("root@pam!capx", "/vms/101");
    expect((await t.call("GET", "/nodes/pve1/qemu/100/vncwebsocket", { port: good.port, vncticket: other })).reason).toBe("permission denied - invalid vnc ticket");
    const ws = new WebSocket(`${srv.url.replace("https", "wss")}/api2/json/nodes/pve1/qemu/100/vncwebsocket?port=${good.port}&vncticket=forged`, { headers: { Authorization: `PVEAPIToken=${srv.token}` }, tls: { ca: srv.caPem } } as never);
    const refused = await new Promise<boolean>((resolve) => {
      ws.onopen = () => resolve(false);
      ws.onerror = () => resolve(true);
    });
    expect(refused).toBe(true);
    // the right ticket on the upgrade, but another user's login line: closed without OK
    const login = new WebSocket(`${srv.url.replace("https", "wss")}/api2/json/nodes/pve1/qemu/100/vncwebsocket?port=${good.port}&vncticket=${encodeURIComponent(good.ticket)}`, { headers: { Authorization: `PVEAPIToken=${srv.token}` }, tls: { ca: srv.caPem } } as never);
    let got = "";
    login.onmessage = (m) => (got += String(m.data));
    await new Promise<void>((resolve) => (login.onopen = () => resolve()));
    login.send(`someone@pve:${good.ticket}\n`);
    await new Promise<void>((resolve) => (login.onclose = () => resolve()));
    expect(got).toBe("");
    expect((await t.waitTask(good.upid)).exitstatus).toBe("OK");
  });

  test("nobody connects: the task fails with termproxy's timeout and the port is free again", async () => {
    t.lab.host.terminals.connectTimeoutMs = 50;
    try {
      const r = await t.ok<{ port: number; upid: string }>("POST", "/nodes/pve1/qemu/100/termproxy", { serial: "serial0" });
      expect((await t.waitTask(r.upid)).exitstatus).toBe("connection timed out");
      const again = await t.ok<{ port: number; upid: string }>("POST", "/nodes/pve1/qemu/100/termproxy");
      expect(again.port).toBe(r.port);
      await t.waitTask(again.upid);
    } finally {
      t.lab.host.terminals.connectTimeoutMs = 10_000;
    }
  });

  test("termproxy checks the VM and its parameters like PVE", async () => {
    expect((await t.call("POST", "/nodes/pve1/qemu/555/termproxy")).reason).toBe("Configuration file 'nodes/pve1/qemu-server/555.conf' does not exist");
    const bad = await t.call("POST", "/nodes/pve1/qemu/100/termproxy", { serial: "serial9" });
    expect(bad.status).toBe(400);
    expect(bad.body!.errors!.serial).toContain("value 'serial9' does not have a value in the enumeration");
  });

  test("destroying the VM removes its console log", async () => {
    await t.waitTask(await t.ok<string>("POST", "/nodes/pve1/qemu/100/status/stop"));
    await t.waitTask(await t.ok<string>("DELETE", "/nodes/pve1/qemu/100"));
    expect(t.lab.host.serial.read(100)).toBe("");
  });
});
