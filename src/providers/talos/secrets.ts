/**
 * The Talos secrets bundle: what `talosctl gen secrets` writes to secrets.yaml and what CABPT keeps
 * in the `<cluster>-talos` Secret (key `bundle`). Keys are lower-case, certificates and keys are
 * base64 of their PEM text. Generation follows upstream: etcd / Kubernetes / aggregator CAs are
 * ECDSA P-256 (aggregator with an empty subject), the Talos API CA is Ed25519 (PEM header
 * `ED25519 PRIVATE KEY`), the service-account key is RSA-4096 PKCS#1 for contract >= 1.7 (ECDSA
 * before), generated off the event loop.
 * @module
 */
import { generateKeyPair, randomBytes } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { atLeast, DEFAULT_CONTRACT, type Contract } from "./contract.ts";
import { encodeDocuments } from "./yaml.ts";

export interface CertAndKey {
  /** PEM text of the certificate. */
  crt: string;
  /** PEM text of the private key. */
  key: string;
}

export interface SecretsBundle {
  cluster: { id: string; secret: string };
  secrets: {
    bootstrapToken: string;
    secretboxEncryptionSecret?: string;
    /** Only in bundles made for contract <= 1.2. */
    aescbcEncryptionSecret?: string;
  };
  trustdInfo: { token: string };
  certs: {
    etcd: CertAndKey;
    k8s: CertAndKey;
    k8sAggregator: CertAndKey;
    k8sServiceAccount: { key: string };
    os: CertAndKey;
  };
}

export class SecretsBundleError extends Error {}

const TOKEN_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

function randomToken(length: number): string {
  // Rejection sampling keeps the 36 characters uniformly likely.
  let out = "";
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 252 && out.length < length) out += TOKEN_ALPHABET[b % 36];
    }
  }
  return out;
}

/** A bootstrap / trustd token: `[0-9a-z]{6}.[0-9a-z]{16}`. */
export function generateToken(): string {
  return `${randomToken(6)}.${randomToken(16)}`;
}

export const TOKEN_PATTERN = /^[0-9a-z]{6}\.[0-9a-z]{16}$/;

function generateRsaPkcs1(bits: number): Promise<string> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      "rsa",
      { modulusLength: bits, publicExponent: 0x10001, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } },
      (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
    );
  });
}

/**
 * Generates a fresh bundle for `contract` (default: the appliance's default contract). The CAs are
 * valid for 87600h from now.
 */
