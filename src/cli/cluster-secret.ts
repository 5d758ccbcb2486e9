/**
 * Reading one key of a cluster's Secret through the appliance's own API with the admin
 * kubeconfig of its data dir: what `kubeconfig CLUSTER` and `talosconfig CLUSTER` print.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseKubeconfig } from "../providers/workload/kubeconfig.ts";
import { UsageError } from "./args.ts";

export class CommandError extends Error {}

export async function readClusterSecret(dataDir: string, namespace: string, secret: string, key: string): Promise<string> {
  const path = join(dataDir, "admin.kubeconfig");
  if (!existsSync(path)) throw new UsageError(`${path} not found: has the daemon run with --data-dir ${dataDir}?`);
  const access = parseKubeconfig(readFileSync(path, "utf8"));
  const url = `${access.server}/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(secret)}`;
  let res: Response;
  try {
    res = await fetch(url, { tls: { ca: access.caPem, cert: access.certPem, key: access.keyPem } } as RequestInit);
  } catch (e) {
    throw new CommandError(`cannot reach the appliance at ${access.server}: ${(e as Error).message}`);
  }
  const body = (await res.json()) as { data?: Record<string, string>; message?: string };
  if (res.status === 404) throw new CommandError(`secret ${namespace}/${secret} not found (is the cluster provisioned yet?)`);
  if (!res.ok) throw new CommandError(`reading secret ${namespace}/${secret}: ${body.message ?? res.statusText}`);
  const value = body.data?.[key];
  if (value === undefined) throw new CommandError(`secret ${namespace}/${secret} has no key ${JSON.stringify(key)}`);
  return Buffer.from(value, "base64").toString();
}
