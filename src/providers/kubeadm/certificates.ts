/**
 * The cluster certificates of a kubeadm cluster as Cluster API keeps them (upstream
 * `util/secret/certificates.go`): four Secrets `<cluster>-ca`, `-etcd`, `-proxy` (self-signed CAs,
 * CN=kubernetes) and `-sa` (the service-account key pair: `tls.crt` is the public key), and the
 * files a control-plane node gets from them under `certificatesDir` (default /etc/kubernetes/pki).
 * Generating them is in certificate-generation.ts, loaded on first use (its ASN.1 stack needs
 * reflect-metadata first and costs start-up time).
 * @module
 */
import { createHash, X509Certificate } from "node:crypto";

export const DEFAULT_CERTIFICATES_DIR = "/etc/kubernetes/pki";
export const DEFAULT_CA_VALIDITY_DAYS = 3650;

export type Purpose = "ca" | "etcd" | "proxy" | "sa";
/** The order upstream writes them as files (`Certificates.AsFiles`). */
export const FILE_ORDER: Purpose[] = ["ca", "etcd", "proxy", "sa"];

export type EncryptionAlgorithm = "RSA-2048" | "RSA-3072" | "RSA-4096" | "ECDSA-P256" | "ECDSA-P384";

export interface KeyPair {
  /** PEM certificate (for `sa`: the PEM public key). */
  cert: string;
  /** PEM private key; empty when only the certificate is known. */
  key: string;
}

export type ClusterCertificates = Partial<Record<Purpose, KeyPair>>;

export interface CertFile {
  path: string;
  owner: string;
  permissions: string;
  content: string;
}

export function secretName(cluster: string, purpose: Purpose): string {
  return `${cluster}-${purpose}`;
}

/** Certificate and key paths of each purpose under `dir` (NewCertificatesForInitialControlPlane). */
export function certificatePaths(dir = DEFAULT_CERTIFICATES_DIR): Record<Purpose, { cert: string; key: string }> {
  const d = dir || DEFAULT_CERTIFICATES_DIR;
  return {
    ca: { cert: `${d}/ca.crt`, key: `${d}/ca.key` },
    sa: { cert: `${d}/sa.pub`, key: `${d}/sa.key` },
    proxy: { cert: `${d}/front-proxy-ca.crt`, key: `${d}/front-proxy-ca.key` },
    etcd: { cert: `${d}/etcd/ca.crt`, key: `${d}/etcd/ca.key` },
  };
}

/** The write_files entries of a control plane: ca, etcd, proxy, sa; certificate 0640, key 0600. */
export function certificateFiles(certs: ClusterCertificates, dir?: string): CertFile[] {
  const paths = certificatePaths(dir);
  const out: CertFile[] = [];
  for (const p of FILE_ORDER) {
    const kp = certs[p];
    if (!kp) continue;
    if (kp.cert) out.push({ path: paths[p].cert, owner: "root:root", permissions: "0640", content: kp.cert });
    if (kp.key) out.push({ path: paths[p].key, owner: "root:root", permissions: "0600", content: kp.key });
  }
  return out;
}

/**
 * kubeadm's discovery hashes of a CA bundle: `sha256:<hex>` of each certificate's
 * SubjectPublicKeyInfo (`Certificate.Hashes`).
 */
export function caCertHashes(pem: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw new Error("unable to parse ca certificate: no PEM certificate");
  return blocks.map((b) => {
    const spki = new X509Certificate(b).publicKey.export({ type: "spki", format: "der" });
    return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
  });
}
