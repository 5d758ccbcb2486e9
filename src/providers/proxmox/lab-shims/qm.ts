#!/usr/bin/env bun
/**
 * `qm` for the lab PVE: parses argv as qemu-server's qm does and runs the same API handlers
 * (over the lab's HTTPS API) on the node in CAPX_LAB_PVE_NODE, with qm's output and exit codes:
 * task commands follow their worker in the foreground; clone/create/destroy/start/stop/… exit 255
 * when the task failed (`$upid_exit`), `disk resize` and `template` exit 0 even then (no hook);
 * `qm list` prints nothing for no VMs; `qm config` prints sorted `key: value` lines without the
 * digest, the description percent-encoded; agent results print as Perl's pretty JSON.
 * @module
 */
import { readFileSync } from "node:fs";
import { apiParams, dataOrExit, followTask, isUpid, labClientFromEnv, parseArgs, perlPrettyJson, runShim, ShimExit, stdio, type LabClient, type ParsedArgs, type ShimIO } from "./cli.ts";

interface Ctx {
  client: LabClient;
  io: ShimIO;
  a: ParsedArgs;
  /** Positional arguments by name. */
  p: Record<string, string>;
  usage: string;
}

interface QmCommand {
  args: string[];
  run(c: Ctx): Promise<number>;
}

const vmPath = (c: Ctx) => `/nodes/${c.client.node}/qemu/${c.p.vmid}`;

/** A call that forks a worker: follow it; `upidExit` = qm's `$upid_exit` hook. */
function taskCommand(method: string, path: (c: Ctx) => string, params: (c: Ctx) => Record<string, string | string[]>, upidExit: boolean): QmCommand["run"] {
  return async (c) => {
    const data = dataOrExit(await c.client.request(method, path(c), params(c)), c.usage);
    if (!isUpid(data)) return 0; // a worker that finished inside the call (older resize)
    const outcome = await followTask(c.client, data, c.io, c.usage);
    return upidExit && !outcome.ok ? 255 : 0;
  };
}

/** qm's print_agent_result. */
function printAgentResult(io: ShimIO, data: unknown): void {
  const result = (data && typeof data === "object" && "result" in data ? (data as { result: unknown }).result : undefined) ?? data;
  if (result === undefined || result === null) return;
  if (typeof result !== "object") {
    const s = String(result).replace(/\n$/, "");
    if (s.trim()) io.out(`${s}\n`);
    return;
  }
  if (!Array.isArray(result) && Object.keys(result).length === 0) return;
  io.out(perlPrettyJson(result));
}

