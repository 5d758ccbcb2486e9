/**
 * `bun run bench`: the API benchmark. Every figure is measured against a baseline measured in
 * the same run, on the same machine and runtime; servers and load generators are separate
 * processes, and daemon and baseline runs are interleaved in rounds so that load from other
 * processes on the machine hits both alike (the share of CPU other processes used is reported
 * per phase). Prints a table and one `BENCH_JSON {...}` line. See README.md.
 *
 * Flags (for development): --count N (creates per run, default 10000), --machines N (default
 * 1000), --pms N (ProxmoxMachines, default 100), --clusters 10,100,1000 (Talos cluster counts),
 * --clusters-timeout S (give up on one count after S seconds, default 120 + 2 s per cluster, at
 * most 900), --only a,b (cold,rss,create,list,watch,machines,proxmox,clusters), --keep (keep the
 * temp dir).
 * @module
 */
import { execSync } from "node:child_process";
import { cpSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  BENCH,
  api,
  clientTls,
  cpuSnap,
  ensureNamespace,
  foreignLoad,
  killChildren,
  median,
  now,
  procTimes,
  rssMiB,
  round,
  sleep,
  spawnBun,
  startDaemon,
  summarize,
  tempDir,
  waitReady,
  type Child,
  type CpuSnap,
  type SyncLevel,
} from "./common.ts";

const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    count: { type: "string" },
    machines: { type: "string" },
    pms: { type: "string" },
    clusters: { type: "string" },
    "clusters-timeout": { type: "string" },
    only: { type: "string" },
    keep: { type: "boolean" },
  },
});
const COUNT = Number(flags.count ?? 10_000);
const CONCURRENCY = 8;
const CREATE_ROUNDS = 4;
const WARMUP_CREATES = 500;
const CHUNK_WARMUP = 100;
const COLD_RUNS = 5;
const LIST_ROUNDS = 3;
const LIST_PER_ROUND = 3;
const WATCHERS = 100;
const WATCH_ROUNDS = 3;
const WATCH_WRITES = 100;
const WATCH_INTERVAL_MS = 25;
const only = new Set((flags.only ?? "cold,rss,create,list,watch,machines,proxmox,clusters").split(","));
const MACHINES = Number(flags.machines ?? 1000);
const PMS = Number(flags.pms ?? 100);
const CLUSTERS = (flags.clusters ?? "10,100,1000").split(",").map(Number);
const ROOT = tempDir("capx-bench-");
process.on("exit", () => {
  killChildren();
  if (!flags.keep) rmSync(ROOT, { recursive: true, force: true });
});
const TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io";
const started = now();
const NCPU = cpus().length;

interface Row {
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  goal: string;
  pass: "PASS" | "FAIL" | "-" | "result";
}
const rows: Row[] = [];
const json: Record<string, unknown> = {};
const phaseLoad: Record<string, { foreignPct: number; stealPct: number }> = {};

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

function progress(msg: string): void {
  process.stderr.write(`[bench ${fmt((now() - started) / 1000, 0).padStart(3)}s] ${msg}\n`);
}

let phaseStart: CpuSnap | undefined;
let phaseName = "";
function phase(name?: string): void {
  const s = cpuSnap();
  if (phaseStart && phaseName) phaseLoad[phaseName] = foreignLoad(phaseStart, s, NCPU);
  phaseStart = s;
  phaseName = name ?? "";
}

async function startBare(mode: "node" | "bun" | "hono", pkiDir: string, db?: string, sync?: SyncLevel, preloadGc = false): Promise<Child & { url: string }> {
  const pre = preloadGc ? ["--preload", join(BENCH, "gc-on-signal.ts")] : [];
  const c = spawnBun([...pre, join(BENCH, "bare-server.ts"), JSON.stringify({ mode, pkiDir, db, sync })]);
  const { port } = await c.json<{ port: number }>("port", 30_000);
  return { ...c, url: `https://127.0.0.1:${port}` };
}

/** `GET /nodes/{node}/qemu/{vmid}/status/current` → `GET status/current`; task polls → `GET task status`. */
function shortPattern(k: string): string {
  const [method, path = ""] = k.split(" ");
  return `${method} ${path.includes("/tasks/") ? "task " : ""}${path.split(/\{[a-z]+\}\//).pop()}`;
}

/** What proxmox.ts reports (see there). */
interface ProxmoxResult {
  count: number;
  provisionedMs: number;
  firstProvisionedMs?: number;
  daemonCpuMs: number;
  writes: number;
  pveCalls: number;
  pveCallsPerMachine: number;
  pveErrors: number;
  pveCallsByPattern: Record<string, number>;
  steady: { seconds: number; pveCalls: number; reconciles: number; reconcilesByController: Record<string, number> };
  baseline: { what: string; ms: number; calls: number; callsPerVm: number };
  reference: { what: string; creates: number; ms: number };
}

