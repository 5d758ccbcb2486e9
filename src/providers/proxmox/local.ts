/**
 * The `local` Proxmox backend: the appliance runs on a PVE node and uses its CLI — `qm` for VMs
 * on this node, `pvesh --output-format json` for the cluster and for VMs on other nodes (qm only
 * sees its own node) — and writes cloud-init snippets straight into a snippets storage.
 *
 * How the CLI reports (notes §0, §1): workers run synchronously, their log goes to stdout, a
 * failure's text to stderr. qm does not print the task's UPID, so a qm task is returned as a
 * synthetic, already finished task (`UPID:<node>:<qm pid>:00000000:…`, pstart 0 marks it) whose
 * status this backend remembers. Exit codes: commands with PVE's `$upid_exit` hook (clone, start,
 * stop, destroy) exit 255 when the task failed — the same as a synchronous failure, so on a non-zero
 * exit the node's task list tells the two apart; `qm disk resize` has no hook and exits 0 even
 * when its task failed, so its stderr is read. pvesh runs tasks synchronously too and then prints
 * the real UPID (exit 0 even when the task failed).
 * @module
 */
import { cloudInitDriveFor } from "./cloudinit-drive.ts";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { log as rootLog } from "../../lib/log.ts";
import { chooseStorage, toAgentInterfaces, toExecStatus, toNodeInfo, toNum, toStorageInfo, toTaskStatus, toVmConfig, toVmInfo, toVmStatus } from "./http.ts";
import {
  PveError,
  isMissingVm,
  parseUpid,
  taskSucceeded,
  type AgentExecResult,
  type AgentInterface,
  type BootstrapAttachment,
  type BootstrapFiles,
  type BootstrapPlacement,
  type CloneParams,
  type ProxmoxBackend,
  type PveNodeInfo,
  type PveStorageInfo,
  type PveVmInfo,
  type TaskRef,
  type TaskStatus,
  type VmConfig,
  type VmStatus,
} from "./types.ts";

const log = rootLog.child({ component: "proxmox-local" });

// ---------------------------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------------------------

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The process id, when known (names synthetic tasks). */
  pid?: number;
}

export type ExecFn = (argv: string[]) => Promise<ExecResult>;

/**
 * Runs a command with Bun.spawn, stdin closed, under umask 022: qm/pvesh rewrite PVE's shared
 * files (the task index under /var/log/pve/tasks) that pveproxy reads as www-data, so the
 * daemon's own umask 077 must not reach them.
 */
export const spawnExec: ExecFn = async (argv) => {
  const previous = process.umask(0o022);
  let p: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  try {
    p = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } finally {
    process.umask(previous);
  }
  const [stdout, stderr, exitCode] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { exitCode, stdout, stderr, pid: p.pid };
};

/** Lines PVE's CLI prints to stderr that are progress, not the error. */
const NOISE = /^(trying to acquire lock\.\.\.( OK)?|Task finished with \d+ warning\(s\)!|WARN: .*|\s*)$/;

/** The error text of a failed command: stderr without progress lines. */
export function cliErrorText(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => !NOISE.test(l))
    .join("\n")
    .trim();
}

/**
 * A failed CLI call as a PveError: `400 Parameter verification failed.` followed by
 * `param: message` lines (then the usage line) becomes a 400 with per-parameter errors; anything
 * else is a `die` (500) with its verbatim text.
 */
export function cliError(stderr: string, exitCode: number, argv: string[]): PveError {
  const text = cliErrorText(stderr);
  const lines = text.split("\n");
  const head = /^(\d{3}) (.+)$/.exec(lines[0] ?? "");
  if (head) {
    const errors: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const m = /^([A-Za-z][A-Za-z0-9_\-[\]]*): (.*)$/.exec(l);
      if (!m) break;
      errors[m[1]!] = m[2]!;
    }
    return new PveError(head[2]!, Number(head[1]), Object.keys(errors).length ? errors : undefined);
  }
  if (!text) return new PveError(`'${argv.join(" ")}' failed: exit code ${exitCode}`, 500);
  return new PveError(text, 500);
}

