/**
 * Kubeconfig files with embedded credentials.
 * @module
 */
import { memoByText } from "../../lib/memo.ts";
import { parse } from "yaml";
import { certInfo } from "./cert-info.ts";

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

export const RENEW_BEFORE_MS = 183 * 24 * 60 * 60 * 1000;

/**
 * Why the stored kubeconfig must be (re)written, or undefined when it is current. With `proxy`,
 * the kubeconfig's `proxy-url` must be `proxy.url` (none when that is undefined).
 */
export function kubeconfigStale(text: string, server: string, now = Date.now(), proxy?: { url: string | undefined }): string | undefined {
  if (!text) return "missing";
  const facts = kubeconfigFacts(text);
  if (!facts) return "unreadable";
  if (facts.server !== server) return "endpoint changed";
  if (proxy && (facts.proxyUrl || undefined) !== (proxy.url || undefined)) return "lab proxy changed";
  if (facts.notAfter === undefined) return "no client certificate";
  return facts.notAfter - now < RENEW_BEFORE_MS ? "client certificate expires within six months" : undefined;
}

/** What staleness depends on, read once per kubeconfig text (controllers check it on every reconcile). */
const kubeconfigFacts = memoByText((text: string): { server?: string; proxyUrl?: string; notAfter?: number } | undefined => {
  let cfg: { clusters?: { cluster?: { server?: string; "proxy-url"?: string } }[]; users?: { user?: { "client-certificate-data"?: string } }[] };
  try {
    cfg = parse(text) as typeof cfg;
  } catch {
    return undefined;
  }
  const crt = cfg?.users?.[0]?.user?.["client-certificate-data"];
  return {
    server: cfg?.clusters?.[0]?.cluster?.server,
    proxyUrl: cfg?.clusters?.[0]?.cluster?.["proxy-url"],
    notAfter: crt ? certInfo(Buffer.from(crt, "base64").toString()).notAfter.getTime() : undefined,
  };
});
