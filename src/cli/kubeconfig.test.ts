import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { kubeconfigCommand, serverOf } from "./kubeconfig.ts";

function dataDir(adminKubeconfig?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "capx-kubeconfig-"));
  mkdirSync(join(dir, "pki"));
  for (const f of ["ca.crt", "admin.crt", "admin.key"]) writeFileSync(join(dir, "pki", f), `-----BEGIN ${f}-----\n`);
  if (adminKubeconfig !== undefined) writeFileSync(join(dir, "admin.kubeconfig"), adminKubeconfig);
  return dir;
}
const serverIn = (out: string) => (parse(out) as { clusters: { cluster: { server: string } }[] }).clusters[0]!.cluster.server;

describe("kubeconfig --admin", () => {
  test("keeps the server of the daemon's own admin.kubeconfig, which the daemon writes quoted", () => {
    const dir = dataDir('apiVersion: v1\nclusters:\n  - cluster:\n      server: "https://127.0.0.1:16443"\n    name: capx\n');
    expect(serverIn(kubeconfigCommand(["--admin", "--data-dir", dir]))).toBe("https://127.0.0.1:16443");
  });

  test("--server wins; without any kubeconfig the default port is used", () => {
    expect(serverIn(kubeconfigCommand(["--admin", "--data-dir", dataDir(), "--server", "https://pve1:6443"]))).toBe("https://pve1:6443");
    expect(serverIn(kubeconfigCommand(["--admin", "--data-dir", dataDir()]))).toBe("https://127.0.0.1:6443");
  });

  test("a server that is not https is refused with the flag named", () => {
    expect(() => kubeconfigCommand(["--admin", "--data-dir", dataDir(), "--server", "http://x:6443"])).toThrow(/--server must be an https:\/\/ URL/);
  });

  test("serverOf reads plain and quoted forms, and nothing from garbage", () => {
    expect(serverOf("clusters:\n- cluster:\n    server: https://a:1\n")).toBe("https://a:1");
    expect(serverOf("clusters: [{cluster: {server: 'https://b:2'}}]")).toBe("https://b:2");
    expect(serverOf(": : :")).toBeUndefined();
  });
});
