/**
 * `<cluster>-kubeconfig` for clusters with a TalosControlPlane (CACPPT's duty): type
 * cluster.x-k8s.io/secret, key `value`, an admin client certificate (CN=kubernetes-admin,
 * O=system:masters) signed by `<cluster>-ca`, re-issued when less than six months remain, the
 * control-plane endpoint changed or (lab mode) the lab proxy it names is not this process' proxy —
 * the lab proxy listens on a new port after a restart, and a stale `proxy-url` makes the kubeconfig
 * unusable. Owned by the Cluster (controller reference), as CAPI reads it.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { certInfo } from "../../providers/pki/cert-info.ts";
import { buildKubeconfig } from "../../providers/pki/kubeconfig.ts";
import type { Client } from "../../runtime/client.ts";
import { CLUSTER_NAME_LABEL, ownerRefTo } from "../core/contract.ts";
import { b64, getSecret, SECRET_TYPE, secretValue } from "./common.ts";
import { parse } from "yaml";

export const RENEW_BEFORE_MS = 183 * 24 * 60 * 60 * 1000;
const VALIDITY_DAYS = 365;

/**
 * Why the stored kubeconfig must be (re)written, or undefined when it is current. With `proxy`,
 * the kubeconfig's `proxy-url` must be `proxy.url` (none when that is undefined).
 */
export function kubeconfigStale(text: string, server: string, now = Date.now(), proxy?: { url: string | undefined }): string | undefined {
  if (!text) return "missing";
  let cfg: { clusters?: { cluster?: { server?: string; "proxy-url"?: string } }[]; users?: { user?: { "client-certificate-data"?: string } }[] };
  try {
    cfg = parse(text) as typeof cfg;
  } catch {
    return "unreadable";
  }
  if (cfg.clusters?.[0]?.cluster?.server !== server) return "endpoint changed";
  if (proxy && (cfg.clusters?.[0]?.cluster?.["proxy-url"] || undefined) !== (proxy.url || undefined)) return "lab proxy changed";
  const crt = cfg.users?.[0]?.user?.["client-certificate-data"];
  if (!crt) return "no client certificate";
  const notAfter = certInfo(Buffer.from(crt, "base64").toString()).notAfter.getTime();
  return notAfter - now < RENEW_BEFORE_MS ? "client certificate expires within six months" : undefined;
}

/** Writes or renews the kubeconfig; returns what was done (undefined: nothing to do / no CA yet). */
export async function ensureControlPlaneKubeconfig(client: Client, cluster: KObject, proxyUrl?: string): Promise<string | undefined> {
  const ns = cluster.metadata.namespace!;
  const name = cluster.metadata.name!;
  const ep = (cluster.spec as { controlPlaneEndpoint?: { host?: string; port?: number } }).controlPlaneEndpoint;
  if (!ep?.host || !ep.port) return undefined;
  const server = `https://${ep.host.includes(":") ? `[${ep.host}]` : ep.host}:${ep.port}`;
  const existing = getSecret(client, ns, `${name}-kubeconfig`);
  const why = kubeconfigStale(secretValue(existing, "value"), server, Date.now(), { url: proxyUrl });
  if (!why) return undefined;
  const ca = getSecret(client, ns, `${name}-ca`);
  const caPem = secretValue(ca, "tls.crt");
  const caKey = secretValue(ca, "tls.key");
  if (!caPem || !caKey) return undefined;
  const { issueCertificate } = await import("../../providers/pki/certs.ts");
  const admin = await issueCertificate({ certPem: caPem, keyPem: caKey }, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client", days: VALIDITY_DAYS });
  const value = buildKubeconfig({
    server,
    caPem,
    clusterName: name,
    userName: `${name}-admin`,
    contextName: `${name}-admin@${name}`,
    certPem: admin.certPem,
    keyPem: admin.keyPem,
    proxyUrl,
  });
  if (existing) {
    await client.patch({ apiVersion: "v1", kind: "Secret", namespace: ns, name: `${name}-kubeconfig` }, "merge", { data: { value: b64(value) } });
  } else {
    await client.create({
      apiVersion: "v1",
      kind: "Secret",
      type: SECRET_TYPE,
      metadata: { name: `${name}-kubeconfig`, namespace: ns, labels: { [CLUSTER_NAME_LABEL]: name }, ownerReferences: [ownerRefTo(cluster, true)] },
      data: { value: b64(value) },
    } as KObject);
  }
  return why;
}
