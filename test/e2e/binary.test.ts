/**
 * The single executable: ./scripts/build.sh produces dist/capx-appliance, which runs from any
 * directory (migrations and everything else embedded) and serves kubectl.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { REPO, startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const kubectl = kubectlOrSkip("single binary");
let d: TestDaemon | undefined;

afterAll(async () => {
  await d?.stop();
  d?.cleanup();
});

describe("dist/capx-appliance", () => {
  it("is built by scripts/build.sh, runs from a temp dir and serves kubectl", async () => {
    const build = spawnSync(join(REPO, "scripts/build.sh"), { encoding: "utf8", cwd: REPO });
    expect(build.status).toBe(0);
    const built = join(REPO, "dist/capx-appliance");
    expect(existsSync(built)).toBe(true);
    // A copy elsewhere: nothing may be read from the source tree.
    const dir = tempDir("capx-bin-");
    const binary = join(dir, "capx-appliance");
    copyFileSync(built, binary);
    const version = spawnSync(binary, ["version"], { encoding: "utf8", cwd: dir });
    expect(version.stdout).toMatch(/^capx-appliance \d+\.\d+\.\d+/);
    d = await startTestDaemon({ binary, dataDir: join(dir, "data") });
    if (!kubectl) return;
    const k = new Kubectl(kubectl, d.kubeconfig);
    expect(await k.ok(["get", "ns", "-o", "name"])).toBe("namespace/default\nnamespace/kube-public\nnamespace/kube-system\n");
    expect(await k.ok(["create", "configmap", "from-binary", "--from-literal=a=b"])).toBe("configmap/from-binary created\n");
  }, 120_000);
});