/** PVE's encode_text: control and high-bit bytes, ':' and '%' percent-encoded. */
function encodeText(s: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(s)) {
    const safe = (b >= 0x20 && b <= 0x24) || (b >= 0x26 && b <= 0x39) || (b >= 0x3b && b <= 0x7e);
    out += safe ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** URI::Escape's uri_escape (everything but unreserved characters). */
function uriEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

const GET_AGENT = new Set(["get-fsinfo", "get-host-name", "get-memory-block-info", "get-memory-blocks", "get-osinfo", "get-time", "get-timezone", "get-users", "get-vcpus", "info", "network-get-interfaces"]);

const POWER = ["start", "stop", "shutdown", "reboot", "reset", "suspend", "resume"] as const;

const COMMANDS: Record<string, QmCommand> = {
  clone: { args: ["vmid", "newid"], run: taskCommand("POST", (c) => `${vmPath(c)}/clone`, (c) => ({ newid: c.p.newid!, ...apiParams(c.a.options) }), true) },
  create: { args: ["vmid"], run: taskCommand("POST", (c) => `/nodes/${c.client.node}/qemu`, (c) => ({ vmid: c.p.vmid!, ...apiParams(c.a.options) }), true) },
  destroy: { args: ["vmid"], run: taskCommand("DELETE", vmPath, (c) => apiParams(c.a.options), true) },
  template: { args: ["vmid"], run: taskCommand("POST", (c) => `${vmPath(c)}/template`, (c) => apiParams(c.a.options), false) },
  "disk resize": { args: ["vmid", "disk", "size"], run: taskCommand("PUT", (c) => `${vmPath(c)}/resize`, (c) => ({ disk: c.p.disk!, size: c.p.size!, ...apiParams(c.a.options) }), false) },
  ...Object.fromEntries(POWER.map((p) => [p, { args: ["vmid"], run: taskCommand("POST", (c: Ctx) => `${vmPath(c)}/status/${p}`, (c: Ctx) => apiParams(c.a.options), true) }])),

  set: {
    args: ["vmid"],
    async run(c) {
      const params = apiParams(c.a.options);
      if (typeof params.sshkeys === "string") params.sshkeys = uriEscape(readFileSync(params.sshkeys, "utf8"));
      dataOrExit(await c.client.request("PUT", `${vmPath(c)}/config`, params), c.usage);
      const shown = Object.entries(params).flatMap(([k, v]) => [`-${k}`, k === "cipassword" ? "<hidden>" : Array.isArray(v) ? v.join(",") : v]);
      if (shown.length) c.io.out(`update VM ${c.p.vmid}: ${shown.join(" ")}\n`);
      return 0;
    },
  },

  config: {
    args: ["vmid"],
    async run(c) {
      const cfg = (dataOrExit(await c.client.request("GET", `${vmPath(c)}/config`, apiParams(c.a.options)), c.usage) ?? {}) as Record<string, unknown>;
      for (const k of Object.keys(cfg).sort()) {
        if (k === "digest") continue;
        const v = String(cfg[k]);
        c.io.out(`${k}: ${k === "description" ? encodeText(v) : v}\n`);
      }
      return 0;
    },
  },

  status: {
    args: ["vmid"],
    async run(c) {
      const st = (dataOrExit(await c.client.request("GET", `${vmPath(c)}/status/current`), c.usage) ?? {}) as Record<string, unknown>;
      if (c.a.options.verbose?.[0] === "1") {
        for (const k of Object.keys(st).sort()) {
          if (k === "cpu" || k === "relcpu") continue;
          printRecursive(c.io, "", st[k], k);
        }
      } else c.io.out(`status: ${String(st.qmpstatus ?? st.status ?? "unknown")}\n`);
      return 0;
    },
  },

  list: {
    args: [],
    async run(c) {
      const list = (dataOrExit(await c.client.request("GET", `/nodes/${c.client.node}/qemu`, apiParams(c.a.options)), c.usage) ?? []) as Record<string, unknown>[];
      if (!list.length) return 0;
      const row = (cols: string[]) => `${cols[0]!.padStart(10)} ${cols[1]!.padEnd(20)} ${cols[2]!.padEnd(10)} ${cols[3]!.padEnd(10)} ${cols[4]!.padStart(12)} ${cols[5]!.padEnd(10)}\n`;
      c.io.out(row(["VMID", "NAME", "STATUS", "MEM(MB)", "BOOTDISK(GB)", "PID"]));
      for (const r of [...list].sort((a, b) => Number(a.vmid) - Number(b.vmid))) {
        c.io.out(row([String(r.vmid), String(r.name ?? ""), String(r.qmpstatus ?? r.status), String(Math.trunc(Number(r.maxmem ?? 0) / 1048576)), (Number(r.maxdisk ?? 0) / 1073741824).toFixed(2), String(r.pid ?? 0)]));
      }
      return 0;
    },
  },

  "guest cmd": {
    args: ["vmid", "command"],
    async run(c) {
      const cmd = c.p.command!;
      const method = GET_AGENT.has(cmd) ? "GET" : "POST";
      printAgentResult(c.io, dataOrExit(await c.client.request(method, `${vmPath(c)}/agent/${cmd}`), c.usage));
      return 0;
    },
  },

  "guest exec": {
    args: ["vmid"],
    async run(c) {
      const o = c.a.options;
      const sync = (o.synchronous?.[0] ?? "1") !== "0";
      if (o.timeout && !sync) throw new ShimExit(255, `400 Parameter verification failed.\nsynchronous: needs to be set for 'timeout'\n${c.usage}\n`);
      const params: Record<string, string | string[]> = { command: c.a.extra };
      if (o["pass-stdin"]?.[0] === "1") params["input-data"] = await new Response(Bun.stdin.stream()).text();
      let res = dataOrExit(await c.client.request("POST", `${vmPath(c)}/agent/exec`, params), c.usage) as Record<string, unknown>;
      if (sync) {
        const timeout = Number(o.timeout?.[0] ?? 30);
        const start = Date.now();
        for (;;) {
          const st = dataOrExit(await c.client.request("GET", `${vmPath(c)}/agent/exec-status`, { pid: String(res.pid) }), c.usage) as Record<string, unknown>;
          if (st.exited === 1 || st.exited === true) {
            res = st;
            break;
          }
          if (timeout !== 0 && Date.now() - start >= timeout * 1000) {
            c.io.err("timeout reached, returning pid\n");
            break;
          }
          await Bun.sleep(200);
        }
      }
      printAgentResult(c.io, { result: res });
      return 0;
    },
  },

  "guest exec-status": {
    args: ["vmid", "pid"],
    async run(c) {
      printAgentResult(c.io, dataOrExit(await c.client.request("GET", `${vmPath(c)}/agent/exec-status`, { pid: c.p.pid! }), c.usage));
      return 0;
    },
  },

  "cloudinit dump": {
    args: ["vmid", "type"],
    async run(c) {
      c.io.out(`${String(dataOrExit(await c.client.request("GET", `${vmPath(c)}/cloudinit/dump`, { type: c.p.type! }), c.usage))}\n`);
      return 0;
    },
  },

  "cloudinit update": {
    args: ["vmid"],
    async run(c) {
      dataOrExit(await c.client.request("PUT", `${vmPath(c)}/cloudinit`), c.usage);
      return 0;
    },
  },
};

const ALIASES: Record<string, string> = { resize: "disk resize", agent: "guest cmd" };

function printRecursive(io: ShimIO, prefix: string, v: unknown, key?: string): void {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    if (key !== undefined) io.out(`${prefix}${key}:\n`);
    for (const k of Object.keys(v).sort()) printRecursive(io, `\t${prefix}`, (v as Record<string, unknown>)[k], k);
  } else if (Array.isArray(v)) {
    if (key !== undefined) io.out(`${prefix}${key}:\n`);
    for (const item of v) printRecursive(io, `\t${prefix}`, item);
  } else if (v !== undefined && v !== null) {
    io.out(key !== undefined ? `${prefix}${key}: ${String(v)}\n` : `${prefix}${String(v)}\n`);
  }
}