/** What clusters.ts reports (see there). */
interface ClustersResult {
  count: number;
  completed: boolean;
  available: number;
  wallMs: number;
  perClusterMs: number;
  daemonCpuMs: number;
  rss: { idleMiB: number; peakHwmMiB: number; peakSampledMiB: number };
  writes: number;
  keys: { samples: number; rsa4096: { medianMs: number; medianCpuMs: number }; bundle: { medianMs: number }; shareOfWall: number; shareOfDaemonCpu: number };
  baseline: { what: string; ms: number };
}

async function runJson<T>(script: string, opts: unknown, timeoutMs?: number): Promise<T> {
  const c = spawnBun([join(BENCH, script), JSON.stringify(opts)]);
  const r = await c.json<{ result: T }>("result", timeoutMs);
  await c.exited;
  return r.result;
}

// ---------------------------------------------------------------------------------------------
// Machine
const machine = {
  cpus: NCPU,
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
  loadavgAtStart: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
};
json.machine = machine;
progress(`machine: ${machine.cpus} CPUs (${machine.cpuModel}), bun ${machine.bun}, data on ${machine.tmpFs} (${machine.tmpdir}), loadavg ${machine.loadavgAtStart}; temp root ${ROOT}`);

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
// 2. Cold start to /readyz (interleaved: each round runs every variant once)
if (only.has("cold")) {
  progress(`cold start: ${COLD_RUNS} rounds of daemon fresh / daemon existing / bun -e / bare node:tls / bare Bun.serve`);
  phase("cold start");
  const existingDir = join(ROOT, "cold-existing", "data");
  cpSync(pkiSource, existingDir, { recursive: true });
  // The shipped artifact: a compiled executable, built as scripts/build.sh does.
  const binary = join(ROOT, "capx-appliance");
  execSync(`${JSON.stringify(process.execPath)} build --compile --minify-syntax --minify-whitespace src/main.ts --outfile ${JSON.stringify(binary)}`, { cwd: join(BENCH, "../.."), stdio: "ignore" });
  const binExisting = join(ROOT, "cold-binary", "data");
  cpSync(pkiSource, binExisting, { recursive: true });
  const t: Record<string, number[]> = { fresh: [], existing: [], binaryFresh: [], binaryExisting: [], bunE: [], bareNode: [], bareBun: [] };
  const binaryErrors: Record<string, string> = {};
  for (let i = 0; i < COLD_RUNS; i++) {
    let d = await startDaemon({ dataDir: join(ROOT, `cold-fresh-${i}`, "data") });
    t.fresh!.push(d.readyMs);
    await d.stop();
    d = await startDaemon({ dataDir: existingDir });
    t.existing!.push(d.readyMs);
    await d.stop();
    for (const [key, dir] of [
      ["binaryFresh", join(ROOT, `cold-binary-fresh-${i}`, "data")],
      ["binaryExisting", binExisting],
    ] as const) {
      if (binaryErrors[key]) continue;
      try {
        const b = await startDaemon({ dataDir: dir, binary });
        t[key]!.push(b.readyMs);
        await b.stop();
      } catch (e) {
        binaryErrors[key] = String((e as Error).message).split("\n").filter(Boolean).slice(0, 2).join(" ").slice(0, 160);
        progress(`compiled binary, ${key}: ${binaryErrors[key]}`);
      }
    }
    let t0 = now();
    const c = spawnBun(["-e", "console.log(JSON.stringify({ready:1}))"]);
    await c.json("ready", 10_000);
    t.bunE!.push(now() - t0);
    await c.exited;
    for (const mode of ["node", "bun"] as const) {
      t0 = now();
      const b = spawnBun([join(BENCH, "bare-server.ts"), JSON.stringify({ mode, pkiDir: PKI })]);
      const { port } = await b.json<{ port: number }>("port", 10_000);
      await waitReady(`https://127.0.0.1:${port}`, t0);
      t[mode === "node" ? "bareNode" : "bareBun"]!.push(now() - t0);
      await b.stop();
    }
  }
  phase();
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, round(median(v))])) as Record<string, number>;
  const baseMs = Math.min(m.bareNode!, m.bareBun!);
  const baseName = m.bareNode! <= m.bareBun! ? "bare node:tls server" : "bare Bun.serve";
  json.coldStart = { medianMs: m, runsMs: Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.map((x) => round(x))])), baseline: baseName, binaryErrors };
  for (const [label, v] of [
    ["cold start → /readyz, fresh data dir (median)", m.fresh!],
    ["cold start → /readyz, existing data dir (median)", m.existing!],
  ] as const) {
    rows.push({ figure: label, value: `${fmt(v)} ms`, baseline: `${fmt(baseMs)} ms (${baseName} → /readyz)`, ratio: `${fmt(v / baseMs, 2)}×`, goal: "< 300 ms", pass: v < 300 ? "PASS" : "FAIL" });
  }
  for (const [key, label] of [
    ["binaryFresh", "fresh"],
    ["binaryExisting", "existing"],
  ] as const) {
    const err = binaryErrors[key];
    rows.push({
      figure: `  reference: compiled binary (as scripts/build.sh), ${label} data dir`,
      value: err ? "FAILED TO START" : `${fmt(m[key]!)} ms`,
      baseline: err ? err.replace(/^daemon exited with \d+: (capx-appliance: )?(fatal: )?/, "").slice(0, 48) : `${fmt(baseMs)} ms`,
      ratio: err ? "-" : `${fmt(m[key]! / baseMs, 2)}×`,
      goal: "(< 300 ms)",
      pass: "-",
    });
  }
  rows.push({ figure: "  reference: bun -e start → first stdout line", value: `${fmt(m.bunE!)} ms`, baseline: "-", ratio: "-", goal: "-", pass: "-" });
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
    baseline: `${fmt(base)} MiB (${baseName}; other ${fmt(Math.max(bare.node!.afterGc, bare.bun!.afterGc))})`,
    ratio: `${fmt(ratio, 2)}×`,
    goal: "≤ 2.5×",
    pass: ratio <= 2.5 ? "PASS" : "FAIL",
  });
  rows.push({ figure: "  reference: idle `bun -e` process RSS", value: `${fmt(bareRuntime.afterGc)} MiB`, baseline: "-", ratio: "-", goal: "-", pass: "-" });
}

