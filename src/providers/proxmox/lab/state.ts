/**
 * Everything the lab PVE remembers, as plain JSON (persisted entry by entry in DATA_DIR/lab/pve-state.db):
 * VM configs as PVE keeps them (`key: value` strings, a [PENDING] section), volumes per storage,
 * tasks, guest runtime, DHCP leases and the history `/cluster/resources` lags behind.
 * @module
 */
import { randomUUID } from "node:crypto";
import type { GuestImage, Inventory, StorageSpec } from "./inventory.ts";
import { formatSize, parseSize, printNet, randomMac } from "./property-string.ts";

export type VmConfig = Record<string, string>;

export interface VolumeRecord {
  storage: string;
  /** The node holding it, for node-local storages. */
  node?: string;
  /** `vm-101-disk-0` (lvm), `101/vm-101-disk-0.qcow2` (dir/nfs), linked: `9000/base-9000-disk-0.qcow2/101/vm-101-disk-0.qcow2`. */
  volname: string;
  vmid: number;
  format: "raw" | "qcow2" | "vmdk";
  /** Bytes. */
  size: number;
  base?: boolean;
  /** Volid of the base volume a linked clone depends on. */
  parent?: string;
  /** The OS image on this disk (copied by clones, read at boot). */
  guest?: GuestImage;
  /** A cloud-init drive's ISO: its label and files, as written at the last start. */
  iso?: { label: string; files: Record<string, string> };
  ctime: number;
}

/** What a running VM booted with; the guest agent answers from it. */
export interface BootRecord {
  startedAt: number;
  pid: number;
  agentReadyAt: number;
  cloudInitDoneAt: number;
  guest?: GuestImage;
  /** netN → { mac (lower-case), bridge }. */
  nics: Record<string, { mac: string; bridge?: string }>;
  /** NoCloud data found on a cdrom labelled cidata (PVE's cloud-init drive or an uploaded ISO). */
  cidata?: { source: string; files: Record<string, string> };
}

export interface VmRecord {
  vmid: number;
  node: string;
  config: VmConfig;
  pending: VmConfig;
  /** `delete:` line of [PENDING]; a `!` prefix marks a forced delete. */
  pendingDelete: string[];
  status: "running" | "stopped";
  boot?: BootRecord;
  /** Cloud-init options as they were when the ISO was last generated ([special:cloudinit]). */
  ciApplied?: Record<string, string>;
  createdAt: number;
}

export interface TaskRecord {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
  tokenid?: string;
  /** The worker that runs it (see tasks.ts) and its data. */
  worker: string;
  data: Record<string, unknown>;
  status: "running" | "stopped";
  exitstatus?: string;
  endtime?: number;
  log: string[];
  warnings: number;
  /** Index of the worker step in progress and when it began (ms). */
  step: number;
  stepStartedAt: number;
  /** Locks this task holds: key → mode. */
  held: Record<string, "ex" | "sh">;
  /** Fault decisions made at fork time. */
  injectFailure?: boolean;
  extraDelayMs?: number;
}

/** The pvestatd view of a VM that `/cluster/resources` reports (lagging). */
export interface VmStat {
  status: string;
  name?: string;
  template: number;
  maxmem: number;
  maxcpu: number;
  maxdisk: number;
  uptime: number;
  startedAt?: number;
}

export interface AgentExec {
  command: string[];
  startedAt: number;
  /** Filled when the command has an answer; `finishAt` is when it exits. */
  finishAt: number;
  exitcode: number;
  out: string;
  err: string;
}

export interface LabState {
  version: 1;
  /** ms since epoch when each node "booted" (for UPID pstart). */
  nodeBoot: Record<string, number>;
  nextPid: number;
  vms: Record<string, VmRecord>;
  volumes: Record<string, VolumeRecord>;
  tasks: Record<string, TaskRecord>;
  pools: Record<string, { comment?: string; members: number[] }>;
  /** bridge → lower-case MAC → IPv4 address. */
  leases: Record<string, Record<string, string>>;
  /** vmid → history of pvestatd samples, newest last. */
  stats: Record<string, { t: number; s: VmStat }[]>;
  /** vmid → agent exec pid → command. */
  execs: Record<string, Record<string, AgentExec>>;
  /** API tokens: `USER@REALM!TOKENID` → secret (a lower-case UUID). */
  tokens: Record<string, string>;
  /** What `POST /access/users/{userid}/token/{tokenid}` answers as `info` (absent: privsep 0, as the lab's own token). */
  tokenInfo?: Record<string, TokenInfo>;
}

