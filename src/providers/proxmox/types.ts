/**
 * What the Proxmox controllers need from a Proxmox VE cluster, behind one interface with three
 * implementations: `local` (qm + pvesh on this host, snippets written directly), `http`
 * (proxmox-api over the network, bootstrap data as an uploaded NoCloud ISO) and `inprocess`
 * (the lab PVE called directly). The controllers cannot tell them apart except by latency.
 *
 * Conventions every implementation keeps:
 * - Long operations return a {@link TaskRef} at once; {@link ProxmoxBackend.task} reports how the
 *   task ended. A failure PVE reports synchronously is thrown as a {@link PveError}.
 * - Error texts are PVE's own (verbatim), so conditions can quote them.
 * - Nothing is retried inside a backend that is not idempotent (a clone is never sent twice).
 * @module
 */

/** A task PVE started: its UPID and the node that runs it (task endpoints must be asked there). */
export interface TaskRef {
  upid: string;
  node: string;
}

export interface TaskStatus {
  upid: string;
  node: string;
  /** `qmclone`, `qmstart`, `qmdestroy`, `resize`, … */
  type: string;
  /** The task's object id (for a clone: the SOURCE vmid). */
  id: string;
  running: boolean;
  /** `OK`, `WARNINGS: n`, or the error text; absent while running. */
  exitstatus?: string;
  /** Ended and succeeded (`OK` or `WARNINGS: n`, which PVE counts as success). */
  ok: boolean;
}

/** A failure PVE reported synchronously (HTTP status, or the CLI's exit code with status 500). */
export class PveError extends Error {
  override readonly name = "PveError";
  constructor(
    message: string,
    /** HTTP status (400 parameter errors, 401, 403, 500 for a `die`, 501, 595 unreachable). */
    readonly status: number,
    /** Per-parameter messages of a 400 `Parameter verification failed.` */
    readonly errors?: Record<string, string>,
  ) {
    super(message);
  }
}

/** Exactly what PVE says when a VM's config does not exist on the node asked. */
export function isMissingVm(err: unknown): boolean {
  return err instanceof PveError && /^Configuration file '[^']*' does not exist/.test(err.message);
}

export interface PveNodeInfo {
  node: string;
  online: boolean;
  /** Bytes. */
  maxmem: number;
  mem: number;
  maxcpu: number;
}

/** A `/cluster/resources?type=vm` entry (may lag: a new VM can show no name or maxmem yet). */
export interface PveVmInfo {
  vmid: number;
  node: string;
  name?: string;
  template: boolean;
  /** running | stopped | paused | unknown */
  status: string;
  /** Bytes; absent while the entry lags. */
  maxmem?: number;
  /** Lower-case, as PVE stores them. */
  tags: string[];
  lock?: string;
  type: "qemu" | "lxc";
}

export interface PveStorageInfo {
  storage: string;
  node: string;
  /** dir, lvmthin, lvm, nfs, zfspool, rbd, cephfs, … */
  type: string;
  content: string[];
  shared: boolean;
  enabled: boolean;
  active: boolean;
  /** Bytes available, when known. */
  avail?: number;
}

export interface CloneParams {
  /** The node that owns the source (clones are sent there). */
  node: string;
  /** Source VMID (template or VM). */
  vmid: number;
  newid: number;
  name: string;
  /** PVE default: linked for templates, full for VMs; CAPMOX sends full=true unless told otherwise. */
  full?: boolean;
  target?: string;
  storage?: string;
  format?: "raw" | "qcow2" | "vmdk";
  pool?: string;
  description?: string;
  snapname?: string;
}

/** A VM config as PVE returns it: every value as a string (PVE mixes numbers and strings). */
export type VmConfig = Record<string, string>;

export interface VmStatus {
  /** running | stopped | paused (the qmpstatus when running) */
  status: string;
  lock?: string;
  name?: string;
  template: boolean;
}

