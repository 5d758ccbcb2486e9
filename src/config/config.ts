/**
 * The daemon's configuration: a YAML file (default /etc/capx-appliance/config.yaml; a missing
 * default file is fine, a missing explicit one is an error) overridden by command-line flags.
 * Every key is documented in README.md ("Configuration").
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import type { TokenUser } from "../api/auth.ts";
import type { SyncLevel } from "../store/open.ts";
import { cloneData } from "../lib/clone.ts";

export const DEFAULT_CONFIG_PATH = "/etc/capx-appliance/config.yaml";
/** The data dir when neither `--data-dir` nor the config names one; `CAPX_DATA_DIR` overrides it. */
export const DEFAULT_DATA_DIR = process.env.CAPX_DATA_DIR || "/var/lib/capx-appliance";
export const DEFAULT_LISTEN = "0.0.0.0:6443";

export interface Config {
  listen: string;
  dataDir: string;
  tlsSANs: string[];
  logLevel: "debug" | "info" | "warn" | "error";
  storage: {
    synchronous: SyncLevel;
    compaction: { minRetain: number; maxRetain: number; minAgeSeconds: number };
    housekeepingIntervalSeconds: number;
  };
  auth: { tokens: TokenUser[] };
  /** Run the controllers (false: serve the API only, e.g. as the target of an export). */
  controllers: boolean;
  /** Lab mode: simulated Proxmox host, Talos nodes and workload clusters, in-process. */
  lab: {
    enabled: boolean;
    proxyListen: string;
    /** Also serve the lab PVE's HTTPS API here ("" = not served). */
    pveListen: string;
    /** How the controllers reach the lab PVE: directly, through proxmox-api over HTTPS, or through the qm/pvesh shims. */
    proxmoxBackend: LabProxmoxBackend;
    /** A YAML file replacing the default lab inventory ("" = the default). */
    inventory: string;
    /** `realistic` timings of a small real host, or `instant` (tests). */
    latencies: "realistic" | "instant";
    /** Fault injection in the lab PVE (probabilities 0..1). */
    faults: LabFaultsConfig;
  };
  /** How the appliance reaches Proxmox VE outside lab mode. */
  proxmox: ProxmoxConfig;
}

export type LabProxmoxBackend = "inprocess" | "http" | "local";

export interface LabFaultsConfig {
  taskFailureRate: number;
  lockTimeoutRate: number;
  http500Rate: number;
  slowTaskRate: number;
  slowTaskMs: number;
  seed: number;
}

const FAULT_RATES = ["taskFailureRate", "lockTimeoutRate", "http500Rate", "slowTaskRate"] as const;

export interface ProxmoxConfig {
  /** `auto`: local when `qm` is on the host, else http (which then needs url and a token). */
  backend: "auto" | "local" | "http";
  /** `https://pve.example:8006` for the http backend (a ProxmoxCluster credentialsRef overrides it). */
  url: string;
  /** `USER@REALM!TOKENID` */
  tokenId: string;
  /** The token's UUID secret. */
  tokenSecret: string;
  /** Skip TLS verification of the PVE API (self-signed host certificates). */
  insecure: boolean;
  /** A CA bundle to verify the PVE API with ("" = system roots). */
  caFile: string;
  /** The qm and pvesh executables of the local backend. */
  qm: string;
  pvesh: string;
}

export class ConfigError extends Error {}

export function defaultConfig(): Config {
  return {
    listen: DEFAULT_LISTEN,
    dataDir: DEFAULT_DATA_DIR,
    tlsSANs: [],
    logLevel: "info",
    storage: {
      synchronous: "FULL",
      compaction: { minRetain: 1000, maxRetain: 20000, minAgeSeconds: 300 },
      housekeepingIntervalSeconds: 60,
    },
    auth: { tokens: [] },
    controllers: true,
    lab: { enabled: false, proxyListen: "127.0.0.1:0", pveListen: "", proxmoxBackend: "inprocess", inventory: "", latencies: "realistic", faults: { taskFailureRate: 0, lockTimeoutRate: 0, http500Rate: 0, slowTaskRate: 0, slowTaskMs: 0, seed: 1 } },
    proxmox: { backend: "auto", url: "", tokenId: "", tokenSecret: "", insecure: false, caFile: "", qm: "qm", pvesh: "pvesh" },
  };
}

type Raw = Record<string, unknown>;

