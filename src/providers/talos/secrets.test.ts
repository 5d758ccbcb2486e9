import "reflect-metadata";
import { describe, expect, it } from "bun:test";
import * as x509 from "@peculiar/x509";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { parse as parseYaml } from "yaml";
import {
  encodeSecretsBundle,
  generateSecretsBundle,
  generateToken,
  parseSecretsBundle,
  SecretsBundleError,
  TOKEN_PATTERN,
  type SecretsBundle,
} from "./secrets.ts";

const bundlePromise = generateSecretsBundle({ major: 1, minor: 13 }, new Date("2026-01-02T03:04:05Z"));

function pubKeyOf(certPem: string): string {
  return createPublicKey(certPem).export({ type: "spki", format: "pem" }) as string;
}
function pubKeyOfPrivate(keyPem: string): string {
  const pem = keyPem.replace(/ED25519 PRIVATE KEY/g, "PRIVATE KEY");
  return createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "pem" }) as string;
}

describe("Talos secrets bundle generation", () => {
  it("makes tokens and secrets of upstream's shapes", async () => {
    const b = await bundlePromise;
    expect(b.secrets.bootstrapToken).toMatch(TOKEN_PATTERN);
    expect(b.trustdInfo.token).toMatch(TOKEN_PATTERN);
    expect(b.secrets.bootstrapToken).not.toBe(b.trustdInfo.token);
    expect(Buffer.from(b.cluster.id, "base64url").length).toBe(32);
    expect(b.cluster.id).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(Buffer.from(b.cluster.secret, "base64").length).toBe(32);
    expect(Buffer.from(b.secrets.secretboxEncryptionSecret!, "base64").length).toBe(32);
    expect(b.secrets.aescbcEncryptionSecret).toBeUndefined();
    for (let i = 0; i < 50; i++) expect(generateToken()).toMatch(TOKEN_PATTERN);
  });

  it("makes the four CAs with upstream's subjects, key types, usages and validity", async () => {
    const b = await bundlePromise;
    const cases: [keyof SecretsBundle["certs"], string, string, string][] = [
      ["etcd", "O=etcd", "ECDSA", "EC PRIVATE KEY"],
      ["k8s", "O=kubernetes", "ECDSA", "EC PRIVATE KEY"],
      ["k8sAggregator", "", "ECDSA", "EC PRIVATE KEY"],
      ["os", "O=talos", "Ed25519", "ED25519 PRIVATE KEY"],
    ];
    for (const [name, subject, alg, keyHeader] of cases) {
      const pair = b.certs[name] as { crt: string; key: string };
      const cert = new x509.X509Certificate(pair.crt);
      expect(cert.subject).toBe(subject);
      expect(cert.issuer).toBe(subject);
      expect(cert.publicKey.algorithm.name).toBe(alg);
      if (alg === "ECDSA") expect((cert.publicKey.algorithm as { namedCurve?: string }).namedCurve).toBe("P-256");
      expect(pair.key.startsWith(`-----BEGIN ${keyHeader}-----\n`)).toBe(true);
      expect(pubKeyOfPrivate(pair.key)).toBe(pubKeyOf(pair.crt));
      expect(cert.notBefore.toISOString()).toBe("2026-01-02T03:04:05.000Z");
      expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(87600 * 3600 * 1000);
      expect(cert.serialNumber.length).toBeGreaterThanOrEqual(30);
      const bc = cert.getExtension(x509.BasicConstraintsExtension)!;
      expect(bc.ca).toBe(true);
      expect(bc.critical).toBe(true);
      const ku = cert.getExtension(x509.KeyUsagesExtension)!;
      expect(ku.critical).toBe(true);
      expect(ku.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature);
      const eku = cert.getExtension(x509.ExtendedKeyUsageExtension)!;
      expect([...eku.usages].sort()).toEqual([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth].sort());
      expect(cert.getExtension(x509.SubjectKeyIdentifierExtension)).not.toBeNull();
      expect(await cert.verify({ signatureOnly: true })).toBe(true);
    }
  });

  it("makes an RSA-4096 PKCS#1 service-account key for contract >= 1.7", async () => {
    const b = await bundlePromise;
    const key = b.certs.k8sServiceAccount.key;
    expect(key.startsWith("-----BEGIN RSA PRIVATE KEY-----\n")).toBe(true);
    const k = createPrivateKey(key);
    expect(k.asymmetricKeyType).toBe("rsa");
    expect(k.asymmetricKeyDetails?.modulusLength).toBe(4096);
  });

  it("keeps the event loop running while the RSA key is generated", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const t0 = Date.now();
    await generateSecretsBundle({ major: 1, minor: 14 });
    const elapsed = Date.now() - t0;
    clearInterval(timer);
    // A blocking generation would starve the interval (at most one late tick after it returns).
    expect(ticks).toBeGreaterThanOrEqual(Math.min(3, Math.floor(elapsed / 50)));
  });

  it("uses ECDSA for the service-account key before 1.7 and aescbc up to 1.2", async () => {
    const b16 = await generateSecretsBundle({ major: 1, minor: 6 });
    expect(b16.certs.k8sServiceAccount.key.startsWith("-----BEGIN EC PRIVATE KEY-----")).toBe(true);
    expect(b16.secrets.secretboxEncryptionSecret).toBeDefined();
    const b12 = await generateSecretsBundle({ major: 1, minor: 2 });
    expect(b12.secrets.aescbcEncryptionSecret).toBeDefined();
    expect(b12.secrets.secretboxEncryptionSecret).toBeUndefined();
    expect(parseYaml(encodeSecretsBundle(b12)).secrets).toEqual({
      bootstraptoken: b12.secrets.bootstrapToken,
      aescbcencryptionsecret: b12.secrets.aescbcEncryptionSecret,
    });
  });
});

