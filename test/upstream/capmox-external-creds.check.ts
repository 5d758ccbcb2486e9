/**
 * Upstream-data check (reads ../shared/reference). CAPMOX's cluster-template-external-creds.yaml in lab mode (issue 7): the daemon runs with the
 * lab inventory that declares the template's API token (test/fixtures/capmox/lab-inventory.yaml);
 * kubectl applies the template, substituted as clusterctl does (1 control plane, 1 worker), whose
 * Secret names https://10.10.0.2:8006 — pve1's address on the lab LAN, where the lab PVE's HTTPS
 * API answers. The cluster becomes Available, its ProxmoxCluster ProxmoxAvailable=True, and the lab
 * PVE's access log shows HTTPS requests authenticated as capmox@pve!capi. A wrong secret in that
 * Secret turns ProxmoxAvailable False with PVE's own 401 text.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KObject } from "../../src/lib/kobject.ts";
import { substituteTemplate } from "../harness/capmox-templates.ts";
import { REPO, startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";

const binary = kubectlOrSkip("capmox external credentials");
const TEMPLATE = join(REPO, "../shared/reference/capi/templates/capmox-main/cluster-template-external-creds.yaml");
const INVENTORY = join(REPO, "test/fixtures/capmox/lab-inventory.yaml");
const NAME = "capmox-e2e";
const WRONG_SECRET = "0badc0de-0000-4000-8000-000000000000";

let d: TestDaemon;
let k: Kubectl;
const dir = tempDir("capx-capmox-creds-");

beforeAll(async () => {
  if (!binary) return;
  d = await startTestDaemon({ extraArgs: ["--lab", "--lab-latencies", "instant", "--lab-inventory", INVENTORY], config: "storage:\n  synchronous: NORMAL\n" });
  k = new Kubectl(binary, d.kubeconfig);
});
afterAll(async () => {
  await d?.stop();
  d?.cleanup();
});

const condition = (o: KObject, type: string) => ((o.status as { conditions?: { type: string; status: string; reason?: string; message?: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const proxmoxCluster = async () => JSON.parse(await k.ok(["get", "proxmoxclusters.infrastructure.cluster.x-k8s.io", NAME, "-o", "json"])) as KObject;

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${d.logs().split("\n").slice(-30).join("\n")}`);
    await Bun.sleep(200);
  }
}

describe.if(Boolean(binary))("CAPMOX external credentials in lab mode", () => {
  it("the template reaches Available through the lab PVE's HTTPS API at 10.10.0.2:8006, as capmox@pve!capi", async () => {
    const file = join(dir, "external-creds.yaml");
    writeFileSync(file, substituteTemplate(TEMPLATE, { CONTROL_PLANE_MACHINE_COUNT: "1", WORKER_MACHINE_COUNT: "1" }));
    await k.ok(["apply", "-f", file]);
    await k.ok(["wait", "--for=condition=Available", `cluster/${NAME}`, "--timeout=90s"], { timeoutMs: 100_000 });

    const pc = await proxmoxCluster();
    expect(condition(pc, "ProxmoxAvailable")).toMatchObject({ status: "True" });
    const secret = JSON.parse(await k.ok(["get", "secret", `${NAME}-proxmox-credentials`, "-o", "json"])) as { data: Record<string, string> };
    expect(Buffer.from(secret.data.url!, "base64").toString()).toBe("https://10.10.0.2:8006");

    await Bun.sleep(100); // the access log is appended every 20 ms
    const log = readFileSync(join(d.dataDir, "lab", "pve-access.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { via: string; user?: string; method: string; path: string; status: number });
    const asCapmox = log.filter((e) => e.via === "https" && e.user === "capmox@pve!capi");
    expect(asCapmox.some((e) => e.method === "GET" && e.path === "/cluster/resources" && e.status === 200)).toBe(true);
    // the machines were cloned with that token too
    expect(asCapmox.some((e) => e.method === "POST" && /^\/nodes\/pve1\/qemu\/9001\/clone$/.test(e.path) && e.status === 200)).toBe(true);
  }, 120_000);

  it("a wrong secret in the credentials Secret makes ProxmoxAvailable False with PVE's 401 text", async () => {
    const file = join(dir, "wrong-secret.yaml");
    writeFileSync(file, substituteTemplate(TEMPLATE, { CONTROL_PLANE_MACHINE_COUNT: "1", WORKER_MACHINE_COUNT: "1", PROXMOX_SECRET: WRONG_SECRET }));
    await k.ok(["apply", "-f", file]);
    // CAPMOX does not watch Secrets either: the ProxmoxCluster is reconciled on its next change
    await k.ok(["annotate", "--overwrite", "proxmoxclusters.infrastructure.cluster.x-k8s.io", NAME, `capx.test/credentials-changed=${Date.now()}`]);
    const failed = await until("ProxmoxAvailable=False", async () => {
      const c = condition(await proxmoxCluster(), "ProxmoxAvailable");
      return c?.status === "False" ? c : undefined;
    });
    expect(failed).toMatchObject({ reason: "ProxmoxUnreachable", message: "authentication failure" });
  }, 60_000);
});
