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
import { buildKubeconfig, kubeconfigStale } from "../../providers/pki/kubeconfig.ts";
import type { Client } from "../../runtime/client.ts";
import { CLUSTER_NAME_LABEL, ownerRefTo } from "../core/contract.ts";
const VALIDITY_DAYS = 365;

export { kubeconfigStale, RENEW_BEFORE_MS } from "../../providers/pki/kubeconfig.ts";
import { b64, getSecret, SECRET_TYPE, secretValue } from "./common.ts";

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
