/**
 * `capx-appliance kubeconfig --admin [--server URL] [--data-dir DIR]`: print an admin
 * kubeconfig for use from another machine.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_DATA_DIR } from "../config/config.ts";
import { adminKubeconfig } from "../daemon/pki-files.ts";
import { parseFlags, UsageError } from "./args.ts";

export const KUBECONFIG_USAGE = "usage: capx-appliance kubeconfig --admin [--server URL] [--data-dir DIR]";

export function kubeconfigCommand(argv: string[]): string {
  const { flags, positional } = parseFlags(argv, { admin: { type: "boolean" }, server: { type: "string" }, "data-dir": { type: "string" } });
  if (positional.length > 0) throw new UsageError("workload cluster kubeconfigs arrive with the Cluster API controllers; use --admin for the appliance itself");
  if (!flags.admin) throw new UsageError(KUBECONFIG_USAGE);
  const dataDir = (flags["data-dir"] as string | undefined) ?? DEFAULT_DATA_DIR;
  const pkiDir = join(dataDir, "pki");
  const files = ["ca.crt", "admin.crt", "admin.key"].map((f) => join(pkiDir, f));
  for (const f of files) if (!existsSync(f)) throw new UsageError(`${f} not found: has the daemon run with --data-dir ${dataDir}?`);
  let server = flags.server as string | undefined;
  if (server === undefined) {
    const current = join(dataDir, "admin.kubeconfig");
    const m = existsSync(current) ? /server: (\S+)/.exec(readFileSync(current, "utf8")) : null;
    server = m?.[1] ?? "https://127.0.0.1:6443";
  }
  if (!/^https:\/\/[^/\s]+(\/.*)?$/.test(server)) throw new UsageError(`--server must be an https:// URL, got ${JSON.stringify(server)}`);
  const [ca, cert, key] = files.map((f) => readFileSync(f, "utf8")) as [string, string, string];
  return adminKubeconfig({ ca: { certPem: ca, keyPem: "" }, serving: { certPem: "", keyPem: "" }, admin: { certPem: cert, keyPem: key } }, server);
}