function isObj(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function need<T>(cond: boolean, key: string, what: string, v: T): T {
  if (!cond) throw new ConfigError(`config: ${key}: ${what}`);
  return v;
}

const KNOWN_KEYS: Record<string, string[]> = {
  "": ["listen", "dataDir", "tlsSANs", "logLevel", "storage", "auth", "controllers", "lab", "proxmox"],
  lab: ["enabled", "proxyListen", "pveListen", "proxmoxBackend", "inventory", "latencies", "faults"],
  "lab.faults": [...FAULT_RATES, "slowTaskMs", "seed"],
  proxmox: ["backend", "url", "tokenId", "tokenSecret", "insecure", "caFile", "qm", "pvesh"],
  storage: ["synchronous", "compaction", "housekeepingIntervalSeconds"],
  "storage.compaction": ["minRetain", "maxRetain", "minAgeSeconds"],
  auth: ["tokens"],
};

function checkKeys(obj: Raw, at: string): void {
  const known = KNOWN_KEYS[at] ?? [];
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) throw new ConfigError(`config: unknown key ${at ? `${at}.` : ""}${k}`);
  }
}

function posInt(v: unknown, key: string): number {
  return need(Number.isInteger(v) && (v as number) >= 0, key, "must be a non-negative integer", v as number);
}

/** Merges a parsed config document over the defaults, rejecting unknown keys and bad types. */
export function applyConfigDocument(base: Config, doc: unknown): Config {
  if (doc === null || doc === undefined) return base;
  if (!isObj(doc)) throw new ConfigError("config: the file must contain a YAML mapping");
  checkKeys(doc, "");
  const c = cloneData(base);
  if (doc.listen !== undefined) c.listen = need(typeof doc.listen === "string", "listen", "must be HOST:PORT", doc.listen as string);
  if (doc.dataDir !== undefined) c.dataDir = need(typeof doc.dataDir === "string" && doc.dataDir !== "", "dataDir", "must be a path", doc.dataDir as string);
  if (doc.tlsSANs !== undefined) {
    need(Array.isArray(doc.tlsSANs) && doc.tlsSANs.every((s) => typeof s === "string"), "tlsSANs", "must be a list of host names or IP addresses", 0);
    c.tlsSANs = doc.tlsSANs as string[];
  }
  if (doc.logLevel !== undefined) {
    c.logLevel = need(["debug", "info", "warn", "error"].includes(doc.logLevel as string), "logLevel", "must be debug, info, warn or error", doc.logLevel as Config["logLevel"]);
  }
  if (doc.controllers !== undefined) c.controllers = need(typeof doc.controllers === "boolean", "controllers", "must be true or false", doc.controllers as boolean);
  if (doc.lab !== undefined) {
    const l = need(isObj(doc.lab), "lab", "must be a mapping", doc.lab as Raw);
    checkKeys(l, "lab");
    if (l.enabled !== undefined) c.lab.enabled = need(typeof l.enabled === "boolean", "lab.enabled", "must be true or false", l.enabled as boolean);
    if (l.proxyListen !== undefined) c.lab.proxyListen = need(typeof l.proxyListen === "string", "lab.proxyListen", "must be HOST:PORT", l.proxyListen as string);
    if (l.pveListen !== undefined) c.lab.pveListen = need(typeof l.pveListen === "string", "lab.pveListen", "must be HOST:PORT or empty", l.pveListen as string);
    if (l.proxmoxBackend !== undefined) c.lab.proxmoxBackend = labBackend(l.proxmoxBackend, "lab.proxmoxBackend");
    if (l.latencies !== undefined) c.lab.latencies = need(l.latencies === "realistic" || l.latencies === "instant", "lab.latencies", "must be realistic or instant", l.latencies as Config["lab"]["latencies"]);
    if (l.faults !== undefined) {
      const f = need(isObj(l.faults), "lab.faults", "must be a mapping", l.faults as Raw);
      checkKeys(f, "lab.faults");
      for (const k of FAULT_RATES) {
        if (f[k] !== undefined) c.lab.faults[k] = need(typeof f[k] === "number" && f[k] >= 0 && f[k] <= 1, `lab.faults.${k}`, "must be a probability between 0 and 1", f[k] as number);
      }
      if (f.slowTaskMs !== undefined) c.lab.faults.slowTaskMs = posInt(f.slowTaskMs, "lab.faults.slowTaskMs");
      if (f.seed !== undefined) c.lab.faults.seed = posInt(f.seed, "lab.faults.seed");
    }
    if (l.inventory !== undefined) c.lab.inventory = need(typeof l.inventory === "string", "lab.inventory", "must be a path", l.inventory as string);
  }
  if (doc.proxmox !== undefined) {
    const x = need(isObj(doc.proxmox), "proxmox", "must be a mapping", doc.proxmox as Raw);
    checkKeys(x, "proxmox");
    if (x.backend !== undefined) c.proxmox.backend = need(["auto", "local", "http"].includes(x.backend as string), "proxmox.backend", "must be auto, local or http", x.backend as ProxmoxConfig["backend"]);
    for (const k of ["url", "tokenId", "tokenSecret", "caFile", "qm", "pvesh"] as const) {
      if (x[k] !== undefined) c.proxmox[k] = need(typeof x[k] === "string", `proxmox.${k}`, "must be a string", x[k] as string);
    }
    if (x.insecure !== undefined) c.proxmox.insecure = need(typeof x.insecure === "boolean", "proxmox.insecure", "must be true or false", x.insecure as boolean);
    checkProxmox(c.proxmox);
  }
  if (doc.storage !== undefined) {
    const s = need(isObj(doc.storage), "storage", "must be a mapping", doc.storage as Raw);
    checkKeys(s, "storage");
    if (s.synchronous !== undefined) {
      const v = String(s.synchronous).toUpperCase();
      c.storage.synchronous = need(v === "FULL" || v === "NORMAL", "storage.synchronous", "must be FULL or NORMAL", v as SyncLevel);
    }
    if (s.housekeepingIntervalSeconds !== undefined) {
      c.storage.housekeepingIntervalSeconds = posInt(s.housekeepingIntervalSeconds, "storage.housekeepingIntervalSeconds");
    }
    if (s.compaction !== undefined) {
      const k = need(isObj(s.compaction), "storage.compaction", "must be a mapping", s.compaction as Raw);
      checkKeys(k, "storage.compaction");
      for (const f of ["minRetain", "maxRetain", "minAgeSeconds"] as const) {
        if (k[f] !== undefined) c.storage.compaction[f] = posInt(k[f], `storage.compaction.${f}`);
      }
    }
  }
  if (doc.auth !== undefined) {
    const a = need(isObj(doc.auth), "auth", "must be a mapping", doc.auth as Raw);
    checkKeys(a, "auth");
    if (a.tokens !== undefined) {
      need(Array.isArray(a.tokens), "auth.tokens", "must be a list", 0);
      c.auth.tokens = (a.tokens as unknown[]).map((t, i) => {
        const key = `auth.tokens[${i}]`;
        need(isObj(t), key, "must be a mapping with token, user and optional groups", 0);
        const tt = t as Raw;
        need(typeof tt.token === "string" && tt.token.length >= 16, `${key}.token`, "must be a string of at least 16 characters", 0);
        need(typeof tt.user === "string" && tt.user !== "", `${key}.user`, "must be a non-empty string", 0);
        need(tt.groups === undefined || (Array.isArray(tt.groups) && tt.groups.every((g) => typeof g === "string")), `${key}.groups`, "must be a list of strings", 0);
        return { token: tt.token as string, user: tt.user as string, groups: tt.groups as string[] | undefined };
      });
    }
  }
  return c;
}

