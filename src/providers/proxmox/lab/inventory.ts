/**
 * The simulated hardware: nodes, storages, bridges and the template VMs a fresh lab starts with.
 * The default (documented in INVENTORY.md, which later checks rely on):
 * - nodes `pve1`, `pve2`, `pve3`: 64 GiB memory, 16 CPUs each;
 * - storages `local` (dir: iso, snippets, vztmpl; per node), `local-lvm` (lvmthin: images; per node),
 *   `shared` (nfs, shared: images, iso, snippets);
 * - bridges `vmbr0` 10.10.0.0/24 (gateway 10.10.0.1, fd00:10::/64) and `vmbr1` 10.20.0.0/24;
 * - templates 9000 (Talos nocloud, tag `talos`) and 9001 (Ubuntu cloud-init, tags `cloud-init`, `ubuntu` as the CAPMOX auto-image template selects) on
 *   `pve1`, disks on `shared`;
 * - node management addresses on the first bridge from its `.2` up (pve1 10.10.0.2, pve2 10.10.0.3,
 *   pve3 10.10.0.4): where the PVE API answers on the lab LAN (`https://10.10.0.2:8006`);
 * - no API tokens besides the lab's own `root@pam!capx` (`apiTokens` adds some, as
 *   `pveum user token add` would).
 * A YAML file of the same shape replaces it (`loadInventory`).
 * @module
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";

export interface NodeSpec {
  name: string;
  /** MiB. */
  memory: number;
  cpus: number;
  /** Management address on the lab LAN (default: the first bridge's `.2` + the node's index). */
  address?: string;
}

/** An API token the lab accepts from its start, as `pveum user token add USER TOKENID` makes one. */
export interface ApiTokenSpec {
  /** `USER@REALM!TOKENID` */
  id: string;
  /** A lower-case UUID. */
  secret: string;
  comment?: string;
}

export type StorageType = "dir" | "lvmthin" | "lvm" | "nfs" | "zfspool";

export interface StorageSpec {
  id: string;
  type: StorageType;
  content: string[];
  shared: boolean;
  /** Capacity in bytes (per node for a node-local storage). */
  size: number;
  /** Nodes that have it; all when absent. */
  nodes?: string[];
}

export interface BridgeSpec {
  name: string;
  cidr: string;
  gateway?: string;
  cidr6?: string;
  gateway6?: string;
}

/** What the template's boot disk holds: decides the guest agent and cloud-init behaviour. */
export interface GuestImage {
  /** `talos`, `ubuntu`, … (reported by the agent's get-osinfo). */
  os: string;
  /** The image runs qemu-guest-agent (Talos only with the qemu-guest-agent extension). */
  agent: boolean;
  /** The image runs cloud-init (answers `cloud-init status`). */
  cloudInit: boolean;
}

export interface TemplateSpec {
  vmid: number;
  node: string;
  name: string;
  tags: string[];
  storage: string;
  /** Boot disk size (`10G`). */
  disk: string;
  cores: number;
  /** MiB. */
  memory: number;
  bridge: string;
  guest: GuestImage;
  description?: string;
}

export interface Inventory {
  nodes: NodeSpec[];
  storages: StorageSpec[];
  bridges: BridgeSpec[];
  /** The hosts' /etc/resolv.conf: cloud-init's fallback nameserver and search domain. */
  dns: { nameservers: string[]; search: string[] };
  templates: TemplateSpec[];
  pools: string[];
  /** Extra API tokens (with full privileges of their user, as `--privsep 0`). */
  apiTokens?: ApiTokenSpec[];
}

const GiB = 1024 ** 3;

