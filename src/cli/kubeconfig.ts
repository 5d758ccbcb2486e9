/**
 * `capx-appliance kubeconfig --admin [--server URL] [--data-dir DIR]`: print an admin
 * kubeconfig for use from another machine; `kubeconfig CLUSTER [-n NS]` prints a workload
 * cluster's (`<cluster>-kubeconfig`, as `clusterctl get kubeconfig`); `talosconfig CLUSTER`
 * its talosconfig (`<cluster>-talosconfig`).
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { DEFAULT_DATA_DIR } from "../config/config.ts";
import { adminKubeconfig } from "../daemon/pki-files.ts";
import { parseFlags, UsageError } from "./args.ts";
import { readClusterSecret } from "./cluster-secret.ts";

export const KUBECONFIG_USAGE = `usage: capx-appliance kubeconfig --admin [--server URL] [--data-dir DIR]
       capx-appliance kubeconfig CLUSTER [--namespace NS] [--data-dir DIR]
       capx-appliance talosconfig CLUSTER [--namespace NS] [--data-dir DIR]`;

const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `kubeconfig CLUSTER` / `talosconfig CLUSTER`: a key of the cluster's Secret. */
export async function clusterSecretCommand(kind: "kubeconfig" | "talosconfig", argv: string[]): Promise<string> {
  const { flags, positional } = parseFlags(argv, { namespace: { type: "string" }, n: { type: "string" }, "data-dir": { type: "string" } });
  const [cluster, extra] = positional;
  if (!cluster || extra !== undefined) throw new UsageError(`usage: capx-appliance ${kind} CLUSTER [--namespace NS] [--data-dir DIR]`);
  if (!CLUSTER_NAME.test(cluster)) throw new UsageError(`${JSON.stringify(cluster)} is not a valid cluster name`);
  const namespace = (flags.namespace as string | undefined) ?? (flags.n as string | undefined) ?? "default";
  const dataDir = (flags["data-dir"] as string | undefined) ?? DEFAULT_DATA_DIR;
  return readClusterSecret(dataDir, namespace, `${cluster}-${kind}`, kind === "kubeconfig" ? "value" : "talosconfig");
}

export function kubeconfigCommand(argv: string[]): string {
  const { flags, positional } = parseFlags(argv, { admin: { type: "boolean" }, server: { type: "string" }, "data-dir": { type: "string" } });
  if (positional.length > 0) throw new UsageError("use kubeconfig CLUSTER [--namespace NS] for a workload cluster, or --admin for the appliance itself");
  if (!flags.admin) throw new UsageError(KUBECONFIG_USAGE);
  const dataDir = (flags["data-dir"] as string | undefined) ?? DEFAULT_DATA_DIR;
  const pkiDir = join(dataDir, "pki");
  const files = ["ca.crt", "admin.crt", "admin.key"].map((f) => join(pkiDir, f));
  for (const f of files) if (!existsSync(f)) throw new UsageError(`${f} not found: has the daemon run with --data-dir ${dataDir}?`);
  let server = flags.server as string | undefined;
  if (server === undefined) {
    const current = join(dataDir, "admin.kubeconfig");
    server = existsSync(current) ? serverOf(readFileSync(current, "utf8")) : undefined;
    server ??= "https://127.0.0.1:6443";
  }
  if (!/^https:\/\/[^/\s]+(\/.*)?$/.test(server)) throw new UsageError(`--server must be an https:// URL, got ${JSON.stringify(server)}`);
  const [ca, cert, key] = files.map((f) => readFileSync(f, "utf8")) as [string, string, string];
  return adminKubeconfig({ ca: { certPem: ca, keyPem: "" }, serving: { certPem: "", keyPem: "" }, admin: { certPem: cert, keyPem: key } }, server);
}

/** The first cluster's server of a kubeconfig (the daemon writes it quoted; a user may not). */
export function serverOf(kubeconfig: string): string | undefined {
  try {
    const doc = parse(kubeconfig) as { clusters?: { cluster?: { server?: unknown } }[] } | null;
    const server = doc?.clusters?.[0]?.cluster?.server;
    return typeof server === "string" ? server : undefined;
  } catch {
    return undefined;
  }
}
