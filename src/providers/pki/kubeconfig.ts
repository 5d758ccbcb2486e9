/**
 * Kubeconfig files with embedded credentials.
 * @module
 */
import { stringify } from "yaml";

export interface KubeconfigOptions {
  server: string;
  caPem: string;
  clusterName: string;
  userName: string;
  contextName?: string;
  namespace?: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
  proxyUrl?: string;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

export function buildKubeconfig(o: KubeconfigOptions): string {
  const context = o.contextName ?? `${o.userName}@${o.clusterName}`;
  const user: Record<string, string> = {};
  if (o.certPem) user["client-certificate-data"] = b64(o.certPem);
  if (o.keyPem) user["client-key-data"] = b64(o.keyPem);
  if (o.token) user.token = o.token;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: o.clusterName,
        cluster: { server: o.server, "certificate-authority-data": b64(o.caPem), ...(o.proxyUrl ? { "proxy-url": o.proxyUrl } : {}) },
      },
    ],
    users: [{ name: o.userName, user }],
    contexts: [{ name: context, context: { cluster: o.clusterName, user: o.userName, ...(o.namespace ? { namespace: o.namespace } : {}) } }],
    "current-context": context,
    preferences: {},
  });
}