describe("secrets.yaml encoding", () => {
  it("writes talosctl's shape (lower-case keys, base64 PEM) and reads it back", async () => {
    const b = await bundlePromise;
    const text = encodeSecretsBundle(b);
    const obj = parseYaml(text) as Record<string, Record<string, unknown>>;
    expect(Object.keys(obj)).toEqual(["cluster", "secrets", "trustdinfo", "certs"]);
    expect(Object.keys(obj.certs!)).toEqual(["etcd", "k8s", "k8saggregator", "k8sserviceaccount", "os"]);
    expect(Object.keys(obj.secrets!)).toEqual(["bootstraptoken", "secretboxencryptionsecret"]);
    const os = obj.certs!.os as { crt: string; key: string };
    expect(Buffer.from(os.key, "base64").toString()).toBe(b.certs.os.key);
    expect(text).toContain("\n    id: ");
    expect(parseSecretsBundle(text)).toEqual(b);
  });

  it("reads back a bundle whose cluster id starts with dashes (base64url: about one cluster in 260,000)", async () => {
    const b = { ...(await bundlePromise), cluster: { ...(await bundlePromise).cluster, id: "---Zc0LIlKanmC4MgxPMVZeblxOipSsUOBJYzlg6Msc=" } };
    const text = encodeSecretsBundle(b);
    expect(text).toContain("\n    id: '---Zc0LIlKanmC4MgxPMVZeblxOipSsUOBJYzlg6Msc='\n");
    expect(parseSecretsBundle(text)).toEqual(b);
  });

  it("accepts a file with comments and refuses incomplete or non-PEM bundles", async () => {
    const b = await bundlePromise;
    const text = `# a comment\n${encodeSecretsBundle(b)}`;
    expect(parseSecretsBundle(text)).toEqual(b);
    expect(() => parseSecretsBundle("cluster: {}\n")).toThrow(SecretsBundleError);
    expect(() => parseSecretsBundle(text.replace(/bootstraptoken: .*/, "bootstraptoken: ''"))).toThrow("secrets.bootstraptoken is missing");
    expect(() => parseSecretsBundle(text.replace(/(\n {8}crt: )\S+/, "$1bm90IHBlbQ=="))).toThrow("certs.etcd.crt is not base64-encoded PEM");
    expect(() => parseSecretsBundle("- not\n- a map\n")).toThrow(SecretsBundleError);
  });
});
