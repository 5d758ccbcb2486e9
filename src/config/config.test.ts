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

  it("parses listen addresses including IPv6", () => {
    expect(parseListen("0.0.0.0:6443")).toEqual({ host: "0.0.0.0", port: 6443 });
    expect(parseListen("[::1]:0")).toEqual({ host: "::1", port: 0 });
    expect(() => parseListen("6443")).toThrow("is not HOST:PORT");
  });
});
