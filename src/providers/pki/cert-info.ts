/**
 * Reading certificates with node:crypto (native; no need to load the generator library on a
 * restart that only checks expiry and SANs).
 * @module
 */
import { X509Certificate } from "node:crypto";
import { isIPv6 } from "node:net";

export interface CertInfo {
  commonName: string;
  organizations: string[];
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
}

/** Canonical text of an IP address (IPv6 compressed), for comparing SAN lists. */
export function canonicalIp(ip: string): string {
  return isIPv6(ip) ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

export function certInfo(certPem: string): CertInfo {
  const cert = new X509Certificate(certPem);
  const subject = cert.subject.split("\n");
  const field = (k: string) => subject.filter((l) => l.startsWith(`${k}=`)).map((l) => l.slice(k.length + 1));
  const sans = (cert.subjectAltName ?? "").split(", ").filter(Boolean);
  return {
    commonName: field("CN")[0] ?? "",
    organizations: field("O"),
    notAfter: new Date(cert.validTo),
    dnsNames: sans.filter((s) => s.startsWith("DNS:")).map((s) => s.slice(4)),
    ipAddresses: sans.filter((s) => s.startsWith("IP Address:")).map((s) => canonicalIp(s.slice(11))),
  };
}
