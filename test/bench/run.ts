/**
 * `bun run bench`: the API benchmark. Every figure is measured against a baseline measured in
 * the same run, on the same machine and runtime; servers and load generators are separate
 * processes. Prints a table and one `BENCH_JSON {...}` line. See README.md.
 *
 * Flags (for development): --count N (creates per run, default 10000), --only a,b (cold,rss,
 * create,list,watch), --keep (keep the temp dir).
 * @module
 */
import { execSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  BENCH,
  api,
  clientTls,
  ensureNamespace,
  median,
  now,
  rssMiB,
  round,
  sleep,
  spawnBun,
  startDaemon,
  tempDir,
  waitReady,
  type Child,
  type DaemonProc,
  type SyncLevel,
} from "./common.ts";

const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: { count: { type: "string" }, only: { type: "string" }, keep: { type: "boolean" } },
});
const COUNT = Number(flags.count ?? 10_000);
const CONCURRENCY = 8;
const WARMUP_CREATES = 500;
const COLD_RUNS = 5;
const LIST_RUNS = 7;
const WATCHERS = 100;
const WATCH_WRITES = 300;
const WATCH_INTERVAL_MS = 25;
const only = new Set((flags.only ?? "cold,rss,create,list,watch").split(","));
const ROOT = tempDir("capx-bench-");
const TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io";
const started = now();

interface Row {
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  goal: string;
  pass: "PASS" | "FAIL" | "-";
}
const rows: Row[] = [];
const json: Record<string, unknown> = {};

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

function progress(msg: string): void {
  process.stderr.write(`[bench ${fmt((now() - started) / 1000, 0).padStart(3)}s] ${msg}\n`);
}

async function startBare(mode: "node" | "bun", pkiDir: string, db?: string, sync?: SyncLevel, preloadGc = false): Promise<Child & { url: string }> {
  const pre = preloadGc ? ["--preload", join(BENCH, "gc-on-signal.ts")] : [];
  const c = spawnBun([...pre, join(BENCH, "bare-server.ts"), JSON.stringify({ mode, pkiDir, db, sync })]);
  const { port } = await c.json<{ port: number }>("port", 30_000);
  return { ...c, url: `https://127.0.0.1:${port}` };
}

async function runJson<T>(script: string, opts: unknown): Promise<T> {
  const c = spawnBun([join(BENCH, script), JSON.stringify(opts)]);
  const r = await c.json<{ result: T }>("result");
  await c.exited;
  return r.result;
}

// ---------------------------------------------------------------------------------------------
// Machine
const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "?",
  memGiB: round(totalmem() / 2 ** 30, 1),
  bun: Bun.version,
  tmpdir: tmpdir(),
  tmpFs: (() => {
    try {
      return execSync(`df -T ${JSON.stringify(tmpdir())} | tail -1 | awk '{print $1" "$2}'`).toString().trim();
    } catch {
      return "?";
    }
  })(),
};
json.machine = machine;
progress(`machine: ${machine.cpus} CPUs (${machine.cpuModel}), bun ${machine.bun}, data on ${machine.tmpFs} (${machine.tmpdir}); temp root ${ROOT}`);

// A daemon data dir whose PKI the bare servers and load generators use.
progress("preparing a data dir (PKI) — also warms the file cache for the cold-start runs");
const pkiSource = join(ROOT, "seed", "data");
{
  const d = await startDaemon({ dataDir: pkiSource });
  await d.stop();
}
const PKI = join(pkiSource, "pki");
const TLS = clientTls(PKI);

