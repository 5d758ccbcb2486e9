/**
 * The `http` Proxmox backend: the PVE API over the network through the npm package
 * `proxmox-api`, token auth, bootstrap data as an uploaded NoCloud ISO.
 *
 * proxmox-api's quirks, and what this file does about them (notes §6):
 * - it resends a request once when `fetch` throws: a POST/DELETE is never resent here (a fetch
 *   wrapper refuses the second attempt); a clone whose answer was lost becomes a PveError 595
 *   that tells the caller to look for the new VM instead of cloning again;
 * - its errors are plain `Error`s whose text holds status, reason phrase and body: parsed back
 *   into {@link PveError} (verbatim message, per-parameter errors);
 * - it needs `application/json;charset=UTF-8` exactly (the server's business) and a lower-case
 *   UUID secret (checked up front with a clear error);
 * - loose types: nextid comes as a string, booleans as 0/1, numbers sometimes as strings;
 * - it cannot send multipart: the ISO upload uses fetch with the same token header.
 *
 * The value mappings (`toVmInfo`, `toTaskStatus`, …) are shared with the local backend, whose
 * `pvesh --output-format json` prints the same JSON.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import proxmoxApi, { type Proxmox } from "proxmox-api";
import { log as rootLog } from "../../lib/log.ts";
import type { Dialer } from "../workload/dialer.ts";
import { buildNoCloudIso } from "./nocloud-iso.ts";
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

const log = rootLog.child({ component: "proxmox-http" });

// ---------------------------------------------------------------------------------------------
// Credentials (the Secret of a ProxmoxCluster credentialsRef, or the config file)
// ---------------------------------------------------------------------------------------------

export interface HttpCredentials {
  /** `https://pve.example:8006` (a trailing `/api2/json` is accepted and dropped). */
  url: string;
  /** `USER@REALM!TOKENID` */
  token: string;
  /** Lower-case UUID. */
  secret: string;
  /** Skip TLS verification. */
  insecure?: boolean;
  /** PEM CA bundle that signed the server certificate (e.g. /etc/pve/pve-root-ca.pem). */
  rootCa?: string;
}

/** Bad credentials: each cause names the Secret key it is about. */
export class BackendConfigError extends Error {
  override readonly name = "BackendConfigError";
  constructor(
    message: string,
    readonly causes: { field: string; message: string }[],
  ) {
    super(message);
  }
}

const TOKEN_RE = /^[^\s@:!]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$/;
const SECRET_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Reads `url`, `token`, `secret`, `insecure`, `root_ca` (Secret data, already base64-decoded). */
export function parseHttpCredentials(data: Record<string, string | undefined>): HttpCredentials {
  const causes: { field: string; message: string }[] = [];
  const url = (data.url ?? "").trim();
  const token = (data.token ?? "").trim();
  const secret = (data.secret ?? "").trim();
  if (!url) causes.push({ field: "url", message: "required (e.g. https://pve.example:8006)" });
  else {
    try {
      const u = new URL(url);
      if (u.protocol !== "https:" && u.protocol !== "http:") causes.push({ field: "url", message: `scheme must be https or http, not '${u.protocol.replace(/:$/, "")}'` });
    } catch {
      causes.push({ field: "url", message: `'${url}' is not a URL (e.g. https://pve.example:8006)` });
    }
  }
  if (!token) causes.push({ field: "token", message: "required: an API token id USER@REALM!TOKENID" });
  else if (!TOKEN_RE.test(token)) causes.push({ field: "token", message: `'${token}' is not an API token id of the form USER@REALM!TOKENID` });
  if (!secret) causes.push({ field: "secret", message: "required: the token secret (a UUID)" });
  else if (!SECRET_RE.test(secret)) {
    causes.push({ field: "secret", message: SECRET_RE.test(secret.toLowerCase()) ? "must be a lower-case UUID" : "is not a UUID (PVE token secrets look like 12345678-1234-1234-1234-1234567890ab)" });
  }
  let insecure: boolean | undefined;
  if (data.insecure !== undefined && data.insecure.trim() !== "") {
    const v = data.insecure.trim().toLowerCase();
    if (["true", "1", "yes"].includes(v)) insecure = true;
    else if (["false", "0", "no"].includes(v)) insecure = false;
    else causes.push({ field: "insecure", message: `'${data.insecure}' is not a boolean (true or false)` });
  }
  const rootCa = data.root_ca?.trim() ? data.root_ca : undefined;
  if (rootCa !== undefined && !rootCa.includes("-----BEGIN CERTIFICATE-----")) causes.push({ field: "root_ca", message: "is not a PEM certificate" });
  if (causes.length) throw new BackendConfigError(`invalid Proxmox credentials: ${causes.map((c) => `${c.field} ${c.message}`).join("; ")}`, causes);
  return { url, token, secret, ...(insecure !== undefined ? { insecure } : {}), ...(rootCa ? { rootCa } : {}) };
}

