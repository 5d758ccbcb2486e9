/**
 * The backend the appliance uses for ProxmoxClusters without a credentialsRef, from the
 * `proxmox` configuration: `local` (qm + pvesh on this host), `http` (the PVE API with a token),
 * or `auto`: local when `qm` is on the host, else http when a URL and token are configured, else
 * none (such ProxmoxClusters then report that no backend is configured).
 * @module
 */
import { readFileSync } from "node:fs";
import type { ProxmoxConfig } from "../../config/config.ts";
import { HttpBackend } from "./http.ts";
import { LocalBackend } from "./local.ts";
import type { ProxmoxBackend } from "./types.ts";

function httpFromConfig(c: ProxmoxConfig): HttpBackend {
  return new HttpBackend({
    url: c.url,
    token: c.tokenId,
    secret: c.tokenSecret,
    insecure: c.insecure,
    ...(c.caFile ? { rootCa: readFileSync(c.caFile, "utf8") } : {}),
  });
}

export function defaultProxmoxBackend(c: ProxmoxConfig, which: (cmd: string) => string | null = (cmd) => Bun.which(cmd)): ProxmoxBackend | undefined {
  const haveHttp = c.url !== "" && c.tokenId !== "" && c.tokenSecret !== "";
  if (c.backend === "http") return httpFromConfig(c);
  if (c.backend === "local" || which(c.qm)) return new LocalBackend({ qm: c.qm, pvesh: c.pvesh });
  return haveHttp ? httpFromConfig(c) : undefined;
}
