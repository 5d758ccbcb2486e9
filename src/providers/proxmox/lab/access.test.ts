/**
 * API tokens in the lab PVE: the inventory's `apiTokens`, `POST /access/users/{userid}/token/{tokenid}`
 * as `pveum user token add` calls it, 401 `authentication failure` for a wrong or expired secret,
 * node addresses, and the HTTPS API reached at a node's lab address through the lab network.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LabNetwork } from "../../workload/dialer.ts";
import { HttpBackend } from "../http.ts";
import { DEFAULT_INVENTORY, loadInventory, normalizeInventory } from "./inventory.ts";
import { testLab, type TestLab } from "./testing.ts";

const CAPMOX = { id: "capmox@pve!capi", secret: "6f1d8c2e-3b4a-4f5d-9e6c-7a8b9c0d1e2f" };
const withToken = () => normalizeInventory({ ...DEFAULT_INVENTORY, apiTokens: [CAPMOX] });

let t: TestLab | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const as = (token: string) => (method: string, path: string, params = {}) => t!.lab.request(method, path, params, `PVEAPIToken=${token}`);

describe("inventory API tokens and node addresses", () => {
  test("a token the inventory declares authenticates; a wrong secret gets PVE's 401", async () => {
    t = testLab({ inventory: withToken() });
    const ok = await as(`${CAPMOX.id}=${CAPMOX.secret}`)("GET", "/version");
    expect(ok.status).toBe(200);
    const bad = await as(`${CAPMOX.id}=00000000-0000-4000-8000-000000000000`)("GET", "/version");
    expect({ status: bad.status, reason: bad.reason, body: bad.body }).toEqual({ status: 401, reason: "authentication failure", body: null });
    // the access log names the token that made the request
    t.lab.flush();
    const log = readFileSync(join(t.lab.dir, "pve-access.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { user?: string; status: number });
    expect(log.some((e) => e.user === CAPMOX.id && e.status === 200)).toBe(true);
  });

  test("the default inventory has no extra tokens; bad token entries are refused clearly", async () => {
    t = testLab();
    expect((await as(`${CAPMOX.id}=${CAPMOX.secret}`)("GET", "/version")).status).toBe(401);
    expect(() => normalizeInventory({ apiTokens: [{ id: "capmox@pve", secret: CAPMOX.secret }] })).toThrow("lab inventory: apiTokens[0].id must be an API token id USER@REALM!TOKENID");
    expect(() => normalizeInventory({ apiTokens: [{ id: CAPMOX.id, secret: "S3CRET" }] })).toThrow("lab inventory: apiTokens[0].secret must be a lower-case UUID");
  });

  test("test/fixtures/capmox/lab-inventory.yaml is the default inventory plus CAPMOX's token", () => {
    const fixture = loadInventory(join(import.meta.dir, "../../../../test/fixtures/capmox/lab-inventory.yaml"));
    const { apiTokens, ...hardware } = fixture;
    expect(hardware).toEqual(normalizeInventory(DEFAULT_INVENTORY));
    expect(apiTokens).toEqual([{ ...CAPMOX, comment: "CAPMOX external credentials" }]);
  });

  test("nodes have management addresses from the first bridge's .2 up (or as given); /cluster/status reports them", async () => {
    expect(normalizeInventory(DEFAULT_INVENTORY).nodes.map((n) => [n.name, n.address])).toEqual([
      ["pve1", "10.10.0.2"],
      ["pve2", "10.10.0.3"],
      ["pve3", "10.10.0.4"],
    ]);
    expect(normalizeInventory({ nodes: [{ name: "pve1", address: "10.10.0.9" }] }).nodes[0]!.address).toBe("10.10.0.9");
    expect(() => normalizeInventory({ nodes: [{ name: "pve1", address: "pve1.lab" }] })).toThrow("lab inventory: nodes[0].address must be an IPv4 address");
    t = testLab();
    const status = await t.ok<{ type: string; name: string; ip?: string }[]>("GET", "/cluster/status");
    expect(status.filter((s) => s.type === "node").map((s) => [s.name, s.ip])).toEqual([
      ["pve1", "10.10.0.2"],
      ["pve2", "10.10.0.3"],
      ["pve3", "10.10.0.4"],
    ]);
  });
});

describe("POST /access/users/{userid}/token/{tokenid}", () => {
  test("answers full-tokenid, info and value as PVE does; the new token works at once and survives a restart", async () => {
    t = testLab({ inventory: withToken() });
    const made = await t.ok<{ "full-tokenid": string; info: Record<string, unknown>; value: string }>("POST", "/access/users/capmox@pve/token/capi2", { privsep: 0, comment: "made by a test" });
    expect(made["full-tokenid"]).toBe("capmox@pve!capi2");
    expect(made.info).toEqual({ privsep: 0, comment: "made by a test" });
    expect(made.value).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect((await as(`capmox@pve!capi2=${made.value}`)("GET", "/nodes")).status).toBe(200);
    // privsep defaults to 1, as PVE's token-privsep option does
    expect((await t.ok<{ info: unknown }>("POST", "/access/users/root@pam/token/other")).info).toEqual({ privsep: 1 });
    const dataDir = t.dataDir;
    await t.close(true);
    t = testLab({ dataDir, inventory: withToken() });
    expect((await as(`capmox@pve!capi2=${made.value}`)("GET", "/nodes")).status).toBe(200);
  });

  test("refuses what PVE refuses: an existing token, an unknown user, a bad user or token id", async () => {
    t = testLab({ inventory: withToken() });
    const dup = await t.call("POST", "/access/users/capmox@pve/token/capi");
    expect([dup.status, dup.reason, dup.body!.errors]).toEqual([400, "Parameter verification failed.", { tokenid: "Token already exists." }]);
    const nouser = await t.call("POST", "/access/users/nobody@pve/token/capi");
    expect([nouser.status, nouser.reason]).toEqual([500, "no such user ('nobody@pve')"]);
    const baduser = await t.call("POST", "/access/users/capmox/token/capi");
    expect([baduser.status, baduser.body!.errors]).toEqual([400, { userid: "invalid format - value 'capmox' does not look like a valid user name\n" }]);
    const badtoken = await t.call("POST", "/access/users/capmox@pve/token/1capi");
    expect([badtoken.status, badtoken.body!.errors]).toEqual([400, { tokenid: "value does not match the regex pattern" }]);
  });

  test("a token past its expire date fails like a wrong secret", async () => {
    t = testLab();
    const made = await t.ok<{ value: string }>("POST", "/access/users/root@pam/token/old", { expire: Math.floor(Date.now() / 1000) - 10 });
    const r = await as(`root@pam!old=${made.value}`)("GET", "/version");
    expect([r.status, r.reason]).toEqual([401, "authentication failure"]);
  });
});

describe("the HTTPS API at a node's lab address", () => {
  test("an http backend for https://10.10.0.2:8006 reaches it through the lab network, verifying the lab CA for that address", async () => {
    t = testLab({ inventory: withToken() });
    const https = await t.lab.serveHttps({ host: "127.0.0.1", port: 0 });
    const network = new LabNetwork();
    network.listen("10.10.0.2", 8006, https.port);
    const backend = new HttpBackend({ url: "https://10.10.0.2:8006", token: CAPMOX.id, secret: CAPMOX.secret, rootCa: https.caPem, dialer: network, queryTimeoutMs: 5000 });
    expect((await backend.nodes()).map((n) => n.node)).toEqual(["pve1", "pve2", "pve3"]);
    // the certificate must name the address asked for, not only the loopback the route leads to
    network.listen("10.10.0.77", 8006, https.port);
    const wrongName = new HttpBackend({ url: "https://10.10.0.77:8006", token: CAPMOX.id, secret: CAPMOX.secret, rootCa: https.caPem, dialer: network, queryTimeoutMs: 5000 });
    await expect(wrongName.nodes()).rejects.toThrow();
    const insecure = new HttpBackend({ url: "https://10.10.0.77:8006", token: CAPMOX.id, secret: CAPMOX.secret, insecure: true, dialer: network, queryTimeoutMs: 5000 });
    expect((await insecure.nodes()).length).toBe(3);
    const wrongSecret = new HttpBackend({ url: "https://10.10.0.2:8006", token: CAPMOX.id, secret: "00000000-0000-4000-8000-000000000000", insecure: true, dialer: network, queryTimeoutMs: 5000 });
    await expect(wrongSecret.nodes()).rejects.toMatchObject({ status: 401, message: "authentication failure" });
  });
});