// ---------------------------------------------------------------------------------------------
// Storage configuration (/etc/pve/storage.cfg) and the node name
// ---------------------------------------------------------------------------------------------

export interface StorageCfgEntry {
  type: string;
  id: string;
  options: Record<string, string>;
}

/** Parses PVE's section config: `type: id` headers followed by indented `key value` lines. */
export function parseStorageCfg(text: string): StorageCfgEntry[] {
  const out: StorageCfgEntry[] = [];
  let cur: StorageCfgEntry | undefined;
  for (const raw of text.split("\n")) {
    if (!raw.trim() || raw.trimStart().startsWith("#")) continue;
    const head = /^(\S+):\s*(\S+)\s*$/.exec(raw);
    if (head && !/^\s/.test(raw)) {
      cur = { type: head[1]!, id: head[2]!, options: {} };
      out.push(cur);
      continue;
    }
    const kv = /^\s+(\S+)(?:\s+(.*))?$/.exec(raw);
    if (kv && cur) cur.options[kv[1]!] = (kv[2] ?? "1").trim();
  }
  return out;
}

/** The directory holding a storage's snippets, from its storage.cfg entry. */
export function snippetsDir(entry: StorageCfgEntry): string | undefined {
  const base = entry.options.path ?? (["nfs", "cifs", "cephfs", "glusterfs"].includes(entry.type) ? `/mnt/pve/${entry.id}` : undefined);
  if (!base) return undefined;
  const custom = (entry.options["content-dirs"] ?? "").split(",").map((kv) => kv.split("=")).find(([k]) => k === "snippets");
  const sub = custom?.[1]?.replace(/^\/+/, "") || "snippets";
  return join(base, sub);
}

/** PVE's node name: `/etc/pve/.members` `nodename`, else the short host name. */
export function defaultNodeName(membersFile = "/etc/pve/.members"): string {
  try {
    const m = JSON.parse(readFileSync(membersFile, "utf8")) as { nodename?: string };
    if (m.nodename) return m.nodename;
  } catch {
    // not a cluster member file we can read: fall back to the host name, as PVE does
  }
  return hostname().split(".")[0]!;
}

// ---------------------------------------------------------------------------------------------
// The backend
// ---------------------------------------------------------------------------------------------

export interface LocalBackendOptions {
  /** Path of `qm` (default `qm`; lab mode points it at the shim). */
  qm?: string;
  /** Path of `pvesh` (default `pvesh`). */
  pvesh?: string;
  exec?: ExecFn;
  /** This node's name (default: {@link defaultNodeName}). */
  nodeName?: string;
  /** storage.cfg to read snippet paths from (default `/etc/pve/storage.cfg`). */
  storageCfg?: string;
  /** Where `qm set --sshkeys` key files are written for a moment (default: the OS temp dir). */
  tmpDir?: string;
  /** Sees every argv run (the upstream-data check validates them). */
  onCommand?: (argv: string[]) => void;
  /** How long agentExec waits for the guest command (default 60 s). */
  agentExecTimeoutMs?: number;
}

type Json = Record<string, unknown>;

/** qm commands that run a worker: their task type and whose vmid is the task's id. */
const QM_TASK = { clone: "qmclone", start: "qmstart", stop: "qmstop", destroy: "qmdestroy", resize: "resize" } as const;

const SYNTHETIC_MAX = 10_000;
/** A qm call's worker starts within this many seconds of qm being run (Perl start-up, locks). */
const CLI_TASK_WINDOW_S = 60;

export class LocalBackend implements ProxmoxBackend {
  readonly name = "local" as const;
  readonly endpoint: string;
  readonly node: string;
  readonly #qm: string;
  readonly #pveshBin: string;
  readonly #exec: ExecFn;
  readonly #opts: LocalBackendOptions;
  /** Finished tasks this backend ran through qm, by UPID (real or synthetic). */
  readonly #finished = new Map<string, TaskStatus>();
  #seq = 0;

  constructor(opts: LocalBackendOptions = {}) {
    this.#opts = opts;
    this.#qm = opts.qm ?? "qm";
    this.#pveshBin = opts.pvesh ?? "pvesh";
    this.#exec = opts.exec ?? spawnExec;
    this.node = opts.nodeName ?? defaultNodeName();
    this.endpoint = `qm on ${this.node}`;
  }

