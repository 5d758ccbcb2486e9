#!/usr/bin/env bun
/**
 * `pvesh` for the lab PVE: `pvesh get|set|create|delete <api_path> [--param value …]
 * [--output-format text|json|json-pretty] [--quiet]` against the lab's HTTPS API (which, like
 * pvesh, reaches every node). As the real one: a worker runs in the foreground (its log on stdout,
 * a failure's text on stderr) and then the UPID is printed, exit 0 even when the task failed;
 * a `die` exits 255 with its text on stderr; a path without a handler prints
 * `No '<cmd>' handler defined for '<path>'` and exits 1; a method returning null prints nothing.
 * @module
 */
import { apiParams, dataOrExit, followTask, isUpid, labClientFromEnv, parseArgs, perlJson, perlPrettyJson, runShim, ShimExit, stdio, type ShimIO } from "./cli.ts";

const METHODS: Record<string, string> = { get: "GET", set: "PUT", create: "POST", delete: "DELETE" };
const FORMAT_OPTIONS = ["output-format", "quiet", "noborder", "noheader", "human-readable"];

function printResult(io: ShimIO, data: unknown, format: string): void {
  if (data === null || data === undefined) return;
  if (format === "json") io.out(`${perlJson(data)}\n`);
  else if (format === "json-pretty") io.out(perlPrettyJson(data));
  else if (typeof data !== "object") io.out(`${String(data)}\n`);
  else io.out(perlPrettyJson(data)); // text tables are for people; the lab prints JSON instead
}

/** Runs `pvesh <args>`; returns the exit code. */
export async function runPvesh(args: string[], env: Record<string, string | undefined>, io: ShimIO): Promise<number> {
  return runShim(async () => {
    let rest = [...args];
    let quiet = false;
    while (rest[0] === "--noproxy" || rest[0] === "--nooutput") {
      if (rest[0] === "--nooutput") quiet = true;
      rest = rest.slice(1);
    }
    const cmd = rest[0] ?? "";
    const method = METHODS[cmd];
    if (!method) throw new ShimExit(255, `ERROR: ${cmd ? `unknown command 'pvesh ${cmd}'` : "no command specified"}\nUSAGE: pvesh <COMMAND> [ARGS] [OPTIONS]\n`);
    const a = parseArgs(rest.slice(1));
    const rawPath = a.positional[0];
    const usage = `pvesh ${cmd} <api_path> [OPTIONS] [FORMAT_OPTIONS]`;
    if (rawPath === undefined) throw new ShimExit(255, `400 not enough arguments\n${usage}\n`);
    if (a.positional.length > 1) throw new ShimExit(255, `400 too many arguments\n${usage}\n`);
    const path = `/${rawPath.replace(/^\/+|\/+$/g, "").replace(/\/+/g, "/")}`;
    const format = a.options["output-format"]?.[0] ?? "text";
    if (!["text", "json", "json-pretty", "yaml"].includes(format)) throw new ShimExit(255, `400 Parameter verification failed.\noutput-format: value '${format}' does not have a value in the enumeration 'text, json, json-pretty, yaml'\n${usage}\n`);
    quiet ||= a.options.quiet?.[0] === "1";
    const client = labClientFromEnv(env, ["pvesh", ...args]);
    const res = await client.request(method, path, apiParams(a.options, [...FORMAT_OPTIONS, "noproxy"]));
    if (res.status === 501) throw new ShimExit(1, `No '${cmd}' handler defined for '${path}'\n`);
    const data = dataOrExit(res, usage);
    if (method !== "GET" && isUpid(data)) await followTask(client, data, io, usage);
    if (!quiet) printResult(io, data, format);
    return 0;
  }, io);
}

if (import.meta.main) process.exit(await runPvesh(process.argv.slice(2), process.env, stdio));