// ---------------------------------------------------------------------------------------------
// 2. Cold start to /readyz
if (only.has("cold")) {
  progress("cold start: daemon with a fresh data dir");
  const fresh: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const d = await startDaemon({ dataDir: join(ROOT, `cold-fresh-${i}`, "data") });
    fresh.push(d.readyMs);
    await d.stop();
  }
  progress("cold start: daemon with an existing data dir");
  const existingDir = join(ROOT, "cold-existing", "data");
  cpSync(pkiSource, existingDir, { recursive: true });
  const existing: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const d = await startDaemon({ dataDir: existingDir });
    existing.push(d.readyMs);
    await d.stop();
  }
  progress("cold start: baselines (bun -e, bare servers)");
  const bunE: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const t0 = now();
    const c = spawnBun(["-e", 'console.log(JSON.stringify({ready:1}))']);
    await c.json("ready", 10_000);
    bunE.push(now() - t0);
    await c.exited;
  }
  const bareReady: Record<string, number[]> = { node: [], bun: [] };
  for (const mode of ["node", "bun"] as const) {
    for (let i = 0; i < COLD_RUNS; i++) {
      const t0 = now();
      const c = spawnBun([join(BENCH, "bare-server.ts"), JSON.stringify({ mode, pkiDir: PKI })]);
      const { port } = await c.json<{ port: number }>("port", 10_000);
      await waitReady(`https://127.0.0.1:${port}`, t0);
      bareReady[mode]!.push(now() - t0);
      await c.stop();
    }
  }
  const m = {
    daemonFreshMs: round(median(fresh)),
    daemonExistingMs: round(median(existing)),
    bunEMs: round(median(bunE)),
    bareNodeReadyMs: round(median(bareReady.node!)),
    bareBunReadyMs: round(median(bareReady.bun!)),
    runs: { fresh: fresh.map((x) => round(x)), existing: existing.map((x) => round(x)), bunE: bunE.map((x) => round(x)), bareNode: bareReady.node!.map((x) => round(x)), bareBun: bareReady.bun!.map((x) => round(x)) },
  };
  const baseMs = Math.min(m.bareNodeReadyMs, m.bareBunReadyMs);
  const baseName = m.bareNodeReadyMs <= m.bareBunReadyMs ? "bare node:tls server" : "bare Bun.serve";
  json.coldStart = { ...m, baseline: baseName };
  for (const [label, v] of [
    ["cold start → /readyz, fresh data dir (median)", m.daemonFreshMs],
    ["cold start → /readyz, existing data dir (median)", m.daemonExistingMs],
  ] as const) {
    rows.push({ figure: label, value: `${fmt(v)} ms`, baseline: `${fmt(baseMs)} ms (${baseName} → /readyz; bun -e ${fmt(m.bunEMs)} ms)`, ratio: `${fmt(v / baseMs, 2)}×`, goal: "< 300 ms", pass: v < 300 ? "PASS" : "FAIL" });
  }
}

// ---------------------------------------------------------------------------------------------
// 5. Idle RSS
if (only.has("rss")) {
  progress("idle RSS: daemon and bare servers (2 s idle, then SIGUSR2 → Bun.gc(true))");
  const measure = async (pid: number) => {
    await sleep(2000);
    const before = rssMiB(pid);
    process.kill(pid, "SIGUSR2");
    await sleep(500);
    return { beforeGc: round(before, 1), afterGc: round(rssMiB(pid), 1) };
  };
  const dir = join(ROOT, "rss", "data");
  cpSync(pkiSource, dir, { recursive: true });
  const d = await startDaemon({ dataDir: dir, preloadGc: true });
  const daemon = await measure(d.pid);
  await d.stop();
  const bare: Record<string, { beforeGc: number; afterGc: number }> = {};
  for (const mode of ["node", "bun"] as const) {
    const b = await startBare(mode, PKI, undefined, undefined, true);
    await waitReady(b.url, now());
    bare[mode] = await measure(b.pid);
    await b.stop();
  }
  const idle = spawnBun(["--preload", join(BENCH, "gc-on-signal.ts"), "-e", "setInterval(() => {}, 1e6); console.log(JSON.stringify({up:1}))"]);
  await idle.json("up");
  const bareRuntime = await measure(idle.pid);
  await idle.stop();
  const baseName = bare.node!.afterGc <= bare.bun!.afterGc ? "bare node:tls server" : "bare Bun.serve";
  const base = Math.min(bare.node!.afterGc, bare.bun!.afterGc);
  json.idleRss = { daemon, bareNode: bare.node, bareBun: bare.bun, bareRuntime, baseline: baseName, unit: "MiB" };
  const ratio = daemon.afterGc / base;
  rows.push({
    figure: "idle RSS (2 s idle + GC)",
    value: `${fmt(daemon.afterGc)} MiB`,
    baseline: `${fmt(base)} MiB (${baseName}; bun -e idle ${fmt(bareRuntime.afterGc)} MiB)`,
    ratio: `${fmt(ratio, 2)}×`,
    goal: "≤ 2.5×",
    pass: ratio <= 2.5 ? "PASS" : "FAIL",
  });
}

