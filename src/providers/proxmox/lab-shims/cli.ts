/**
 * What the `qm` and `pvesh` shims share: reaching the lab PVE over its HTTPS API, PVE-style
 * option parsing, and the CLI conventions of PVE's CLIHandler (notes §0):
 * - workers run synchronously: the shim waits for the task, printing its log to stdout as PVE's
 *   tee does (without the final `TASK OK`), and on `TASK ERROR: msg` prints `msg` to stderr
 *   (`TASK WARNINGS: n` → `Task finished with n warning(s)!`);
 * - an uncaught `die` prints its text to stderr and exits 255; a parameter exception prints
 *   `400 Parameter verification failed.`, `param: message` lines and the usage line.
 *
 * Environment (written into the wrapper scripts by install.ts):
 * `CAPX_LAB_PVE_URL` (https://127.0.0.1:PORT), `CAPX_LAB_PVE_TOKEN` (`USER@REALM!TOKENID=SECRET`)
 * or `CAPX_LAB_PVE_TOKEN_FILE`, `CAPX_LAB_PVE_NODE` (the node qm runs on), `CAPX_LAB_PVE_CA`
 * (PEM file of the server certificate's CA) or `CAPX_LAB_PVE_INSECURE=1`.
 * Every request carries the shim's argv in `X-Capx-Lab-Argv` (JSON) for the lab's access log.
 * @module
 */
import { readFileSync } from "node:fs";

export interface ShimIO {
  out(text: string): void;
  err(text: string): void;
}

