/**
 * Runs the real kubectl against a test daemon with a fresh HOME (discovery and OpenAPI caches
 * would otherwise leak between runs).
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./daemon.ts";

const CANDIDATES = ["/usr/lib/google-cloud-sdk/bin/kubectl.1.32"];

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** $KUBECTL, else the bundled kubectl 1.32, else kubectl on PATH; undefined when none. */
export function findKubectl(): string | undefined {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  for (const c of CANDIDATES) if (existsSync(c)) return c;
  return onPath("kubectl");
}

/**
 * Whether whole-process kubectl suites can run. Prints why not; under CI=true a missing kubectl
 * is a failure, not a skip.
 */
export function kubectlOrSkip(suite: string): string | undefined {
  const k = findKubectl();
  if (k) return k;
  const msg = `${suite}: kubectl not found ($KUBECTL, /usr/lib/google-cloud-sdk/bin/kubectl.1.32, PATH) — skipping its tests`;
  if (process.env.CI === "true") throw new Error(`${msg}; CI=true requires kubectl`);
  console.warn(msg);
  return undefined;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Kubectl {
  readonly home: string;
  constructor(
    readonly binary: string,
    readonly kubeconfig: string,
    /** Share another instance's HOME (and so its discovery cache). */
    home?: string,
  ) {
    this.home = home ?? tempDir("capx-kubectl-home-");
    mkdirSync(join(this.home, ".kube"), { recursive: true });
  }

  run(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, ["--kubeconfig", this.kubeconfig, ...args], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: this.home, ...opts.env },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`kubectl ${args.join(" ")} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, opts.timeoutMs ?? 60_000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
      child.stdin.end(opts.input ?? "");
    });
  }

  /** Runs and expects success; returns stdout. */
  async ok(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }
}
