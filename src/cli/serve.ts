/**
 * `capx-appliance serve`: run the daemon until SIGTERM/SIGINT.
 * @module
 */
import { spawn } from "node:child_process";
import { DEFAULT_CONFIG_PATH, loadConfigFile, parseListen, type Config } from "../config/config.ts";
import { startDaemon, SHUTDOWN_TIMEOUT_MS } from "../daemon/daemon.ts";
import { installHeapStatsSignal, startMemorySeries } from "../daemon/heap-stats.ts";
import { MemoryPacer } from "../daemon/memory-pacer.ts";
import { log } from "../lib/log.ts";
import { parseFlags, UsageError } from "./args.ts";

export const SERVE_USAGE = `usage: capx-appliance serve [--config FILE] [--data-dir DIR] [--listen HOST:PORT] [--tls-san NAME]... [--log-level LEVEL] [--controllers=false] [--lab] [--lab-proxy-listen HOST:PORT] [--lab-pve-listen HOST:PORT] [--lab-proxmox-backend inprocess|http|local] [--lab-inventory FILE] [--lab-latencies realistic|instant]`;

export function resolveServeConfig(argv: string[]): Config {
  const { flags, positional } = parseFlags(argv, {
    config: { type: "string" },
    "data-dir": { type: "string" },
    listen: { type: "string" },
    "tls-san": { type: "list" },
    "log-level": { type: "string" },
    controllers: { type: "boolean" },
    lab: { type: "boolean" },
    "lab-proxy-listen": { type: "string" },
    "lab-pve-listen": { type: "string" },
    "lab-proxmox-backend": { type: "string" },
    "lab-inventory": { type: "string" },
    "lab-latencies": { type: "string" },
  });
  if (positional.length) throw new UsageError(`serve takes no arguments, got ${JSON.stringify(positional[0])}`);
  const explicit = typeof flags.config === "string";
  const config = loadConfigFile(explicit ? (flags.config as string) : DEFAULT_CONFIG_PATH, explicit);
  if (typeof flags["data-dir"] === "string") config.dataDir = flags["data-dir"];
  if (typeof flags.listen === "string") config.listen = flags.listen;
  if (Array.isArray(flags["tls-san"])) config.tlsSANs = [...config.tlsSANs, ...flags["tls-san"]];
  if (typeof flags.controllers === "boolean") config.controllers = flags.controllers;
  if (typeof flags.lab === "boolean") config.lab.enabled = flags.lab;
  if (typeof flags["lab-proxy-listen"] === "string") config.lab.proxyListen = flags["lab-proxy-listen"];
  if (typeof flags["lab-pve-listen"] === "string") config.lab.pveListen = flags["lab-pve-listen"];
  if (typeof flags["lab-inventory"] === "string") config.lab.inventory = flags["lab-inventory"];
  if (typeof flags["lab-latencies"] === "string") {
    const l = flags["lab-latencies"];
    if (l !== "realistic" && l !== "instant") throw new UsageError("--lab-latencies must be realistic or instant");
    config.lab.latencies = l;
  }
  if (typeof flags["lab-proxmox-backend"] === "string") {
    const b = flags["lab-proxmox-backend"];
    if (!["inprocess", "http", "local"].includes(b)) throw new UsageError("--lab-proxmox-backend must be inprocess, http or local");
    config.lab.proxmoxBackend = b as Config["lab"]["proxmoxBackend"];
  }
  if (typeof flags["log-level"] === "string") {
    const l = flags["log-level"];
    if (!["debug", "info", "warn", "error"].includes(l)) throw new UsageError(`--log-level must be debug, info, warn or error`);
    config.logLevel = l as Config["logLevel"];
  }
  parseListen(config.listen);
  parseListen(config.lab.proxyListen);
  if (config.lab.pveListen !== "") parseListen(config.lab.pveListen);
  return config;
}

/** Tells systemd (Type=notify) that we are ready, when run under it. */
function notifySystemd(status: string): void {
  if (!process.env.NOTIFY_SOCKET) return;
  const child = spawn("systemd-notify", ["--ready", `--status=${status}`, `--pid=${process.pid}`], { stdio: "ignore" });
  child.on("error", (e) => log.warn({ component: "daemon", err: String(e) }, "systemd-notify failed"));
}

export async function serve(argv: string[]): Promise<void> {
  // Defence in depth against prototype pollution from request data: nothing may add to
  // Object.prototype once the daemon runs (every module is loaded by now).
  Object.freeze(Object.prototype);
  const config = resolveServeConfig(argv);
  log.setLevel(config.logLevel);
  // State holds CA keys and credentials: nothing we create is readable by others.
  process.umask(0o077);
  const daemon = await startDaemon(config);
  notifySystemd(`serving on ${daemon.url}`);
  installHeapStatsSignal();
  void startMemorySeries();
  new MemoryPacer().start();
  let signals = 0;
  const stop = (signal: string) => {
    signals++;
    if (signals > 1) {
      log.warn({ component: "daemon", signal }, "second signal: exiting now");
      process.exit(1);
    }
    log.info({ component: "daemon", signal }, "signal received");
    const hard = setTimeout(() => {
      log.error({ component: "daemon" }, "shutdown did not finish in time; exiting");
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    hard.unref?.();
    daemon.shutdown().then(
      () => process.exit(0),
      (e) => {
        log.error({ component: "daemon", err: String(e) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