// ---------------------------------------------------------------------------------------------
// 1. Create throughput (interleaved rounds), 3. LIST as Table, 4. watch latency
type LoadResult = { perSec: number; created: number; elapsedMs: number; statuses: Record<string, number>; latencyMs: Record<string, number> };
let fullDaemon: Awaited<ReturnType<typeof startDaemon>> | undefined;

if (only.has("create") || only.has("list") || only.has("watch")) {
  const levels: SyncLevel[] = only.has("create") ? ["FULL", "NORMAL"] : ["FULL"];
  const createJson: Record<string, unknown> = {};
  for (const sync of levels) {
    const dir = join(ROOT, `daemon-${sync}`, "data");
    cpSync(pkiSource, dir, { recursive: true });
    const d = await startDaemon({ dataDir: dir, sync });
    await ensureNamespace(d.url, TLS, "bench");
    await ensureNamespace(d.url, TLS, "warmup");
    if (sync === "FULL") fullDaemon = d;
    const load = (url: string, count: number, prefix: string, warmup: number) =>
      runJson<LoadResult>("load-create.ts", { url, pkiDir: PKI, namespace: "bench", count, concurrency: CONCURRENCY, warmup, warmupNamespace: "warmup", prefix });

    if (!only.has("create")) {
      // LIST/watch only: fill the daemon.
      await load(d.url, COUNT, "cm", WARMUP_CREATES);
      continue;
    }
    phase(`create sync=${sync}`);
    progress(`create ×${COUNT}, synchronous=${sync}: raw bun:sqlite (no HTTP)`);
    const raw = await runJson<{ perSec: number }>("raw-sqlite.ts", { mode: "insert", db: join(ROOT, `raw-${sync}.db`), sync, count: COUNT });
    const servers = {
      daemon: d,
      bareNode: await startBare("node", PKI, join(ROOT, `bare-node-${sync}.db`), sync),
      bareBun: await startBare("bun", PKI, join(ROOT, `bare-bun-${sync}.db`), sync),
      honoProbe: await startBare("hono", PKI, join(ROOT, `bare-hono-${sync}.db`), sync),
    };
    const names = Object.keys(servers) as (keyof typeof servers)[];
    progress(`create ×${COUNT}, synchronous=${sync}: warm-up (${WARMUP_CREATES} creates each)`);
    for (const n of names) await load(servers[n].url, 0, "warm", WARMUP_CREATES);
    const acc: Record<string, { elapsedMs: number; created: number; cpuJiffies: number; chunks: LoadResult[] }> = {};
    const chunk = Math.ceil(COUNT / CREATE_ROUNDS);
    for (let r = 0; r < CREATE_ROUNDS; r++) {
      const count = Math.min(chunk, COUNT - r * chunk);
      // rotate the order each round
      const order = names.map((_, i) => names[(i + r) % names.length]!);
      progress(`create ×${COUNT}, synchronous=${sync}: round ${r + 1}/${CREATE_ROUNDS} (${count} creates each: ${order.join(", ")})`);
      for (const n of order) {
        const cpu0 = procTimes(String(servers[n].pid));
        const res = await load(servers[n].url, count, `cm-r${r}`, CHUNK_WARMUP);
        const a = (acc[n] ??= { elapsedMs: 0, created: 0, cpuJiffies: 0, chunks: [] });
        // server CPU for the chunk's creates + its CHUNK_WARMUP warm-up creates
        a.cpuJiffies += ((procTimes(String(servers[n].pid)) - cpu0) * count) / (count + CHUNK_WARMUP);
        a.elapsedMs += res.elapsedMs;
        a.created += res.created;
        a.chunks.push(res);
      }
    }
    await servers.bareNode.stop();
    await servers.bareBun.stop();
    await servers.honoProbe.stop();
    if (sync !== "FULL") await d.stop();
    phase();
    const perSec = (n: string) => (acc[n]!.created / acc[n]!.elapsedMs) * 1000;
    /** Server process CPU (all its threads) per create, µs. */
    const cpuUs = (n: string) => (acc[n]!.cpuJiffies * 10_000) / acc[n]!.created;
    if (acc.daemon!.created !== COUNT) throw new Error(`daemon created ${acc.daemon!.created}/${COUNT}: ${JSON.stringify(acc.daemon!.chunks.map((c) => c.statuses))}`);
    const fastNode = perSec("bareNode") >= perSec("bareBun");
    const fast = fastNode ? { name: "bare node:tls+http", v: perSec("bareNode"), other: perSec("bareBun") } : { name: "bare Bun.serve", v: perSec("bareBun"), other: perSec("bareNode") };
    const ratio = perSec("daemon") / fast.v;
    createJson[sync] = {
      perSec: { daemon: round(perSec("daemon")), bareNode: round(perSec("bareNode")), bareBun: round(perSec("bareBun")), honoProbe: round(perSec("honoProbe")), rawSqlite: raw.perSec },
      serverCpuUsPerCreate: { daemon: round(cpuUs("daemon")), bareNode: round(cpuUs("bareNode")), bareBun: round(cpuUs("bareBun")), honoProbe: round(cpuUs("honoProbe")) },
      chunks: Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, v.chunks.map((c) => ({ perSec: c.perSec, p50: c.latencyMs.p50, p99: c.latencyMs.p99 }))])),
      baseline: fast.name,
      ratio: round(ratio, 3),
    };
    rows.push({
      figure: `create ${COUNT} ConfigMaps, 8 clients, sync=${sync}`,
      value: `${fmt(acc.daemon!.created ? perSec("daemon") : 0, 0)} /s`,
      baseline: `${fmt(fast.v, 0)} /s (${fast.name}; other ${fmt(fast.other, 0)} /s)`,
      ratio: `${fmt(ratio, 2)}`,
      goal: "ratio ≥ 0.5",
      pass: ratio >= 0.5 ? "PASS" : "FAIL",
    });
    rows.push({
      figure: `  reference: server CPU per create, sync=${sync}`,
      value: `${fmt(cpuUs("daemon"), 0)} µs`,
      baseline: `${fmt(cpuUs(fastNode ? "bareNode" : "bareBun"), 0)} µs (${fast.name}; other ${fmt(cpuUs(fastNode ? "bareBun" : "bareNode"), 0)} µs)`,
      ratio: `${fmt(cpuUs("daemon") / cpuUs(fastNode ? "bareNode" : "bareBun"), 2)}×`,
      goal: "-",
      pass: "-",
    });
    rows.push({
      figure: `  layer probe: bare node:tls + @hono/node-server + Hono, sync=${sync}`,
      value: `${fmt(perSec("honoProbe"), 0)} /s, ${fmt(cpuUs("honoProbe"), 0)} µs CPU`,
      baseline: `${fmt(perSec("bareNode"), 0)} /s, ${fmt(cpuUs("bareNode"), 0)} µs CPU (bare node:tls+http)`,
      ratio: `${fmt(perSec("honoProbe") / perSec("bareNode"), 2)}`,
      goal: "-",
      pass: "-",
    });
    rows.push({ figure: `  reference: raw bun:sqlite transactions, sync=${sync}`, value: `${fmt(raw.perSec, 0)} /s`, baseline: "-", ratio: "-", goal: "-", pass: "-" });
  }
  if (only.has("create")) json.create = createJson;

  const d = fullDaemon!;
  if (only.has("list")) {
    progress(`LIST ${COUNT} ConfigMaps as Table: ${LIST_ROUNDS} rounds of ${LIST_PER_ROUND} × (Table, JSON, raw SELECT)`);
    phase("list");
    const get = async (accept: string) => {
      const t0 = now();
      const r = await api(d.url, TLS, "/api/v1/namespaces/bench/configmaps", { headers: { accept } });
      const body = await r.text();
      const ms = now() - t0;
      if (r.status !== 200) throw new Error(`LIST: ${r.status} ${body.slice(0, 300)}`);
      return { ms, body };
    };
    // warm-up (and a correctness check)
    const first = JSON.parse((await get(TABLE_ACCEPT)).body) as { kind: string; rows: unknown[] };
    if (first.kind !== "Table" || first.rows.length !== COUNT) throw new Error(`table LIST: kind ${first.kind}, ${first.rows?.length} rows, expected ${COUNT}`);
    const plainFirst = await get("application/json");
    const ms: Record<string, number[]> = { table: [], json: [], select: [], selectParse: [], selectParseStringify: [] };
    const bytes = { table: 0, json: plainFirst.body.length };
    for (let r = 0; r < LIST_ROUNDS; r++) {
      for (let i = 0; i < LIST_PER_ROUND; i++) {
        const t = await get(TABLE_ACCEPT);
        bytes.table = t.body.length;
        ms.table!.push(t.ms);
      }
      for (let i = 0; i < LIST_PER_ROUND; i++) ms.json!.push((await get("application/json")).ms);
      const raw = await runJson<{ runs: { select: number[]; selectParse: number[]; selectParseStringify: number[] } }>("raw-sqlite.ts", {
        mode: "list",
        db: join(d.dataDir, "state.db"),
        namespace: "bench",
        runs: LIST_PER_ROUND,
      });
      ms.select!.push(...raw.runs.select);
      ms.selectParse!.push(...raw.runs.selectParse);
      ms.selectParseStringify!.push(...raw.runs.selectParseStringify);
    }
    phase();
    const m = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, round(median(v), 2)])) as Record<string, number>;
    json.list = { medianMs: m, runsMs: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, v.map((x) => round(x, 1))])), bytes };
    rows.push({
      figure: `LIST ${COUNT} ConfigMaps as Table (median of ${LIST_ROUNDS * LIST_PER_ROUND})`,
      value: `${fmt(m.table!)} ms`,
      baseline: `${fmt(m.selectParse!)} ms (raw SELECT + JSON.parse, same process)`,
      ratio: `${fmt(m.table! / m.selectParse!, 2)}×`,
      goal: "< 300 ms",
      pass: m.table! < 300 ? "PASS" : "FAIL",
    });
    rows.push({
      figure: `  reference: LIST ${COUNT} as plain JSON`,
      value: `${fmt(m.json!)} ms`,
      baseline: `${fmt(m.selectParseStringify!)} ms (SELECT + parse + stringify)`,
      ratio: `${fmt(m.json! / m.selectParseStringify!, 2)}×`,
      goal: "-",
      pass: "-",
    });
  }

  if (only.has("watch")) {
    phase("watch");
    await ensureNamespace(d.url, TLS, "watch");
    const servers: Record<string, { url: string; pid: number; stop?: () => Promise<unknown> }> = {
      daemon: d,
      bareNode: await startBare("node", PKI, join(ROOT, "watch-node.db"), "FULL"),
      bareBun: await startBare("bun", PKI, join(ROOT, "watch-bun.db"), "FULL"),
      honoProbe: await startBare("hono", PKI, join(ROOT, "watch-hono.db"), "FULL"),
    };
    type W = { receivedEvents: number; expectedEvents: number; samples: { fromBefore: number[]; fromResp: number[]; write: number[] } };
    const acc: Record<string, { received: number; expected: number; cpuJiffies: number; fromBefore: number[]; fromResp: number[]; write: number[] }> = {};
    const pids = Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, v.pid]));
    const names = Object.keys(servers);
    for (let r = 0; r < WATCH_ROUNDS; r++) {
      const order = names.map((_, i) => names[(i + r) % names.length]!);
      progress(`watch: round ${r + 1}/${WATCH_ROUNDS}: ${WATCHERS} watchers, ${WATCH_WRITES} creates at ${1000 / WATCH_INTERVAL_MS}/s (${order.join(", ")})`);
      for (const n of order) {
        const cpu0 = procTimes(String(pids[n]));
        const w = await runJson<W>("watch-client.ts", { url: servers[n]!.url, pkiDir: PKI, namespace: "watch", watchers: WATCHERS, writes: WATCH_WRITES, intervalMs: WATCH_INTERVAL_MS, prefix: `w${r}`, raw: true });
        const a = (acc[n] ??= { received: 0, expected: 0, cpuJiffies: 0, fromBefore: [], fromResp: [], write: [] });
        a.cpuJiffies += procTimes(String(pids[n])) - cpu0;
        a.received += w.receivedEvents;
        a.expected += w.expectedEvents;
        a.fromBefore.push(...w.samples.fromBefore);
        a.fromResp.push(...w.samples.fromResp);
        a.write.push(...w.samples.write);
      }
    }
    await servers.bareNode!.stop!();
    await servers.bareBun!.stop!();
    await servers.honoProbe!.stop!();
    phase();
    const sum = Object.fromEntries(
      Object.entries(acc).map(([k, a]) => {
        const r3 = (xs: number[]) => {
          const s = summarize(xs);
          return { p50: round(s.p50, 2), p90: round(s.p90, 2), p99: round(s.p99, 2), max: round(s.max, 2) };
        };
        // server CPU per create (incl. the 20 warm-up creates and watch setup), µs
        const cpuUsPerWrite = round((a.cpuJiffies * 10_000) / ((WATCH_WRITES + 20) * WATCH_ROUNDS));
        return [k, { received: a.received, expected: a.expected, cpuUsPerWrite, fromBeforeWriteMs: r3(a.fromBefore), fromResponseMs: r3(a.fromResp), writeMs: r3(a.write) }];
      }),
    );
    const dm = sum.daemon!;
    const fastNode = sum.bareNode!.fromBeforeWriteMs.p99 <= sum.bareBun!.fromBeforeWriteMs.p99;
    const base = fastNode ? sum.bareNode! : sum.bareBun!;
    const baseName = fastNode ? "bare node:tls fan-out" : "bare Bun.serve fan-out";
    const hp = sum.honoProbe!;
    json.watch = { ...sum, baseline: baseName, watchers: WATCHERS, writes: WATCH_ROUNDS * WATCH_WRITES, ratePerSec: 1000 / WATCH_INTERVAL_MS };
    const lost = dm.expected - dm.received;
    rows.push({
      figure: `watch latency p99, ${WATCHERS} watchers (create sent → event read)`,
      value: `${fmt(dm.fromBeforeWriteMs.p99, 2)} ms`,
      baseline: `${fmt(base.fromBeforeWriteMs.p99, 2)} ms (${baseName})`,
      ratio: `${fmt(dm.fromBeforeWriteMs.p99 / base.fromBeforeWriteMs.p99, 2)}×`,
      goal: "p99 < 10 ms",
      pass: dm.fromBeforeWriteMs.p99 < 10 && lost === 0 ? "PASS" : "FAIL",
    });
    rows.push({
      figure: "watch latency p50",
      value: `${fmt(dm.fromBeforeWriteMs.p50, 2)} ms`,
      baseline: `${fmt(base.fromBeforeWriteMs.p50, 2)} ms`,
      ratio: `${fmt(dm.fromBeforeWriteMs.p50 / base.fromBeforeWriteMs.p50, 2)}×`,
      goal: "-",
      pass: "-",
    });
    rows.push({
      figure: "  reference: event read − create response, p50/p99",
      value: `${fmt(dm.fromResponseMs.p50, 2)}/${fmt(dm.fromResponseMs.p99, 2)} ms`,
      baseline: `${fmt(base.fromResponseMs.p50, 2)}/${fmt(base.fromResponseMs.p99, 2)} ms`,
      ratio: "-",
      goal: "-",
      pass: "-",
    });
    rows.push({
      figure: `  reference: create round trip with ${WATCHERS} watchers, p50/p99`,
      value: `${fmt(dm.writeMs.p50, 2)}/${fmt(dm.writeMs.p99, 2)} ms`,
      baseline: `${fmt(base.writeMs.p50, 2)}/${fmt(base.writeMs.p99, 2)} ms`,
      ratio: "-",
      goal: "-",
      pass: "-",
    });
    rows.push({
      figure: `  reference: server CPU per create with ${WATCHERS} watchers`,
      value: `${fmt(dm.cpuUsPerWrite, 0)} µs`,
      baseline: `${fmt(base.cpuUsPerWrite, 0)} µs`,
      ratio: `${fmt(dm.cpuUsPerWrite / base.cpuUsPerWrite, 2)}×`,
      goal: "-",
      pass: "-",
    });
    rows.push({
      figure: "  layer probe: node:tls + @hono/node-server fan-out, p50/p99; CPU",
      value: `${fmt(hp.fromBeforeWriteMs.p50, 2)}/${fmt(hp.fromBeforeWriteMs.p99, 2)} ms; ${fmt(hp.cpuUsPerWrite, 0)} µs`,
      baseline: `${fmt(sum.bareNode!.fromBeforeWriteMs.p50, 2)}/${fmt(sum.bareNode!.fromBeforeWriteMs.p99, 2)} ms; ${fmt(sum.bareNode!.cpuUsPerWrite, 0)} µs (bare node:tls)`,
      ratio: "-",
      goal: "-",
      pass: "-",
    });
    if (lost) rows.push({ figure: "  watch events lost", value: String(lost), baseline: "0", ratio: "-", goal: "0", pass: "FAIL" });
  }
  json.daemonRssAfterLoadMiB = round(rssMiB(d.pid), 1);
  await d.stop();
}

