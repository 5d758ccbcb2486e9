/**
 * Whether a daemon is serving from a data dir. The daemon writes DATA_DIR/daemon.pid at start and
 * removes it at a clean stop, and a backup leaves it out: no file, no daemon. A file naming a live
 * `serve` process means one runs. A file whose pid is dead or runs another program is stale (the
 * daemon was SIGKILLed) — or the daemon runs in another pid namespace (a container): then the
 * server in DATA_DIR/admin.kubeconfig decides, if it answers /livez over TLS with a certificate
 * of this data dir's CA.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseKubeconfig } from "../providers/workload/kubeconfig.ts";

function pidFile(dataDir: string): number | undefined {
  const file = join(dataDir, "daemon.pid");
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : -1;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const cmdline = `/proc/${pid}/cmdline`;
  // A reused pid runs some other program: only a `serve` command line counts.
  if (existsSync("/proc/self") && (!existsSync(cmdline) || !readFileSync(cmdline, "utf8").split("\0").includes("serve"))) return false;
  return true;
}

async function answers(dataDir: string): Promise<string | undefined> {
  const path = join(dataDir, "admin.kubeconfig");
  if (!existsSync(path)) return undefined;
  let access;
  try {
    access = parseKubeconfig(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
  try {
    const res = await fetch(`${access.server}/livez`, {
      tls: { ca: access.caPem, cert: access.certPem, key: access.keyPem },
      signal: AbortSignal.timeout(3000),
    } as RequestInit);
    await res.arrayBuffer();
    return access.server;
  } catch {
    return undefined;
  }
}

/** A description of the daemon serving from `dataDir` ("pid 123", "serving on https://..."), or undefined. */
export async function runningDaemon(dataDir: string): Promise<string | undefined> {
  const pid = pidFile(dataDir);
  if (pid === undefined) return undefined;
  if (pid > 0 && alive(pid)) return `pid ${pid}`;
  const server = await answers(dataDir);
  return server ? `serving on ${server}` : undefined;
}