// ---------------------------------------------------------------------------------------------
// 1. Create throughput, 3. LIST as Table, 4. watch latency
let listDaemon: DaemonProc | undefined;
if (only.has("create") || only.has("list") || only.has("watch")) {
  const levels: SyncLevel[] = only.has("create") ? ["FULL", "NORMAL"] : ["FULL"];
  const createJson: Record<string, unknown> = {};
  for (const sync of levels) {
    const load = (url: string, namespace = "bench") =>
      runJson<{ perSec: number; created: number; elapsedMs: number; statuses: Record<string, number>; latencyMs: Record<string, number> }>("load-create.ts", {
        url,
        pkiDir: PKI,
        namespace,
        count: COUNT,
        concurrency: CONCURRENCY,
        warmup: WARMUP_CREATES,
        warmupNamespace: "warmup",
      });
    let raw, bareNode, bareBun;
    if (only.has("create")) {
      progress(`create ×${COUNT}, synchronous=${sync}: raw bun:sqlite`);
      raw = await runJson<{ perSec: number }>("raw-sqlite.ts", { mode: "insert", db: join(ROOT, `raw-${sync}.db`), sync, count: COUNT });
      progress(`create ×${COUNT}, synchronous=${sync}: bare node:tls+node:http server`);
      let b = await startBare("node", PKI, join(ROOT, `bare-node-${sync}.db`), sync);
      bareNode = await load(b.url);
      await b.stop();
      progress(`create ×${COUNT}, synchronous=${sync}: bare Bun.serve server`);
      b = await startBare("bun", PKI, join(ROOT, `bare-bun-${sync}.db`), sync);
      bareBun = await load(b.url);
      await b.stop();
    }
    progress(`create ×${COUNT}, synchronous=${sync}: daemon`);
    const dir = join(ROOT, `daemon-${sync}`, "data");
    cpSync(pkiSource, dir, { recursive: true });
    const d = await startDaemon({ dataDir: dir, sync });
    await ensureNamespace(d.url, TLS, "bench");
    await ensureNamespace(d.url, TLS, "warmup");
    const daemon = await load(d.url);
    if (daemon.created !== COUNT) throw new Error(`daemon created ${daemon.created}/${COUNT}: ${JSON.stringify(daemon.statuses)}`);
    if (sync === "FULL") listDaemon = d;
    else await d.stop();
    if (raw && bareNode && bareBun) {
      const fast = bareNode.perSec >= bareBun.perSec ? { name: "bare node:tls+http", v: bareNode.perSec } : { name: "bare Bun.serve", v: bareBun.perSec };
      const ratio = daemon.perSec / fast.v;
      createJson[sync] = { daemon, bareNode, bareBun, rawSqlite: raw, baseline: fast.name, ratio: round(ratio, 3) };
      rows.push({
        figure: `create ${COUNT} ConfigMaps, 8 clients, sync=${sync}`,
        value: `${fmt(daemon.perSec, 0)} /s`,
        baseline: `${fmt(fast.v, 0)} /s (${fast.name}; other ${fmt(fast.name.includes("node") ? bareBun.perSec : bareNode.perSec, 0)} /s)`,
        ratio: `${fmt(ratio, 2)}`,
        goal: "ratio ≥ 0.5",
        pass: ratio >= 0.5 ? "PASS" : "FAIL",
      });
      rows.push({ figure: `  reference: raw bun:sqlite inserts, sync=${sync}`, value: `${fmt(raw.perSec, 0)} /s`, baseline: "-", ratio: "-", goal: "-", pass: "-" });
    }
  }
  if (only.has("create")) json.create = createJson;

  const d = listDaemon!;
  if (only.has("list")) {
    progress(`LIST ${COUNT} ConfigMaps as Table (median of ${LIST_RUNS}) and the raw SELECT baseline`);
    const timeGet = async (accept: string) => {
      const ms: number[] = [];
      let bytes = 0;
      let items = 0;
      for (let i = 0; i < LIST_RUNS + 1; i++) {
        const t0 = now();
        const r = await api(d.url, TLS, "/api/v1/namespaces/bench/configmaps", { headers: { accept } });
        const body = await r.text();
        const t = now() - t0;
        if (r.status !== 200) throw new Error(`LIST: ${r.status} ${body.slice(0, 300)}`);
        bytes = body.length;
        if (i === 0) {
          const parsed = JSON.parse(body) as { rows?: unknown[]; items?: unknown[] };
          items = (parsed.rows ?? parsed.items ?? []).length;
          continue;
        }
        ms.push(t);
      }
      return { medianMs: round(median(ms), 2), runs: ms.map((x) => round(x, 1)), bytes, items };
    };
    const table = await timeGet(TABLE_ACCEPT);
    const plain = await timeGet("application/json");
    const raw = await runJson<{ items: number; selectMs: number; selectParseMs: number; selectParseStringifyMs: number }>("raw-sqlite.ts", {
      mode: "list",
      db: join(d.dataDir, "state.db"),
      namespace: "bench",
      runs: LIST_RUNS,
    });
    if (table.items !== COUNT) throw new Error(`table LIST returned ${table.items} rows, expected ${COUNT}`);
    json.list = { table, json: plain, raw };
    rows.push({
      figure: `LIST ${COUNT} ConfigMaps as Table (median)`,
      value: `${fmt(table.medianMs)} ms`,
      baseline: `${fmt(raw.selectParseMs)} ms (raw SELECT + JSON.parse)`,
      ratio: `${fmt(table.medianMs / raw.selectParseMs, 2)}×`,
      goal: "< 300 ms",
      pass: table.medianMs < 300 ? "PASS" : "FAIL",
    });
    rows.push({ figure: `  reference: LIST ${COUNT} as plain JSON`, value: `${fmt(plain.medianMs)} ms`, baseline: `${fmt(raw.selectParseStringifyMs)} ms (SELECT+parse+stringify)`, ratio: `${fmt(plain.medianMs / raw.selectParseStringifyMs, 2)}×`, goal: "-", pass: "-" });
  }

  if (only.has("watch")) {
    progress(`watch: ${WATCHERS} watchers, ${WATCH_WRITES} creates at ${1000 / WATCH_INTERVAL_MS}/s — daemon (sync=FULL)`);
    await ensureNamespace(d.url, TLS, "watch");
    type W = { receivedEvents: number; expectedEvents: number; fromBeforeWriteMs: Record<string, number>; fromResponseMs: Record<string, number>; writeMs: Record<string, number> };
    const opts = (url: string) => ({ url, pkiDir: PKI, namespace: "watch", watchers: WATCHERS, writes: WATCH_WRITES, intervalMs: WATCH_INTERVAL_MS });
    const daemon = await runJson<W>("watch-client.ts", opts(d.url));
    const bare: Record<string, W> = {};
    for (const mode of ["node", "bun"] as const) {
      progress(`watch: bare ${mode} fan-out server (same create + SQLite insert, sync=FULL)`);
      const b = await startBare(mode, PKI, join(ROOT, `watch-${mode}.db`), "FULL");
      bare[mode] = await runJson<W>("watch-client.ts", opts(b.url));
      await b.stop();
    }
    const fast = bare.node!.fromBeforeWriteMs.p99! <= bare.bun!.fromBeforeWriteMs.p99! ? "node" : "bun";
    const base = bare[fast]!;
    const baseName = fast === "node" ? "bare node:tls fan-out" : "bare Bun.serve fan-out";
    json.watch = { daemon, bareNode: bare.node, bareBun: bare.bun, baseline: baseName };
    const lost = daemon.expectedEvents - daemon.receivedEvents;
    rows.push({
      figure: `watch latency p99, ${WATCHERS} watchers (write sent → event read)`,
      value: `${fmt(daemon.fromBeforeWriteMs.p99!, 2)} ms`,
      baseline: `${fmt(base.fromBeforeWriteMs.p99!, 2)} ms (${baseName})`,
      ratio: `${fmt(daemon.fromBeforeWriteMs.p99! / base.fromBeforeWriteMs.p99!, 2)}×`,
      goal: "p99 < 10 ms",
      pass: daemon.fromBeforeWriteMs.p99! < 10 && lost === 0 ? "PASS" : "FAIL",
    });
    rows.push({
      figure: `watch latency p50`,
      value: `${fmt(daemon.fromBeforeWriteMs.p50!, 2)} ms`,
      baseline: `${fmt(base.fromBeforeWriteMs.p50!, 2)} ms`,
      ratio: `${fmt(daemon.fromBeforeWriteMs.p50! / base.fromBeforeWriteMs.p50!, 2)}×`,
      goal: "-",
      pass: "-",
    });
    rows.push({
      figure: `  reference: event read − write response p50/p99`,
      value: `${fmt(daemon.fromResponseMs.p50!, 2)}/${fmt(daemon.fromResponseMs.p99!, 2)} ms`,
      baseline: `${fmt(base.fromResponseMs.p50!, 2)}/${fmt(base.fromResponseMs.p99!, 2)} ms`,
      ratio: "-",
      goal: "-",
      pass: "-",
    });
    rows.push({
      figure: `  reference: create round trip with ${WATCHERS} watchers p50/p99`,
      value: `${fmt(daemon.writeMs.p50!, 2)}/${fmt(daemon.writeMs.p99!, 2)} ms`,
      baseline: `${fmt(base.writeMs.p50!, 2)}/${fmt(base.writeMs.p99!, 2)} ms`,
      ratio: "-",
      goal: "-",
      pass: "-",
    });
    if (lost) rows.push({ figure: "  watch events lost", value: String(lost), baseline: "0", ratio: "-", goal: "0", pass: "FAIL" });
  }
  if (listDaemon) {
    json.daemonRssAfterLoadMiB = round(rssMiB(listDaemon.pid), 1);
    await listDaemon.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Report
const headers: Row = { figure: "figure", value: "value", baseline: "baseline (same run)", ratio: "ratio", goal: "goal", pass: "result" };
const keys = Object.keys(headers) as (keyof Row)[];
const width = Object.fromEntries(keys.map((k) => [k, Math.max(...[headers, ...rows].map((r) => [...r[k]].length))])) as Record<keyof Row, number>;
const line = (r: Row) => `| ${keys.map((k) => r[k] + " ".repeat(width[k] - [...r[k]].length)).join(" | ")} |`;
const sep = `|${keys.map((k) => "-".repeat(width[k] + 2)).join("|")}|`;
const totalS = (now() - started) / 1000;
console.log("");
console.log(`capx-appliance API benchmark — ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memGiB} GiB, bun ${machine.bun}, data dirs on ${machine.tmpFs}`);
if (machine.cpus <= 2) console.log(`note: ${machine.cpus}-core machine — server and load generator (separate processes) share ${machine.cpus} cores, so absolute numbers include client CPU contention; baselines suffer the same.`);
console.log(`creates: ${COUNT} per run, ${CONCURRENCY} keep-alive clients with the admin client certificate, ${WARMUP_CREATES} warm-up creates first; ratio = daemon / faster bare variant.`);
console.log("");
console.log(line(headers));
console.log(sep);
for (const r of rows) console.log(line(r));
console.log("");
const failed = rows.filter((r) => r.pass === "FAIL").length;
console.log(`${rows.filter((r) => r.pass === "PASS").length} passed, ${failed} failed; total ${fmt(totalS, 0)} s`);
json.totalSeconds = round(totalS, 1);
console.log(`BENCH_JSON ${JSON.stringify(json)}`);

if (!flags.keep) rmSync(ROOT, { recursive: true, force: true });
else progress(`kept ${ROOT}`);
process.exit(0);