// ---------------------------------------------------------------------------------------------
// Cluster API: Machines to Running with the test provider (machines.ts)
if (only.has("machines")) {
  phase("machines");
  progress(`machines: ${MACHINES} Machines to Running (lab mode, test provider)`);
  const r = await runJson<{ count: number; machinesMs: number; writes: number; baselineMs: number; steadyReconciles: number }>("machines.ts", { count: MACHINES });
  json.machines = { ...r, machinesMs: round(r.machinesMs), baselineMs: round(r.baselineMs) };
  rows.push({
    figure: `${r.count} Machines to Running (MachineDeployment 0 → ${r.count}, test provider)`,
    value: `${fmt(r.machinesMs / 1000, 1)} s (${r.writes} writes)`,
    baseline: `${fmt(r.baselineMs / 1000, 1)} s (${r.writes} plain creates, 8 clients)`,
    ratio: `${fmt(r.machinesMs / r.baselineMs, 2)}×`,
    goal: "-",
    pass: "result",
  });
  rows.push({ figure: `  reconciles in 10 s of steady state (${r.count} Machines)`, value: String(r.steadyReconciles), baseline: "-", ratio: "-", goal: "< 20", pass: r.steadyReconciles < 20 ? "PASS" : "FAIL" });
}

// ---------------------------------------------------------------------------------------------
// Proxmox provider: ProxmoxMachines to provisioned through the lab PVE (proxmox.ts)
if (only.has("proxmox")) {
  phase("proxmox");
  progress(`proxmox: ${PMS} ProxmoxMachines to provisioned (lab PVE, instant latencies, in-process backend)`);
  const r = await runJson<ProxmoxResult>("proxmox.ts", { count: PMS });
  json.proxmox = { ...r, provisionedMs: round(r.provisionedMs), firstProvisionedMs: round(r.firstProvisionedMs ?? NaN), pveCallsPerMachine: round(r.pveCallsPerMachine), baseline: { ...r.baseline, ms: round(r.baseline.ms), callsPerVm: round(r.baseline.callsPerVm) }, reference: { ...r.reference, ms: round(r.reference.ms) } };
  const callRatio = r.pveCallsPerMachine / r.baseline.callsPerVm;
  rows.push({
    figure: `${r.count} ProxmoxMachines to provisioned (MachineDeployment 0 → ${r.count}, lab PVE, zero latency)`,
    value: `${fmt(r.provisionedMs / 1000, 1)} s (${r.writes} writes, daemon CPU ${fmt(r.daemonCpuMs / 1000, 1)} s)`,
    baseline: `${fmt(r.baseline.ms / 1000, 2)} s (the same PVE calls straight into the lab PVE, 4 at a time)`,
    ratio: `${fmt(r.provisionedMs / r.baseline.ms, 1)}×`,
    goal: "-",
    pass: "result",
  });
  rows.push({
    figure: "  PVE calls per machine during the rollout (lab access log)",
    value: `${fmt(r.pveCallsPerMachine, 1)} (${r.pveCalls} calls, ${r.pveErrors} errors)`,
    baseline: `${fmt(r.baseline.callsPerVm, 1)} (the provisioning sequence alone)`,
    ratio: `${fmt(callRatio, 2)}×`,
    goal: "≤ 2× (no polling storm)",
    pass: callRatio <= 2 ? "PASS" : "FAIL",
  });
  const top = Object.entries(r.pveCallsByPattern)
    .slice(0, 6)
    .map(([k, n]) => `${shortPattern(k)} ${fmt(n / r.count, 1)}`)
    .join(", ");
  rows.push({ figure: "  PVE calls per machine by kind (top 6; all in the JSON line)", value: top, baseline: "-", ratio: "-", goal: "-", pass: "-" });
  rows.push({
    figure: `  reference: ${r.writes} plain creates (the rollout's writes), 8 clients`,
    value: `${fmt(r.reference.ms / 1000, 1)} s`,
    baseline: "-",
    ratio: `${fmt(r.provisionedMs / r.reference.ms, 1)}×`,
    goal: "-",
    pass: "-",
  });
  const proxmoxReconciles = Object.entries(r.steady.reconcilesByController)
    .filter(([k]) => k.startsWith("proxmox"))
    .reduce((a, [, n]) => a + n, 0);
  rows.push({
    figure: `  steady state, 10 s after convergence: PVE calls / Proxmox controllers' reconciles`,
    value: `${r.steady.pveCalls} / ${proxmoxReconciles}`,
    baseline: "-",
    ratio: "-",
    goal: "< 20 / < 20",
    pass: r.steady.pveCalls < 20 && proxmoxReconciles < 20 ? "PASS" : "FAIL",
  });
  rows.push({
    figure: "  reference: all reconciles in that steady state (Machine: node sync, no workload cluster)",
    value: String(r.steady.reconciles),
    baseline: "-",
    ratio: "-",
    goal: "-",
    pass: "-",
  });
}

