/**
 * The appliance's own PKI in DATA_DIR/pki: a CA, a serving certificate (reissued when the wanted
 * SANs change) and the admin client certificate (CN=capx-admin, O=system:masters). Files are
 * 0600; the CA and admin certificate are created once and reused.
 * @module
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, networkInterfaces } from "node:os";
import { isIP } from "node:net";
import { join } from "node:path";
import { canonicalIp, certInfo } from "../providers/pki/cert-info.ts";
import type { KeyPairPem } from "../providers/pki/certs.ts";
import { buildKubeconfig } from "../providers/pki/kubeconfig.ts";

export const ADMIN_USER = "capx-admin";
export const ADMIN_GROUP = "system:masters";

export interface AppliancePki {
  ca: KeyPairPem;
  serving: KeyPairPem;
  admin: KeyPairPem;
}

function read(dir: string, name: string): KeyPairPem | undefined {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  if (!existsSync(crt) || !existsSync(key)) return undefined;
  return { certPem: readFileSync(crt, "utf8"), keyPem: readFileSync(key, "utf8") };
}

export function writeSecretFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function write(dir: string, name: string, pair: KeyPairPem): void {
  writeSecretFile(join(dir, `${name}.crt`), pair.certPem);
  writeSecretFile(join(dir, `${name}.key`), pair.keyPem);
}

/** The SANs a serving certificate must carry: loopback, the host's names and addresses, extras. */
export function wantedSANs(extra: string[]): { dns: string[]; ips: string[] } {
  const dns = new Set(["localhost"]);
  const ips = new Set(["127.0.0.1", "::1"]);
  const host = hostname();
  if (host) dns.add(host);
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (!a.address.startsWith("fe80")) ips.add(a.address);
  }
  for (const s of extra) (isIP(s) ? ips : dns).add(s);
  return { dns: [...dns].sort(), ips: [...ips].map(canonicalIp).sort() };
}

const MONTH = 30 * 24 * 3600 * 1000;

export async function ensurePki(dataDir: string, extraSANs: string[]): Promise<AppliancePki> {
  // The generator (and its ASN.1 stack) loads only when something must be issued.
  // reflect-metadata must be evaluated before @peculiar/x509; the bundler does not keep the
  // order of a lazily imported module's own imports, so load it explicitly first.
  const gen = async () => {
    await import("reflect-metadata");
    return import("../providers/pki/certs.ts");
  };
  const dir = join(dataDir, "pki");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let ca = read(dir, "ca");
  if (!ca) {
    ca = await (await gen()).createCA("capx-appliance-ca");
    write(dir, "ca", ca);
  }
  const want = wantedSANs(extraSANs);
  let serving = read(dir, "serving");
  const info = serving ? certInfo(serving.certPem) : undefined;
  const covers =
    info &&
    want.dns.every((d) => info.dnsNames.includes(d)) &&
    want.ips.every((i) => info.ipAddresses.includes(i)) &&
    info.notAfter.getTime() - Date.now() > MONTH;
  if (!serving || !covers) {
    serving = await (await gen()).issueCertificate(ca, { commonName: "capx-appliance", dnsNames: want.dns, ipAddresses: want.ips, usage: "server", days: 825 });
    write(dir, "serving", serving);
  }
  let admin = read(dir, "admin");
  if (!admin || certInfo(admin.certPem).notAfter.getTime() - Date.now() < MONTH) {
    admin = await (await gen()).issueCertificate(ca, { commonName: ADMIN_USER, organizations: [ADMIN_GROUP], usage: "client", days: 3650 });
    write(dir, "admin", admin);
  }
  return { ca, serving, admin };
}

export function adminKubeconfig(pki: AppliancePki, server: string): string {
  return buildKubeconfig({ server, caPem: pki.ca.certPem, clusterName: "capx-appliance", userName: ADMIN_USER, contextName: "capx-admin@capx-appliance", certPem: pki.admin.certPem, keyPem: pki.admin.keyPem });
}
