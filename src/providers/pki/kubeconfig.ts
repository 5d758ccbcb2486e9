/**
 * Kubeconfig files with embedded credentials.
 * @module
 */

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

/** YAML scalar: a double-quoted string (JSON string syntax is valid YAML). */
const q = (s: string) => JSON.stringify(s);

export function buildKubeconfig(o: KubeconfigOptions): string {
  const context = o.contextName ?? `${o.userName}@${o.clusterName}`;
  const user: string[] = [];
  if (o.certPem) user.push(`    client-certificate-data: ${q(b64(o.certPem))}`);
  if (o.keyPem) user.push(`    client-key-data: ${q(b64(o.keyPem))}`);
  if (o.token) user.push(`    token: ${q(o.token)}`);
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${q(o.clusterName)}`,
    "  cluster:",
    `    server: ${q(o.server)}`,
    `    certificate-authority-data: ${q(b64(o.caPem))}`,
    ...(o.proxyUrl ? [`    proxy-url: ${q(o.proxyUrl)}`] : []),
    "users:",
    `- name: ${q(o.userName)}`,
    ...(user.length ? ["  user:", ...user] : ["  user: {}"]),
    "contexts:",
    `- name: ${q(context)}`,
    "  context:",
    `    cluster: ${q(o.clusterName)}`,
    `    user: ${q(o.userName)}`,
    ...(o.namespace ? [`    namespace: ${q(o.namespace)}`] : []),
    `current-context: ${q(context)}`,
    "preferences: {}",
    "",
  ].join("\n");
}
