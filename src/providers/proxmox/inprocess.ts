/**
 * The `inprocess` backend: the lab PVE called directly, through the same PVE API paths,
 * parameters and answers the http backend exchanges with a real host (so the controllers see
 * identical behaviour: UPIDs, verbatim errors, string/number quirks). Bootstrap data is written
 * as cloud-init snippets straight into a snippets storage's directory, as the local backend does
 * on the host, and attached with `cicustom`.
 * @module
 */
import { cloudInitDriveFor } from "./cloudinit-drive.ts";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LabPve } from "./lab/index.ts";
import type { RawParams } from "./lab/verify.ts";
import {
  isMissingVm,
  PveError,
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

type Json = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === "number" ? v : Number(v ?? 0));
const bool = (v: unknown): boolean => v === true || v === 1 || v === "1";

/** How long `agentExec` waits for the command to exit (the agent's own exec-status polling). */
const EXEC_WAIT_MS = 10_000;

export class InProcessBackend implements ProxmoxBackend {
  readonly name = "inprocess" as const;
  readonly endpoint = "lab PVE (in-process)";

  constructor(
    private readonly lab: Pick<LabPve, "request" | "token" | "storagePath">,
    private readonly opts: { execPollMs?: number } = {},
  ) {}

  async #call<T = unknown>(method: string, path: string, params: RawParams = {}): Promise<T> {
    const res = await this.lab.request(method, path, params, this.lab.token);
    if (res.status === 200) return res.body?.data as T;
    const message = (res.body?.message ?? res.reason).replace(/\n$/, "");
    throw new PveError(message, res.status, res.body?.errors);
  }

  async nextId(): Promise<number> {
    return num(await this.#call("GET", "/cluster/nextid"));
  }

  async vmidFree(vmid: number): Promise<boolean> {
    try {
      await this.#call("GET", "/cluster/nextid", { vmid });
      return true;
    } catch (e) {
      if (e instanceof PveError && e.status === 400 && e.errors?.vmid) return false;
      throw e;
    }
  }

  async nodes(): Promise<PveNodeInfo[]> {
    const list = await this.#call<Json[]>("GET", "/cluster/resources", { type: "node" });
    return list.map((n) => ({ node: String(n.node), online: n.status === "online", maxmem: num(n.maxmem), mem: num(n.mem), maxcpu: num(n.maxcpu) }));
  }

  async vms(): Promise<PveVmInfo[]> {
    const list = await this.#call<Json[]>("GET", "/cluster/resources", { type: "vm" });
    return list.map((v) => ({
      vmid: num(v.vmid),
      node: String(v.node),
      ...(v.name !== undefined ? { name: String(v.name) } : {}),
      template: bool(v.template),
      status: String(v.status ?? "unknown"),
      ...(v.maxmem !== undefined ? { maxmem: num(v.maxmem) } : {}),
      tags: typeof v.tags === "string" ? v.tags.split(/[;, ]+/).filter(Boolean).map((t) => t.toLowerCase()) : [],
      ...(v.lock ? { lock: String(v.lock) } : {}),
      type: v.type === "lxc" ? "lxc" : "qemu",
    }));
  }

  async storages(node: string): Promise<PveStorageInfo[]> {
    const list = await this.#call<Json[]>("GET", `/nodes/${node}/storage`);
    return list.map((s) => ({
      storage: String(s.storage),
      node,
      type: String(s.type),
      content: String(s.content ?? "").split(",").filter(Boolean),
      shared: bool(s.shared),
      enabled: s.enabled === undefined || bool(s.enabled),
      active: s.active === undefined || bool(s.active),
      ...(s.avail !== undefined ? { avail: num(s.avail) } : {}),
    }));
  }

  async clone(p: CloneParams): Promise<TaskRef> {
    const params: RawParams = { newid: p.newid, name: p.name };
    if (p.full !== undefined) params.full = p.full ? 1 : 0;
    for (const k of ["target", "storage", "format", "pool", "description", "snapname"] as const) if (p[k] !== undefined) params[k] = p[k]!;
    const upid = await this.#call<string>("POST", `/nodes/${p.node}/qemu/${p.vmid}/clone`, params);
    return { upid, node: p.node };
  }

  async vmConfig(node: string, vmid: number): Promise<VmConfig | undefined> {
    try {
      const conf = await this.#call<Json>("GET", `/nodes/${node}/qemu/${vmid}/config`);
      const out: VmConfig = {};
      for (const [k, v] of Object.entries(conf)) if (k !== "digest" && v !== null && v !== undefined) out[k] = String(v);
      return out;
    } catch (e) {
      if (isMissingVm(e)) return undefined;
      throw e;
    }
  }

  async setVmConfig(node: string, vmid: number, set: Record<string, string | number>, del?: string[]): Promise<void> {
    const params: RawParams = { ...set };
    if (del?.length) params.delete = del.join(",");
    await this.#call("PUT", `/nodes/${node}/qemu/${vmid}/config`, params);
  }

  async resizeDisk(node: string, vmid: number, disk: string, size: string): Promise<TaskRef> {
    return { upid: await this.#call<string>("PUT", `/nodes/${node}/qemu/${vmid}/resize`, { disk, size }), node };
  }

  async startVm(node: string, vmid: number): Promise<TaskRef> {
    return { upid: await this.#call<string>("POST", `/nodes/${node}/qemu/${vmid}/status/start`), node };
  }

  async stopVm(node: string, vmid: number): Promise<TaskRef> {
    return { upid: await this.#call<string>("POST", `/nodes/${node}/qemu/${vmid}/status/stop`), node };
  }

  async vmStatus(node: string, vmid: number): Promise<VmStatus | undefined> {
    try {
      const s = await this.#call<Json>("GET", `/nodes/${node}/qemu/${vmid}/status/current`);
      const status = s.status === "running" && s.qmpstatus && s.qmpstatus !== "running" ? String(s.qmpstatus) : String(s.status);
      return { status, ...(s.lock ? { lock: String(s.lock) } : {}), ...(s.name !== undefined ? { name: String(s.name) } : {}), template: bool(s.template) };
    } catch (e) {
      if (isMissingVm(e)) return undefined;
      throw e;
    }
  }

  async destroyVm(node: string, vmid: number, opts: { purge: boolean }): Promise<TaskRef> {
    const params: RawParams = opts.purge ? { purge: 1, "destroy-unreferenced-disks": 1 } : {};
    return { upid: await this.#call<string>("DELETE", `/nodes/${node}/qemu/${vmid}`, params), node };
  }

  async task(ref: TaskRef): Promise<TaskStatus> {
    const t = await this.#call<Json>("GET", `/nodes/${ref.node}/tasks/${encodeURIComponent(ref.upid)}/status`);
    const running = t.status === "running";
    const exitstatus = running ? undefined : String(t.exitstatus ?? "unexpected status");
    return { upid: ref.upid, node: ref.node, type: String(t.type), id: String(t.id ?? ""), running, ...(exitstatus !== undefined ? { exitstatus } : {}), ok: !running && taskSucceeded(exitstatus) };
  }

  async agentNetworkInterfaces(node: string, vmid: number): Promise<AgentInterface[]> {
    const r = await this.#call<{ result?: Json[] }>("GET", `/nodes/${node}/qemu/${vmid}/agent/network-get-interfaces`);
    return (r.result ?? []).map((i) => ({
      name: String(i.name),
      ...(i["hardware-address"] ? { mac: String(i["hardware-address"]).toLowerCase() } : {}),
      addresses: ((i["ip-addresses"] as Json[] | undefined) ?? []).map((a) => ({
        ip: String(a["ip-address"]),
        family: a["ip-address-type"] === "ipv6" ? ("ipv6" as const) : ("ipv4" as const),
        prefix: num(a.prefix),
      })),
    }));
  }

  async agentExec(node: string, vmid: number, command: string[]): Promise<AgentExecResult> {
    const { pid } = await this.#call<{ pid: number }>("POST", `/nodes/${node}/qemu/${vmid}/agent/exec`, { command });
    const end = Date.now() + EXEC_WAIT_MS;
    for (;;) {
      const s = await this.#call<Json>("GET", `/nodes/${node}/qemu/${vmid}/agent/exec-status`, { pid });
      if (bool(s.exited)) return { exitcode: num(s.exitcode), stdout: String(s["out-data"] ?? ""), stderr: String(s["err-data"] ?? "") };
      if (Date.now() > end) throw new PveError(`Agent error: command ${command.join(" ")} did not exit within ${EXEC_WAIT_MS / 1000}s`, 500);
      await new Promise((r) => setTimeout(r, this.opts.execPollMs ?? 100));
    }
  }

  async #snippetsStorage(node: string, wanted?: string): Promise<PveStorageInfo> {
    const all = (await this.storages(node)).filter((s) => s.content.includes("snippets") && s.enabled && s.active);
    if (wanted) {
      const s = all.find((x) => x.storage === wanted);
      if (!s) throw new PveError(`storage '${wanted}' on node '${node}' does not allow snippets (content 'snippets' is not enabled)`, 500);
      return s;
    }
    // A shared storage serves the VM on any node it moves to; else one of its node.
    const s = all.find((x) => x.shared) ?? all[0];
    if (!s) throw new PveError(`no storage on node '${node}' has content 'snippets' enabled (e.g. pvesm set local --content iso,vztmpl,snippets)`, 500);
    return s;
  }

  async putBootstrapData(where: BootstrapPlacement, files: BootstrapFiles): Promise<BootstrapAttachment> {
    const storage = await this.#snippetsStorage(where.node, where.storage);
    const dir = join(this.lab.storagePath(where.node, storage.storage), "snippets");
    mkdirSync(dir, { recursive: true });
    const parts: [string, string, string | undefined][] = [
      ["user", "user", files.userData],
      ["network", "network", files.networkConfig],
      ["meta", "meta", files.metaData],
      ["vendor", "vendor", files.vendorData],
    ];
    const volumes: string[] = [];
    const cicustom: string[] = [];
    for (const [key, suffix, content] of parts) {
      if (content === undefined) continue;
      const file = `capx-${where.vmid}-${suffix}.yaml`;
      writeFileSync(join(dir, file), content);
      const volid = `${storage.storage}:snippets/${file}`;
      volumes.push(volid);
      cicustom.push(`${key}=${volid}`);
    }
    const drive = cloudInitDriveFor(await this.vmConfig(where.node, where.vmid));
    return { kind: "snippets", storage: storage.storage, config: { ...drive, cicustom: cicustom.join(",") }, volumes };
  }

  async removeBootstrapData(node: string, attachment: BootstrapAttachment): Promise<void> {
    for (const volid of attachment.volumes) {
      const m = /^([^:]+):snippets\/([^/]+)$/.exec(volid);
      if (!m) continue;
      rmSync(join(this.lab.storagePath(node, m[1]!), "snippets", m[2]!), { force: true });
    }
  }
}