/** Runs `qm <args>`; returns the exit code. */
export async function runQm(args: string[], env: Record<string, string | undefined>, io: ShimIO): Promise<number> {
  return runShim(async () => {
    let name = args[0] ?? "";
    let rest = args.slice(1);
    if (!COMMANDS[name] && !ALIASES[name] && COMMANDS[`${name} ${rest[0] ?? ""}`]) {
      name = `${name} ${rest[0]}`;
      rest = rest.slice(1);
    }
    name = ALIASES[name] ?? name;
    const cmd = COMMANDS[name];
    if (!cmd) throw new ShimExit(255, `ERROR: ${name ? `unknown command 'qm ${args.slice(0, 2).join(" ")}'` : "no command specified"}\nUSAGE: qm <COMMAND> [ARGS] [OPTIONS]\n`);
    const usage = `qm ${name} ${cmd.args.map((a) => `<${a}>`).join(" ")}${cmd.args.length ? " " : ""}[OPTIONS]`;
    const a = parseArgs(rest);
    if (a.positional.length < cmd.args.length) throw new ShimExit(255, `400 not enough arguments\n${usage}\n`);
    if (a.positional.length > cmd.args.length) throw new ShimExit(255, `400 too many arguments\n${usage}\n`);
    const p = Object.fromEntries(cmd.args.map((n, i) => [n, a.positional[i]!]));
    const client = labClientFromEnv(env, ["qm", ...args]);
    return cmd.run({ client, io, a, p, usage });
  }, io);
}

if (import.meta.main) process.exit(await runQm(process.argv.slice(2), process.env, stdio));
