/**
 * Talos-style self-signed CAs for the secrets bundle (loaded lazily: @peculiar/x509 is costly to
 * import). Shape as upstream: 87600h validity from now, 128-bit random serial, random subject key
 * id, key usage CertSign|DigitalSignature (critical), EKU ServerAuth+ClientAuth, CA:TRUE
 * (critical), subject O=<organization> or empty. EC keys are written as SEC1 (`EC PRIVATE KEY`),
 * Ed25519 keys as PKCS#8 under the `ED25519 PRIVATE KEY` header Talos uses.
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createPrivateKey, randomBytes, webcrypto } from "node:crypto";
import type { CertAndKey } from "./secrets.ts";

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

const VALIDITY_MS = 87600 * 60 * 60 * 1000;

export interface TalosCAOptions {
  organization?: string;
  keyType: "ecdsa" | "ed25519";
  now?: Date;
}

async function exportPrivateKey(key: CryptoKey, keyType: "ecdsa" | "ed25519"): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", key));
  const k = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  if (keyType === "ecdsa") return k.export({ type: "sec1", format: "pem" }) as string;
  const pem = k.export({ type: "pkcs8", format: "pem" }) as string;
  return pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "-----$1 ED25519 PRIVATE KEY-----");
}

/** A fresh ECDSA P-256 private key as SEC1 PEM (service-account key for contracts < 1.7). */
export async function createEcdsaKeyPem(): Promise<string> {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  return exportPrivateKey(keys.privateKey, "ecdsa");
}

export async function createTalosCA(opts: TalosCAOptions): Promise<CertAndKey> {
  const alg = opts.keyType === "ecdsa" ? { name: "ECDSA", namedCurve: "P-256" } : { name: "Ed25519" };
  const signing = opts.keyType === "ecdsa" ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };
  const keys = (await crypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  if (serial[0] === 0) serial[0] = 1;
  const now = opts.now ?? new Date();
  const name = opts.organization ? `O=${opts.organization}` : "";
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString("hex"),
    name,
    notBefore: now,
    notAfter: new Date(now.getTime() + VALIDITY_MS),
    keys,
    signingAlgorithm: signing,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      new x509.BasicConstraintsExtension(true, undefined, true),
      // as Go's x509 for a CA template without one: SHA-1 of the public key (leaves' AKI must match it)
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { crt: cert.toString("pem") + "\n", key: await exportPrivateKey(keys.privateKey, opts.keyType) };
}
