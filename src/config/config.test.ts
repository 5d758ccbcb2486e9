import { describe, expect, it } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyConfigDocument, ConfigError, defaultConfig, loadConfigFile, parseListen } from "./config.ts";

describe("config", () => {
  it("accepts a missing default file but not a missing explicit one", () => {
    expect(loadConfigFile("/nonexistent/config.yaml", false)).toEqual(defaultConfig());
    expect(() => loadConfigFile("/nonexistent/config.yaml", true)).toThrow("config: /nonexistent/config.yaml does not exist");
  });

  it("merges documented keys over the defaults", () => {
    const dir = mkdtempSync(join(tmpdir(), "capx-cfg-"));
    const f = join(dir, "c.yaml");
    writeFileSync(f, "listen: 127.0.0.1:7443\nstorage:\n  synchronous: normal\nauth:\n  tokens:\n    - {token: 0123456789abcdef0123, user: bob, groups: [capx:viewers]}\n");
    const c = loadConfigFile(f, true);
    expect(c.listen).toBe("127.0.0.1:7443");
    expect(c.storage.synchronous).toBe("NORMAL");
    expect(c.auth.tokens).toEqual([{ token: "0123456789abcdef0123", user: "bob", groups: ["capx:viewers"] }]);
  });

  it("names unknown keys and bad values", () => {
    expect(() => applyConfigDocument(defaultConfig(), { listn: "x" })).toThrow("config: unknown key listn");
    expect(() => applyConfigDocument(defaultConfig(), { storage: { synchronous: "OFF" } })).toThrow(ConfigError);
    expect(() => applyConfigDocument(defaultConfig(), { auth: { tokens: [{ token: "short", user: "a" }] } })).toThrow("auth.tokens[0].token");
  });

  it("lab and proxmox keys: defaults, accepted values and clear refusals", () => {
    const d = defaultConfig();
    expect(d.lab).toEqual({ enabled: false, proxyListen: "127.0.0.1:0", pveListen: "", proxmoxBackend: "inprocess", inventory: "", latencies: "realistic", faults: { taskFailureRate: 0, lockTimeoutRate: 0, http500Rate: 0, slowTaskRate: 0, slowTaskMs: 0, seed: 1 } });
    expect(d.proxmox.backend).toBe("auto");
    const c = applyConfigDocument(d, {
      lab: { enabled: true, pveListen: "127.0.0.1:8006", proxmoxBackend: "local", inventory: "/etc/capx/lab.yaml", latencies: "instant", faults: { taskFailureRate: 0.1, seed: 7 } },
      proxmox: { backend: "http", url: "https://pve.example:8006", tokenId: "capx@pve!appliance", tokenSecret: "0b5c2d4e-1f2a-4b3c-9d8e-7f6a5b4c3d2e", insecure: true },
    });
    expect(c.lab).toMatchObject({ enabled: true, proxyListen: "127.0.0.1:0", pveListen: "127.0.0.1:8006", proxmoxBackend: "local", inventory: "/etc/capx/lab.yaml", latencies: "instant" });
    expect(c.lab.faults).toEqual({ taskFailureRate: 0.1, lockTimeoutRate: 0, http500Rate: 0, slowTaskRate: 0, slowTaskMs: 0, seed: 7 });
    expect(() => applyConfigDocument(d, { lab: { faults: { http500Rate: 2 } } })).toThrow("config: lab.faults.http500Rate: must be a probability between 0 and 1");
    expect(() => applyConfigDocument(d, { lab: { faults: { explode: 1 } } })).toThrow("config: unknown key lab.faults.explode");
    expect(c.proxmox).toMatchObject({ backend: "http", url: "https://pve.example:8006", tokenId: "capx@pve!appliance", insecure: true, qm: "qm", pvesh: "pvesh" });
    expect(() => applyConfigDocument(d, { lab: { latencies: "fast" } })).toThrow("config: lab.latencies: must be realistic or instant");
    expect(() => applyConfigDocument(d, { lab: { proxmoxBackend: "ssh" } })).toThrow("config: lab.proxmoxBackend: must be inprocess, http or local");
    expect(() => applyConfigDocument(d, { proxmox: { backend: "http" } })).toThrow("config: proxmox: backend http needs url, tokenId and tokenSecret");
    expect(() => applyConfigDocument(d, { proxmox: { tokenId: "capx" } })).toThrow("config: proxmox.tokenId: must look like USER@REALM!TOKENID");
    expect(() => applyConfigDocument(d, { proxmox: { tokenSecret: "0B5C2D4E-1F2A-4B3C-9D8E-7F6A5B4C3D2E" } })).toThrow("proxmox.tokenSecret: must be the token's lower-case UUID secret");
    expect(() => applyConfigDocument(d, { proxmox: { url: "pve:8006" } })).toThrow("config: proxmox.url: must be an http(s) URL");
    expect(() => applyConfigDocument(d, { proxmox: { sshKey: "x" } })).toThrow("config: unknown key proxmox.sshKey");
  });

  it("parses listen addresses including IPv6", () => {
    expect(parseListen("0.0.0.0:6443")).toEqual({ host: "0.0.0.0", port: 6443 });
    expect(parseListen("[::1]:0")).toEqual({ host: "::1", port: 0 });
    expect(() => parseListen("6443")).toThrow("is not HOST:PORT");
  });
});
