/**
 * backup, restore and export through the real binary and real kubectl (issue 6, operator
 * experience): a lab cluster from examples/talos-single.yaml is backed up while the daemon serves
 * and takes writes; restore refuses a running daemon's data dir and a non-empty one; restored into
 * a new data dir, a daemon finds every object again and clones no VM (the lab PVE's access log and
 * VM list are unchanged, the Machines stay Ready); the export of that state applies with kubectl
 * to a second appliance without controllers, Clusters paused.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KObject } from "../../src/lib/kobject.ts";
import { BUN, REPO, startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip, type RunResult } from "../harness/kubectl.ts";

const binary = kubectlOrSkip("backup/restore/export");
const LAB = ["--lab", "--lab-latencies", "instant", "--lab-pve-listen", "127.0.0.1:0"];
const CONFIG = "storage:\n  synchronous: NORMAL\n";

function cli(args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(BUN, [join(REPO, "src/main.ts"), ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The lab PVE's VMs, through its HTTPS API with the token it wrote. */
async function labVmids(d: TestDaemon): Promise<number[]> {
  const url = /"url":"(https:\/\/127\.0\.0\.1:\d+)"/.exec(d.logs())![1]!;
  const token = readFileSync(join(d.dataDir, "lab", "pve-token"), "utf8").trim();
  const res = await fetch(`${url}/api2/json/cluster/resources?type=vm`, { headers: { Authorization: `PVEAPIToken=${token}` }, tls: { ca: readFileSync(join(d.dataDir, "lab", "pve-root-ca.pem"), "utf8") } } as RequestInit);
  const vms = ((await res.json()) as { data: { vmid: number; template?: number }[] }).data;
  return vms.filter((v) => !v.template).map((v) => v.vmid).sort((a, b) => a - b);
}

function clones(dataDir: string): number {
  const log = readFileSync(join(dataDir, "lab", "pve-access.log"), "utf8");
  return log.split("\n").filter((l) => l.includes('"method":"POST"') && /"path":"\/nodes\/[^"]+\/qemu\/\d+\/clone"/.test(l)).length;
}

const mode = (p: string) => statSync(p).mode & 0o777;