// ---------------------------------------------------------------------------------------------
// Talos clusters: N single-node clusters to Available, a fresh lab daemon per N (clusters.ts)
if (only.has("clusters")) {
  phase("clusters");
  const goals: Record<number, { label: string; ms: number }> = { 100: { label: "< 60 s", ms: 60_000 }, 1000: { label: "< 10 min", ms: 600_000 } };
  const RSS_GOAL_MIB = 500e6 / 2 ** 20;
  const results: ClustersResult[] = [];
  for (const n of CLUSTERS) {
    const timeoutS = Number(flags["clusters-timeout"] ?? Math.min(900, 120 + 2 * n));
    progress(`clusters: ${n} single-node Talos clusters to Available (fresh lab daemon, instant latencies; gives up after ${timeoutS} s)`);
    const r = await runJson<ClustersResult>("clusters.ts", { count: n, timeoutS }, (timeoutS + 300) * 1000);
    results.push(r);
    const goal = goals[n];
    const reached = r.completed ? `${fmt(r.wallMs / 1000, 1)} s (${fmt(r.perClusterMs, 0)} ms per cluster, daemon CPU ${fmt(r.daemonCpuMs / 1000, 0)} s)` : `only ${r.available}/${n} after ${fmt(r.wallMs / 1000, 0)} s`;
    rows.push({
      figure: `${n} single-node Talos clusters to Available (lab, zero latency)`,
      value: reached,
      baseline: `${fmt(r.baseline.ms / 1000, 1)} s (${n} × median secrets bundle, ${fmt(r.keys.bundle.medianMs, 0)} ms)`,
      ratio: `${fmt(r.wallMs / r.baseline.ms, 1)}×`,
      goal: goal?.label ?? "-",
      pass: goal ? (r.completed && r.wallMs < goal.ms ? "PASS" : "FAIL") : r.completed ? "result" : "FAIL",
    });
    rows.push({
      figure: `  daemon peak RSS (VmHWM), ${n} clusters`,
      value: `${fmt(r.rss.peakHwmMiB, 0)} MiB`,
      baseline: `${fmt(r.rss.idleMiB, 0)} MiB (the same daemon, idle before the first create)`,
      ratio: `${fmt(r.rss.peakHwmMiB / r.rss.idleMiB, 1)}×`,
      goal: "< 500 MB",
      pass: r.rss.peakHwmMiB < RSS_GOAL_MIB ? "PASS" : "FAIL",
    });
    rows.push({
      figure: `  share spent generating keys (RSA-4096 per cluster), ${n} clusters`,
      value: `${fmt(r.keys.shareOfWall * 100, 0)}% of wall, ${fmt(r.keys.shareOfDaemonCpu * 100, 0)}% of daemon CPU`,
      baseline: `${fmt(r.keys.rsa4096.medianMs, 0)} ms wall / ${fmt(r.keys.rsa4096.medianCpuMs, 0)} ms CPU per key (median of ${r.keys.samples}, same run)`,
      ratio: "-",
      goal: "-",
      pass: "-",
    });
  }
  for (let i = 1; i < results.length; i++) {
    const [a, b] = [results[i - 1]!, results[i]!];
    // an unfinished run: its cost per cluster that did come up (a lower bound)
    const cost = (r: ClustersResult) => r.wallMs / Math.max(1, r.completed ? r.count : r.available);
    const ratio = cost(b) / cost(a);
    rows.push({
      figure: `per-cluster cost, ${b.count} vs ${a.count} clusters`,
      value: `${fmt(cost(b), 0)} ms${b.completed ? "" : " (incomplete: at least)"}`,
      baseline: `${fmt(cost(a), 0)} ms${a.completed ? "" : " (incomplete)"}`,
      ratio: `${fmt(ratio, 2)}×`,
      goal: "flat (≤ 1.5×)",
      pass: a.completed && b.completed && ratio <= 1.5 ? "PASS" : "FAIL",
    });
  }
  phase();
  json.clusters = results;
}

