/**
 * The daemon as a process: first start, restart, crash durability, graceful shutdown, and the
 * CLI's error handling.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { parse } from "yaml";
import { adminFetch, adminTls, BUN, REPO, startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";

const started: TestDaemon[] = [];
async function daemon(...args: Parameters<typeof startTestDaemon>): Promise<TestDaemon> {
  const d = await startTestDaemon(...args);
  started.push(d);
  return d;
}

afterAll(async () => {
  for (const d of started) {
    await d.stop("SIGKILL");
    d.cleanup();
  }
});

function cli(args: string[]) {
  return spawnSync(BUN, [join(REPO, "src/main.ts"), ...args], { encoding: "utf8", cwd: REPO });
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

async function json(r: Response): Promise<Record<string, unknown>> {
  return (await r.json()) as Record<string, unknown>;
}

describe("first start", () => {
  it("creates the data dir (0700), database, namespaces, PKI and an admin kubeconfig (0600)", async () => {
    const d = await daemon({ extraArgs: ["--tls-san", "capx.example.test", "--tls-san", "192.0.2.10"] });
    expect(mode(d.dataDir)).toBe(0o700);
    expect(existsSync(join(d.dataDir, "state.db"))).toBe(true);
    expect(mode(d.kubeconfig)).toBe(0o600);
    for (const f of ["ca.key", "serving.key", "admin.key"]) expect(mode(join(d.dataDir, "pki", f))).toBe(0o600);

    const kc = parse(readFileSync(d.kubeconfig, "utf8"));
    expect(kc.clusters[0].cluster.server).toBe(`https://127.0.0.1:${d.port}`);
    const tls = adminTls(d.dataDir);
    expect(Buffer.from(kc.clusters[0].cluster["certificate-authority-data"], "base64").toString()).toBe(tls.ca);

    const admin = new X509Certificate(tls.cert);
    expect(admin.subject).toContain("CN=capx-admin");
    expect(admin.subject).toContain("O=system:masters");
    expect(admin.checkIssued(new X509Certificate(tls.ca))).toBe(true);

    const serving = new X509Certificate(readFileSync(join(d.dataDir, "pki", "serving.crt")));
    for (const san of ["DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1", `DNS:${hostname()}`, "DNS:capx.example.test", "IP Address:192.0.2.10"]) {
      expect(serving.subjectAltName).toContain(san);
    }

    const list = await json(await adminFetch(d, "/api/v1/namespaces"));
    expect((list.items as { metadata: { name: string } }[]).map((n) => n.metadata.name)).toEqual(["default", "kube-public", "kube-system"]);
  });

  it("logs the port it picked for --listen 127.0.0.1:0", async () => {
    const d = await daemon();
    expect(d.logs()).toContain(`"listen":"127.0.0.1:${d.port}"`);
    expect((await fetch(`${d.url}/readyz`, { tls: { ca: adminTls(d.dataDir).ca } } as RequestInit)).status).toBe(200);
  });
});

describe("restart", () => {
  it("reuses the CA, certificates and data", async () => {
    const d1 = await daemon();
    const before = adminTls(d1.dataDir);
    const servingBefore = readFileSync(join(d1.dataDir, "pki", "serving.crt"), "utf8");
    const r = await adminFetch(d1, "/api/v1/namespaces/default/configmaps", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kept" }, data: { a: "1" } }),
    });
    expect(r.status).toBe(201);
    expect(await d1.stop()).toBe(0);
    const d2 = await daemon({ dataDir: d1.dataDir });
    expect(adminTls(d2.dataDir)).toEqual(before);
    expect(readFileSync(join(d2.dataDir, "pki", "serving.crt"), "utf8")).toBe(servingBefore);
    const got = await json(await adminFetch(d2, "/api/v1/namespaces/default/configmaps/kept"));
    expect(got.data).toEqual({ a: "1" });
  });

  it("keeps acknowledged writes across kill -9", async () => {
    const d1 = await daemon();
    const created: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await adminFetch(d1, "/api/v1/namespaces/default/configmaps", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `durable-${i}` }, data: { i: String(i) } }),
      });
      expect(r.status).toBe(201);
      created.push(((await json(r)).metadata as { resourceVersion: string }).resourceVersion);
    }
    await d1.stop("SIGKILL");
    const d2 = await daemon({ dataDir: d1.dataDir });
    const list = await json(await adminFetch(d2, "/api/v1/namespaces/default/configmaps"));
    const names = (list.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);
    for (let i = 0; i < 20; i++) expect(names).toContain(`durable-${i}`);
    expect(Number((list.metadata as { resourceVersion: string }).resourceVersion)).toBeGreaterThanOrEqual(Number(created.at(-1)));
  });

  it("refuses a database written by a newer appliance", async () => {
    const d1 = await daemon();
    await d1.stop();
    const db = new Database(join(d1.dataDir, "state.db"));
    db.run("INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('from-the-future', 99999999999999)");
    db.close();
    const r = cli(["serve", "--data-dir", d1.dataDir, "--listen", "127.0.0.1:0", "--config", "/dev/null"]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("was migrated by a newer capx-appliance");
  });
});

describe("SIGTERM", () => {
  it("fails /readyz first, closes watches, finishes in-flight requests and exits 0", async () => {
    const d = await daemon();
    const tls = adminTls(d.dataDir);
    const watch = await adminFetch(d, "/api/v1/namespaces/default/configmaps?watch=true");
    expect(watch.status).toBe(200);
    const reader = watch.body!.getReader();
    const watchEnded = (async () => {
      for (;;) if ((await reader.read()).done) return true;
    })();

    // An in-flight request: its body arrives in two parts, the second after SIGTERM.
    const body = JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "in-flight" }, data: { x: "y" } });
    let push!: (s: string | null) => void;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        push = (s) => (s === null ? c.close() : c.enqueue(new TextEncoder().encode(s)));
      },
    });
    const inFlight = fetch(`${d.url}/api/v1/namespaces/default/configmaps`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: stream,
      duplex: "half",
      tls: { ca: tls.ca, cert: tls.cert, key: tls.key },
    } as RequestInit);
    push(body.slice(0, 20));
    await Bun.sleep(300);

    const t0 = Date.now();
    d.process.kill("SIGTERM");
    expect(await watchEnded).toBe(true);
    // /readyz now fails on a new connection while the in-flight request holds the process open.
    const ready = await fetch(`${d.url}/readyz?verbose`, { tls: { ca: tls.ca } } as RequestInit).catch(() => undefined);
    if (ready) {
      expect(ready.status).toBe(500);
      expect(await ready.text()).toContain("[-]shutdown failed");
    }
    push(body.slice(20));
    push(null);
    const res = await inFlight;
    expect(res.status).toBe(201);
    const code = await d.exited();
    if (code !== 0) console.error(d.logs());
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(d.logs()).toContain('"msg":"stopped"');
  });
});

describe("systemd", () => {
  it("signals readiness with systemd-notify when NOTIFY_SOCKET is set", async () => {
    const bin = tempDir("capx-fake-systemd-");
    const record = join(bin, "notified");
    writeFileSync(join(bin, "systemd-notify"), `#!/bin/sh\necho "$@" > ${record}\n`);
    chmodSync(join(bin, "systemd-notify"), 0o755);
    const d = await daemon({ env: { NOTIFY_SOCKET: "/run/fake.sock", PATH: `${bin}:${process.env.PATH}` } });
    for (let i = 0; i < 50 && !existsSync(record); i++) await Bun.sleep(50);
    const args = readFileSync(record, "utf8");
    expect(args).toContain("--ready");
    expect(args).toContain(`--status=serving on ${d.url}`);
    expect(args).toContain(`--pid=${d.process.pid}`);
  });
});

describe("command line", () => {
  it("prints the version", () => {
    const r = cli(["version"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^capx-appliance \d+\.\d+\.\d+/);
  });

  it("fails with one line for a missing explicit config, an unknown flag or command", () => {
    for (const args of [["serve", "--config", "/nonexistent/c.yaml"], ["serve", "--bogus"], ["frobnicate"], ["serve", "--listen", "nope"]]) {
      const r = cli(args);
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toStartWith("capx-appliance: ");
    }
  });

  it("prints an admin kubeconfig for another server address", async () => {
    const d = await daemon();
    const r = cli(["kubeconfig", "--admin", "--server", "https://pve1.example.test:6443", "--data-dir", d.dataDir]);
    expect(r.status).toBe(0);
    const kc = parse(r.stdout);
    expect(kc.clusters[0].cluster.server).toBe("https://pve1.example.test:6443");
    expect(Buffer.from(kc.users[0].user["client-certificate-data"], "base64").toString()).toBe(adminTls(d.dataDir).cert);
    const bad = cli(["kubeconfig", "--admin", "--server", "http://x", "--data-dir", d.dataDir]);
    expect(bad.status).toBe(2);
    const missing = cli(["kubeconfig", "--admin", "--data-dir", tempDir("capx-none-")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("has the daemon run");
  });

  it("prints a workload cluster's kubeconfig and talosconfig from their Secrets, and says clearly when one is missing", async () => {
    const d = await daemon();
    const b64 = (x: string) => Buffer.from(x).toString("base64");
    const secret = (name: string, data: Record<string, string>) =>
      adminFetch(d, "/api/v1/namespaces/default/secrets", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name }, data }) });
    expect((await secret("c1-kubeconfig", { value: b64("apiVersion: v1\nkind: Config\n") })).status).toBe(201);
    expect((await secret("c1-talosconfig", { talosconfig: b64("context: c1\n") })).status).toBe(201);
    const kc = cli(["kubeconfig", "c1", "--data-dir", d.dataDir]);
    expect(kc).toMatchObject({ status: 0, stdout: "apiVersion: v1\nkind: Config\n" });
    expect(cli(["talosconfig", "c1", "-n", "default", "--data-dir", d.dataDir])).toMatchObject({ status: 0, stdout: "context: c1\n" });
    const missing = cli(["talosconfig", "c2", "--data-dir", d.dataDir]);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toBe("capx-appliance: secret default/c2-talosconfig not found (is the cluster provisioned yet?)");
    expect(cli(["kubeconfig", "Bad_Name", "--data-dir", d.dataDir]).status).toBe(2);
  });
});
