/**
 * X.509 v3 certificates built directly as DER and signed with node:crypto. Issuing one this way
 * allocates a few dozen buffers; the general-purpose ASN.1 library it replaces built thousands
 * of short-lived objects per certificate, and at hundreds of clusters (about nine certificates
 * each) that churn left the heap fragmented: tens of KiB of resident memory per certificate.
 * Only what the appliance issues is supported: Ed25519, ECDSA P-256/P-384 and RSA (PKCS#1 v1.5,
 * SHA-256) signers; the extensions below.
 * @module
 */
import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from "node:crypto";
import { isIP } from "node:net";
import {
  NULL,
  TRUE,
  bitString,
  children,
  directoryString,
  explicit,
  implicitPrimitive,
  octetString,
  oid,
  oidToString,
  read,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  TAG,
} from "./der.ts";

export const EKU = { serverAuth: "1.3.6.1.5.5.7.3.1", clientAuth: "1.3.6.1.5.5.7.3.2" } as const;

/** KeyUsage bits (RFC 5280 4.2.1.3). */
export const KU = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

const OID = {
  organization: "2.5.4.10",
  commonName: "2.5.4.3",
  subjectKeyId: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyId: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  ed25519: "1.3.101.112",
  ecdsaSha256: "1.2.840.10045.4.3.2",
  ecdsaSha384: "1.2.840.10045.4.3.3",
  rsaSha256: "1.2.840.113549.1.1.11",
} as const;

export interface NameParts {
  organizations?: string[];
  commonName?: string;
}

/** O=… then CN=…, one attribute per RDN (the order Go and our earlier certificates use). */
export function encodeName(parts: NameParts): Buffer {
  const rdn = (type: string, value: string) => set(sequence(oid(type), directoryString(value)));
  return sequence(...(parts.organizations ?? []).map((o) => rdn(OID.organization, o)), ...(parts.commonName ? [rdn(OID.commonName, parts.commonName)] : []));
}

export interface CertificateTemplate {
  /** Subject Name, DER (encodeName). */
  subject: Buffer;
  /** Issuer Name, DER: the issuer certificate's subject as it is encoded there; the subject for a self-signed one. */
  issuer?: Buffer;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  /** The issuer's private key (the subject's own for a self-signed certificate). */
  signingKey: KeyObject;
  ca?: boolean;
  keyUsage: number[];
  extKeyUsage?: string[];
  /** Subject key id; default: SHA-1 of the public key bits (RFC 5280 4.2.1.2 method 1), as Go does for CAs. */
  subjectKeyId?: Buffer | false;
  authorityKeyId?: Buffer;
  dnsNames?: string[];
  ipAddresses?: string[];
}

/** 128 random bits, positive. */
export function randomSerial(): Buffer {
  const b = randomBytes(16);
  b[0]! &= 0x7f;
  if (b[0] === 0) b[0] = 1;
  return b;
}

/** The subjectPublicKey bits of a SubjectPublicKeyInfo. */
function publicKeyBits(spki: Buffer): Buffer {
  const bits = children(read(spki))[1]!;
  return bits.value.subarray(1);
}

export function keyIdentifier(publicKey: KeyObject): Buffer {
  return createHash("sha1").update(publicKeyBits(publicKey.export({ type: "spki", format: "der" }))).digest();
}

function signatureAlgorithm(key: KeyObject): { id: Buffer; hash: string | null } {
  switch (key.asymmetricKeyType) {
    case "ed25519":
      return { id: sequence(oid(OID.ed25519)), hash: null };
    case "ec":
      return key.asymmetricKeyDetails?.namedCurve === "secp384r1"
        ? { id: sequence(oid(OID.ecdsaSha384)), hash: "sha384" }
        : { id: sequence(oid(OID.ecdsaSha256)), hash: "sha256" };
    case "rsa":
      return { id: sequence(oid(OID.rsaSha256), NULL), hash: "sha256" };
    default:
      throw new Error(`unsupported signing key type ${key.asymmetricKeyType}`);
  }
}

function keyUsageBits(bits: number[]): Buffer {
  const top = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(top / 8) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  return bitString(bytes, 7 - (top & 7));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  if (isIP(ip) !== 6) throw new Error(`not an IP address: ${ip}`);
  // an IPv4 tail (::ffff:10.0.0.1) is the last two groups
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  const text = v4 ? ip.slice(0, v4.index) + [0, 2].map((i) => ((Number(v4[i + 1]) << 8) | Number(v4[i + 2])).toString(16)).join(":") : ip;
  const [head, tail = ""] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = text.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [TRUE] : []), octetString(value));
}

