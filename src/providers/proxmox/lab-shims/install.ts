/**
 * Puts `qm` and `pvesh` for the lab PVE into a directory (e.g. DATA_DIR/lab/bin): small shell
 * wrappers that set the shim environment (lab API URL, token, node, CA) and exec the shim, plus a
 * `storage.cfg` in PVE's format that tells the local backend where each storage's files live
 * (the lab's directories instead of /var/lib/vz), so lab mode runs the local backend unchanged.
 * @module
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LabHttps, LabPve } from "../lab/index.ts";

export type ShimTool = "qm" | "pvesh";

export interface ShimInstallOptions {
  /** Directory for the wrappers (created). */
  binDir: string;
  /** The lab PVE's HTTPS API, `https://127.0.0.1:PORT`. */
  url: string;
  /** `USER@REALM!TOKENID=SECRET`, or a file holding it (DATA_DIR/lab/pve-token). */
  token?: string;
  tokenFile?: string;
  /** The node qm runs on (the appliance's node). */
  node: string;
  /** PEM of the CA that signed the lab's certificate; else `insecure` must be set. */
  caFile?: string;
  insecure?: boolean;
  /**
   * How to run a shim. Default: this Bun running the TypeScript entry beside this file. A compiled
   * binary passes e.g. `(t) => [process.execPath, "lab-shim", t]`.
   */
  command?: (tool: ShimTool) => string[];
}

export interface InstalledShims {
  qm: string;
  pvesh: string;
  env: Record<string, string>;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function shimEnv(o: ShimInstallOptions): Record<string, string> {
  if (!o.token && !o.tokenFile) throw new Error("lab shims need token or tokenFile");
  if (!o.caFile && !o.insecure) throw new Error("lab shims need caFile or insecure");
  return {
    CAPX_LAB_PVE_URL: o.url,
    CAPX_LAB_PVE_NODE: o.node,
    ...(o.token ? { CAPX_LAB_PVE_TOKEN: o.token } : { CAPX_LAB_PVE_TOKEN_FILE: o.tokenFile! }),
    ...(o.caFile ? { CAPX_LAB_PVE_CA: o.caFile } : { CAPX_LAB_PVE_INSECURE: "1" }),
  };
}

export function defaultShimCommand(tool: ShimTool): string[] {
  return [process.execPath, join(import.meta.dir, `${tool}.ts`)];
}

/** Writes `<binDir>/qm` and `<binDir>/pvesh`; returns their paths and the environment they set. */
export function installShims(o: ShimInstallOptions): InstalledShims {
  mkdirSync(o.binDir, { recursive: true });
  const env = shimEnv(o);
  const paths = {} as Record<ShimTool, string>;
  for (const tool of ["qm", "pvesh"] as const) {
    const cmd = (o.command ?? defaultShimCommand)(tool);
    const lines = [
      "#!/bin/sh",
      `# ${tool} for the capx-appliance lab PVE (generated; see src/providers/proxmox/lab-shims/)`,
      ...Object.entries(env).map(([k, v]) => `${k}=${shq(v)}; export ${k}`),
      `exec ${cmd.map(shq).join(" ")} "$@"`,
      "",
    ];
    const path = join(o.binDir, tool);
    writeFileSync(path, lines.join("\n"));
    chmodSync(path, 0o755);
    paths[tool] = path;
  }
  return { ...paths, env };
}

export interface StorageCfgSpec {
  id: string;
  /** dir, nfs, lvmthin, … */
  type: string;
  content: string[];
  shared?: boolean;
  /** Directory of a file storage as seen from this node. */
  path?: string;
  /** lvmthin: the volume group. */
  vgname?: string;
}

/** PVE's section-config text for storages (what /etc/pve/storage.cfg holds). */
export function formatStorageCfg(storages: StorageCfgSpec[]): string {
  return storages
    .map((s) => {
      const opts: [string, string][] = [];
      if (s.path) opts.push(["path", s.path]);
      if (s.type === "lvmthin") opts.push(["thinpool", "data"], ["vgname", s.vgname ?? "pve"]);
      if (s.type === "nfs") opts.push(["export", `/export/${s.id}`], ["server", "10.10.0.2"]);
      opts.push(["content", s.content.join(",")]);
      if (s.shared && s.type === "dir") opts.push(["shared", "1"]);
      return [`${s.type}: ${s.id}`, ...opts.map(([k, v]) => `\t${k} ${v}`)].join("\n");
    })
    .join("\n\n")
    .concat("\n");
}

export function writeStorageCfg(path: string, storages: StorageCfgSpec[]): void {
  writeFileSync(path, formatStorageCfg(storages));
}

export interface LabCli extends InstalledShims {
  /** storage.cfg naming the lab's storage directories as seen from `node`. */
  storageCfg: string;
  node: string;
}

/**
 * Everything the local backend needs to run against the lab PVE: the CA file, the wrappers in
 * DATA_DIR/lab/bin and a storage.cfg there. Then:
 * `new LocalBackend({ qm: cli.qm, pvesh: cli.pvesh, nodeName: cli.node, storageCfg: cli.storageCfg })`.
 */
export function installLabCli(lab: Pick<LabPve, "dir" | "inventory" | "storagePath">, https: Pick<LabHttps, "url" | "token" | "caPem">, opts: { node?: string; command?: (tool: ShimTool) => string[] } = {}): LabCli {
  const node = opts.node ?? lab.inventory.nodes[0]!.name;
  const binDir = join(lab.dir, "bin");
  mkdirSync(binDir, { recursive: true });
  const caFile = join(binDir, "pve-root-ca.pem");
  writeFileSync(caFile, https.caPem);
  const shims = installShims({ binDir, url: https.url, token: https.token, node, caFile, ...(opts.command ? { command: opts.command } : {}) });
  const storageCfg = join(binDir, "storage.cfg");
  writeStorageCfg(
    storageCfg,
    lab.inventory.storages.map((s) => ({ id: s.id, type: s.type, content: s.content, shared: s.shared, ...(s.type === "dir" || s.type === "nfs" ? { path: lab.storagePath(node, s.id) } : {}) })),
  );
  return { ...shims, storageCfg, node };
}
