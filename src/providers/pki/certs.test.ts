import { describe, expect, it } from "bun:test";
import { X509Certificate } from "node:crypto";
import { canonicalIp, certInfo } from "./cert-info.ts";
import { createCA, issueCertificate } from "./certs.ts";
import { buildKubeconfig } from "./kubeconfig.ts";
import { parse } from "yaml";

describe("pki", () => {
  it("issues server and client certificates signed by the CA, with SANs and usages", async () => {
    const ca = await createCA("test-ca");
    const server = await issueCertificate(ca, { commonName: "srv", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"], usage: "server", days: 30 });
    const client = await issueCertificate(ca, { commonName: "capx-admin", organizations: ["system:masters"], usage: "client", days: 30 });
    const caCert = new X509Certificate(ca.certPem);
    expect(caCert.ca).toBe(true);
    expect(new X509Certificate(server.certPem).checkIssued(caCert)).toBe(true);
    expect(new X509Certificate(server.certPem).verify(caCert.publicKey)).toBe(true);
    expect(certInfo(server.certPem)).toMatchObject({ commonName: "srv", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] });
    expect(certInfo(client.certPem)).toMatchObject({ commonName: "capx-admin", organizations: ["system:masters"], dnsNames: [] });
    expect(new X509Certificate(client.certPem).keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(client.keyPem).toStartWith("-----BEGIN PRIVATE KEY-----");
  });

  it("canonicalises IPv6 addresses for SAN comparison", () => {
    expect(canonicalIp("0:0:0:0:0:0:0:1")).toBe("::1");
    expect(canonicalIp("10.0.0.1")).toBe("10.0.0.1");
  });

  it("writes kubeconfigs with embedded credentials", () => {
    const kc = parse(buildKubeconfig({ server: "https://h:6443", caPem: "CA", clusterName: "c", userName: "u", certPem: "C", keyPem: "K", proxyUrl: "http://p:3128" }));
    expect(kc.clusters[0].cluster).toEqual({ server: "https://h:6443", "certificate-authority-data": "Q0E=", "proxy-url": "http://p:3128" });
    expect(kc.users[0].user).toEqual({ "client-certificate-data": "Qw==", "client-key-data": "Sw==" });
    expect(kc["current-context"]).toBe("u@c");
  });
});

describe("issuing with other CA key types", () => {
  it("signs with an RSA CA key (PKCS#1 PEM, as kubeadm writes it)", async () => {
    const { generateKeyPairSync, X509Certificate: NodeCert } = await import("node:crypto");
    const { execFileSync } = await import("node:child_process");
    const { mkdtempSync, writeFileSync, readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "capx-rsa-"));
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyPem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    writeFileSync(join(dir, "ca.key"), keyPem);
    execFileSync("openssl", ["req", "-x509", "-new", "-key", join(dir, "ca.key"), "-subj", "/CN=kubernetes", "-days", "1", "-out", join(dir, "ca.crt")]);
    const ca = { certPem: readFileSync(join(dir, "ca.crt"), "utf8"), keyPem };
    const issued = await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client", days: 1 });
    expect(new NodeCert(issued.certPem).verify(new NodeCert(ca.certPem).publicKey)).toBe(true);
  });
});
