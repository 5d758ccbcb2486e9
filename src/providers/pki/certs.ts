/**
 * Certificates for the appliance's own API: a CA, serving and client certificates (ECDSA P-256,
 * SHA-256), PEM in and out.
 * @module
 */
import { memoByText } from "../../lib/memo.ts";
import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { buildCertificate, certificatePem, encodeName, EKU, issuerInfo, keyIdentifier, KU } from "./x509-build.ts";

const DAY = 24 * 60 * 60 * 1000;

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface IssueOptions {
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: "server" | "client" | "server-client";
  days: number;
}

function generateKeys(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" });
}

function exportKey(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }) as string;
}

/** A CA's private key (PKCS#8 or PKCS#1/SEC1 PEM; EC, RSA or Ed25519, as kubeadm and Talos make them). */
function importSigningKey(keyPem: string): KeyObject {
  const k = createPrivateKey(keyPem);
  if (!["rsa", "ec", "ed25519"].includes(k.asymmetricKeyType ?? "")) throw new Error(`unsupported CA key type ${k.asymmetricKeyType}`);
  return k;
}

export async function createCA(commonName: string, days = 3650): Promise<KeyPairPem> {
  const keys = generateKeys();
  const now = Date.now();
  const der = buildCertificate({
    subject: encodeName({ commonName }),
    notBefore: new Date(now - 5 * 60 * 1000),
    notAfter: new Date(now + days * DAY),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    ca: true,
    keyUsage: [KU.keyCertSign, KU.cRLSign, KU.digitalSignature],
  });
  return { certPem: certificatePem(der), keyPem: exportKey(keys.privateKey) };
}

// A CA issues several certificates (serving, clients): parse and import it once.
const parsedCA = memoByText(issuerInfo, 64, false);
const signingKeyOf = memoByText(importSigningKey, 64, false);

export async function issueCertificate(ca: KeyPairPem, opts: IssueOptions): Promise<KeyPairPem> {
  const caCert = parsedCA(ca.certPem);
  const caKey = signingKeyOf(ca.keyPem);
  const keys = generateKeys();
  const now = Date.now();
  const eku: string[] = [];
  if (opts.usage !== "client") eku.push(EKU.serverAuth);
  if (opts.usage !== "server") eku.push(EKU.clientAuth);
  const der = buildCertificate({
    subject: encodeName({ organizations: opts.organizations, commonName: opts.commonName }),
    issuer: caCert.subject,
    notBefore: new Date(now - 5 * 60 * 1000),
    notAfter: new Date(now + opts.days * DAY),
    publicKey: keys.publicKey,
    signingKey: caKey,
    keyUsage: [KU.digitalSignature, KU.keyEncipherment],
    extKeyUsage: eku,
    subjectKeyId: false,
    // The CA's own key id when it has one: imported CAs (a Talos bundle) may carry one not derived from the key.
    authorityKeyId: caCert.subjectKeyId ?? keyIdentifier(caCert.publicKey),
    dnsNames: opts.dnsNames,
    ipAddresses: opts.ipAddresses,
  });
  return { certPem: certificatePem(der), keyPem: exportKey(keys.privateKey) };
}