// ---------------------------------------------------------------------------------------------
// Report
phase();
json.otherLoad = phaseLoad;
const headers: Row = { figure: "figure", value: "value", baseline: "baseline (same run)", ratio: "ratio", goal: "goal", pass: "result" };
const keys = Object.keys(headers) as (keyof Row)[];
const width = Object.fromEntries(keys.map((k) => [k, Math.max(...[headers, ...rows].map((r) => [...r[k]].length))])) as Record<keyof Row, number>;
const line = (r: Row) => `| ${keys.map((k) => r[k] + " ".repeat(width[k] - [...r[k]].length)).join(" | ")} |`;
const sep = `|${keys.map((k) => "-".repeat(width[k] + 2)).join("|")}|`;
const totalS = (now() - started) / 1000;
console.log("");
console.log(`capx-appliance API benchmark — ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memGiB} GiB, bun ${machine.bun}, data dirs on ${machine.tmpFs} (${machine.tmpdir})`);
if (machine.cpus <= 2) {
  console.log(`note: ${machine.cpus}-core machine — server and load generator run as separate processes but share ${machine.cpus} cores, so every figure includes client CPU contention; the baselines suffer the same.`);
}
console.log(`creates: ${COUNT} per server and sync level in ${CREATE_ROUNDS} interleaved rounds, ${CONCURRENCY} keep-alive clients with the admin client certificate, warm-up first; ratio = daemon / faster bare variant.`);
const busy = Object.entries(phaseLoad).filter(([, l]) => l.foreignPct >= 5 || l.stealPct >= 5);
console.log(
  `other processes on the machine used (share of total CPU) — ${Object.entries(phaseLoad).map(([k, l]) => `${k}: ${fmt(l.foreignPct, 0)}%${l.stealPct ? ` (+${fmt(l.stealPct, 0)}% steal)` : ""}`).join(", ")}` +
    (busy.length ? "  ⚠ the machine was not idle: absolute numbers are pessimistic; ratios are interleaved and fairer" : ""),
);
console.log("");
console.log(line(headers));
console.log(sep);
for (const r of rows) console.log(line(r));
console.log("");
const failed = rows.filter((r) => r.pass === "FAIL").length;
console.log(`${rows.filter((r) => r.pass === "PASS").length} passed, ${failed} failed; total ${fmt(totalS, 0)} s`);
json.totalSeconds = round(totalS, 1);
console.log(`BENCH_JSON ${JSON.stringify(json)}`);

if (flags.keep) progress(`kept ${ROOT}`);
process.exit(0);
