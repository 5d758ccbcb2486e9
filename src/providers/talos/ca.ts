/**
 * Talos-style self-signed CAs for the secrets bundle. Shape as upstream: 87600h validity from now,
 * 128-bit random serial, subject key id the SHA-1 of the public key (as Go's x509 for a CA
 * template without one; leaves' AKI must match it), key usage CertSign|DigitalSignature (critical), EKU ServerAuth+ClientAuth, CA:TRUE
 * (critical), subject O=<organization> or empty. EC keys are written as SEC1 (`EC PRIVATE KEY`),
 * Ed25519 keys as PKCS#8 under the `ED25519 PRIVATE KEY` header Talos uses.
 * @module
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { buildCertificate, certificatePem, encodeName, EKU, KU } from "../pki/x509-build.ts";
import type { CertAndKey } from "./secrets.ts";

const VALIDITY_MS = 87600 * 60 * 60 * 1000;

export interface TalosCAOptions {
  organization?: string;
  keyType: "ecdsa" | "ed25519";
  now?: Date;
}

function exportPrivateKey(key: KeyObject, keyType: "ecdsa" | "ed25519"): string {
  if (keyType === "ecdsa") return key.export({ type: "sec1", format: "pem" }) as string;
  const pem = key.export({ type: "pkcs8", format: "pem" }) as string;
  return pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "-----$1 ED25519 PRIVATE KEY-----");
}

function generate(keyType: "ecdsa" | "ed25519"): { publicKey: KeyObject; privateKey: KeyObject } {
  return keyType === "ecdsa" ? generateKeyPairSync("ec", { namedCurve: "prime256v1" }) : generateKeyPairSync("ed25519");
}

/** A fresh ECDSA P-256 private key as SEC1 PEM (service-account key for contracts < 1.7). */
export async function createEcdsaKeyPem(): Promise<string> {
  return exportPrivateKey(generate("ecdsa").privateKey, "ecdsa");
}

export async function createTalosCA(opts: TalosCAOptions): Promise<CertAndKey> {
  const keys = generate(opts.keyType);
  const now = opts.now ?? new Date();
  const der = buildCertificate({
    subject: encodeName({ organizations: opts.organization ? [opts.organization] : [] }),
    notBefore: now,
    notAfter: new Date(now.getTime() + VALIDITY_MS),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    ca: true,
    keyUsage: [KU.keyCertSign, KU.digitalSignature],
    extKeyUsage: [EKU.serverAuth, EKU.clientAuth],
  });
  return { crt: certificatePem(der), key: exportPrivateKey(keys.privateKey, opts.keyType) };
}
