/**
 * Talos-shaped certificates: the OS (machine API) CA is Ed25519 with O=talos, apid's serving
 * certificate and talosctl-style client certificates are Ed25519 leaves of it. Client certificates
 * carry the role in O (`os:admin`) and EKU ClientAuth only, as apid insists on.
 *
 * Keys are PKCS#8 PEM; Talos labels its Ed25519 keys `ED25519 PRIVATE KEY` (same PKCS#8 body), which
 * {@link normalizeKeyPem} turns back into the standard label for Node/Bun.
 * @module
 */
import { memoByText } from "../../../lib/memo.ts";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createHash, createPrivateKey, webcrypto } from "node:crypto";
import { normalizeKeyPem } from "./pem.ts";

export { normalizeKeyPem, pemFromConfig } from "./pem.ts";

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

const ED = { name: "Ed25519" } as const;
const HOUR = 60 * 60 * 1000;

export interface TalosKeyPair {
  certPem: string;
  keyPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function serial(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0]! &= 0x7f;
  return Buffer.from(b).toString("hex");
}

function dn(parts: { o?: string[]; cn?: string }): string {
  const esc = (v: string) => v.replace(/([,+"\\<>;=])/g, "\\$1");
  return [...(parts.o ?? []).map((o) => `O=${esc(o)}`), ...(parts.cn ? [`CN=${esc(parts.cn)}`] : [])].join(", ");
}

async function edKeys(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ED, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function exportKey(key: CryptoKey): Promise<string> {
  return pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", key));
}

async function importCAKey(keyPem: string): Promise<CryptoKey> {
  const k = createPrivateKey(normalizeKeyPem(keyPem));
  if (k.asymmetricKeyType !== "ed25519") throw new Error(`Talos OS CA key must be Ed25519, got ${k.asymmetricKeyType}`);
  const der = k.export({ type: "pkcs8", format: "der" });
  return crypto.subtle.importKey("pkcs8", der, ED, true, ["sign"]);
}

/** The OS CA as Talos makes it: O=talos, Ed25519, CA:TRUE critical, KU CertSign|DigitalSignature, EKU server+client. */
export async function createTalosCA(hours = 87600): Promise<TalosKeyPair> {
  const keys = await edKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: dn({ o: ["talos"] }),
    notBefore: new Date(now - 5 * 60 * 1000),
    notAfter: new Date(now + hours * HOUR),
    keys,
    signingAlgorithm: ED,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await exportKey(keys.privateKey) };
}

export interface TalosLeafOptions {
  usage: "server" | "client";
  organizations?: string[];
  commonName?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  hours: number;
}

/**
 * The leaf's authority key id is the CA's own subject key id when it has one (Talos CAs may
 * carry one that is not derived from the key; verifiers match the two).
 */
async function authorityKeyId(caCert: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId, false) : x509.AuthorityKeyIdentifierExtension.create(caCert, false);
}

// The OS CA issues every node's and client's certificate: parse and import it once.
const parsedCA = memoByText((pem: string) => new x509.X509Certificate(pem), 64, false);
const caKeyOf = memoByText(importCAKey, 64, false);

/** An Ed25519 leaf signed by the (Ed25519) OS CA. */
export async function issueTalosCertificate(ca: TalosKeyPair, opts: TalosLeafOptions): Promise<TalosKeyPair> {
  const caCert = parsedCA(ca.certPem);
  const caKey = await caKeyOf(ca.keyPem);
  const keys = await edKeys();
  const now = Date.now();
  const sans = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: dn({ o: opts.organizations, cn: opts.commonName }),
    issuer: caCert.subject,
    notBefore: new Date(now - 5 * 60 * 1000),
    notAfter: new Date(now + opts.hours * HOUR),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ED,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(
        [opts.usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      await authorityKeyId(caCert),
      ...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans, false)] : []),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await exportKey(keys.privateKey) };
}

/** A talosctl-style admin client certificate: O=os:admin, no CN, ClientAuth only, 1 year. */
export function issueTalosAdminCertificate(ca: TalosKeyPair, role = "os:admin"): Promise<TalosKeyPair> {
  return issueTalosCertificate(ca, { usage: "client", organizations: [role], hours: 8760 });
}

/** Roles (O) and extended key usages of a DER certificate, as apid's authz reads them. */
const DESCRIBED_MAX = 4096;
const described = new Map<string, { organizations: string[]; ekus: string[] }>();

export function describeClientCertificate(der: Uint8Array): { organizations: string[]; ekus: string[] } {
  // Every call of a client presents the same certificate: parse it once (ASN.1 parsing was a
  // tenth of the lab Talos nodes' CPU time). Room for a lab of a few thousand clusters, each with
  // its own admin certificate, keyed by digest so that it stays small.
  const key = createHash("sha256").update(der).digest("base64");
  const known = described.get(key);
  if (known) return known;
  const cert = new x509.X509Certificate(der);
  const organizations = cert.subjectName.getField("O");
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const out = Object.freeze({ organizations: Object.freeze(organizations) as string[], ekus: Object.freeze(eku ? eku.usages.map(String) : []) as string[] });
  if (described.size >= DESCRIBED_MAX) described.delete(described.keys().next().value!);
  described.set(key, out);
  return out;
}


export const EKU_CLIENT_AUTH = x509.ExtendedKeyUsage.clientAuth as string;