  async #run(argv: string[]): Promise<ExecResult> {
    this.#opts.onCommand?.(argv);
    const r = await this.#exec(argv);
    log.debug({ argv: argv.slice(0, 4), exitCode: r.exitCode }, "pve cli");
    return r;
  }

  /** `pvesh <cmd> <path> [--k v …] --output-format json` → the parsed result (undefined for none). */
  async #api(cmd: "get" | "set" | "create" | "delete", path: string, params: Record<string, string | number | boolean | string[] | undefined> = {}): Promise<unknown> {
    const argv = [this.#pveshBin, cmd, path];
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) argv.push(`--${k}`, typeof one === "boolean" ? (one ? "1" : "0") : String(one));
    }
    argv.push("--output-format", "json");
    const r = await this.#run(argv);
    if (r.exitCode !== 0) throw cliError(r.stderr, r.exitCode, argv);
    // A task's log precedes the result when pvesh ran a worker: the result is the last line.
    const last = r.stdout.trimEnd().split("\n").pop() ?? "";
    if (!last.trim()) return undefined;
    try {
      return JSON.parse(last);
    } catch {
      throw new PveError(`unexpected output of '${argv.join(" ")}': ${last.slice(0, 200)}`, 502);
    }
  }

  #local(node: string): boolean {
    return node === this.node;
  }

  // ---- cluster ------------------------------------------------------------------------------

  async nextId(): Promise<number> {
    const id = toNum(await this.#api("get", "/cluster/nextid"));
    if (id === undefined) throw new PveError("pvesh get /cluster/nextid printed no id", 502);
    return id;
  }

  async vmidFree(vmid: number): Promise<boolean> {
    try {
      await this.#api("get", "/cluster/nextid", { vmid });
      return true;
    } catch (err) {
      if (err instanceof PveError && err.status === 400 && /already exists/.test(err.errors?.vmid ?? "")) return false;
      throw err;
    }
  }

  async nodes(): Promise<PveNodeInfo[]> {
    const list = (await this.#api("get", "/cluster/resources", { type: "node" })) as Json[];
    return list.filter((r) => r.type === "node").map(toNodeInfo);
  }

  async vms(): Promise<PveVmInfo[]> {
    const list = (await this.#api("get", "/cluster/resources", { type: "vm" })) as Json[];
    return list.filter((r) => r.type === "qemu" || r.type === "lxc").map(toVmInfo);
  }

  async storages(node: string): Promise<PveStorageInfo[]> {
    const list = ((await this.#api("get", `/nodes/${node}/storage`)) as Json[] | undefined) ?? [];
    return list.map((r) => toStorageInfo(node, r));
  }

  // ---- tasks ----------------------------------------------------------------------------------

  #remember(st: TaskStatus): void {
    if (this.#finished.size >= SYNTHETIC_MAX) this.#finished.delete(this.#finished.keys().next().value!);
    this.#finished.set(st.upid, st);
  }

  #synthetic(node: string, type: string, id: number, started: number, pid: number | undefined, exitstatus: string): TaskRef {
    const hex = (n: number) => (n >>> 0).toString(16).toUpperCase().padStart(8, "0");
    const upid = `UPID:${node}:${hex(pid ?? ++this.#seq)}:00000000:${hex(started)}:${type}:${id}:root@pam:`;
    this.#remember({ upid, node, type, id: String(id), running: false, exitstatus, ok: taskSucceeded(exitstatus) });
    return { upid, node };
  }

  /**
   * Runs a qm command that forks a worker. Returns a finished task, or throws the failure PVE
   * reported before the worker started.
   */
  async #qmTask(verb: keyof typeof QM_TASK, argv: string[], taskId: number): Promise<TaskRef> {
    const type = QM_TASK[verb];
    const started = Math.floor(Date.now() / 1000);
    const r = await this.#run(argv);
    const error = cliErrorText(r.stderr);
    const warnings = /Task finished with (\d+) warning\(s\)!/.exec(r.stderr);
    if (r.exitCode === 0) {
      // resize has no $upid_exit hook: a failed worker still exits 0, its error on stderr
      const exitstatus = verb === "resize" && error ? error : warnings ? `WARNINGS: ${warnings[1]}` : "OK";
      return this.#synthetic(this.node, type, taskId, started, r.pid, exitstatus);
    }
    if (verb !== "resize" && error) {
      const real = await this.#findCliTask(type, taskId, started, error, r.pid);
      if (real) return real;
    }
    throw cliError(r.stderr, r.exitCode, argv);
  }

  /**
   * The task a qm call on this node started: its type and id, started in the call's time window
   * (`since` is when qm was run), ended with `exitstatus` when known; among several, the one whose
   * worker pid follows qm's own (the worker is qm's forked child).
   */
  async #findCliTask(type: string, id: number, since: number, exitstatus?: string, qmPid?: number): Promise<TaskRef | undefined> {
    let list: Json[];
    try {
      list = ((await this.#api("get", `/nodes/${this.node}/tasks`, { typefilter: type, vmid: id, since: since - 1, source: "all" })) as Json[] | undefined) ?? [];
    } catch (err) {
      log.warn({ err: String(err) }, "cannot read the task list to tell a task failure from a synchronous one");
      return undefined;
    }
    const after = (t: Json) => {
      const pid = toNum(t.pid) ?? 0;
      return qmPid !== undefined && pid > qmPid ? pid - qmPid : Number.MAX_SAFE_INTEGER;
    };
    const hits = list
      .filter((t) => t.type === type && String(t.id) === String(id))
      .filter((t) => (toNum(t.starttime) ?? 0) >= since - 1 && (toNum(t.starttime) ?? 0) <= since + CLI_TASK_WINDOW_S)
      .filter((t) => exitstatus === undefined || t.status === exitstatus)
      .sort((a, b) => after(a) - after(b) || (toNum(a.starttime) ?? 0) - (toNum(b.starttime) ?? 0));
    const hit = hits[0];
    if (!hit || typeof hit.upid !== "string") return undefined;
    const st = toTaskStatus({ upid: hit.upid, node: this.node }, { ...hit, exitstatus: hit.status, status: hit.endtime !== undefined || hit.status !== "running" ? "stopped" : "running" });
    if (!st.running) this.#remember(st);
    return { upid: hit.upid, node: this.node };
  }

  #taskRef(node: string, upid: unknown): TaskRef {
    if (typeof upid !== "string" || !parseUpid(upid)) throw new PveError(`expected a task id (UPID), got ${JSON.stringify(upid)}`, 502);
    return { upid, node: parseUpid(upid)!.node || node };
  }

  async task(ref: TaskRef): Promise<TaskStatus> {
    const known = this.#finished.get(ref.upid);
    if (known) return known;
    const parsed = parseUpid(ref.upid);
    if (parsed && parsed.pstart === 0) {
      // A synthetic task from before a restart: find the real one qm ran.
      const real = await this.#findCliTask(parsed.type, Number(parsed.id), parsed.starttime, undefined, parsed.pid);
      if (!real) throw new PveError("Parameter verification failed.", 400, { upid: "no such task" });
      const st = await this.task(real);
      return { ...st, upid: ref.upid };
    }
    const st = (await this.#api("get", `/nodes/${ref.node}/tasks/${ref.upid}/status`)) as Json;
    return toTaskStatus(ref, st);
  }

  // ---- VMs ------------------------------------------------------------------------------------

  async clone(p: CloneParams): Promise<TaskRef> {
    const opts: [string, string | number | boolean | undefined][] = [
      ["name", p.name],
      ["full", p.full],
      ["target", p.target],
      ["storage", p.storage],
      ["format", p.format],
      ["pool", p.pool],
      ["description", p.description],
      ["snapname", p.snapname],
    ];
    if (this.#local(p.node)) {
      const argv = [this.#qm, "clone", String(p.vmid), String(p.newid)];
      for (const [k, v] of opts) if (v !== undefined) argv.push(`--${k}`, typeof v === "boolean" ? (v ? "1" : "0") : String(v));
      return this.#qmTask("clone", argv, p.vmid);
    }
    const upid = await this.#api("create", `/nodes/${p.node}/qemu/${p.vmid}/clone`, { newid: p.newid, ...Object.fromEntries(opts) });
    return this.#taskRef(p.node, upid);
  }

  async vmConfig(node: string, vmid: number): Promise<VmConfig | undefined> {
    try {
      if (!this.#local(node)) return toVmConfig((await this.#api("get", `/nodes/${node}/qemu/${vmid}/config`)) as Json);
      const argv = [this.#qm, "config", String(vmid)];
      const r = await this.#run(argv);
      if (r.exitCode !== 0) throw cliError(r.stderr, r.exitCode, argv);
      return parseQmConfig(r.stdout);
    } catch (err) {
      if (isMissingVm(err)) return undefined;
      throw err;
    }
  }

  async setVmConfig(node: string, vmid: number, set: Record<string, string | number>, del?: string[]): Promise<void> {
    if (!this.#local(node)) {
      await this.#api("set", `/nodes/${node}/qemu/${vmid}/config`, { ...set, ...(del?.length ? { delete: del.join(",") } : {}) });
      return;
    }
    const argv = [this.#qm, "set", String(vmid)];
    let keyFile: string | undefined;
    try {
      for (const [k, v] of Object.entries(set)) {
        if (k === "sshkeys") {
          // qm takes a file of keys (and percent-encodes it); the API takes the encoded text
          keyFile = join(this.#opts.tmpDir ?? tmpdir(), `capx-sshkeys-${randomUUID()}`);
          writeFileSync(keyFile, decodeURIComponent(String(v)), { mode: 0o600 });
          argv.push("--sshkeys", keyFile);
        } else argv.push(`--${k}`, String(v));
      }
      if (del?.length) argv.push("--delete", del.join(","));
      const r = await this.#run(argv);
      if (r.exitCode !== 0) throw cliError(r.stderr, r.exitCode, argv);
    } finally {
      if (keyFile) rmSync(keyFile, { force: true });
    }
  }

  async resizeDisk(node: string, vmid: number, disk: string, size: string): Promise<TaskRef> {
    if (!this.#local(node)) return this.#taskRef(node, await this.#api("set", `/nodes/${node}/qemu/${vmid}/resize`, { disk, size }));
    return this.#qmTask("resize", [this.#qm, "disk", "resize", String(vmid), disk, size], vmid);
  }

  async startVm(node: string, vmid: number): Promise<TaskRef> {
    if (!this.#local(node)) return this.#taskRef(node, await this.#api("create", `/nodes/${node}/qemu/${vmid}/status/start`));
    return this.#qmTask("start", [this.#qm, "start", String(vmid)], vmid);
  }

  async stopVm(node: string, vmid: number): Promise<TaskRef> {
    if (!this.#local(node)) return this.#taskRef(node, await this.#api("create", `/nodes/${node}/qemu/${vmid}/status/stop`));
    return this.#qmTask("stop", [this.#qm, "stop", String(vmid)], vmid);
  }

  async vmStatus(node: string, vmid: number): Promise<VmStatus | undefined> {
    try {
      if (!this.#local(node)) return toVmStatus((await this.#api("get", `/nodes/${node}/qemu/${vmid}/status/current`)) as Json);
      const argv = [this.#qm, "status", String(vmid), "--verbose"];
      const r = await this.#run(argv);
      if (r.exitCode !== 0) throw cliError(r.stderr, r.exitCode, argv);
      return toVmStatus(parseQmStatusVerbose(r.stdout));
    } catch (err) {
      if (isMissingVm(err)) return undefined;
      throw err;
    }
  }

  async destroyVm(node: string, vmid: number, opts: { purge: boolean }): Promise<TaskRef> {
    if (!this.#local(node)) return this.#taskRef(node, await this.#api("delete", `/nodes/${node}/qemu/${vmid}`, opts.purge ? { purge: true } : {}));
    return this.#qmTask("destroy", [this.#qm, "destroy", String(vmid), ...(opts.purge ? ["--purge", "1"] : [])], vmid);
  }

  // ---- guest agent ----------------------------------------------------------------------------

  async agentNetworkInterfaces(node: string, vmid: number): Promise<AgentInterface[]> {
    if (!this.#local(node)) return toAgentInterfaces(await this.#api("get", `/nodes/${node}/qemu/${vmid}/agent/network-get-interfaces`));
    const argv = [this.#qm, "guest", "cmd", String(vmid), "network-get-interfaces"];
    const r = await this.#run(argv);
    if (r.exitCode !== 0) throw cliError(r.stderr, r.exitCode, argv);
    return toAgentInterfaces(r.stdout.trim() ? JSON.parse(r.stdout) : []);
  }

  async agentExec(node: string, vmid: number, command: string[]): Promise<AgentExecResult> {
    const deadline = Date.now() + (this.#opts.agentExecTimeoutMs ?? 60_000);
    let pid: number | undefined;
    let status: Json;
    if (!this.#local(node)) {
      pid = toNum(((await this.#api("create", `/nodes/${node}/qemu/${vmid}/agent/exec`, { command })) as Json | undefined)?.pid);
      if (pid === undefined) throw new PveError(`agent exec on VM ${vmid} returned no pid`, 502);
      status = { exited: 0 };
    } else {
      // qm waits (up to 30 s) for the command and prints its exec-status, or its pid on timeout
      const argv = [this.#qm, "guest", "exec", String(vmid), "--", ...command];
      const r = await this.#run(argv);
      if (r.exitCode !== 0) throw cliError(r.stderr, r.exitCode, argv);
      status = JSON.parse(r.stdout) as Json;
      pid = toNum(status.pid);
    }
    for (;;) {
      const { exited, result } = toExecStatus(status);
      if (exited) return result;
      if (pid === undefined) throw new PveError(`agent exec on VM ${vmid}: no pid to wait for`, 502);
      if (Date.now() > deadline) throw new PveError(`command ${JSON.stringify(command)} (pid ${pid}) on VM ${vmid} did not exit in time`, 504);
      await Bun.sleep(500);
      if (!this.#local(node)) status = (await this.#api("get", `/nodes/${node}/qemu/${vmid}/agent/exec-status`, { pid })) as Json;
      else {
        const argv = [this.#qm, "guest", "exec-status", String(vmid), String(pid)];
        const r = await this.#run(argv);
        if (r.exitCode !== 0) throw cliError(r.stderr, r.exitCode, argv);
        status = JSON.parse(r.stdout) as Json;
      }
    }
  }

  // ---- bootstrap data: snippets written into the storage's directory --------------------------

  async #snippetStorage(where: BootstrapPlacement): Promise<{ storage: PveStorageInfo; dir: string }> {
    const onNode = await this.storages(where.node);
    const remote = !this.#local(where.node);
    let storage: PveStorageInfo;
    if (where.storage || !remote) storage = chooseStorage(onNode, where.node, "snippets", where.storage);
    else {
      const shared = onNode.filter((s) => s.shared);
      try {
        storage = chooseStorage(shared, where.node, "snippets");
      } catch {
        const local = onNode.filter((s) => s.content.includes("snippets")).map((s) => `'${s.storage}'`);
        const msg = `VM ${where.vmid} is placed on node '${where.node}', but the appliance runs on '${this.node}' and can only write snippets it can reach: no shared storage with 'snippets' content${local.length ? ` (${local.join(", ")} ${local.length > 1 ? "are" : "is"} node-local)` : ""}; add an NFS/CephFS storage with snippets content, or use the http backend (ISO upload)`;
        throw new PveError(msg, 400, { storage: msg });
      }
    }
    if (remote && !storage.shared) {
      const msg = `VM ${where.vmid} is placed on node '${where.node}', but snippets storage '${storage.storage}' is local to each node: the appliance on '${this.node}' cannot write '${where.node}'s copy; use a shared storage with 'snippets' content`;
      throw new PveError(msg, 400, { storage: msg });
    }
    const dir = this.#snippetsDirOf(storage.storage);
    return { storage, dir };
  }

  #snippetsDirOf(storage: string): string {
    const cfgPath = this.#opts.storageCfg ?? "/etc/pve/storage.cfg";
    let entries: StorageCfgEntry[];
    try {
      entries = parseStorageCfg(readFileSync(cfgPath, "utf8"));
    } catch (err) {
      throw new PveError(`cannot read ${cfgPath}: ${err instanceof Error ? err.message : String(err)}`, 500);
    }
    const entry = entries.find((e) => e.id === storage);
    if (!entry) throw new PveError(`storage '${storage}' does not exist`, 500);
    const dir = snippetsDir(entry);
    if (!dir) throw new PveError(`storage '${storage}' (type ${entry.type}) has no directory to hold snippets`, 400, { storage: `storage '${storage}' cannot hold snippets` });
    return dir;
  }

  async putBootstrapData(where: BootstrapPlacement, files: BootstrapFiles): Promise<BootstrapAttachment> {
    const { storage, dir } = await this.#snippetStorage(where);
    mkdirSync(dir, { recursive: true });
    const parts: [string, string | undefined][] = [
      ["user", files.userData],
      ["network", files.networkConfig],
      ["meta", files.metaData],
      ["vendor", files.vendorData],
    ];
    const cicustom: string[] = [];
    const volumes: string[] = [];
    for (const [kind, content] of parts) {
      if (content === undefined) continue;
      const file = `capx-${where.vmid}-${kind}.yaml`;
      const path = join(dir, file);
      const tmp = `${path}.${randomUUID()}.tmp`;
      writeFileSync(tmp, content, { mode: 0o640 });
      renameSync(tmp, path);
      const volume = `${storage.storage}:snippets/${file}`;
      volumes.push(volume);
      cicustom.push(`${kind}=${volume}`);
    }
    log.debug({ vmid: where.vmid, node: where.node, storage: storage.storage, dir }, "cloud-init snippets written");
    const drive = cloudInitDriveFor(await this.vmConfig(where.node, where.vmid));
    return { kind: "snippets", storage: storage.storage, config: { ...drive, cicustom: cicustom.join(",") }, volumes };
  }

  async removeBootstrapData(node: string, attachment: BootstrapAttachment): Promise<void> {
    for (const volume of attachment.volumes) {
      const m = /^([^:]+):snippets\/(.+)$/.exec(volume);
      if (attachment.kind === "snippets" && m) {
        const dir = this.#snippetsDirOf(m[1]!);
        const path = join(dir, m[2]!);
        if (dirname(path) !== dir) throw new PveError(`refusing to delete '${volume}': not a file in the snippets directory`, 400);
        try {
          unlinkSync(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        }
        continue;
      }
      // an ISO some other backend uploaded: PVE deletes it in a task (pvesh waits for it)
      const storage = volume.split(":")[0]!;
      try {
        const upid = await this.#api("delete", `/nodes/${node}/storage/${storage}/content/${volume}`);
        if (typeof upid === "string") {
          const st = await this.task(this.#taskRef(node, upid));
          if (!st.ok && !/does not exist|No such file/.test(st.exitstatus ?? "")) throw new PveError(st.exitstatus ?? `delete of ${volume} failed`, 500);
        }
      } catch (err) {
        if (!(err instanceof PveError && /does not exist|No such file/.test(err.message))) throw err;
      }
    }
  }

  /** Whether a snippets file this backend wrote is still there (tests, diagnostics). */
  snippetExists(volume: string): boolean {
    const m = /^([^:]+):snippets\/(.+)$/.exec(volume);
    return !!m && existsSync(join(this.#snippetsDirOf(m[1]!), m[2]!));
  }
}

/** `qm config` output: sorted `key: value` lines, description percent-encoded (PVE encode_text). */
export function parseQmConfig(stdout: string): VmConfig {
  const out: VmConfig = {};
  for (const line of stdout.split("\n")) {
    const m = /^([^:\s]+): ?(.*)$/.exec(line);
    if (!m) continue;
    out[m[1]!] = m[1] === "description" ? decodePveText(m[2]!) : m[2]!;
  }
  return out;
}

/** PVE's decode_text: percent-decoding of UTF-8 bytes. */
export function decodePveText(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `qm status --verbose`: top-level `key: value` lines (nested hashes are tab-indented). */
export function parseQmStatusVerbose(stdout: string): Json {
  const out: Json = {};
  for (const line of stdout.split("\n")) {
    const m = /^([^\s:]+): (.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}
