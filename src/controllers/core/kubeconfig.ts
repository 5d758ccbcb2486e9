/**
 * `<cluster>-kubeconfig` for clusters without a control-plane provider: written by the Cluster
 * controller from `<cluster>-ca`, as CAPI does (util/kubeconfig): cluster `<cluster>`, user
 * `<cluster>-admin`, context `<cluster>-admin@<cluster>`, client certificate CN=kubernetes-admin
 * O=system:masters, Secret type cluster.x-k8s.io/secret, key `value`. Re-issued (like upstream's
 * client-certificate rotation) when the endpoint changed, the certificate has less than six months
 * left, or — in lab mode — the CONNECT proxy moved; a Secret someone else wrote is left alone.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { buildKubeconfig, kubeconfigStale } from "../../providers/pki/kubeconfig.ts";
import type { Client } from "../../runtime/client.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { CLUSTER_NAME_LABEL, ownerRefTo } from "./contract.ts";

export const SECRET_TYPE = "cluster.x-k8s.io/secret";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, "base64").toString() : "");

/** Writes or renews `<cluster>-kubeconfig`; returns what was done (undefined: nothing). */
export async function ensureClusterKubeconfig(client: Client, cluster: KObject, ctx: ReconcileContext, proxyUrl?: string): Promise<"written" | "renewed" | undefined> {
  const ns = cluster.metadata.namespace!;
  const name = cluster.metadata.name!;
  const ep = (cluster.spec as { controlPlaneEndpoint: { host: string; port: number } }).controlPlaneEndpoint;
  const server = `https://${ep.host.includes(":") ? `[${ep.host}]` : ep.host}:${ep.port}`;
  const existing = client.get({ apiVersion: "v1", kind: "Secret", namespace: ns, name: `${name}-kubeconfig` });
  if (existing) {
    const ours = existing.type === SECRET_TYPE && existing.metadata.ownerReferences?.some((r) => r.uid === cluster.metadata.uid);
    if (!ours || !kubeconfigStale(unb64((existing.data as Record<string, string> | undefined)?.value), server, Date.now(), { url: proxyUrl })) return undefined;
  }
  const ca = client.get({ apiVersion: "v1", kind: "Secret", namespace: ns, name: `${name}-ca` });
  const data = (ca?.data ?? {}) as Record<string, string>;
  if (!data["tls.crt"] || !data["tls.key"]) {
    ctx.log.debug({ secret: `${name}-ca` }, "no cluster CA yet; kubeconfig not written");
    return undefined;
  }
  const caPem = unb64(data["tls.crt"]);
  const { issueCertificate } = await import("../../providers/pki/certs.ts");
  const admin = await issueCertificate({ certPem: caPem, keyPem: unb64(data["tls.key"]) }, {
    commonName: "kubernetes-admin",
    organizations: ["system:masters"],
    usage: "client",
    days: 365,
  });
  const kubeconfig = buildKubeconfig({
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
    await client.update({ ...existing, data: { ...(existing.data as Record<string, string>), value: b64(kubeconfig) } });
    ctx.log.info({ secret: `${name}-kubeconfig` }, "renewed the cluster kubeconfig");
    return "renewed";
  }
  await client.create({
    apiVersion: "v1",
    kind: "Secret",
    type: SECRET_TYPE,
    metadata: { name: `${name}-kubeconfig`, namespace: ns, labels: { [CLUSTER_NAME_LABEL]: name }, ownerReferences: [ownerRefTo(cluster, true)] },
    data: { value: b64(kubeconfig) },
  });
  ctx.log.info({ secret: `${name}-kubeconfig` }, "wrote the cluster kubeconfig");
  return "written";
}
