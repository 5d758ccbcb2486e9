/**
 * Certificates for the appliance's own API: a CA, serving and client certificates (ECDSA P-256,
 * SHA-256), PEM in and out.
 * @module
 */
import { memoByText } from "../../lib/memo.ts";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createPrivateKey, webcrypto } from "node:crypto";

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
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

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function dn(cn: string, orgs: string[] = []): string {
  const esc = (v: string) => v.replace(/([,+"\\<>;=])/g, "\\$1");
  return [...orgs.map((o) => `O=${esc(o)}`), `CN=${esc(cn)}`].join(", ");
}

function serial(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0]! &= 0x7f;
  return Buffer.from(b).toString("hex");
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function exportKey(key: CryptoKey): Promise<string> {
  return pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", key));
}

/**
 * A CA's private key (PKCS#8 or PKCS#1/SEC1 PEM; EC or RSA, as kubeadm and Talos make them) as a
 * WebCrypto signing key, with the matching signature algorithm.
 */
async function importSigningKey(keyPem: string): Promise<{ key: CryptoKey; algorithm: { name: string; hash?: string } }> {
  const k = createPrivateKey(keyPem);
  const der = k.export({ type: "pkcs8", format: "der" });
  if (k.asymmetricKeyType === "rsa") {
    const alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    return { key: await crypto.subtle.importKey("pkcs8", der, alg, true, ["sign"]), algorithm: alg };
  }
  if (k.asymmetricKeyType === "ec") {
    const curve = k.asymmetricKeyDetails?.namedCurve === "secp384r1" ? "P-384" : "P-256";
    const key = await crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: curve }, true, ["sign"]);
    return { key, algorithm: { name: "ECDSA", hash: curve === "P-384" ? "SHA-384" : "SHA-256" } };
  }
  if (k.asymmetricKeyType === "ed25519") {
    return { key: await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]), algorithm: { name: "Ed25519" } };
  }
  throw new Error(`unsupported CA key type ${k.asymmetricKeyType}`);
}

export async function createCA(commonName: string, days = 3650): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: dn(commonName),
    notBefore: new Date(now.getTime() - 5 * 60 * 1000),
    notAfter: new Date(now.getTime() + days * DAY),
    keys,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await exportKey(keys.privateKey) };
}

// A CA issues several certificates (serving, clients): parse and import it once.
const parsedCA = memoByText((pem: string) => new x509.X509Certificate(pem), 64, false);
const signingKeyOf = memoByText(importSigningKey, 64, false);

export async function issueCertificate(ca: KeyPairPem, opts: IssueOptions): Promise<KeyPairPem> {
  const caCert = parsedCA(ca.certPem);
  const { key: caKey, algorithm } = await signingKeyOf(ca.keyPem);
  const keys = await generateKeys();
  const now = new Date();
  const eku: string[] = [];
  if (opts.usage !== "client") eku.push(x509.ExtendedKeyUsage.serverAuth);
  if (opts.usage !== "server") eku.push(x509.ExtendedKeyUsage.clientAuth);
  const sans = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: dn(opts.commonName, opts.organizations),
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 5 * 60 * 1000),
    notAfter: new Date(now.getTime() + opts.days * DAY),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(eku, false),
      // The CA's own key id when it has one: imported CAs (a Talos bundle) may carry one not derived from the key.
      caCert.getExtension(x509.SubjectKeyIdentifierExtension)
        ? new x509.AuthorityKeyIdentifierExtension(caCert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId, false)
        : await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
      ...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans, false)] : []),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await exportKey(keys.privateKey) };
}