export const stdio: ShimIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** A failure the shim reports and exits with (PVE's exit codes: die → 255). */
export class ShimExit extends Error {
  constructor(
    readonly code: number,
    readonly stderr: string,
  ) {
    super(stderr.trim());
  }
}

// ---------------------------------------------------------------------------------------------
// The lab API
// ---------------------------------------------------------------------------------------------

export interface LabResponse {
  status: number;
  reason: string;
  body: { data?: unknown; errors?: Record<string, string>; message?: string; [k: string]: unknown };
}

export interface LabClient {
  readonly node: string;
  request(method: string, path: string, params?: Record<string, string | string[]>): Promise<LabResponse>;
}

/** The header the lab's access log reads a shim call's argv from. */
export const ARGV_HEADER = "X-Capx-Lab-Argv";

/** JSON with every non-ASCII character escaped, so it is a valid header value. */
export function asciiJson(v: unknown): string {
  return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export function labClientFromEnv(env: Record<string, string | undefined>, argv: string[]): LabClient {
  const url = env.CAPX_LAB_PVE_URL;
  const node = env.CAPX_LAB_PVE_NODE;
  let token = env.CAPX_LAB_PVE_TOKEN;
  if (!token && env.CAPX_LAB_PVE_TOKEN_FILE) token = readFileSync(env.CAPX_LAB_PVE_TOKEN_FILE, "utf8").trim();
  if (!url || !token || !node) {
    throw new ShimExit(255, "lab shim: CAPX_LAB_PVE_URL, CAPX_LAB_PVE_TOKEN (or _TOKEN_FILE) and CAPX_LAB_PVE_NODE must be set\n");
  }
  const tls = env.CAPX_LAB_PVE_INSECURE === "1" ? { rejectUnauthorized: false } : env.CAPX_LAB_PVE_CA ? { ca: readFileSync(env.CAPX_LAB_PVE_CA, "utf8") } : undefined;
  const base = url.replace(/\/+$/, "");
  const argvHeader = asciiJson(argv);
  return {
    node,
    async request(method, path, params = {}) {
      const form = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
      const encodedPath = path
        .split("/")
        .map((s) => encodeURIComponent(s).replace(/%3A/gi, ":").replace(/%40/g, "@").replace(/%21/g, "!"))
        .join("/");
      const query = method === "GET" || method === "DELETE";
      const target = `${base}/api2/json${encodedPath}${query && [...form].length ? `?${form}` : ""}`;
      const headers: Record<string, string> = { Authorization: `PVEAPIToken=${token}`, [ARGV_HEADER]: argvHeader };
      if (!query) headers["Content-Type"] = "application/x-www-form-urlencoded";
      let res: Response;
      try {
        res = await fetch(target, { method, headers, ...(query ? {} : { body: form.toString() }), ...(tls ? { tls } : {}) } as RequestInit);
      } catch (err) {
        throw new ShimExit(255, `unable to connect to lab PVE at ${base}: ${err instanceof Error ? err.message : String(err)}\n`);
      }
      const text = await res.text();
      let body: LabResponse["body"] = {};
      try {
        body = text ? (JSON.parse(text) as LabResponse["body"]) : {};
      } catch {
        body = { message: text };
      }
      return { status: res.status, reason: res.statusText, body };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Options (PVE's get_options: --key value, --key=value, -key value, boolean flags, `--` extras)
// ---------------------------------------------------------------------------------------------

export interface ParsedArgs {
  positional: string[];
  options: Record<string, string[]>;
  /** After `--`. */
  extra: string[];
}

export function parseArgs(args: string[]): ParsedArgs {
  const out: ParsedArgs = { positional: [], options: {}, extra: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      out.extra = args.slice(i + 1);
      break;
    }
    const m = /^--?([A-Za-z][A-Za-z0-9_\-]*)(?:=(.*))?$/s.exec(a);
    if (!m) {
      out.positional.push(a);
      continue;
    }
    let value = m[2];
    if (value === undefined) {
      const next = args[i + 1];
      // a boolean given as a bare flag (PVE's "prop:s" getopt spec): `--full` means 1
      if (next === undefined || /^--?[A-Za-z]/.test(next) || next === "--") value = "1";
      else value = args[++i]!;
    }
    (out.options[m[1]!] ??= []).push(value);
  }
  return out;
}

/** Options as API parameters (single values as strings, repeated ones as arrays). */
export function apiParams(options: Record<string, string[]>, skip: string[] = []): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(options)) {
    if (skip.includes(k)) continue;
    out[k] = v.length === 1 ? v[0]! : v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Responses and tasks, CLI style
// ---------------------------------------------------------------------------------------------

const UPID_RE = /^UPID:[^:]+:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:[0-9A-Fa-f]{8}:[^:\s/]+:[^:\s/]*:[^:\s/]+:$/;

export function isUpid(v: unknown): v is string {
  return typeof v === "string" && UPID_RE.test(v);
}

/** The data of a 200, or the ShimExit PVE's CLI would end with. */
export function dataOrExit(res: LabResponse, usage: string): unknown {
  if (res.status === 200) return res.body.data ?? null;
  const message = (typeof res.body.message === "string" && res.body.message.trim() ? res.body.message : res.reason || `HTTP ${res.status}`).replace(/\n+$/, "");
  if (res.status === 400) {
    const lines = [`400 ${message}`];
    for (const [k, v] of Object.entries(res.body.errors ?? {})) lines.push(`${k}: ${String(v).replace(/\n+$/, "")}`);
    lines.push(usage);
    throw new ShimExit(255, `${lines.join("\n")}\n`);
  }
  if (res.status === 401) throw new ShimExit(255, `lab PVE refused the shim's token: ${message}\n`);
  throw new ShimExit(255, `${message}\n`);
}

export interface TaskOutcome {
  exitstatus: string;
  ok: boolean;
}

/**
 * Waits for a task as PVE's CLI does for its foreground worker: the log to stdout while it runs,
 * then the error text (or the warning count) to stderr.
 */
export async function followTask(client: LabClient, upid: string, io: ShimIO, usage: string): Promise<TaskOutcome> {
  const node = upid.split(":")[1]!;
  const base = `/nodes/${node}/tasks/${upid}`;
  let printed = 0;
  // blank lines are held back: PVE puts one before the final `TASK ERROR:` line of the log
  let blanks = 0;
  const flush = async () => {
    const res = await client.request("GET", `${base}/log`, { start: String(printed), limit: "500" });
    const lines = (dataOrExit(res, usage) as { n: number; t: string }[] | null) ?? [];
    for (const l of lines) {
      printed = Math.max(printed, l.n);
      if (/^TASK (OK|ERROR: |WARNINGS: \d+$)/.test(l.t)) continue;
      if (l.t === "") {
        blanks++;
        continue;
      }
      io.out(`${"\n".repeat(blanks)}${l.t}\n`);
      blanks = 0;
    }
    return lines.length;
  };
  let delay = 20;
  for (;;) {
    const st = dataOrExit(await client.request("GET", `${base}/status`), usage) as { status: string; exitstatus?: string };
    await flush();
    if (st.status !== "running") {
      while ((await flush()) > 0);
      const exitstatus = st.exitstatus ?? "unexpected status";
      const warnings = /^WARNINGS: (\d+)$/.exec(exitstatus);
      if (exitstatus === "OK") return { exitstatus, ok: true };
      if (warnings) {
        io.err(`Task finished with ${warnings[1]} warning(s)!\n`);
        return { exitstatus, ok: true };
      }
      io.err(`${exitstatus.replace(/\n/g, " ")}\n`);
      return { exitstatus, ok: false };
    }
    await Bun.sleep(delay);
    delay = Math.min(500, delay * 2);
  }
}

/** Perl JSON `pretty => 1, canonical => 1`: 3-space indent, sorted keys, trailing newline. */
export function perlPrettyJson(v: unknown): string {
  return `${JSON.stringify(sortKeys(v), null, 3)}\n`;
}

/** Perl JSON `canonical => 1` on one line. */
export function perlJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** Runs a shim's main and turns a ShimExit into stderr + exit code. */
export async function runShim(main: () => Promise<number>, io: ShimIO): Promise<number> {
  try {
    return await main();
  } catch (err) {
    if (err instanceof ShimExit) {
      io.err(err.stderr);
      return err.code;
    }
    io.err(`${err instanceof Error ? err.message : String(err)}\n`);
    return 255;
  }
}
