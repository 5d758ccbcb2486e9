import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { BackendConfigError, HttpBackend, parseHttpCredentials, pveErrorFromText, splitToken, toTaskStatus, toVmInfo, type RecordedRequest } from "./http.ts";
import { startContractLab, type ContractLabPve } from "./backend-contract.ts";
import { readNoCloudIso } from "./nocloud-iso.ts";
import { PveError } from "./types.ts";

const SECRET = "5d3e9d3c-0b1a-4c7e-9f7e-2a4b6c8d0e1f";

describe("http credentials (ProxmoxCluster credentialsRef Secret keys)", () => {
  it("accepts url, token, secret, insecure and root_ca", () => {
    expect(parseHttpCredentials({ url: "https://pve:8006", token: "root@pam!capx", secret: SECRET, insecure: "true" })).toEqual({ url: "https://pve:8006", token: "root@pam!capx", secret: SECRET, insecure: true });
  });

  it("names every bad key", () => {
    let err: unknown;
    try {
      parseHttpCredentials({ url: "pve:8006x", token: "root@pam", secret: SECRET.toUpperCase(), insecure: "maybe", root_ca: "nope" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BackendConfigError);
    const causes = (err as BackendConfigError).causes;
    expect(causes.map((c) => c.field)).toEqual(["url", "token", "secret", "insecure", "root_ca"]);
    expect(causes.find((c) => c.field === "secret")!.message).toBe("must be a lower-case UUID");
    expect(causes.find((c) => c.field === "token")!.message).toContain("USER@REALM!TOKENID");
  });

  it("requires url, token and secret", () => {
    expect(() => parseHttpCredentials({})).toThrow("url required");
  });
});

describe("proxmox-api error texts → PveError", () => {
  it("a die (500): the body message when there is one, else the reason phrase", () => {
    const withBody = pveErrorFromText(`POST https://pve:8006/api2/json/nodes/pve1/qemu/9000/clone return Error 500 unable to create VM 101: config file already exists: {"data":null,"message":"unable to create VM 101: config file already exists\\n"}`)!;
    expect(withBody.status).toBe(500);
    expect(withBody.message).toBe("unable to create VM 101: config file already exists");
    const old = pveErrorFromText(`GET https://pve:8006/api2/json/nodes/pve1/qemu/123/config return Error 500 Configuration file 'nodes/pve1/qemu-server/123.conf' does not exist: {"data":null}`)!;
    expect(old.message).toBe("Configuration file 'nodes/pve1/qemu-server/123.conf' does not exist");
  });

  it("a parameter exception (400) keeps the per-parameter messages", () => {
    const e = pveErrorFromText(`GET https://pve:8006/api2/json/cluster/nextid?vmid=100 return Error 400 Parameter verification failed.: {"data":null,"errors":{"vmid":"VM 100 already exists\\n"}}`)!;
    expect(e.status).toBe(400);
    expect(e.message).toBe("Parameter verification failed.");
    expect(e.errors).toEqual({ vmid: "VM 100 already exists" });
  });

  it("other statuses, network failures and a wrong content type", () => {
    expect(pveErrorFromText(`GET https://pve:8006/api2/json/x connection failed with 501 Method 'GET /x' not implemented return: {"data":null}`)).toMatchObject({ status: 501, message: "Method 'GET /x' not implemented" });
    expect(pveErrorFromText(`FaILED to call GET https://pve:8006/api2/json/version cause by:connect ECONNREFUSED`)).toMatchObject({ status: 595 });
    expect(pveErrorFromText(`GET https://x/api2/json/version unexpected contentType "text/html" status Line:200 undefined`)!.message).toContain("not a PVE API server");
    expect(pveErrorFromText("something else")).toBeUndefined();
  });
});

describe("loose PVE JSON", () => {
  it("resources: vmid number or id, template 0/1, tags lower-cased", () => {
    expect(toVmInfo({ id: "qemu/101", node: "pve1", type: "qemu", status: "unknown", tags: "Talos;cp" })).toEqual({ vmid: 101, node: "pve1", template: false, status: "unknown", tags: ["talos", "cp"], type: "qemu" });
    expect(toVmInfo({ vmid: "9000", node: "pve1", type: "qemu", status: "stopped", template: 1, name: "talos", maxmem: "2147483648" })).toMatchObject({ vmid: 9000, template: true, maxmem: 2147483648, name: "talos" });
  });

  it("task status: WARNINGS counts as success", () => {
    const ref = { upid: "UPID:pve1:0003A1B2:0012F00D:6650A1B2:qmdestroy:101:root@pam!capx:", node: "pve1" };
    expect(toTaskStatus(ref, { status: "stopped", exitstatus: "WARNINGS: 2" })).toMatchObject({ ok: true, running: false, type: "qmdestroy", id: "101" });
    const running = toTaskStatus(ref, { status: "running" });
    expect(running).toMatchObject({ ok: false, running: true });
    expect("exitstatus" in running).toBe(false);
  });
});

/**
 * A server whose connections break at chosen moments (what the lab cannot do: the network, not
 * PVE, fails here). It answers like pveproxy otherwise.
 */
describe("requests proxmox-api would resend", () => {
  let server: Server;
  let url = "";
  const seen: string[] = [];
  let dropNext = new Set<string>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const key = `${req.method} ${req.url!.split("?")[0]}`;
      seen.push(key);
      if (dropNext.has(key)) {
        dropNext.delete(key);
        req.socket.destroy();
        return;
      }
      res.setHeader("Content-Type", "application/json;charset=UTF-8");
      if (key === "GET /api2/json/cluster/nextid") return void res.end(JSON.stringify({ data: "105" }));
      res.statusCode = 500;
      res.statusMessage = "VM 9000 is locked (clone)";
      res.end(JSON.stringify({ data: null, message: "VM 9000 is locked (clone)\n" }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it("a GET is resent after a dropped connection", async () => {
    seen.length = 0;
    dropNext = new Set(["GET /api2/json/cluster/nextid"]);
    const px = new HttpBackend({ url, token: "root@pam!capx", secret: SECRET });
    expect(await px.nextId()).toBe(105);
    expect(seen).toEqual(["GET /api2/json/cluster/nextid", "GET /api2/json/cluster/nextid"]);
  });

  it("a clone is never sent twice: a lost answer becomes a 595 that says to look for the VM", async () => {
    seen.length = 0;
    dropNext = new Set(["POST /api2/json/nodes/pve1/qemu/9000/clone"]);
    const recorded: RecordedRequest[] = [];
    const px = new HttpBackend({ url, token: "root@pam!capx", secret: SECRET, onRequest: (r) => recorded.push(r) });
    const err = await px.clone({ node: "pve1", vmid: 9000, newid: 123, name: "m1", full: true }).catch((e) => e);
    expect(err).toBeInstanceOf(PveError);
    expect(err.status).toBe(595);
    expect(err.message).toContain("check whether VM 123 exists");
    expect(seen).toEqual(["POST /api2/json/nodes/pve1/qemu/9000/clone"]);
    expect(recorded).toEqual([{ method: "POST", path: "/nodes/pve1/qemu/9000/clone", params: [["newid", "123"], ["name", "m1"], ["full", "1"]], encoding: "form" }]);
  });

  it("a clone PVE refused is a PveError with the verbatim text, sent once", async () => {
    seen.length = 0;
    dropNext = new Set();
    const px = new HttpBackend({ url, token: "root@pam!capx", secret: SECRET });
    const err = await px.clone({ node: "pve1", vmid: 9000, newid: 124, name: "m2" }).catch((e) => e);
    expect(err).toBeInstanceOf(PveError);
    expect(err).toMatchObject({ status: 500, message: "VM 9000 is locked (clone)" });
    expect(seen).toEqual(["POST /api2/json/nodes/pve1/qemu/9000/clone"]);
  });
});

describe("against the lab PVE over HTTPS", () => {
  let l: ContractLabPve;
  beforeAll(async () => {
    l = await startContractLab();
  });
  afterAll(async () => {
    await l?.stop();
  });

  it("TLS: verifies with root_ca, skips with insecure, refuses an unknown CA", async () => {
    const creds = { url: l.https.url, ...splitToken(l.https.token) };
    expect(await new HttpBackend({ ...creds, rootCa: l.https.caPem }).nextId()).toBeGreaterThanOrEqual(100);
    expect(await new HttpBackend({ ...creds, insecure: true }).nextId()).toBeGreaterThanOrEqual(100);
    const err = await new HttpBackend(creds).nextId().catch((e) => e);
    expect(err).toBeInstanceOf(PveError);
    expect(err.status).toBe(595);
  });

  it("a wrong secret: 401 from PVE, as a PveError", async () => {
    const err = await new HttpBackend({ url: l.https.url, token: splitToken(l.https.token).token, secret: SECRET, rootCa: l.https.caPem }).vms().catch((e) => e);
    expect(err).toBeInstanceOf(PveError);
    expect(err).toMatchObject({ status: 401, message: "authentication failure" });
  });

  it("the uploaded ISO is a cidata volume in the storage's iso directory, removed with the VM", async () => {
    const px = new HttpBackend({ url: l.https.url, ...splitToken(l.https.token), rootCa: l.https.caPem, pollMs: 10 });
    const files = { userData: "#cloud-config\n", metaData: "instance-id: x\n", networkConfig: "version: 1\nconfig: []\n" };
    const att = await px.putBootstrapData({ node: "pve2", vmid: 4242, storage: "shared" }, files);
    expect(att).toEqual({ kind: "iso", storage: "shared", config: { ide0: "shared:iso/user-data-4242.iso,media=cdrom" }, volumes: ["shared:iso/user-data-4242.iso"] });
    const path = join(l.lab.storagePath("pve2", "shared"), "template/iso/user-data-4242.iso");
    expect(readNoCloudIso(new Uint8Array(readFileSync(path)))).toEqual(files);
    await px.removeBootstrapData("pve2", att);
    expect(existsSync(path)).toBe(false);
    const bad = await px.putBootstrapData({ node: "pve1", vmid: 4242, storage: "local-lvm" }, files).catch((e) => e);
    expect(bad).toBeInstanceOf(PveError);
    expect(bad.message).toStartWith("storage 'local-lvm' does not allow 'iso' content");
  });
});
