/**
 * Reading kubeconfig files: the current context's server, CA and credentials.
 * @module
 */
import { parse } from "yaml";

export interface KubeconfigAccess {
  server: string;
  caPem?: string;
  insecure?: boolean;
  certPem?: string;
  keyPem?: string;
  token?: string;
  proxyUrl?: string;
}

type Named<T> = { name: string } & T;
interface KubeconfigDoc {
  clusters?: Named<{ cluster?: Record<string, unknown> }>[];
  users?: Named<{ user?: Record<string, unknown> }>[];
  contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
  "current-context"?: string;
}

const unb64 = (v: unknown) => (typeof v === "string" ? Buffer.from(v, "base64").toString() : undefined);

export function parseKubeconfig(text: string): KubeconfigAccess {
  const doc = parse(text) as KubeconfigDoc;
  const ctxName = doc["current-context"];
  const ctx = doc.contexts?.find((c) => c.name === ctxName) ?? doc.contexts?.[0];
  const cluster = doc.clusters?.find((c) => c.name === ctx?.context?.cluster) ?? doc.clusters?.[0];
  const user = doc.users?.find((u) => u.name === ctx?.context?.user) ?? doc.users?.[0];
  const c = cluster?.cluster ?? {};
  const u = user?.user ?? {};
  if (typeof c.server !== "string" || !c.server) throw new Error("kubeconfig has no server");
  return {
    server: c.server,
    caPem: unb64(c["certificate-authority-data"]),
    insecure: c["insecure-skip-tls-verify"] === true,
    certPem: unb64(u["client-certificate-data"]),
    keyPem: unb64(u["client-key-data"]),
    token: typeof u.token === "string" ? u.token : undefined,
    proxyUrl: typeof c["proxy-url"] === "string" ? c["proxy-url"] : undefined,
  };
}