export async function generateSecretsBundle(contract: Contract = DEFAULT_CONTRACT, now = new Date()): Promise<SecretsBundle> {
  const ca = await import("./ca.ts");
  const rsaSa = atLeast(contract, 1, 7);
  const [etcd, k8s, k8sAggregator, os, saKey] = await Promise.all([
    ca.createTalosCA({ organization: "etcd", keyType: "ecdsa", now }),
    ca.createTalosCA({ organization: "kubernetes", keyType: "ecdsa", now }),
    ca.createTalosCA({ keyType: "ecdsa", now }),
    ca.createTalosCA({ organization: "talos", keyType: "ed25519", now }),
    rsaSa ? generateRsaPkcs1(4096) : ca.createEcdsaKeyPem(),
  ]);
  const secrets: SecretsBundle["secrets"] = { bootstrapToken: generateToken() };
  if (atLeast(contract, 1, 3)) secrets.secretboxEncryptionSecret = randomBytes(32).toString("base64");
  else secrets.aescbcEncryptionSecret = randomBytes(32).toString("base64");
  return {
    cluster: { id: randomBytes(32).toString("base64url") + "=", secret: randomBytes(32).toString("base64") },
    secrets,
    trustdInfo: { token: generateToken() },
    certs: { etcd, k8s, k8sAggregator, k8sServiceAccount: { key: saKey }, os },
  };
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

function unb64(v: unknown, where: string): string {
  if (typeof v !== "string" || v === "") throw new SecretsBundleError(`secrets bundle: ${where} is missing`);
  const text = Buffer.from(v, "base64").toString("utf8");
  if (!text.includes("-----BEGIN ")) throw new SecretsBundleError(`secrets bundle: ${where} is not base64-encoded PEM`);
  return text;
}

function str(v: unknown, where: string, required = true): string | undefined {
  if (v === undefined || v === null || v === "") {
    if (required) throw new SecretsBundleError(`secrets bundle: ${where} is missing`);
    return undefined;
  }
  if (typeof v !== "string") throw new SecretsBundleError(`secrets bundle: ${where} must be a string`);
  return v;
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new SecretsBundleError(`secrets bundle: ${where} is missing`);
  return v as Record<string, unknown>;
}

/** The plain object in `talosctl gen secrets` shape (lower-case keys, base64 PEM). */
export function secretsBundleToObject(b: SecretsBundle): Record<string, unknown> {
  const secrets: Record<string, string> = { bootstraptoken: b.secrets.bootstrapToken };
  if (b.secrets.secretboxEncryptionSecret) secrets.secretboxencryptionsecret = b.secrets.secretboxEncryptionSecret;
  if (b.secrets.aescbcEncryptionSecret) secrets.aescbcencryptionsecret = b.secrets.aescbcEncryptionSecret;
  const pair = (p: CertAndKey) => ({ crt: b64(p.crt), key: b64(p.key) });
  return {
    cluster: { id: b.cluster.id, secret: b.cluster.secret },
    secrets,
    trustdinfo: { token: b.trustdInfo.token },
    certs: {
      etcd: pair(b.certs.etcd),
      k8s: pair(b.certs.k8s),
      k8saggregator: pair(b.certs.k8sAggregator),
      k8sserviceaccount: { key: b64(b.certs.k8sServiceAccount.key) },
      os: pair(b.certs.os),
    },
  };
}

/** secrets.yaml text, as `talosctl gen secrets` writes it (4-space indent). */
export function encodeSecretsBundle(b: SecretsBundle): string {
  return encodeDocuments([secretsBundleToObject(b)]);
}

/** Loads a secrets.yaml (from `talosctl gen secrets`, CABPT's `bundle` key, or this module). */
export function parseSecretsBundle(text: string): SecretsBundle {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new SecretsBundleError(`secrets bundle: not YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  const root = obj(doc, "document");
  const cluster = obj(root.cluster, "cluster");
  const secrets = obj(root.secrets, "secrets");
  const trustd = obj(root.trustdinfo, "trustdinfo");
  const certs = obj(root.certs, "certs");
  const pair = (name: string): CertAndKey => {
    const p = obj(certs[name], `certs.${name}`);
    return { crt: unb64(p.crt, `certs.${name}.crt`), key: unb64(p.key, `certs.${name}.key`) };
  };
  const sa = obj(certs.k8sserviceaccount, "certs.k8sserviceaccount");
  const bundle: SecretsBundle = {
    cluster: { id: str(cluster.id, "cluster.id")!, secret: str(cluster.secret, "cluster.secret")! },
    secrets: { bootstrapToken: str(secrets.bootstraptoken, "secrets.bootstraptoken")! },
    trustdInfo: { token: str(trustd.token, "trustdinfo.token")! },
    certs: {
      etcd: pair("etcd"),
      k8s: pair("k8s"),
      k8sAggregator: pair("k8saggregator"),
      k8sServiceAccount: { key: unb64(sa.key, "certs.k8sserviceaccount.key") },
      os: pair("os"),
    },
  };
  const secretbox = str(secrets.secretboxencryptionsecret, "secrets.secretboxencryptionsecret", false);
  const aescbc = str(secrets.aescbcencryptionsecret, "secrets.aescbcencryptionsecret", false);
  if (!secretbox && !aescbc) throw new SecretsBundleError("secrets bundle: secrets.secretboxencryptionsecret is missing");
  if (secretbox) bundle.secrets.secretboxEncryptionSecret = secretbox;
  if (aescbc) bundle.secrets.aescbcEncryptionSecret = aescbc;
  return bundle;
}