/** PVE's `token-info`: `privsep` 1 by default, `expire` in seconds since the epoch (0: never). */
export interface TokenInfo {
  privsep: number;
  expire?: number;
  comment?: string;
}

/** Key of a volume record: node-local storages are per node. */
export function volumeKey(storage: StorageSpec, node: string, volname: string): string {
  return storage.shared ? `*/${storage.id}:${volname}` : `${node}/${storage.id}:${volname}`;
}

export function newSmbiosUuid(): string {
  return randomUUID();
}

function templateVm(inv: Inventory, t: Inventory["templates"][number], now: number, random: () => number): { vm: VmRecord; volumes: Record<string, VolumeRecord> } {
  const storage = inv.storages.find((s) => s.id === t.storage)!;
  const fileBased = storage.type === "dir" || storage.type === "nfs";
  const disk = fileBased ? `${t.vmid}/base-${t.vmid}-disk-0.qcow2` : `base-${t.vmid}-disk-0`;
  const ci = fileBased ? `${t.vmid}/vm-${t.vmid}-cloudinit.qcow2` : `vm-${t.vmid}-cloudinit`;
  const format = fileBased ? "qcow2" : "raw";
  const size = parseSize(t.disk) ?? 10 * 1024 ** 3;
  const ctime = Math.floor(now / 1000);
  const volumes: Record<string, VolumeRecord> = {
    [volumeKey(storage, t.node, disk)]: { storage: storage.id, ...(storage.shared ? {} : { node: t.node }), volname: disk, vmid: t.vmid, format, size, base: true, guest: t.guest, ctime },
    [volumeKey(storage, t.node, ci)]: { storage: storage.id, ...(storage.shared ? {} : { node: t.node }), volname: ci, vmid: t.vmid, format, size: 4 * 1024 * 1024, ctime },
  };
  const config: VmConfig = {
    agent: t.guest.agent ? "1" : "0",
    boot: "order=scsi0;ide2;net0",
    cores: String(t.cores),
    ide2: `${storage.id}:${ci},media=cdrom`,
    memory: String(t.memory),
    meta: `creation-qemu=9.2.0,ctime=${ctime}`,
    name: t.name,
    net0: printNet({ model: "virtio", macaddr: randomMac(random), bridge: t.bridge, options: {} }),
    ostype: "l26",
    scsi0: `${storage.id}:${disk},size=${formatSize(size)}`,
    scsihw: "virtio-scsi-single",
    serial0: "socket",
    smbios1: `uuid=${newSmbiosUuid()}`,
    sockets: "1",
    template: "1",
    vga: "serial0",
    vmgenid: newSmbiosUuid(),
  };
  if (t.tags.length) config.tags = [...new Set(t.tags)].sort().join(";");
  if (t.description) config.description = t.description;
  return { vm: { vmid: t.vmid, node: t.node, config, pending: {}, pendingDelete: [], status: "stopped", createdAt: now - 3600_000 }, volumes };
}

export function initialState(inv: Inventory, now: number, random: () => number): LabState {
  const state: LabState = {
    version: 1,
    nodeBoot: Object.fromEntries(inv.nodes.map((n) => [n.name, now - 86400_000])),
    nextPid: 0x3a100,
    vms: {},
    volumes: {},
    tasks: {},
    pools: Object.fromEntries(inv.pools.map((p) => [p, { members: [] }])),
    leases: {},
    stats: {},
    execs: {},
    tokens: {},
  };
  for (const t of inv.templates) {
    const { vm, volumes } = templateVm(inv, t, now, random);
    state.vms[String(t.vmid)] = vm;
    Object.assign(state.volumes, volumes);
  }
  return state;
}
