import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { request as httpsRequest } from "node:https";
import { proxmoxApi } from "proxmox-api";
import type { LabHttps } from "./index.ts";
import { testLab, waitFor, type TestLab } from "./testing.ts";

let t: TestLab;
let srv: LabHttps;

beforeAll(async () => {
  t = testLab({ latencies: { diskCopyMs: 100 } });
  srv = await t.lab.serveHttps({ host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await t.close();
});

/** A client that trusts the lab's CA (the certificate carries IP:127.0.0.1). */
function client(token = srv.token) {
  const [tokenID, tokenSecret] = token.split("=") as [string, string];
  return proxmoxApi({
    host: "127.0.0.1",
    port: srv.port,
    tokenID,
    tokenSecret,
    fetch: ((url: string | URL, init?: RequestInit) => fetch(url, { ...init, tls: { ca: srv.caPem } } as RequestInit)) as never,
  });
}

/** A raw request, to see the status line and headers as a client receives them. */
function raw(method: string, path: string, body?: string, auth: string | null = `PVEAPIToken=${srv.token}`): Promise<{ status: number; reason: string; type?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port: srv.port, path, method, ca: srv.caPem, headers: { ...(auth ? { Authorization: auth } : {}), ...(body ? { "Content-Type": "application/x-www-form-urlencoded" } : {}) } },
      (res) => {
        let data = "";
        res.on("data", (c) => (data += c));
        res.on("end", () => resolve({ status: res.statusCode!, reason: res.statusMessage!, ...(res.headers["content-type"] ? { type: res.headers["content-type"] } : {}), body: data }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("the lab PVE over HTTPS", () => {
  test("proxmox-api clones 9000, waits for the task, reads the config and starts the VM", async () => {
    const px = client();
    const newid = Number(await px.cluster.nextid.$get());
    expect(newid).toBe(100);
    const upid = await px.nodes.$("pve1").qemu.$(9000).clone.$post({ newid, name: "https-vm", full: true });
    expect(upid).toMatch(/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmclone:9000:root@pam!capx:$/);
    const status = await waitFor(async () => {
      const s = await px.nodes.$("pve1").tasks.$(upid).status.$get();
      return s.status === "stopped" ? s : undefined;
    }, 10000, "the clone");
    expect(status.exitstatus).toBe("OK");
    const config = await px.nodes.$("pve1").qemu.$(newid).config.$get();
    expect(config.name).toBe("https-vm");
    expect(config.memory).toBe("2048");
    expect(config.cores).toBe(2);
    expect(config.scsi0).toBe(`shared:${newid}/vm-${newid}-disk-0.qcow2,size=10G`);
    await px.nodes.$("pve1").qemu.$(newid).config.$put({ ipconfig0: "ip=10.10.0.31/24,gw=10.10.0.1", tags: "capx;Talos" });
    const started = await px.nodes.$("pve1").qemu.$(newid).status.start.$post();
    await waitFor(async () => (await px.nodes.$("pve1").tasks.$(started).status.$get()).status === "stopped", 10000, "the start");
    expect((await px.nodes.$("pve1").tasks.$(started).status.$get()).exitstatus).toBe("OK");
    const current = await px.nodes.$("pve1").qemu.$(newid).status.current.$get();
    expect(current).toMatchObject({ status: "running", name: "https-vm", tags: "capx;talos", agent: 1 });
    const ifaces = await px.nodes.$("pve1").qemu.$(newid).agent["network-get-interfaces"].$get();
    expect(ifaces.result[1]["ip-addresses"][0]["ip-address"]).toBe("10.10.0.31");
  });

  test("errors: the reason phrase carries the message; 400 lists the parameters", async () => {
    const px = client();
    await expect(px.nodes.$("pve1").qemu.$(4242).config.$get()).rejects.toThrow("return Error 500 Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist");
    const r = await raw("POST", "/api2/json/nodes/pve1/qemu/9000/clone", "newid=105&full=true&color=red");
    expect([r.status, r.reason, r.type]).toEqual([400, "Parameter verification failed.", "application/json;charset=UTF-8"]);
    expect(JSON.parse(r.body)).toEqual({
      data: null,
      message: "Parameter verification failed.\n",
      errors: { full: "type check ('boolean') failed - got 'true'", color: "property is not defined in schema and the schema does not allow additional properties" },
    });
    const missing = await raw("GET", "/api2/json/nodes/pve1/qemu/4242/status/current");
    expect([missing.status, missing.reason]).toEqual([500, "Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist"]);
    // Bun's own fetch sees the same reason phrase
    const viaFetch = await fetch(`${srv.url}/api2/json/nodes/pve1/qemu/4242/config`, { headers: { Authorization: `PVEAPIToken=${srv.token}` }, tls: { ca: srv.caPem } } as RequestInit);
    expect([viaFetch.status, viaFetch.statusText, viaFetch.headers.get("content-type")]).toEqual([500, "Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist", "application/json;charset=UTF-8"]);
    const unknown = await raw("GET", "/api2/json/nodes/pve1/frobnicate");
    expect([unknown.status, unknown.reason]).toEqual([501, "Method 'GET /nodes/pve1/frobnicate' not implemented"]);
  });

  test("401 without a valid token, with an empty body", async () => {
    const none = await raw("GET", "/api2/json/version", undefined, null);
    expect([none.status, none.reason, none.body, none.type]).toEqual([401, "No ticket", "", undefined]);
    const wrong = await raw("GET", "/api2/json/version", undefined, "PVEAPIToken=root@pam!capx=00000000-0000-0000-0000-000000000000");
    expect(wrong.status).toBe(401);
    const px = client("root@pam!capx=00000000-0000-0000-0000-000000000000");
    await expect(px.version.$get()).rejects.toThrow("return Error 401");
    expect(await client().version.$get()).toMatchObject({ release: "9.1" });
  });

  test("ISO upload through multipart/form-data lands in the storage as an imgcopy task", async () => {
    const form = new FormData();
    form.set("content", "iso");
    form.set("filename", new Blob([new Uint8Array(4096)]), "user-data-100.iso");
    const res = await fetch(`${srv.url}/api2/json/nodes/pve2/storage/local/upload`, { method: "POST", body: form, headers: { Authorization: `PVEAPIToken=${srv.token}` }, tls: { ca: srv.caPem } } as RequestInit);
    expect(res.status).toBe(200);
    const upid = ((await res.json()) as { data: string }).data;
    expect(upid).toMatch(/:imgcopy::root@pam!capx:$/);
    expect((await t.waitTask(upid)).exitstatus).toBe("OK");
    const content = await t.ok<{ volid: string; size: number }[]>("GET", "/nodes/pve2/storage/local/content", { content: "iso" });
    expect(content).toEqual([expect.objectContaining({ volid: "local:iso/user-data-100.iso", size: 4096, format: "iso" })]);
    expect(await t.ok("GET", "/nodes/pve1/storage/local/content", { content: "iso" })).toEqual([]);
  });
});