/** `USER@REALM!TOKENID=SECRET` (a pve-token file, `PVEAPIToken=` value) → token id and secret. */
export function splitToken(token: string): { token: string; secret: string } {
  const t = token.trim().replace(/^PVEAPIToken=/, "");
  const i = t.lastIndexOf("=");
  return i < 0 ? { token: t, secret: "" } : { token: t.slice(0, i), secret: t.slice(i + 1) };
}

// ---------------------------------------------------------------------------------------------
// Loose PVE JSON → the interface's types (shared with the local backend)
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

export function toNum(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
}

export function toBool(v: unknown, dflt = false): boolean {
  if (v === undefined || v === null || v === "") return dflt;
  return v === true || v === 1 || v === "1" || v === "true";
}

export function toStr(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
}

export function splitTags(v: unknown): string[] {
  const s = toStr(v);
  return s ? s.split(/[;, ]+/).filter(Boolean).map((t) => t.toLowerCase()) : [];
}

export function toVmInfo(r: Json): PveVmInfo {
  const vmid = toNum(r.vmid) ?? toNum(String(r.id ?? "").split("/")[1]) ?? 0;
  const out: PveVmInfo = {
    vmid,
    node: String(r.node ?? ""),
    template: toBool(r.template),
    status: String(r.status ?? "unknown"),
    tags: splitTags(r.tags),
    type: r.type === "lxc" ? "lxc" : "qemu",
  };
  if (typeof r.name === "string" && r.name) out.name = r.name;
  const maxmem = toNum(r.maxmem);
  if (maxmem !== undefined) out.maxmem = maxmem;
  if (typeof r.lock === "string" && r.lock) out.lock = r.lock;
  return out;
}

