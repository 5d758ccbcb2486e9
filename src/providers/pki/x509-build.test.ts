import { describe, expect, test } from "bun:test";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { buildCertificate, certificatePem, describeCertificate, encodeName, EKU, issuerInfo, keyIdentifier, KU, pemToDer } from "./x509-build.ts";

const HOUR = 3600e3;

function signer(kind: "ed25519" | "ec" | "ec384" | "rsa") {
  if (kind === "ec") return generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  if (kind === "ec384") return generateKeyPairSync("ec", { namedCurve: "secp384r1" });
  if (kind === "rsa") return generateKeyPairSync("rsa", { modulusLength: 2048 });
  return generateKeyPairSync("ed25519");
}

describe("X.509 certificates built as DER", () => {
  for (const kind of ["ed25519", "ec", "ec384", "rsa"] as const) {
    test(`a ${kind} CA and a leaf it signs verify, with the extensions asked for`, () => {
      const ca = signer(kind);
      const now = new Date();
      const caPem = certificatePem(
        buildCertificate({
          subject: encodeName({ organizations: ["talos"] }),
          notBefore: now,
          notAfter: new Date(now.getTime() + 87600 * HOUR),
          publicKey: ca.publicKey,
          signingKey: ca.privateKey,
          ca: true,
          keyUsage: [KU.keyCertSign, KU.digitalSignature],
          extKeyUsage: [EKU.serverAuth, EKU.clientAuth],
        }),
      );
      const info = issuerInfo(caPem);
      expect(info.subjectKeyId?.equals(keyIdentifier(ca.publicKey))).toBe(true);

      const leafKey = generateKeyPairSync("ed25519");
      const leafPem = certificatePem(
        buildCertificate({
          subject: encodeName({ organizations: ["system:masters", "under_score"], commonName: "admin" }),
          issuer: info.subject,
          notBefore: now,
          // past 2049: GeneralizedTime
          notAfter: new Date(Date.UTC(2061, 0, 2, 3, 4, 5)),
          publicKey: leafKey.publicKey,
          signingKey: ca.privateKey,
          keyUsage: [KU.digitalSignature, KU.keyEncipherment],
          extKeyUsage: [EKU.clientAuth],
          subjectKeyId: false,
          authorityKeyId: info.subjectKeyId,
          dnsNames: ["talos-api.c1.internal"],
          ipAddresses: ["10.10.0.5", "::1", "fd00::1:2", "::ffff:10.1.2.3"],
        }),
      );
      const c = new X509Certificate(caPem);
      const l = new X509Certificate(leafPem);
      expect(c.ca).toBe(true);
      expect(c.verify(c.publicKey)).toBe(true);
      expect(l.ca).toBe(false);
      expect(l.verify(c.publicKey)).toBe(true);
      expect(l.checkIssued(c)).toBe(true);
      expect(l.subject).toBe("O=system:masters\nO=under_score\nCN=admin");
      expect(l.issuer).toBe("O=talos");
      expect(l.subjectAltName).toBe("DNS:talos-api.c1.internal, IP Address:10.10.0.5, IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:0:0:0:0:0:1:2, IP Address:0:0:0:0:0:FFFF:A01:203");
      expect(new Date(l.validTo).toISOString()).toBe("2061-01-02T03:04:05.000Z");
      expect(l.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
      expect(describeCertificate(pemToDer(leafPem))).toEqual({ organizations: ["system:masters", "under_score"], ekus: [EKU.clientAuth] });
      expect(describeCertificate(pemToDer(caPem))).toEqual({ organizations: ["talos"], ekus: [EKU.serverAuth, EKU.clientAuth] });
    });
  }

  test("a CA without a subject key id: the issuer info has none, a subject with no attributes is an empty Name", () => {
    const ca = signer("ec");
    const now = new Date();
    const pem = certificatePem(
      buildCertificate({ subject: encodeName({}), notBefore: now, notAfter: new Date(now.getTime() + HOUR), publicKey: ca.publicKey, signingKey: ca.privateKey, ca: true, keyUsage: [KU.keyCertSign], subjectKeyId: false }),
    );
    const info = issuerInfo(pem);
    expect(info.subjectKeyId).toBeUndefined();
    expect(info.subject.equals(Buffer.from([0x30, 0x00]))).toBe(true);
    expect(new X509Certificate(pem).verify(ca.publicKey)).toBe(true);
  });
});
