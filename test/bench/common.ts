/**
 * Shared helpers of the benchmark: processes, ports, TLS material, percentiles, payloads.
 * @module
 */
import { spawn as nodeSpawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REPO = join(import.meta.dir, "../..");
export const BENCH = import.meta.dir;
export const BUN = process.execPath;

export type SyncLevel = "FULL" | "NORMAL";

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** Client material (admin client certificate) from a daemon PKI directory. */
export function clientTls(pkiDir: string): TlsFiles {
  const r = (f: string) => readFileSync(join(pkiDir, f), "utf8");
  return { ca: r("ca.crt"), cert: r("admin.crt"), key: r("admin.key") };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function now(): number {
  return performance.now();
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(xs: number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

export function summarize(xs: number[]): { n: number; p50: number; p90: number; p99: number; max: number; mean: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN, mean };
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A ConfigMap with ~300 bytes of data. */
export function configMap(namespace: string, name: string, extra: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace, labels: { app: "bench" } },
    data: {
      "config.yaml": `listen: 0.0.0.0:8080\nlogLevel: info\nname: ${name}\n` + "x".repeat(180),
      "feature-flags": "alpha=false,beta=true,gamma=false,delta=true",
      mode: "production",
      ...extra,
    },
  };
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** VmRSS of a process in MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Polls GET /readyz (any certificate accepted) every `everyMs` until 200; returns ms since `t0`. */
export async function waitReady(url: string, t0: number, timeoutMs = 30_000, everyMs = 2): Promise<number> {
  const deadline = t0 + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`${url}/readyz`, { tls: { rejectUnauthorized: false }, keepalive: false } as RequestInit);
      await r.arrayBuffer();
      if (r.status === 200) return now() - t0;
    } catch {
      // not listening yet
    }
    if (now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** Children not yet reaped: their CPU time is not yet in our cutime/cstime. */
const liveChildren = new Set<number>();

/** Kills every child still running (on exit, so a failed run leaves no servers behind). */
export function killChildren(): void {
  for (const pid of liveChildren) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

export interface Child {
  pid: number;
  output(): string;
  /** Resolves with the first stdout line that parses as JSON and has `key`. */
  json<T = Record<string, unknown>>(key: string, timeoutMs?: number): Promise<T>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns `bun ARGS` with pipes; collects output. */
export function spawnBun(args: string[], env: Record<string, string> = {}): Child {
  return spawnProcess(BUN, args, env);
}

/** Spawns `CMD ARGS` with pipes; collects output. */
export function spawnProcess(cmd: string, args: string[], env: Record<string, string> = {}): Child {
  const child = nodeSpawn(cmd, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  liveChildren.add(child.pid!);
  child.on("exit", () => liveChildren.delete(child.pid!));
  let out = "";
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let done = false;
  exited.then(() => {
    done = true;
    for (const w of waiters.splice(0)) w();
  });
  return {
    pid: child.pid!,
    output: () => out,
    exited,
    json<T>(key: string, timeoutMs = 600_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      return new Promise<T>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const check = () => {
          for (const line of out.split("\n")) {
            if (!line.startsWith("{")) continue;
            try {
              const v = JSON.parse(line);
              if (v && typeof v === "object" && key in v) return resolve(v as T);
            } catch {
              // not ours
            }
          }
          if (done) return reject(new Error(`${cmd} ${args.join(" ")} exited without a ${key} line:\n${out.slice(-4000)}`));
          if (Date.now() > deadline) return reject(new Error(`${cmd} ${args.join(" ")}: no ${key} line in time:\n${out.slice(-4000)}`));
          // one pending waiter and one timer per call: re-arming on every output chunk multiplied them
          if (!waiters.includes(check)) waiters.push(check);
          clearTimeout(timer);
          timer = setTimeout(check, 1000);
        };
        check();
      });
    },
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export interface DaemonProc extends Child {
  url: string;
  port: number;
  dataDir: string;
  pkiDir: string;
}

/**
 * Starts `bun src/main.ts serve` on a known port with the given synchronous level; resolves
 * when /readyz answers 200. `preloadGc` loads gc-on-signal.ts (SIGUSR2 → Bun.gc(true)).
 */
export async function startDaemon(opts: {
  dataDir: string;
  sync?: SyncLevel;
  preloadGc?: boolean;
  bunArgs?: string[];
  /** Run this compiled executable instead of `bun src/main.ts`. */
  binary?: string;
}): Promise<DaemonProc & { readyMs: number }> {
  const port = await freePort();
  mkdirSync(join(opts.dataDir, ".."), { recursive: true });
  const cfg = join(opts.dataDir, "..", `config-${port}.yaml`);
  writeFileSync(cfg, opts.sync ? `storage:\n  synchronous: ${opts.sync}\n` : "");
  const pre = opts.preloadGc ? ["--preload", join(BENCH, "gc-on-signal.ts")] : [];
  const t0 = now();
  const serveArgs = ["serve", "--data-dir", opts.dataDir, "--listen", `127.0.0.1:${port}`, "--config", cfg];
  const c = opts.binary ? spawnProcess(opts.binary, serveArgs) : spawnBun([...(opts.bunArgs ?? []), ...pre, join(REPO, "src/main.ts"), ...serveArgs]);
  const url = `https://127.0.0.1:${port}`;
  let readyMs: number;
  try {
    readyMs = await Promise.race([
      waitReady(url, t0),
      c.exited.then((code) => {
        throw new Error(`daemon exited with ${code}:\n${c.output()}`);
      }),
    ]);
  } catch (e) {
    await c.stop("SIGKILL");
    throw e;
  }
  return { ...c, url, port, dataDir: opts.dataDir, pkiDir: join(opts.dataDir, "pki"), readyMs };
}

/** POST/GET with the admin client certificate. */
export async function api(url: string, tls: TlsFiles, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}${path}`, { ...init, tls: { ca: tls.ca, cert: tls.cert, key: tls.key } } as RequestInit);
}

export async function ensureNamespace(url: string, tls: TlsFiles, name: string): Promise<void> {
  const r = await api(url, tls, "/api/v1/namespaces", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } }),
  });
  const text = await r.text();
  if (r.status !== 201 && r.status !== 409) throw new Error(`create namespace ${name}: ${r.status} ${text}`);
}

/** CPU accounting, to tell how much of the machine other processes used during a phase. */
export interface CpuSnap {
  at: number;
  /** Non-idle jiffies of the whole machine (steal excluded). */
  busy: number;
  steal: number;
  /** utime+stime+cutime+cstime of this process: itself plus every child it has reaped. */
  ours: number;
}

export function cpuSnap(): CpuSnap {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = cpu as number[];
  let ours = procTimes("self");
  for (const pid of liveChildren) ours += procTimes(String(pid));
  return { at: now(), busy: user! + nice! + system! + irq! + softirq!, steal: steal ?? 0, ours };
}

/** utime+stime+cutime+cstime of a process in jiffies; 0 when it is gone. */
export function procTimes(pid: string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    // fields 14..17 (1-based) are utime, stime, cutime, cstime; f starts at field 3.
    return f[11]! + f[12]! + f[13]! + f[14]!;
  } catch {
    return 0;
  }
}

/** CPU ticks (utime + stime) of a process's threads, summed by thread name (digits dropped: "HeapHelper"). */
export function threadTimes(pid: string): Record<string, number> {
  const out: Record<string, number> = {};
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/[\d\s#:-]+$/, "") || "?";
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
      out[name] = (out[name] ?? 0) + f[11]! + f[12]!;
    } catch {
      // the thread ended
    }
  }
  return out;
}

/**
 * Share of the machine's CPU capacity used by processes outside this benchmark between two
 * snapshots, and the steal share.
 */
export function foreignLoad(a: CpuSnap, b: CpuSnap, cpus: number, hz = 100): { foreignPct: number; stealPct: number } {
  const capacity = ((b.at - a.at) / 1000) * hz * cpus;
  return {
    foreignPct: round((Math.max(0, b.busy - a.busy - (b.ours - a.ours)) / capacity) * 100, 1),
    stealPct: round(((b.steal - a.steal) / capacity) * 100, 1),
  };
}
