import "reflect-metadata";
import { describe, expect, it } from "bun:test";
import { X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { randomBytes, createPrivateKey } from "node:crypto";
import { createTalosCA, describeClientCertificate, issueTalosAdminCertificate, issueTalosCertificate } from "./pki.ts";

describe("Talos leaf certificates", () => {
  it("name their issuer by the CA's own subject key id, which a bundle CA need not derive from its key", async () => {
    // A CA as talosctl may have made it: a subject key id that is not the hash of its key.
    const keys = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as unknown as CryptoKeyPair;
    const made = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "01",
      name: "O=talos",
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      keys,
      signingAlgorithm: { name: "Ed25519" },
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true), new x509.SubjectKeyIdentifierExtension(randomBytes(20).toString("hex"))],
    });
    const keyPem = (createPrivateKey({ key: Buffer.from(await crypto.subtle.exportKey("pkcs8", keys.privateKey)), format: "der", type: "pkcs8" }).export({ type: "pkcs8", format: "pem" }) as string).replace(/(BEGIN|END) PRIVATE KEY/g, "$1 ED25519 PRIVATE KEY");
    const ca = { crt: made.toString("pem"), key: keyPem };
    const caCert = new x509.X509Certificate(ca.crt);
    const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
    const leaf = await issueTalosCertificate({ certPem: ca.crt, keyPem: ca.key }, { usage: "server", dnsNames: ["talos-api.c1.internal"], ipAddresses: ["10.10.0.21"], hours: 24 });
    const aki = new x509.X509Certificate(leaf.certPem).getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId;
    expect(aki).toBe(ski);
    expect(new X509Certificate(leaf.certPem).verify(new X509Certificate(ca.crt).publicKey)).toBe(true);
    expect(new X509Certificate(leaf.certPem).checkIssued(new X509Certificate(ca.crt))).toBe(true);
  });
});

describe("apid's view of a client certificate", () => {
  it("is read once per certificate, for as many clients as a lab of 1,000 clusters has", async () => {
    const ca = await createTalosCA();
    const ders: Uint8Array[] = [];
    for (let i = 0; i < 1000; i++) ders.push(new Uint8Array(new X509Certificate((await issueTalosAdminCertificate(ca, i % 2 ? "os:reader" : "os:admin")).certPem).raw));
    const first = ders.map((d) => describeClientCertificate(d));
    expect(first[0]).toEqual({ organizations: ["os:admin"], ekus: ["1.3.6.1.5.5.7.3.2"] });
    expect(first[1]!.organizations).toEqual(["os:reader"]);
    // the same answer object again: remembered, not parsed a second time
    ders.forEach((d, i) => expect(describeClientCertificate(d)).toBe(first[i]!));
  });
});