export function labBackend(v: unknown, key: string): LabProxmoxBackend {
  return need(["inprocess", "http", "local"].includes(v as string), key, "must be inprocess, http or local", v as LabProxmoxBackend);
}

function checkProxmox(p: ProxmoxConfig): void {
  if (p.url !== "") {
    let u: URL | undefined;
    try {
      u = new URL(p.url);
    } catch {
      u = undefined;
    }
    need(u !== undefined && (u.protocol === "https:" || u.protocol === "http:"), "proxmox.url", "must be an http(s) URL such as https://pve.example:8006", 0);
  }
  if (p.tokenId !== "") need(/^[^@\s]+@[^!\s]+![^\s]+$/.test(p.tokenId), "proxmox.tokenId", "must look like USER@REALM!TOKENID", 0);
  if (p.tokenSecret !== "") need(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(p.tokenSecret), "proxmox.tokenSecret", "must be the token's lower-case UUID secret", 0);
  if (p.backend === "http") need(p.url !== "" && p.tokenId !== "" && p.tokenSecret !== "", "proxmox", "backend http needs url, tokenId and tokenSecret", 0);
}

/** Loads the file; `explicit` means the user named it, so it must exist. */
export function loadConfigFile(path: string, explicit: boolean): Config {
  if (!existsSync(path)) {
    if (explicit) throw new ConfigError(`config: ${path} does not exist`);
    return defaultConfig();
  }
  let doc: unknown;
  try {
    const text = readFileSync(path, "utf8");
    if (text.trim() === "") return defaultConfig();
    const { parse } = require("yaml") as typeof import("yaml");
    doc = parse(text);
  } catch (e) {
    throw new ConfigError(`config: ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
  return applyConfigDocument(defaultConfig(), doc);
}

/** Splits HOST:PORT (IPv6 in brackets). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new ConfigError(`listen: ${JSON.stringify(listen)} is not HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`listen: port ${port} is out of range`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}