describe.skipIf(!binary)("backup, restore and export", () => {
  let a: TestDaemon | undefined;
  let b: TestDaemon | undefined;
  let c: TestDaemon | undefined;
  const work = tempDir("capx-backup-e2e-");
  const archive = join(work, "appliance.tar");
  const restored = join(work, "restored");
  let vmidsBefore: number[] = [];
  let machinesBefore: string[] = [];

  beforeAll(async () => {
    a = await startTestDaemon({ extraArgs: LAB, config: CONFIG });
  });
  afterAll(async () => {
    for (const d of [a, b, c]) {
      await d?.stop();
      d?.cleanup();
    }
    rmSync(work, { recursive: true, force: true });
  });

  const names = async (k: Kubectl, kind: string) =>
    ((JSON.parse(await k.ok(["get", kind, "-o", "json"])) as { items: KObject[] }).items.map((o) => o.metadata.name!)).sort();

  it("backs up while the daemon serves: writes keep succeeding, and one acknowledged before is in the archive", async () => {
    const k = new Kubectl(binary!, a!.kubeconfig);
    await k.ok(["apply", "-f", join(REPO, "examples", "talos-single.yaml")]);
    expect((await k.run(["wait", "--for=condition=Available", "cluster/demo", "--timeout=120s"], { timeoutMs: 130_000 })).code).toBe(0);
    expect((await k.run(["wait", "--for=condition=Ready", "machines", "--all", "--timeout=60s"], { timeoutMs: 70_000 })).code).toBe(0);
    machinesBefore = await names(k, "machines");
    expect(machinesBefore).toHaveLength(3);
    vmidsBefore = await labVmids(a!);
    expect(vmidsBefore).toHaveLength(3);

    await k.ok(["create", "configmap", "acknowledged-before-backup", "--from-literal=k=v"]);
    // Writes during the backup: each must be acknowledged while the snapshot is taken.
    let writing = true;
    let during = 0;
    const writer = (async () => {
      while (writing) {
        await k.ok(["create", "configmap", `during-${during}`, "--from-literal=k=v"]);
        during++;
      }
    })();
    await Bun.sleep(300);
    const before = during;
    const backup = await cli(["backup", "--to", archive, "--data-dir", a!.dataDir]);
    const whileBackingUp = during - before;
    writing = false;
    await writer;
    expect(backup.stderr).toBe("");
    expect(backup.code).toBe(0);
    expect(backup.stdout).toContain(`written to ${archive}`);
    expect(whileBackingUp).toBeGreaterThan(0);
    expect(mode(archive)).toBe(0o600);
    expect((await k.run(["get", "--raw", "/readyz"])).stdout).toBe("ok");

    const again = await cli(["backup", "--to", archive, "--data-dir", a!.dataDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`capx-appliance: ${archive} exists; use --force to overwrite it\n`);
  }, 240_000);

  it("restore refuses while a daemon runs on the data dir", async () => {
    const r = await cli(["restore", archive, "--data-dir", a!.dataDir, "--force"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^capx-appliance: a daemon is running on ${a!.dataDir} \\(pid \\d+\\); stop it before restoring\\n$`));
    expect(existsSync(join(a!.dataDir, "state.db"))).toBe(true);
  });

  it("restores into a new data dir with file modes; refuses a non-empty one unless --force", async () => {
    expect(await a!.stop()).toBe(0);
    const r = await cli(["restore", archive, "--data-dir", restored]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(mode(restored)).toBe(0o700);
    expect(mode(join(restored, "pki"))).toBe(0o700);
    expect(mode(join(restored, "pki", "ca.key"))).toBe(0o600);
    expect(mode(join(restored, "state.db"))).toBe(0o600);
    expect(existsSync(join(restored, "lab", "pve-state.db"))).toBe(true);
    expect(existsSync(join(restored, "daemon.pid"))).toBe(false);

    const refused = await cli(["restore", archive, "--data-dir", restored]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^capx-appliance: .* is not empty; use --force .*\n$/);

    writeFileSync(join(restored, "marker"), "old");
    const forced = await cli(["restore", archive, "--data-dir", restored, "--force"]);
    expect(forced.code).toBe(0);
    const aside = readdirSync(work).filter((n) => n.startsWith("restored.bak-"));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(work, aside[0]!, "marker"), "utf8")).toBe("old");
    expect(existsSync(join(restored, "marker"))).toBe(false);

    const notBackup = join(work, "not-a-backup");
    writeFileSync(notBackup, "hello");
    const bad = await cli(["restore", notBackup, "--data-dir", join(work, "elsewhere")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^capx-appliance: .* is not a capx-appliance backup/);
    expect(existsSync(join(work, "elsewhere"))).toBe(false);
  });

  it("a daemon on the restored data dir has every object back and clones no VM again", async () => {
    const clonesInBackup = clones(restored);
    expect(clonesInBackup).toBe(3);
    b = await startTestDaemon({ dataDir: restored, extraArgs: LAB, config: CONFIG });
    const k = new Kubectl(binary!, b.kubeconfig);
    expect(await k.ok(["get", "configmap", "acknowledged-before-backup", "-o", "jsonpath={.data.k}"])).toBe("v");
    expect(await names(k, "machines")).toEqual(machinesBefore);
    // Give the controllers time to reconcile everything they found, then check nothing was redone.
    expect((await k.run(["wait", "--for=condition=Available", "cluster/demo", "--timeout=60s"], { timeoutMs: 70_000 })).code).toBe(0);
    await Bun.sleep(5000);
    expect((await k.run(["wait", "--for=condition=Ready", "machines", "--all", "--timeout=30s"], { timeoutMs: 40_000 })).code).toBe(0);
    expect(await names(k, "machines")).toEqual(machinesBefore);
    expect(await labVmids(b)).toEqual(vmidsBefore);
    expect(clones(restored)).toBe(clonesInBackup);
  }, 120_000);

  it("export applies with kubectl to an appliance without controllers; Clusters arrive paused", async () => {
    const exported = await cli(["export", "--data-dir", restored]);
    expect(exported.stderr).toBe("");
    expect(exported.code).toBe(0);
    const docs = parseAllDocuments(exported.stdout).map((d) => d.toJS() as KObject | null).filter((o): o is KObject => o !== null);
    const kinds = docs.map((o) => o.kind);
    expect(kinds.indexOf("Secret")).toBeLessThan(kinds.indexOf("ProxmoxCluster"));
    expect(kinds.indexOf("TalosControlPlane")).toBeLessThan(kinds.indexOf("Cluster"));
    expect(kinds.indexOf("Cluster")).toBeLessThan(kinds.indexOf("Machine"));
    expect(kinds).not.toContain("Event");
    expect(kinds).not.toContain("ConfigMap"); // acknowledged-before-backup belongs to no cluster
    for (const o of docs) {
      expect(o.metadata.uid).toBeUndefined();
      expect(o.metadata.resourceVersion).toBeUndefined();
      expect(o.metadata.ownerReferences).toBeUndefined();
      expect((o as { status?: unknown }).status).toBeUndefined();
    }
    expect(docs.find((o) => o.kind === "Cluster")!.apiVersion).toBe("cluster.x-k8s.io/v1beta2");
    expect(docs.find((o) => o.kind === "ProxmoxCluster")!.apiVersion).toBe("infrastructure.cluster.x-k8s.io/v1alpha2");
    expect(docs.filter((o) => o.kind === "Secret").map((o) => o.metadata.name)).toContain("demo-kubeconfig");

    c = await startTestDaemon({ extraArgs: ["--controllers=false"], config: CONFIG });
    const k = new Kubectl(binary!, c.kubeconfig);
    const applied = await k.run(["apply", "-f", "-"], { input: exported.stdout });
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(await k.ok(["get", "cluster", "demo", "-o", "jsonpath={.spec.paused}"])).toBe("true");
    expect(await names(k, "machines")).toEqual(machinesBefore);
    expect(await names(k, "proxmoxmachines")).toEqual(machinesBefore);
    expect(await k.ok(["get", "secret", "demo-kubeconfig", "-o", "jsonpath={.metadata.labels.cluster\\.x-k8s\\.io/cluster-name}"])).toBe("demo");
    expect(await names(k, "taloscontrolplanes")).toEqual(["demo-control-plane"]);
  }, 120_000);
});