/** One guest interface from the QEMU guest agent (`network-get-interfaces`). */
export interface AgentInterface {
  name: string;
  /** Lower-case MAC. */
  mac?: string;
  addresses: { ip: string; family: "ipv4" | "ipv6"; prefix: number }[];
}

export interface AgentExecResult {
  exitcode: number;
  stdout: string;
  stderr: string;
}

/** NoCloud files for one VM. */
export interface BootstrapFiles {
  userData: string;
  metaData: string;
  networkConfig: string;
  vendorData?: string;
}

/**
 * Where a backend put a VM's bootstrap data and how the VM reads it: config keys to set
 * (`cicustom` for snippets, `ide0` for an ISO) and the volumes to delete with the VM.
 */
export interface BootstrapAttachment {
  kind: "snippets" | "iso";
  storage: string;
  /** Config keys to set on the VM, e.g. `{cicustom: "user=local:snippets/…"}` or `{ide0: "…,media=cdrom"}`. */
  config: Record<string, string>;
  /** Volume ids written (`local:snippets/capx-101-user.yaml`, `local:iso/user-data-101.iso`). */
  volumes: string[];
}

export interface BootstrapPlacement {
  /** Node the VM runs on. */
  node: string;
  vmid: number;
  /** A storage named by the user; otherwise the backend picks the first that fits. */
  storage?: string;
}

export type BackendName = "local" | "http" | "inprocess";

export interface ProxmoxBackend {
  readonly name: BackendName;
  /** Where it talks to, for logs and conditions (`qm on pve1`, `https://pve:8006`). */
  readonly endpoint: string;

  /** `/cluster/nextid` (not atomic: callers reserve ids themselves). */
  nextId(): Promise<number>;
  /** `/cluster/nextid?vmid=N`: false when the id is in use anywhere in the cluster. */
  vmidFree(vmid: number): Promise<boolean>;
  nodes(): Promise<PveNodeInfo[]>;
  vms(): Promise<PveVmInfo[]>;
  storages(node: string): Promise<PveStorageInfo[]>;

  clone(p: CloneParams): Promise<TaskRef>;
  /** The VM's config (pending values applied); undefined when it does not exist on that node. */
  vmConfig(node: string, vmid: number): Promise<VmConfig | undefined>;
  /** Synchronous config update (`PUT …/config`); `del` lists keys to remove. */
  setVmConfig(node: string, vmid: number, set: Record<string, string | number>, del?: string[]): Promise<void>;
  resizeDisk(node: string, vmid: number, disk: string, size: string): Promise<TaskRef>;
  startVm(node: string, vmid: number): Promise<TaskRef>;
  stopVm(node: string, vmid: number): Promise<TaskRef>;
  vmStatus(node: string, vmid: number): Promise<VmStatus | undefined>;
  destroyVm(node: string, vmid: number, opts: { purge: boolean }): Promise<TaskRef>;
  task(ref: TaskRef): Promise<TaskStatus>;

  /** Throws PveError with PVE's text while the agent is not running. */
  agentNetworkInterfaces(node: string, vmid: number): Promise<AgentInterface[]>;
  agentExec(node: string, vmid: number, command: string[]): Promise<AgentExecResult>;

  putBootstrapData(where: BootstrapPlacement, files: BootstrapFiles): Promise<BootstrapAttachment>;
  removeBootstrapData(node: string, attachment: BootstrapAttachment): Promise<void>;
}

const UPID_RE = /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

export interface ParsedUpid {
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
}

/** Splits a UPID; undefined when it is not one. */
export function parseUpid(upid: string): ParsedUpid | undefined {
  const m = UPID_RE.exec(upid);
  if (!m) return undefined;
  return { node: m[1]!, pid: parseInt(m[3]!, 16), pstart: parseInt(m[4]!, 16), starttime: parseInt(m[5]!, 16), type: m[6]!, id: m[7]!, user: m[8]! };
}

/** `OK` and `WARNINGS: n` are successes. */
export function taskSucceeded(exitstatus: string | undefined): boolean {
  return exitstatus === "OK" || /^WARNINGS: \d+$/.test(exitstatus ?? "");
}