export const DEFAULT_INVENTORY: Inventory = {
  nodes: ["pve1", "pve2", "pve3"].map((name) => ({ name, memory: 64 * 1024, cpus: 16 })),
  storages: [
    { id: "local", type: "dir", content: ["iso", "snippets", "vztmpl"], shared: false, size: 100 * GiB },
    { id: "local-lvm", type: "lvmthin", content: ["images"], shared: false, size: 800 * GiB },
    { id: "shared", type: "nfs", content: ["images", "iso", "snippets"], shared: true, size: 4096 * GiB },
  ],
  bridges: [
    { name: "vmbr0", cidr: "10.10.0.0/24", gateway: "10.10.0.1", cidr6: "fd00:10::/64" },
    { name: "vmbr1", cidr: "10.20.0.0/24" },
  ],
  dns: { nameservers: ["10.10.0.1"], search: ["lab.local"] },
  templates: [
    {
      vmid: 9000,
      node: "pve1",
      name: "talos-nocloud",
      tags: ["talos"],
      storage: "shared",
      disk: "10G",
      cores: 2,
      memory: 2048,
      bridge: "vmbr0",
      guest: { os: "talos", agent: true, cloudInit: false },
      description: "Talos Linux nocloud image (with the qemu-guest-agent extension)",
    },
    {
      vmid: 9001,
      node: "pve1",
      name: "ubuntu-cloud",
      tags: ["cloud-init", "ubuntu"],
      storage: "shared",
      disk: "4G",
      cores: 2,
      memory: 2048,
      bridge: "vmbr0",
      guest: { os: "ubuntu", agent: true, cloudInit: true },
      description: "Ubuntu cloud image with cloud-init and qemu-guest-agent",
    },
  ],
  pools: [],
};

const STORAGE_TYPES: StorageType[] = ["dir", "lvmthin", "lvm", "nfs", "zfspool"];

function sizeOf(v: unknown, what: string): number {
  if (typeof v === "number") return v;
  const m = typeof v === "string" ? /^(\d+(?:\.\d+)?)\s*([KMGT])?i?B?$/i.exec(v.trim()) : null;
  if (!m) throw new Error(`${what}: not a size: ${JSON.stringify(v)}`);
  const unit = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[(m[2] ?? "").toUpperCase() as "K"] ?? 1;
  return Math.floor(Number(m[1]) * unit);
}

