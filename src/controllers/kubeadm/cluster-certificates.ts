/**
 * The cluster certificate Secrets (`<cluster>-ca`, `-etcd`, `-proxy`, `-sa`; keys `tls.crt` /
 * `tls.key`, type cluster.x-k8s.io/secret, cluster-name label), looked up and — for the first
 * control plane of a cluster without a control-plane provider — generated once, owned by the
 * KubeadmConfig that generated them (controller reference), as upstream `LookupOrGenerate`.
 * Existing Secrets (a user-provided CA) are used as they are.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { secretName, type ClusterCertificates, type EncryptionAlgorithm, type KeyPair, type Purpose } from "../../providers/kubeadm/certificates.ts";
import { loadCertificateGeneration } from "../../providers/kubeadm/load-generation.ts";
import type { Client } from "../../runtime/client.ts";
import { CLUSTER_NAME_LABEL, ownerRefTo } from "../core/contract.ts";

export const CLUSTER_SECRET_TYPE = "cluster.x-k8s.io/secret";
export const CONTROL_PLANE_PURPOSES: Purpose[] = ["ca", "sa", "proxy", "etcd"];

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: unknown) => (typeof s === "string" && s ? Buffer.from(s, "base64").toString() : "");

export class CertificateError extends Error {}

function keyPairOf(secret: KObject): KeyPair {
  const data = (secret.data ?? {}) as Record<string, string>;
  if (!("tls.crt" in data)) throw new CertificateError(`failed to read keypair from certificate ${secret.metadata.namespace}/${secret.metadata.name}: missing data for key tls.crt`);
  return { cert: unb64(data["tls.crt"]), key: unb64(data["tls.key"]) };
}

/** The certificates of `purposes` that exist. */
export function lookupCertificates(client: Client, namespace: string, cluster: string, purposes: Purpose[]): ClusterCertificates {
  const out: ClusterCertificates = {};
  for (const p of purposes) {
    const s = client.get({ apiVersion: "v1", kind: "Secret", namespace, name: secretName(cluster, p) });
    if (s) out[p] = keyPairOf(s);
  }
  return out;
}

/** Fails unless every purpose has a certificate and a key (`EnsureAllExist`). */
export function ensureAllExist(certs: ClusterCertificates, purposes: Purpose[]): void {
  for (const p of purposes) {
    const kp = certs[p];
    if (!kp) throw new CertificateError("missing certificate");
    if (!kp.cert) throw new CertificateError(`missing crt data for certificate: ${p}`);
    if (!kp.key) throw new CertificateError(`missing key data for certificate: ${p}`);
  }
}

export interface GenerateOptions {
  algorithm?: EncryptionAlgorithm | "";
  validityDays?: number;
}

/** Looks up the control-plane certificates and generates + stores the missing ones, owned by `owner`. */
export async function lookupOrGenerateCertificates(client: Client, cluster: KObject, owner: KObject, opts: GenerateOptions = {}): Promise<ClusterCertificates> {
  const ns = cluster.metadata.namespace!;
  const name = cluster.metadata.name!;
  const certs = lookupCertificates(client, ns, name, CONTROL_PLANE_PURPOSES);
  for (const p of CONTROL_PLANE_PURPOSES) {
    if (certs[p]) continue;
    const kp = await (await loadCertificateGeneration()).generatePurpose(p, opts);
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: CLUSTER_SECRET_TYPE,
      metadata: { name: secretName(name, p), namespace: ns, labels: { [CLUSTER_NAME_LABEL]: name }, ownerReferences: [ownerRefTo(owner, true)] },
      data: { "tls.key": b64(kp.key), "tls.crt": b64(kp.cert) },
    } as KObject;
    try {
      await client.create(secret);
      certs[p] = kp;
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
      // Someone else stored it first: theirs is the cluster's.
      const other = client.get({ apiVersion: "v1", kind: "Secret", namespace: ns, name: secretName(name, p) });
      if (!other) throw e;
      certs[p] = keyPairOf(other);
    }
  }
  return certs;
}
