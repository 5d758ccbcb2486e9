/**
 * The backend contract (backend-contract.ts) for the in-process backend: the lab PVE called
 * directly, bootstrap data written as snippets into its storage directories.
 */
import { describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeBackendContract, waitTask, type ContractEnv } from "./backend-contract.ts";
import { InProcessBackend } from "./inprocess.ts";
import { createLabPve, INSTANT_LATENCIES } from "./lab/index.ts";

async function inprocessEnv(): Promise<ContractEnv> {
  const dataDir = mkdtempSync(join(tmpdir(), "capx-inprocess-"));
  const lab = createLabPve({ dataDir, latencies: INSTANT_LATENCIES });
  return {
    backend: new InProcessBackend(lab, { execPollMs: 10 }),
    lab: { setDiskCopyMs: (ms) => lab.setLatencies({ diskCopyMs: ms }) },
    bootstrapKind: "snippets",
    async stop() {
      await lab.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describeBackendContract("inprocess (the lab PVE called directly)", inprocessEnv);

describe("inprocess backend specifics", () => {
  it("writes the snippets where the lab PVE reads them and removes them again", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "capx-inprocess-"));
    const lab = createLabPve({ dataDir, latencies: INSTANT_LATENCIES });
    try {
      const b = new InProcessBackend(lab, { execPollMs: 10 });
      const a = await b.putBootstrapData({ node: "pve2", vmid: 4242, storage: "local" }, { userData: "u", metaData: "m", networkConfig: "n", vendorData: "v" });
      expect(a).toEqual({
        kind: "snippets",
        storage: "local",
        config: { cicustom: "user=local:snippets/capx-4242-user.yaml,network=local:snippets/capx-4242-network.yaml,meta=local:snippets/capx-4242-meta.yaml,vendor=local:snippets/capx-4242-vendor.yaml" },
        volumes: ["local:snippets/capx-4242-user.yaml", "local:snippets/capx-4242-network.yaml", "local:snippets/capx-4242-meta.yaml", "local:snippets/capx-4242-vendor.yaml"],
      });
      const file = join(lab.storagePath("pve2", "local"), "snippets", "capx-4242-meta.yaml");
      expect(readFileSync(file, "utf8")).toBe("m");
      await b.removeBootstrapData("pve2", a);
      expect(existsSync(file)).toBe(false);
      await expect(b.putBootstrapData({ node: "pve1", vmid: 1, storage: "local-lvm" }, { userData: "", metaData: "", networkConfig: "" })).rejects.toThrow(
        "storage 'local-lvm' on node 'pve1' does not allow snippets (content 'snippets' is not enabled)",
      );
      // Every call went through the PVE API as a client would (the access log shows it).
      const upid = await b.startVm("pve1", 9000);
      expect((await waitTask(b, upid)).exitstatus).toBe("you can't start a vm if it's a template");
      lab.flush();
      const log = readFileSync(join(lab.dir, "pve-access.log"), "utf8");
      expect(log).toContain('"path":"/nodes/pve1/qemu/9000/status/start"');
    } finally {
      await lab.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
