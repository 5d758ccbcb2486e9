/**
 * Whole-process test harness: starts `capx-appliance serve` (source or a built binary) on
 * 127.0.0.1:0 with a temp data dir, waits for /readyz, and stops it.
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const REPO = join(import.meta.dir, "../..");
export const BUN = process.execPath;

export interface DaemonOptions {
  /** Run this executable instead of `bun src/main.ts`. */
  binary?: string;
  dataDir?: string;
  /** Config file content (YAML); default: none (an empty file). */
  config?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
}

export interface TestDaemon {
  url: string;
  /** Lab mode: the CONNECT proxy onto the lab LAN. */
  labProxy?: string;
  port: number;
  dataDir: string;
  kubeconfig: string;
  /** The config file written for this start (in a temp dir of its own). */
  configPath: string;
  process: ChildProcess;
  logs(): string;
  /** Waits for the process to exit on its own; returns the exit code. */
  exited(): Promise<number | null>;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Removes the data dir (after stop). */
  cleanup(): void;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestDaemon(opts: DaemonOptions = {}): Promise<TestDaemon> {
  const dataDir = opts.dataDir ?? join(tempDir("capx-e2e-"), "data");
  const configPath = join(tempDir("capx-cfg-"), "config.yaml");
  writeFileSync(configPath, opts.config ?? "");
  const args = ["serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--config", configPath, ...(opts.extraArgs ?? [])];
  const cmd = opts.binary ?? BUN;
  // CAPX_DAEMON_CPU_PROF=<dir>: profile the daemon (markdown profile written on exit; with
  // CAPX_DAEMON_CPU_PROF_FORMAT=json a Chrome .cpuprofile instead, for scripts).
  const profFlag = process.env.CAPX_DAEMON_CPU_PROF_FORMAT === "json" ? "--cpu-prof" : "--cpu-prof-md";
  const prof = process.env.CAPX_DAEMON_CPU_PROF ? [profFlag, `--cpu-prof-dir=${process.env.CAPX_DAEMON_CPU_PROF}`] : [];
  const flags = process.env.CAPX_DAEMON_BUN_FLAGS?.split(" ").filter(Boolean) ?? [];
  const argv = opts.binary ? args : [...flags, ...prof, join(REPO, "src/main.ts"), ...args];
  const child = spawn(cmd, argv, { cwd: opts.binary ? dirname(opts.binary) : REPO, env: { BUN_CONFIG_MAX_HTTP_REQUESTS: "65535", ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not start in 30 s:\n${out}`)), 30_000);
    const onData = () => {
      const m = /"msg":"capx-appliance is serving".*?"listen":"127\.0\.0\.1:(\d+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before serving:\n${out}`));
    });
  });
  const url = `https://127.0.0.1:${port}`;
  const proxy = /"lab":\{"proxy":"(http:\/\/[^"]+)"\}/.exec(out)?.[1];
  return {
    url,
    labProxy: proxy,
    port,
    dataDir,
    kubeconfig: join(dataDir, "admin.kubeconfig"),
    configPath,
    process: child,
    logs: () => out,
    exited: () => exited,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
    cleanup() {
      rmSync(join(dataDir, ".."), { recursive: true, force: true });
      rmSync(join(configPath, ".."), { recursive: true, force: true });
    },
  };
}

/** TLS material from a data dir, for raw HTTPS requests in tests. */
export function adminTls(dataDir: string): { ca: string; cert: string; key: string } {
  const r = (f: string) => readFileSync(join(dataDir, "pki", f), "utf8");
  return { ca: r("ca.crt"), cert: r("admin.crt"), key: r("admin.key") };
}

/** fetch() against the daemon with the admin client certificate. */
export function adminFetch(d: TestDaemon, path: string, init: RequestInit = {}): Promise<Response> {
  const t = adminTls(d.dataDir);
  return fetch(`${d.url}${path}`, { ...init, tls: { ca: t.ca, cert: t.cert, key: t.key } } as RequestInit);
}
