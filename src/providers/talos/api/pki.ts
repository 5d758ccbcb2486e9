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
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { buildCertificate, certificatePem, describeCertificate, encodeName, EKU, issuerInfo, keyIdentifier, KU } from "../../pki/x509-build.ts";
import { normalizeKeyPem } from "./pem.ts";

export { normalizeKeyPem, pemFromConfig } from "./pem.ts";

const HOUR = 60 * 60 * 1000;

export interface TalosKeyPair {
  certPem: string;
  keyPem: string;
}

function exportKey(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }) as string;
}

function importCAKey(keyPem: string): KeyObject {
  const k = createPrivateKey(normalizeKeyPem(keyPem));
  if (k.asymmetricKeyType !== "ed25519") throw new Error(`Talos OS CA key must be Ed25519, got ${k.asymmetricKeyType}`);
  return k;
}

/** The OS CA as Talos makes it: O=talos, Ed25519, CA:TRUE critical, KU CertSign|DigitalSignature, EKU server+client. */
export async function createTalosCA(hours = 87600): Promise<TalosKeyPair> {
  const keys = generateKeyPairSync("ed25519");
  const now = Date.now();
  const der = buildCertificate({
    subject: encodeName({ organizations: ["talos"] }),
    notBefore: new Date(now - 5 * 60 * 1000),
    notAfter: new Date(now + hours * HOUR),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    ca: true,
    keyUsage: [KU.keyCertSign, KU.digitalSignature],
    extKeyUsage: [EKU.serverAuth, EKU.clientAuth],
  });
  return { certPem: certificatePem(der), keyPem: exportKey(keys.privateKey) };
}

export interface TalosLeafOptions {
  usage: "server" | "client";
  organizations?: string[];
  commonName?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  hours: number;
}

// The OS CA issues every node's and client's certificate: parse and import it once.
const parsedCA = memoByText(issuerInfo, 64, false);
const caKeyOf = memoByText(importCAKey, 64, false);

/** An Ed25519 leaf signed by the (Ed25519) OS CA. */
export async function issueTalosCertificate(ca: TalosKeyPair, opts: TalosLeafOptions): Promise<TalosKeyPair> {
  const caCert = parsedCA(ca.certPem);
  const caKey = caKeyOf(ca.keyPem);
  const keys = generateKeyPairSync("ed25519");
  const now = Date.now();
  const der = buildCertificate({
    subject: encodeName({ organizations: opts.organizations, commonName: opts.commonName }),
    issuer: caCert.subject,
    notBefore: new Date(now - 5 * 60 * 1000),
    notAfter: new Date(now + opts.hours * HOUR),
    publicKey: keys.publicKey,
    signingKey: caKey,
    keyUsage: [KU.digitalSignature],
    extKeyUsage: [opts.usage === "server" ? EKU.serverAuth : EKU.clientAuth],
    subjectKeyId: false,
    // The CA's own subject key id when it has one (Talos CAs may carry one not derived from the key).
    authorityKeyId: caCert.subjectKeyId ?? keyIdentifier(caCert.publicKey),
    dnsNames: opts.dnsNames,
    ipAddresses: opts.ipAddresses,
  });
  return { certPem: certificatePem(der), keyPem: exportKey(keys.privateKey) };
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
  const { organizations, ekus } = describeCertificate(der);
  const out = Object.freeze({ organizations: Object.freeze(organizations) as string[], ekus: Object.freeze(ekus) as string[] });
  if (described.size >= DESCRIBED_MAX) described.delete(described.keys().next().value!);
  described.set(key, out);
  return out;
}


export const EKU_CLIENT_AUTH: string = EKU.clientAuth;