export function toNodeInfo(r: Json): PveNodeInfo {
  return {
    node: String(r.node ?? String(r.id ?? "").replace(/^node\//, "")),
    online: r.status === "online",
    maxmem: toNum(r.maxmem) ?? 0,
    mem: toNum(r.mem) ?? 0,
    maxcpu: toNum(r.maxcpu) ?? 0,
  };
}

export function toStorageInfo(node: string, r: Json): PveStorageInfo {
  const out: PveStorageInfo = {
    storage: String(r.storage ?? ""),
    node,
    type: String(r.type ?? r.plugintype ?? ""),
    content: String(r.content ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    shared: toBool(r.shared),
    enabled: toBool(r.enabled, true),
    active: toBool(r.active, true),
  };
  const avail = toNum(r.avail);
  if (avail !== undefined) out.avail = avail;
  return out;
}

export function toVmConfig(r: Json): VmConfig {
  const out: VmConfig = {};
  for (const [k, v] of Object.entries(r)) {
    if (k === "digest" || v === undefined || v === null) continue;
    out[k] = toStr(v)!;
  }
  return out;
}

export function toVmStatus(r: Json): VmStatus {
  const out: VmStatus = { status: String(r.qmpstatus ?? r.status ?? "unknown"), template: toBool(r.template) };
  if (typeof r.lock === "string" && r.lock) out.lock = r.lock;
  if (typeof r.name === "string" && r.name) out.name = r.name;
  return out;
}

export function toTaskStatus(ref: TaskRef, r: Json): TaskStatus {
  const parsed = parseUpid(ref.upid);
  const running = r.status === "running";
  const exitstatus = running ? undefined : toStr(r.exitstatus);
  const out: TaskStatus = {
    upid: String(r.upid ?? ref.upid),
    node: String(r.node ?? ref.node),
    type: String(r.type ?? parsed?.type ?? ""),
    id: String(r.id ?? parsed?.id ?? ""),
    running,
    ok: !running && taskSucceeded(exitstatus),
  };
  if (exitstatus !== undefined) out.exitstatus = exitstatus;
  return out;
}

export function toAgentInterfaces(result: unknown): AgentInterface[] {
  const list = Array.isArray(result) ? result : Array.isArray((result as Json | null)?.result) ? ((result as Json).result as unknown[]) : [];
  return list.map((raw) => {
    const i = raw as Json;
    const out: AgentInterface = { name: String(i.name ?? ""), addresses: [] };
    if (typeof i["hardware-address"] === "string") out.mac = (i["hardware-address"] as string).toLowerCase();
    for (const a of (i["ip-addresses"] as Json[] | undefined) ?? []) {
      out.addresses.push({ ip: String(a["ip-address"]), family: a["ip-address-type"] === "ipv6" ? "ipv6" : "ipv4", prefix: toNum(a.prefix) ?? 0 });
    }
    return out;
  });
}

export function toExecStatus(r: Json): { exited: boolean; result: AgentExecResult } {
  return {
    exited: toBool(r.exited),
    result: { exitcode: toNum(r.exitcode) ?? -1, stdout: toStr(r["out-data"]) ?? "", stderr: toStr(r["err-data"]) ?? "" },
  };
}

/** The storage the bootstrap data goes to: the one named, else the first usable with `content`. */
export function chooseStorage(list: PveStorageInfo[], node: string, content: string, named?: string): PveStorageInfo {
  if (named) {
    const s = list.find((x) => x.storage === named);
    if (!s) throw new PveError(`storage '${named}' is not available on node '${node}'`, 400, { storage: `storage '${named}' is not available on node '${node}'` });
    if (!s.content.includes(content)) {
      const msg = `storage '${named}' does not allow '${content}' content (content: ${s.content.join(",") || "none"}); enable it with 'pvesm set ${named} --content ${[...s.content, content].join(",")}'`;
      throw new PveError(msg, 400, { storage: msg });
    }
    if (!s.enabled || !s.active) throw new PveError(`storage '${named}' is not ${s.enabled ? "active" : "enabled"} on node '${node}'`, 400, { storage: `storage '${named}' is not usable on node '${node}'` });
    return s;
  }
  const s = list.find((x) => x.content.includes(content) && x.enabled && x.active);
  if (!s) {
    const msg = `no enabled storage with '${content}' content on node '${node}' (storages: ${list.map((x) => `${x.storage}[${x.content.join(",")}]`).join(" ") || "none"})`;
    throw new PveError(msg, 400, { storage: msg });
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// proxmox-api error text → PveError
// ---------------------------------------------------------------------------------------------

function trimMsg(s: string): string {
  return s.replace(/\s+$/, "");
}

function errorsOf(v: unknown): Record<string, string> | undefined {
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, m] of Object.entries(v as Json)) out[k] = trimMsg(String(m));
  return Object.keys(out).length ? out : undefined;
}

/**
 * proxmox-api throws `Error`s like `POST <url> return Error 500 <reason>: {json}` (400/401/500),
 * `GET <url> connection failed with 501 <reason> return: {json}` (other statuses) and
 * `FaILED to call GET <url>` (network). The body `message` (PVE ≥ 8.3) is the full die text;
 * older hosts only have the reason phrase, which is its first line.
 */
export function pveErrorFromText(text: string): PveError | undefined {
  const m = /^(?:GET|POST|PUT|DELETE) \S+ (?:return Error|connection failed with) (\d{3}) ?/.exec(text);
  if (m) {
    const status = Number(m[1]);
    const rest = text.slice(m[0].length);
    let reason = rest;
    let body: Json | undefined;
    for (const sep of [" return: {", ": {"]) {
      for (let i = rest.indexOf(sep); i >= 0; i = rest.indexOf(sep, i + 1)) {
        try {
          body = JSON.parse(rest.slice(i + sep.length - 1)) as Json;
          reason = rest.slice(0, i);
          break;
        } catch {
          // not the JSON yet: the reason phrase itself contained the separator
        }
      }
      if (body) break;
    }
    const message = typeof body?.message === "string" && body.message.trim() ? trimMsg(body.message) : trimMsg(reason);
    return new PveError(message, status, errorsOf(body?.errors));
  }
  const net = /^FaILED to call (?:GET|POST|PUT|DELETE) (\S+)(?: cause by:(.*))?$/s.exec(text);
  if (net) return new PveError(`unable to connect to ${net[1]}${net[2] ? `: ${net[2]}` : ""}`, 595);
  const ct = /^(?:GET|POST|PUT|DELETE) \S+ unexpected contentType "([^"]*)" status Line:(\d+)/.exec(text);
  if (ct) return new PveError(`unexpected response content type '${ct[1]}' (status ${ct[2]}): not a PVE API server?`, Number(ct[2]) || 502);
  return undefined;
}

function asPveError(err: unknown): unknown {
  if (err instanceof PveError) return err;
  if (err instanceof Error) return pveErrorFromText(err.message) ?? err;
  return err;
}

// ---------------------------------------------------------------------------------------------
// The backend
// ---------------------------------------------------------------------------------------------

export interface RecordedRequest {
  method: string;
  /** Path below `/api2/json` as sent: segments percent-encoded (`…/content/local:iso%2Fx.iso`). */
  path: string;
  /** Query or form parameters in the order sent (arrays repeat their key). */
  params: [string, string][];
  /** `multipart` for the ISO upload. */
  encoding: "query" | "form" | "multipart";
}

export interface HttpBackendOptions extends HttpCredentials {
  /** Sees every request sent (tests; the upstream-data check validates them against the schema). */
  onRequest?: (r: RecordedRequest) => void;
  /** Task polling interval while waiting for an upload or volume delete (default 500 ms). */
  pollMs?: number;
  /** How long agentExec waits for the guest command to exit (default 60 s). */
  agentExecTimeoutMs?: number;
  /** proxmox-api's per-request timeout (default 60 s). */
  queryTimeoutMs?: number;
  /** Where connections to the URL's host really go (the lab LAN); direct when absent. */
  dialer?: Dialer;
}

type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** Per backend call: whether proxmox-api may resend it, and what happened to the first try. */
interface CallContext {
  what: string;
  resendable: boolean;
  attempts: number;
  firstError?: unknown;
}

/** The second attempt of a request that must not be sent twice. */
class ResendRefused extends Error {
  constructor(readonly what: string, override readonly cause: unknown) {
    super(`${what}: not resent after a failed attempt`);
  }
}


export class HttpBackend implements ProxmoxBackend {
  readonly name = "http" as const;
  readonly endpoint: string;
  readonly #px: Proxmox.Api;
  readonly #base: URL;
  readonly #auth: string;
  readonly #tls: Record<string, unknown> | undefined;
  /** The API's host:port and the dialer that says where connections to it go. */
  readonly #dial: { dialer: Dialer; host: string; port: number } | undefined;
  readonly #opts: HttpBackendOptions;
  readonly #calls = new AsyncLocalStorage<CallContext>();

  constructor(opts: HttpBackendOptions) {
    const creds = parseHttpCredentials({ url: opts.url, token: opts.token, secret: opts.secret, ...(opts.rootCa ? { root_ca: opts.rootCa } : {}) });
    this.#opts = opts;
    const u = new URL(creds.url);
    this.#base = new URL(`${u.protocol}//${u.host}`);
    this.endpoint = this.#base.origin;
    this.#auth = `PVEAPIToken=${creds.token}=${creds.secret}`;
    const port = u.port ? Number(u.port) : u.protocol === "http:" ? 80 : 8006;
    const name = u.hostname.replace(/^\[|\]$/g, "");
    this.#dial = opts.dialer ? { dialer: opts.dialer, host: name, port } : undefined;
    this.#tls = opts.insecure ? { rejectUnauthorized: false } : opts.rootCa ? { ca: opts.rootCa } : undefined;
    if (this.#tls && this.#dial && !opts.insecure) {
      // A routed connection is still checked against the name in the URL, not the route's.
      this.#tls = { ...this.#tls, serverName: name, checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(name, cert) };
    }
    this.#px = proxmoxApi({
      host: u.hostname,
      port,
      schema: u.protocol === "http:" ? "http" : "https",
      tokenID: creds.token,
      tokenSecret: creds.secret,
      queryTimeout: opts.queryTimeoutMs ?? 60_000,
      fetch: ((url: string | URL, init?: RequestInit) => this.#fetch(url, init)) as never,
    });
  }

  /** What proxmox-api calls instead of fetch: records, applies TLS options, refuses resends. */
  async #fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const ctx = this.#calls.getStore();
    const method = (init.method ?? "GET").toUpperCase();
    const u = new URL(String(url));
    if (ctx) {
      ctx.attempts++;
      if (ctx.attempts > 1 && !ctx.resendable) throw new ResendRefused(ctx.what, ctx.firstError);
    }
    this.#record(method, u, typeof init.body === "string" ? init.body : undefined);
    try {
      return await (fetch as FetchLike)(this.#routed(u), { ...init, ...(this.#tls ? { tls: this.#tls } : {}) } as RequestInit);
    } catch (err) {
      if (ctx && ctx.firstError === undefined) ctx.firstError = err;
      throw err;
    }
  }

  /** The URL to connect to: the dialer's route for the API's host:port. */
  #routed(u: URL): URL {
    if (!this.#dial) return u;
    const route = this.#dial.dialer.route(this.#dial.host, this.#dial.port);
    const out = new URL(u);
    out.hostname = route.host.includes(":") ? `[${route.host}]` : route.host;
    out.port = String(route.port);
    return out;
  }

  #record(method: string, u: URL, formBody: string | undefined, multipart?: [string, string][]): void {
    if (!this.#opts.onRequest) return;
    const path = u.pathname.replace(/^\/api2\/json/, "");
    const params: [string, string][] = multipart ?? [...(formBody !== undefined ? new URLSearchParams(formBody) : u.searchParams)];
    this.#opts.onRequest({ method, path, params, encoding: multipart ? "multipart" : formBody !== undefined ? "form" : "query" });
  }

  /** Runs one API call; GET/PUT may be resent by proxmox-api, POST/DELETE never. */
  async #call<T>(what: string, resendable: boolean, fn: () => Promise<T>): Promise<T> {
    const ctx: CallContext = { what, resendable, attempts: 0 };
    try {
      return await this.#calls.run(ctx, fn);
    } catch (err) {
      if (err instanceof Error && err.cause instanceof ResendRefused) {
        const first = err.cause.cause;
        const why = first instanceof Error ? first.message : String(first);
        throw new PveError(`${what}: the request was sent but no answer came back (${why}); it was not resent`, 595);
      }
      throw asPveError(err);
    }
  }

  #vm(node: string, vmid: number) {
    return this.#px.nodes.$(node).qemu.$(vmid);
  }

  async nextId(): Promise<number> {
    const id = await this.#call("GET /cluster/nextid", true, () => this.#px.cluster.nextid.$get());
    const n = toNum(id);
    if (n === undefined) throw new PveError(`unexpected /cluster/nextid answer ${JSON.stringify(id)}`, 502);
    return n;
  }

  async vmidFree(vmid: number): Promise<boolean> {
    try {
      await this.#call("GET /cluster/nextid", true, () => this.#px.cluster.nextid.$get({ vmid }));
      return true;
    } catch (err) {
      if (err instanceof PveError && err.status === 400 && err.errors?.vmid && /already exists/.test(err.errors.vmid)) return false;
      throw err;
    }
  }

  async nodes(): Promise<PveNodeInfo[]> {
    const list = await this.#call("GET /cluster/resources", true, () => this.#px.cluster.resources.$get({ type: "node" }));
    return (list as Json[]).filter((r) => r.type === "node").map(toNodeInfo);
  }

  async vms(): Promise<PveVmInfo[]> {
    const list = await this.#call("GET /cluster/resources", true, () => this.#px.cluster.resources.$get({ type: "vm" }));
    return (list as Json[]).filter((r) => r.type === "qemu" || r.type === "lxc").map(toVmInfo);
  }

  async storages(node: string): Promise<PveStorageInfo[]> {
    const list = await this.#call(`GET /nodes/${node}/storage`, true, () => this.#px.nodes.$(node).storage.$get());
    return (list as Json[]).map((r) => toStorageInfo(node, r));
  }

  async clone(p: CloneParams): Promise<TaskRef> {
    const params: Record<string, string | number | boolean> = { newid: p.newid, name: p.name };
    for (const k of ["full", "target", "storage", "format", "pool", "description", "snapname"] as const) {
      if (p[k] !== undefined) params[k] = p[k];
    }
    const what = `clone of VM ${p.vmid} to ${p.newid} on node '${p.node}'`;
    try {
      const upid = await this.#call(what, false, () => this.#vm(p.node, p.vmid).clone.$post(params as never));
      return this.#taskRef(p.node, upid);
    } catch (err) {
      if (err instanceof PveError && err.status === 595 && /was not resent/.test(err.message)) {
        throw new PveError(`${err.message}: check whether VM ${p.newid} exists before cloning again`, 595, { newid: `unknown whether VM ${p.newid} was created` });
      }
      throw err;
    }
  }

  #taskRef(node: string, upid: unknown): TaskRef {
    if (typeof upid !== "string" || !parseUpid(upid)) throw new PveError(`expected a task id (UPID), got ${JSON.stringify(upid)}`, 502);
    return { upid, node: parseUpid(upid)!.node || node };
  }

  async vmConfig(node: string, vmid: number): Promise<VmConfig | undefined> {
    try {
      const cfg = await this.#call(`GET config of VM ${vmid}`, true, () => this.#vm(node, vmid).config.$get());
      return toVmConfig(cfg as Json);
    } catch (err) {
      if (isMissingVm(err)) return undefined;
      throw err;
    }
  }

  async setVmConfig(node: string, vmid: number, set: Record<string, string | number>, del?: string[]): Promise<void> {
    const params: Record<string, string | number> = { ...set };
    if (del?.length) params.delete = del.join(",");
    await this.#call(`PUT config of VM ${vmid}`, true, () => this.#vm(node, vmid).config.$put(params as never));
  }

  async resizeDisk(node: string, vmid: number, disk: string, size: string): Promise<TaskRef> {
    const upid = await this.#call(`resize of VM ${vmid} ${disk}`, false, () => this.#vm(node, vmid).resize.$put({ disk: disk as never, size }));
    return this.#taskRef(node, upid);
  }

  async startVm(node: string, vmid: number): Promise<TaskRef> {
    return this.#taskRef(node, await this.#call(`start of VM ${vmid}`, false, () => this.#vm(node, vmid).status.start.$post()));
  }

  async stopVm(node: string, vmid: number): Promise<TaskRef> {
    return this.#taskRef(node, await this.#call(`stop of VM ${vmid}`, false, () => this.#vm(node, vmid).status.stop.$post()));
  }

  async vmStatus(node: string, vmid: number): Promise<VmStatus | undefined> {
    try {
      const st = await this.#call(`GET status of VM ${vmid}`, true, () => this.#vm(node, vmid).status.current.$get());
      return toVmStatus(st as Json);
    } catch (err) {
      if (isMissingVm(err)) return undefined;
      throw err;
    }
  }

  async destroyVm(node: string, vmid: number, opts: { purge: boolean }): Promise<TaskRef> {
    const params = opts.purge ? { purge: true } : {};
    return this.#taskRef(node, await this.#call(`destroy of VM ${vmid}`, false, () => this.#vm(node, vmid).$delete(params)));
  }

  async task(ref: TaskRef): Promise<TaskStatus> {
    const st = await this.#call(`GET task status`, true, () => this.#px.nodes.$(ref.node).tasks.$(ref.upid).status.$get());
    return toTaskStatus(ref, st as Json);
  }

  async agentNetworkInterfaces(node: string, vmid: number): Promise<AgentInterface[]> {
    const r = await this.#call(`agent network-get-interfaces of VM ${vmid}`, true, () => this.#vm(node, vmid).agent["network-get-interfaces"].$get());
    return toAgentInterfaces(r);
  }

  async agentExec(node: string, vmid: number, command: string[]): Promise<AgentExecResult> {
    const started = await this.#call(`agent exec on VM ${vmid}`, false, () => this.#vm(node, vmid).agent.exec.$post({ command }));
    const pid = toNum((started as Json | null)?.pid);
    if (pid === undefined) throw new PveError(`agent exec on VM ${vmid} returned no pid: ${JSON.stringify(started)}`, 502);
    const deadline = Date.now() + (this.#opts.agentExecTimeoutMs ?? 60_000);
    for (;;) {
      const st = await this.#call(`agent exec-status on VM ${vmid}`, true, () => this.#vm(node, vmid).agent["exec-status"].$get({ pid }));
      const { exited, result } = toExecStatus(st as Json);
      if (exited) return result;
      if (Date.now() > deadline) throw new PveError(`command ${JSON.stringify(command)} (pid ${pid}) on VM ${vmid} did not exit in time`, 504);
      await Bun.sleep(Math.min(1000, this.#opts.pollMs ?? 500));
    }
  }

  /** Waits for a short task this backend started itself (upload, volume delete). */
  async #waitTask(ref: TaskRef, what: string): Promise<TaskStatus> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const st = await this.task(ref);
      if (!st.running) return st;
      if (Date.now() > deadline) throw new PveError(`${what}: task ${ref.upid} still running after 120 s`, 504);
      await Bun.sleep(this.#opts.pollMs ?? 500);
    }
  }

  async putBootstrapData(where: BootstrapPlacement, files: BootstrapFiles): Promise<BootstrapAttachment> {
    const storage = chooseStorage(await this.storages(where.node), where.node, "iso", where.storage).storage;
    const filename = `user-data-${where.vmid}.iso`;
    const iso = buildNoCloudIso(files);
    const upid = await this.#upload(where.node, storage, filename, iso);
    const st = await this.#waitTask({ upid, node: where.node }, `upload of ${filename}`);
    if (!st.ok) throw new PveError(st.exitstatus ?? `upload of ${filename} failed`, 500);
    const volume = `${storage}:iso/${filename}`;
    return { kind: "iso", storage, config: { ide0: `${volume},media=cdrom` }, volumes: [volume] };
  }

  /** `POST …/storage/{s}/upload` as multipart (proxmox-api sends forms only). */
  async #upload(node: string, storage: string, filename: string, data: Uint8Array): Promise<string> {
    const url = new URL(`/api2/json/nodes/${encodeURIComponent(node)}/storage/${encodeURIComponent(storage)}/upload`, this.#base);
    const checksum = createHash("sha256").update(data).digest("hex");
    const form = new FormData();
    form.append("content", "iso");
    form.append("checksum-algorithm", "sha256");
    form.append("checksum", checksum);
    form.append("filename", new Blob([data], { type: "application/octet-stream" }), filename);
    this.#record("POST", url, undefined, [["content", "iso"], ["checksum-algorithm", "sha256"], ["checksum", checksum], ["filename", filename]]);
    let res: Response;
    try {
      res = await fetch(this.#routed(url), { method: "POST", headers: { Authorization: this.#auth }, body: form, ...(this.#tls ? { tls: this.#tls } : {}) } as RequestInit);
    } catch (err) {
      throw new PveError(`upload of ${filename} to ${storage} on ${node}: ${err instanceof Error ? err.message : String(err)}`, 595);
    }
    const text = await res.text();
    let body: Json = {};
    try {
      body = JSON.parse(text) as Json;
    } catch {
      // 401 and some proxies answer without JSON
    }
    if (res.status !== 200) {
      const msg = typeof body.message === "string" && body.message.trim() ? trimMsg(body.message) : res.statusText || `HTTP ${res.status}`;
      throw new PveError(msg, res.status, errorsOf(body.errors));
    }
    const upid = body.data;
    if (typeof upid !== "string" || !parseUpid(upid)) throw new PveError(`upload of ${filename}: expected a task id, got ${text.slice(0, 200)}`, 502);
    return upid;
  }

  async removeBootstrapData(node: string, attachment: BootstrapAttachment): Promise<void> {
    for (const volume of attachment.volumes) {
      const storage = volume.split(":")[0]!;
      let upid: unknown;
      try {
        upid = await this.#call(`delete of ${volume}`, false, () => this.#px.nodes.$(node).storage.$(storage).content.$(volume).$delete());
      } catch (err) {
        if (err instanceof PveError && /does not exist|No such file/.test(err.message)) continue;
        throw err;
      }
      if (typeof upid !== "string") continue; // older hosts delete synchronously
      const st = await this.#waitTask(this.#taskRef(node, upid), `delete of ${volume}`);
      if (!st.ok && !/does not exist|No such file/.test(st.exitstatus ?? "")) throw new PveError(st.exitstatus ?? `delete of ${volume} failed`, 500);
    }
    log.debug({ node, volumes: attachment.volumes }, "bootstrap ISO removed");
  }
}