/** Checks and completes an inventory given as data (YAML/JSON shape of {@link Inventory}). */
export function normalizeInventory(input: unknown): Inventory {
  const o = (input ?? {}) as Record<string, unknown>;
  const fail = (msg: string): never => {
    throw new Error(`lab inventory: ${msg}`);
  };
  const list = (k: string): Record<string, unknown>[] => {
    const v = o[k] ?? (DEFAULT_INVENTORY as unknown as Record<string, unknown>)[k];
    if (!Array.isArray(v)) fail(`${k} must be a list`);
    return v as Record<string, unknown>[];
  };
  const bridges = list("bridges").map((b, i) => {
    if (typeof b.name !== "string" || typeof b.cidr !== "string") fail(`bridges[${i}] needs name and cidr`);
    return { ...(b as unknown as BridgeSpec) };
  });
  const nodes = list("nodes").map((n, i) => {
    if (typeof n.name !== "string" || !/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(n.name)) fail(`nodes[${i}].name must be a node name`);
    if (n.address !== undefined && (typeof n.address !== "string" || !IPV4.test(n.address))) fail(`nodes[${i}].address must be an IPv4 address`);
    const address = (n.address as string | undefined) ?? (bridges[0] ? hostAddress(bridges[0].cidr, 2 + i) : undefined);
    return { name: n.name as string, memory: Number(n.memory ?? 64 * 1024), cpus: Number(n.cpus ?? 16), ...(address ? { address } : {}) };
  });
  if (!nodes.length) fail("at least one node is needed");
  const nodeNames = new Set(nodes.map((n) => n.name));
  const storages = list("storages").map((s, i) => {
    if (typeof s.id !== "string" || !/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(s.id)) fail(`storages[${i}].id must be a storage ID`);
    if (!STORAGE_TYPES.includes(s.type as StorageType)) fail(`storages[${i}].type must be one of ${STORAGE_TYPES.join(", ")}`);
    const content = Array.isArray(s.content) ? s.content.map(String) : String(s.content ?? "").split(/[,\s]+/).filter(Boolean);
    const spec: StorageSpec = { id: s.id as string, type: s.type as StorageType, content, shared: Boolean(s.shared), size: sizeOf(s.size ?? "1T", `storages[${i}].size`) };
    if (Array.isArray(s.nodes)) {
      spec.nodes = s.nodes.map(String);
      for (const n of spec.nodes) if (!nodeNames.has(n)) fail(`storages[${i}].nodes: unknown node ${n}`);
    }
    return spec;
  });
  const dnsIn = (o.dns ?? DEFAULT_INVENTORY.dns) as Record<string, unknown>;
  const dns = {
    nameservers: Array.isArray(dnsIn.nameservers) ? dnsIn.nameservers.map(String) : [],
    search: Array.isArray(dnsIn.search) ? dnsIn.search.map(String) : [],
  };
  const templates = list("templates").map((t, i) => {
    const vmid = Number(t.vmid);
    if (!/^[1-9][0-9]{2,8}$/.test(String(t.vmid))) fail(`templates[${i}].vmid must be a VM ID`);
    if (!nodeNames.has(String(t.node))) fail(`templates[${i}].node: unknown node ${t.node}`);
    if (!storages.some((s) => s.id === t.storage && s.content.includes("images"))) fail(`templates[${i}].storage must be an images storage`);
    const guest = (t.guest ?? {}) as Record<string, unknown>;
    return {
      vmid,
      node: String(t.node),
      name: String(t.name ?? `template-${vmid}`),
      tags: Array.isArray(t.tags) ? t.tags.map((x) => String(x).toLowerCase()) : [],
      storage: String(t.storage),
      disk: String(t.disk ?? "10G"),
      cores: Number(t.cores ?? 2),
      memory: Number(t.memory ?? 2048),
      bridge: String(t.bridge ?? bridges[0]?.name ?? "vmbr0"),
      guest: { os: String(guest.os ?? "linux"), agent: guest.agent !== false, cloudInit: guest.cloudInit !== false },
      ...(t.description ? { description: String(t.description) } : {}),
    };
  });
  const pools = Array.isArray(o.pools) ? o.pools.map(String) : [];
  if (o.apiTokens !== undefined && !Array.isArray(o.apiTokens)) fail("apiTokens must be a list");
  const apiTokens = ((o.apiTokens ?? []) as Record<string, unknown>[]).map((t, i) => {
    if (typeof t.id !== "string" || !TOKEN_ID.test(t.id)) fail(`apiTokens[${i}].id must be an API token id USER@REALM!TOKENID`);
    if (typeof t.secret !== "string" || !TOKEN_SECRET.test(t.secret)) fail(`apiTokens[${i}].secret must be a lower-case UUID`);
    return { id: t.id as string, secret: t.secret as string, ...(t.comment !== undefined ? { comment: String(t.comment) } : {}) };
  });
  return { nodes, storages, bridges, dns, templates, pools, ...(apiTokens.length ? { apiTokens } : {}) };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** PVE's `$userid_or_token_regex` with the token part required. */
export const TOKEN_ID = /^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$/;
const TOKEN_SECRET = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The `n`th address of an IPv4 network (`10.10.0.0/24`, 2 → `10.10.0.2`). */
function hostAddress(cidr: string, n: number): string | undefined {
  const [base] = cidr.split("/");
  if (!base || !IPV4.test(base)) return undefined;
  const v = (base.split(".").reduce((a, o) => (a << 8) + Number(o), 0) + n) >>> 0;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
}

/** Where a node's API (pveproxy, port 8006) answers on the lab LAN. */
export function nodeAddress(inv: Inventory, node: string): string | undefined {
  return inv.nodes.find((n) => n.name === node)?.address;
}

export function loadInventory(path: string): Inventory {
  return normalizeInventory(parse(readFileSync(path, "utf8")));
}

/** The nodes a storage exists on. */
export function storageNodes(inv: Inventory, s: StorageSpec): string[] {
  return s.nodes ?? inv.nodes.map((n) => n.name);
}
