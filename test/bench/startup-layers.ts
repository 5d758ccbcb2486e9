/**
 * Diagnostic (not part of `bun run bench`): where does the daemon's cold start go?
 *
 * `bun test/bench/startup-layers.ts [DATA_DIR]` replays the steps of src/daemon/daemon.ts
 * startDaemon() one by one with timers, in a fresh process (default: a fresh temp dir; run
 * twice with the same dir for the "existing data dir" case). Prints one JSON line: wall ms per step (`steps`)
 * and CPU ms per step (`cpu`, all threads — steadier than wall time on a busy machine).
 *
 * `bun test/bench/startup-layers.ts --imports` measures what importing each dependency adds to a
 * bare `bun -e` (median of 5 processes each; shared sub-dependencies count for each package).
 * @module
 */
if (process.argv[2] === "--imports") {
  const { spawnSync } = await import("node:child_process");
  const { join } = await import("node:path");
  const repo = join(import.meta.dir, "../..");
  const time = (code: string) => {
    const xs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const r = spawnSync(process.execPath, ["-e", code], { cwd: repo, stdio: ["ignore", "ignore", "pipe"] });
      if (r.status !== 0) throw new Error(`${code}: ${r.stderr}`);
      xs.push(performance.now() - t);
    }
    return xs.sort((a, b) => a - b)[2]!;
  };
  const base = time("0");
  const out: Record<string, number> = { "bun -e 0 (runtime start + exit)": Math.round(base) };
  for (const [label, code] of [
    ["yaml", 'await import("yaml")'],
    ["hono", 'await import("hono")'],
    ["@hono/node-server", 'await import("@hono/node-server")'],
    ["drizzle-orm/bun-sqlite", 'await import("drizzle-orm/bun-sqlite")'],
    ["drizzle-orm/sqlite-core", 'await import("drizzle-orm/sqlite-core")'],
    ["prom-client", 'await import("prom-client")'],
    ["reflect-metadata + @peculiar/x509", 'await import("reflect-metadata"); await import("@peculiar/x509")'],
    ["@bufbuild/cel", 'await import("@bufbuild/cel")'],
    ["node:tls + node:http", 'await import("node:tls"); await import("node:http")'],
    ["whole daemon graph (src/cli/serve.ts)", 'await import("./src/cli/serve.ts")'],
  ] as const) {
    out[label] = Math.round(time(code) - base);
  }
  console.log(JSON.stringify({ importMsOverBareBun: out }));
  process.exit(0);
}

const t0 = performance.now();
/** step → wall ms (and CPU ms of this process, all threads, in `cpu`) */
const steps: Record<string, number> = {};
const cpu: Record<string, number> = {};
let last = t0;
let lastCpu = process.cpuUsage();
const mark = (name: string) => {
  const t = performance.now();
  const c = process.cpuUsage(lastCpu);
  steps[name] = Math.round((t - last) * 10) / 10;
  cpu[name] = Math.round((c.user + c.system) / 100) / 10;
  last = t;
  lastCpu = process.cpuUsage();
};
// Time from process start until this line runs (runtime boot + this module's parse).
steps["runtime boot (process start → first line)"] = Math.round((t0 - 0) * 10) / 10;

const { mkdirSync, mkdtempSync } = await import("node:fs");
const { tmpdir } = await import("node:os");
const { join } = await import("node:path");
await import("../../src/cli/serve.ts");
mark("import the daemon's module graph (src/cli/serve.ts)");

const { ensurePki } = await import("../../src/daemon/pki-files.ts");
const { openDatabase } = await import("../../src/store/open.ts");
const { Store } = await import("../../src/store/store.ts");
const { Registry } = await import("../../src/registry/registry.ts");
const { create } = await import("../../src/registry/rest/create.ts");
const { systemContext } = await import("../../src/registry/rest/context.ts");
const { ApiMetrics } = await import("../../src/api/metrics.ts");
const { OpenApiCache } = await import("../../src/api/openapi.ts");
const { WatchHub } = await import("../../src/api/watch-stream.ts");
const { Authenticator } = await import("../../src/api/auth.ts");
const { buildApp } = await import("../../src/api/app.ts");
const { startServer } = await import("../../src/api/server.ts");
const { GarbageCollector } = await import("../../src/registry/lifecycle/gc.ts");
const { NamespaceController } = await import("../../src/registry/lifecycle/namespace.ts");
const { CRDCleanup } = await import("../../src/registry/lifecycle/crd-cleanup.ts");
const { Housekeeping } = await import("../../src/registry/lifecycle/housekeeping.ts");
mark("(already loaded modules)");

const dataDir = process.argv[2] ?? join(mkdtempSync(join(tmpdir(), "capx-layers-")), "data");
mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const pki = await ensurePki(dataDir, []);
mark("ensurePki (keys + certificates when fresh)");
const db = openDatabase(join(dataDir, "state.db"), { synchronous: "FULL", backupDir: join(dataDir, "backups") });
mark("openDatabase (+ migrations when fresh)");
const store = new Store(db);
const registry = new Registry(store);
const rest = { store, registry, now: () => new Date() };
mark("Store + Registry");
const ns = registry.resolve("", "v1", "namespaces")!;
for (const name of ["default", "kube-system", "kube-public"]) {
  if (!store.get("namespaces", "", name)) create(rest, ns, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, systemContext("capx-appliance"));
}
mark("initial namespaces");
const gc = new GarbageCollector(rest);
const nsc = new NamespaceController(rest);
const crd = new CRDCleanup(rest);
const hk = new Housekeeping(store, { intervalMs: 60_000, compaction: { minRetain: 1000, maxRetain: 20000, minAgeMs: 300_000 } });
hk.runOnce();
mark("controllers + housekeeping.runOnce");
const metrics = new ApiMetrics();
mark("ApiMetrics (prom-client registry)");
const openapi = new OpenApiCache(registry);
const app = buildApp({
  rest,
  authenticator: new Authenticator([]),
  metrics,
  watches: new WatchHub(),
  openapi,
  health: { live: [], ready: [] },
  version: "bench",
  serverAddress: () => "127.0.0.1:0",
});
mark("buildApp");
const server = await startServer({ host: "127.0.0.1", port: 0, certPem: pki.serving.certPem, keyPem: pki.serving.keyPem, caPem: pki.ca.certPem, fetch: app.fetch });
mark("startServer (TLS context + listen)");
const r = await fetch(`https://127.0.0.1:${server.port}/readyz`, { tls: { rejectUnauthorized: false } } as RequestInit);
await r.text();
mark("first /readyz round trip (TLS handshake + first request, JIT cold)");
const t1 = performance.now();
openapi.index();
steps["(not at startup) OpenApiCache first build"] = Math.round((performance.now() - t1) * 10) / 10;
steps.total = Math.round((last - 0) * 10) / 10;
console.log(JSON.stringify({ dataDir, steps, cpu }));
hk.stop();
gc.stop();
nsc.stop();
crd.stop();
await server.close();
db.close();
process.exit(0);