/** A signed certificate, DER. */
export function buildCertificate(t: CertificateTemplate, serial: Buffer = randomSerial()): Buffer {
  const spki = t.publicKey.export({ type: "spki", format: "der" });
  const alg = signatureAlgorithm(t.signingKey);
  const exts: Buffer[] = [extension(OID.keyUsage, true, keyUsageBits(t.keyUsage))];
  if (t.extKeyUsage?.length) exts.push(extension(OID.extKeyUsage, false, sequence(...t.extKeyUsage.map(oid))));
  exts.push(extension(OID.basicConstraints, true, t.ca ? sequence(TRUE) : sequence()));
  const ski = t.subjectKeyId === false ? undefined : (t.subjectKeyId ?? createHash("sha1").update(publicKeyBits(spki)).digest());
  if (ski) exts.push(extension(OID.subjectKeyId, false, octetString(ski)));
  if (t.authorityKeyId) exts.push(extension(OID.authorityKeyId, false, sequence(implicitPrimitive(0, t.authorityKeyId))));
  const sans = [...(t.dnsNames ?? []).map((d) => implicitPrimitive(2, Buffer.from(d, "latin1"))), ...(t.ipAddresses ?? []).map((ip) => implicitPrimitive(7, ipBytes(ip)))];
  if (sans.length) exts.push(extension(OID.subjectAltName, false, sequence(...sans)));
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(serial),
    alg.id,
    t.issuer ?? t.subject,
    sequence(time(t.notBefore), time(t.notAfter)),
    t.subject,
    spki,
    explicit(3, sequence(...exts)),
  );
  const signature = sign(alg.hash, tbs, t.signingKey);
  return sequence(tbs, alg.id, bitString(signature));
}

export function certificatePem(der: Buffer): string {
  const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

export function pemToDer(pem: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error("no PEM certificate found");
  return Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
}

export interface IssuerInfo {
  /** Subject Name exactly as encoded in the certificate. */
  subject: Buffer;
  /** Its subject key id extension, if any. */
  subjectKeyId?: Buffer;
  publicKey: KeyObject;
}

interface ParsedTbs {
  subject: Buffer;
  spki: Buffer;
  /** extension OID → its extnValue contents */
  extensions: Map<string, Buffer>;
}

function parseTbs(der: Buffer): ParsedTbs {
  const tbs = children(children(read(der))[0]!);
  // version [0] is optional: the subject follows serial, signature, issuer, validity
  const base = tbs[0]!.tag === 0xa0 ? 1 : 0;
  const extensions = new Map<string, Buffer>();
  const extsNode = tbs.find((n) => n.tag === 0xa3);
  if (extsNode) {
    for (const ext of children(children(extsNode)[0]!)) {
      const parts = children(ext);
      extensions.set(oidToString(parts[0]!.value), parts[parts.length - 1]!.value);
    }
  }
  return { subject: tbs[base + 4]!.raw, spki: tbs[base + 5]!.raw, extensions };
}

/** What issuing under a CA needs from its certificate: its encoded subject and key id. */
export function issuerInfo(certPem: string): IssuerInfo {
  const t = parseTbs(pemToDer(certPem));
  const skiValue = t.extensions.get(OID.subjectKeyId);
  const inner = skiValue ? read(skiValue) : undefined;
  return {
    subject: Buffer.from(t.subject),
    subjectKeyId: inner?.tag === TAG.OCTET_STRING ? Buffer.from(inner.value) : undefined,
    publicKey: createPublicKey({ key: Buffer.from(t.spki), format: "der", type: "spki" }),
  };
}

/** The subject's O values and the extended key usages (dotted OIDs) of a DER certificate. */
export function describeCertificate(der: Uint8Array): { organizations: string[]; ekus: string[] } {
  const t = parseTbs(Buffer.from(der.buffer, der.byteOffset, der.byteLength));
  const organizations: string[] = [];
  for (const rdn of children(read(t.subject))) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (oidToString(type!.value) === OID.organization) organizations.push(value!.value.toString(value!.tag === TAG.UTF8_STRING ? "utf8" : "latin1"));
    }
  }
  const eku = t.extensions.get(OID.extKeyUsage);
  const ekus = eku ? children(read(eku)).map((n) => oidToString(n.value)) : [];
  return { organizations, ekus };
}
