/**
 * The etcd client certificate KCP makes for itself from the cluster's etcd CA (`<cluster>-etcd`),
 * as upstream `generateClientCert`/`newClientCert` (controlplane/kubeadm): CN
 * `cluster-api.x-k8s.io`, no O, serial 0, valid from 5 minutes ago for 10 years, KeyUsage
 * DigitalSignature, ExtKeyUsage ClientAuth only; the key type follows the control plane's
 * `encryptionAlgorithm` (RSA-2048 by default). Key generation runs off the event loop.
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createPrivateKey, generateKeyPair, webcrypto, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import type { EncryptionAlgorithm, KeyPair } from "../kubeadm/certificates.ts";

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

const generateKeyPairAsync = promisify(generateKeyPair);
const DAY = 24 * 60 * 60 * 1000;

export const ETCD_CLIENT_COMMON_NAME = "cluster-api.x-k8s.io";

async function newKey(alg: EncryptionAlgorithm | "" | undefined): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  if (alg === "ECDSA-P256" || alg === "ECDSA-P384") {
    return generateKeyPairAsync("ec", { namedCurve: alg === "ECDSA-P256" ? "prime256v1" : "secp384r1" });
  }
  return generateKeyPairAsync("rsa", { modulusLength: alg === "RSA-3072" ? 3072 : alg === "RSA-4096" ? 4096 : 2048 });
}

/** A KeyObject as a WebCrypto key for `usage`, with the algorithm it signs with. */
async function webKey(k: KeyObject, usage: "sign" | "verify"): Promise<{ key: CryptoKey; sign: { name: string; hash: string } }> {
  const der = usage === "sign" ? k.export({ type: "pkcs8", format: "der" }) : k.export({ type: "spki", format: "der" });
  const format = usage === "sign" ? "pkcs8" : "spki";
  if (k.asymmetricKeyType === "ec") {
    const curve = k.asymmetricKeyDetails?.namedCurve === "secp384r1" ? "P-384" : "P-256";
    const key = await crypto.subtle.importKey(format, der, { name: "ECDSA", namedCurve: curve }, true, [usage]);
    return { key, sign: { name: "ECDSA", hash: curve === "P-384" ? "SHA-384" : "SHA-256" } };
  }
  if (k.asymmetricKeyType === "rsa") {
    const alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    return { key: await crypto.subtle.importKey(format, der, alg, true, [usage]), sign: alg };
  }
  throw new Error(`unsupported key type ${k.asymmetricKeyType}`);
}

/** A client certificate and PKCS#8 key signed by the etcd CA (PEM `cert` + `key`, as in the `<cluster>-etcd` Secret). */
export async function issueEtcdClientCertificate(etcdCA: KeyPair, algorithm?: EncryptionAlgorithm | ""): Promise<KeyPair> {
  if (!etcdCA.key) throw new Error("etcd CA has no private key: cannot sign a client certificate (external etcd?)");
  const caCert = new x509.X509Certificate(etcdCA.cert);
  const caKey = await webKey(createPrivateKey(etcdCA.key), "sign");
  const kp = await newKey(algorithm);
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "00",
    subject: `CN=${ETCD_CLIENT_COMMON_NAME}`,
    issuer: caCert.subject,
    notBefore: new Date(now - 5 * 60 * 1000),
    notAfter: new Date(now + 3650 * DAY),
    publicKey: (await webKey(kp.publicKey, "verify")).key,
    signingKey: caKey.key,
    signingAlgorithm: caKey.sign,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
      // Go's x509.CreateCertificate copies the parent's subject key id as the authority key id
      ...(ski ? [new x509.AuthorityKeyIdentifierExtension(ski.keyId, false)] : []),
    ],
  });
  return { cert: cert.toString("pem") + "\n", key: kp.privateKey.export({ type: "pkcs8", format: "pem" }) as string };
}
