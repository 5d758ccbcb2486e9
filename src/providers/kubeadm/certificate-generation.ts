/**
 * Generating the cluster certificates (see certificates.ts): keys RSA-2048 unless
 * `encryptionAlgorithm` says otherwise; PEM as Go writes them (PKCS#1 `RSA PRIVATE KEY`, SEC1
 * `EC PRIVATE KEY`, PKIX `PUBLIC KEY`). Key generation runs off the event loop (node:crypto's
 * async generateKeyPair). Load it with {@link loadCertificateGeneration}.
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { generateKeyPair, webcrypto, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { DEFAULT_CA_VALIDITY_DAYS, type EncryptionAlgorithm, type KeyPair, type Purpose } from "./certificates.ts";

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

const generateKeyPairAsync = promisify(generateKeyPair);
const DAY = 24 * 60 * 60 * 1000;

async function newKeyPair(alg: EncryptionAlgorithm | "" | undefined): Promise<{ publicKey: KeyObject; privateKey: KeyObject; keyPem: string }> {
  if (alg === "ECDSA-P256" || alg === "ECDSA-P384") {
    const { publicKey, privateKey } = await generateKeyPairAsync("ec", { namedCurve: alg === "ECDSA-P256" ? "prime256v1" : "secp384r1" });
    return { publicKey, privateKey, keyPem: privateKey.export({ type: "sec1", format: "pem" }) as string };
  }
  const bits = alg === "RSA-3072" ? 3072 : alg === "RSA-4096" ? 4096 : 2048;
  const { publicKey, privateKey } = await generateKeyPairAsync("rsa", { modulusLength: bits });
  return { publicKey, privateKey, keyPem: privateKey.export({ type: "pkcs1", format: "pem" }) as string };
}

async function webKeys(k: { publicKey: KeyObject; privateKey: KeyObject }): Promise<{ publicKey: CryptoKey; privateKey: CryptoKey; sign: { name: string; hash: string } }> {
  const spki = k.publicKey.export({ type: "spki", format: "der" });
  const pkcs8 = k.privateKey.export({ type: "pkcs8", format: "der" });
  if (k.privateKey.asymmetricKeyType === "ec") {
    const curve = k.privateKey.asymmetricKeyDetails?.namedCurve === "secp384r1" ? "P-384" : "P-256";
    const alg = { name: "ECDSA", namedCurve: curve };
    return {
      publicKey: await crypto.subtle.importKey("spki", spki, alg, true, ["verify"]),
      privateKey: await crypto.subtle.importKey("pkcs8", pkcs8, alg, true, ["sign"]),
      sign: { name: "ECDSA", hash: curve === "P-384" ? "SHA-384" : "SHA-256" },
    };
  }
  const alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  return {
    publicKey: await crypto.subtle.importKey("spki", spki, alg, true, ["verify"]),
    privateKey: await crypto.subtle.importKey("pkcs8", pkcs8, alg, true, ["sign"]),
    sign: alg,
  };
}

/**
 * A self-signed CA as `newSelfSignedCACert`: CN=kubernetes, valid from 5 minutes ago for
 * `validityDays` (default 3650), KeyUsage keyEncipherment|digitalSignature|keyCertSign, CA with
 * path length 0, subject key identifier from the key.
 */
export async function generateCA(opts: { algorithm?: EncryptionAlgorithm | ""; validityDays?: number } = {}): Promise<KeyPair> {
  const kp = await newKeyPair(opts.algorithm);
  const keys = await webKeys(kp);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "00",
    name: "CN=kubernetes",
    notBefore: new Date(now - 5 * 60 * 1000),
    notAfter: new Date(now + (opts.validityDays || DEFAULT_CA_VALIDITY_DAYS) * DAY),
    keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
    signingAlgorithm: keys.sign,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString("pem") + "\n", key: kp.keyPem };
}

/** The service-account signing key pair (`generateServiceAccountKeys`): public key PEM + private key PEM. */
export async function generateServiceAccountKeys(algorithm?: EncryptionAlgorithm | ""): Promise<KeyPair> {
  const kp = await newKeyPair(algorithm);
  return { cert: kp.publicKey.export({ type: "spki", format: "pem" }) as string, key: kp.keyPem };
}

export async function generatePurpose(purpose: Purpose, opts: { algorithm?: EncryptionAlgorithm | ""; validityDays?: number } = {}): Promise<KeyPair> {
  return purpose === "sa" ? generateServiceAccountKeys(opts.algorithm) : generateCA(opts);
}

