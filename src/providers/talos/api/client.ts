/**
 * A Talos machine API client (apid, port 50000) over @grpc/grpc-js with mTLS.
 *
 * - Credentials: the OS CA plus a client certificate of it (talosctl's: O=os:admin, Ed25519).
 * - Targeting: no metadata => the endpoint node answers; `node` => proxied 1:1; `nodes` => apid
 *   fans out and every reply carries `metadata.hostname`; a node that failed comes back as a
 *   message with `metadata.error` (not a gRPC error). Those become {@link TalosNodeError}s naming
 *   the node (thrown by the plain methods, returned by the `*Settled` ones).
 * - Bun's TLS refuses an IP as ServerName, and grpc-js uses the target host as ServerName, so an
 *   IP endpoint needs `grpc.ssl_target_name_override` set to a DNS SAN of apid's certificate
 *   (its hostname, or a fixed `machine.certSANs` entry): {@link TalosClientOptions.serverName}.
 * - Connections go through a {@link Dialer}: the endpoint's host:port is routed (the lab maps
 *   simulated 10.10.0.x:50000 to loopback listeners); the TLS name stays the configured one.
 * @module
 */
import { providerCalls } from "../../../runtime/metrics.ts";
import * as grpc from "@grpc/grpc-js";
import { directDialer, type Dialer } from "../../workload/dialer.ts";
import {
  RPCS,
  TALOS_API_PORT,
  deserializer,
  serializer,
  type Bootstrap,
  type BootstrapRequest,
  type Data,
  type EtcdForfeitLeadership,
  type EtcdLeaveCluster,
  type EtcdMemberListRequest,
  type EtcdMembers,
  type EtcdRemoveMemberByID,
  type EventsRequest,
  type FileInfo,
  type ListRequest,
  type MachineEvent,
  type Replies,
  type Reset,
  type ResetRequest,
  type Rpc,
  type ServiceList,
  type Version,
  type WithMetadata,
} from "./machine.ts";
import { normalizeKeyPem, pemFromConfig } from "./pem.ts";
import { untarGz } from "./targz.ts";

/** One node's failure: a gRPC error from the node, or a `metadata.error` in an aggregated reply. */
export class TalosNodeError extends Error {
  constructor(
    readonly node: string,
    readonly rpc: string,
    readonly detail: string,
    /** gRPC status code when known (e.g. 6 AlreadyExists, 9 FailedPrecondition). */
    readonly code?: grpc.status,
  ) {
    super(`talos ${rpc} on ${node}: ${detail}`);
    this.name = "TalosNodeError";
  }
}

/** Several nodes failed in one aggregated call. */
export class TalosMultiNodeError extends Error {
  constructor(readonly errors: TalosNodeError[]) {
    super(errors.map((e) => e.message).join("; "));
    this.name = "TalosMultiNodeError";
  }
}

export interface TalosClientOptions {
  /** apid endpoints (IP or name, optional `:port`, default 50000); tried in order while unreachable. */
  endpoints: string[];
  /** OS CA, client certificate and key: PEM, or base64 PEM as in talosconfig. */
  ca: string;
  crt: string;
  key: string;
  /** The TLS name checked against apid's certificate; required when an endpoint is an IP (Bun). */
  serverName?: string;
  dialer?: Dialer;
  /** Per-call deadline, ms (default 30s; streams without one unless given in the call). */
  timeoutMs?: number;
  /** With several endpoints: how long each may take to connect before the next is tried (default 5s). */
  connectTimeoutMs?: number;
}

export interface Target {
  /** Proxy 1:1 to this node. */
  node?: string;
  /** Fan out to these nodes (aggregated replies, per-node metadata). */
  nodes?: string[];
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type NodeResult<T> = { node: string; value: T; error?: undefined } | { node: string; value?: undefined; error: TalosNodeError };

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function splitHostPort(ep: string): { host: string; port: number } {
  const m = /^\[(.+)\](?::(\d+))?$/.exec(ep);
  if (m) return { host: m[1]!, port: m[2] ? Number(m[2]) : TALOS_API_PORT };
  const i = ep.lastIndexOf(":");
  if (i > 0 && ep.indexOf(":") === i) return { host: ep.slice(0, i), port: Number(ep.slice(i + 1)) };
  return { host: ep, port: TALOS_API_PORT };
}

function isIP(host: string): boolean {
  return IPV4.test(host) || host.includes(":");
}

function metadataFor(t: Target): grpc.Metadata {
  const md = new grpc.Metadata();
  if (t.nodes?.length) for (const n of t.nodes) md.add("nodes", n);
  else if (t.node) md.set("node", t.node);
  return md;
}

export class TalosClient {
  readonly #opts: TalosClientOptions;
  readonly #creds: grpc.ChannelCredentials;
  readonly #clients = new Map<string, grpc.Client>();

  constructor(opts: TalosClientOptions) {
    if (!opts.endpoints.length) throw new Error("talos client: no endpoints");
    this.#opts = opts;
    this.#creds = grpc.credentials.createSsl(
      Buffer.from(pemFromConfig(opts.ca)),
      Buffer.from(normalizeKeyPem(pemFromConfig(opts.key))),
      Buffer.from(pemFromConfig(opts.crt)),
    );
  }

  #client(endpoint: string): grpc.Client {
    let c = this.#clients.get(endpoint);
    if (c) return c;
    const { host, port } = splitHostPort(endpoint);
    const serverName = this.#opts.serverName ?? (isIP(host) ? undefined : host);
    if (!serverName) {
      throw new TalosNodeError(
        endpoint,
        "connect",
        "endpoint is an IP address: set serverName to a DNS name in apid's certificate SANs (Bun rejects an IP as TLS ServerName)",
      );
    }
    const route = (this.#opts.dialer ?? directDialer).route(host, port);
    const target = `${route.host.includes(":") ? `[${route.host}]` : route.host}:${route.port}`;
    c = new grpc.Client(`dns:${target}`, this.#creds, {
      "grpc.ssl_target_name_override": serverName,
      "grpc.default_authority": serverName,
      "grpc.max_receive_message_length": 64 << 20,
      "grpc.enable_channelz": 0,
    });
    this.#clients.set(endpoint, c);
    return c;
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }

  #deadline(t: Target, stream: boolean): grpc.CallOptions {
    const ms = t.timeoutMs ?? (stream ? undefined : (this.#opts.timeoutMs ?? 30_000));
    return ms ? { deadline: new Date(Date.now() + ms) } : {};
  }

  #wrap(rpc: string, t: Target, endpoint: string, err: grpc.ServiceError): TalosNodeError {
    const node = t.node ?? (t.nodes?.length === 1 ? t.nodes[0]! : undefined) ?? splitHostPort(endpoint).host;
    return new TalosNodeError(node, rpc, err.details || err.message, err.code);
  }

  /**
   * Runs a call on the first endpoint that connects (talosctl's endpoint list). With several
   * endpoints each is given `connectTimeoutMs` to become ready first, so a dead endpoint costs a
   * connect timeout rather than the call's deadline; a call that reached a node is never retried.
   */
  async #onEndpoints<T>(fn: (endpoint: string) => Promise<T>): Promise<T> {
    const eps = this.#opts.endpoints;
    if (eps.length === 1) return fn(eps[0]!);
    const failures: string[] = [];
    for (const ep of eps) {
      const c = this.#client(ep);
      const ready = await connect(c, new Date(Date.now() + (this.#opts.connectTimeoutMs ?? 5000)));
      if (ready) {
        failures.push(`${ep}: ${ready.message}`);
        continue;
      }
      return fn(ep);
    }
    throw new TalosNodeError(eps.join(","), "connect", `no endpoint reachable (${failures.join("; ")})`, grpc.status.UNAVAILABLE);
  }

  /** A unary call; every reply message with its node (metadata.hostname, else the target). */
  async unarySettled<Req, Item extends WithMetadata>(rpc: Rpc<Req, Item>, req: Req, t: Target = {}): Promise<NodeResult<Item>[]> {
    const replies = await this.#onEndpoints(
      (endpoint) =>
        new Promise<Replies<Item>>((resolve, reject) => {
          const call = this.#client(endpoint).makeUnaryRequest<Req, Replies<Item>>(
            rpc.path,
            serializer(rpc.request),
            deserializer<Replies<Item>>(rpc.response),
            req,
            metadataFor(t),
            this.#deadline(t, false),
            (err, value) => {
              providerCalls.talos.inc({ method: rpc.name, code: err ? (grpc.status[err.code] ?? String(err.code)) : "OK" });
              if (err) reject(this.#wrap(rpc.name, t, endpoint, err));
              else resolve(value!);
            },
          );
          t.signal?.addEventListener("abort", () => call.cancel(), { once: true });
        }),
    );
    const fallback = t.node ?? (t.nodes?.length === 1 ? t.nodes[0]! : splitHostPort(this.#opts.endpoints[0]!).host);
    return replies.messages.map((m) => settle(rpc.name, m, fallback));
  }

  /** A unary call; any node's failure is thrown (one {@link TalosNodeError}, or a {@link TalosMultiNodeError}). */
  async unary<Req, Item extends WithMetadata>(rpc: Rpc<Req, Item>, req: Req, t: Target = {}): Promise<Item[]> {
    return unwrap(await this.unarySettled(rpc, req, t));
  }

  /** A server stream; per-node failures are yielded as results with `error`. */
  async *streamSettled<Req, Item extends WithMetadata>(rpc: Rpc<Req, Item>, req: Req, t: Target = {}): AsyncGenerator<NodeResult<Item>> {
    const endpoint = await this.#onEndpoints(async (ep) => ep);
    const call = this.#client(endpoint).makeServerStreamRequest<Req, Item>(
      rpc.path,
      serializer(rpc.request),
      deserializer<Item>(rpc.item),
      req,
      metadataFor(t),
      this.#deadline(t, true),
    );
    const onAbort = () => call.cancel();
    t.signal?.addEventListener("abort", onAbort, { once: true });
    const fallback = t.node ?? (t.nodes?.length === 1 ? t.nodes[0]! : splitHostPort(endpoint).host);
    try {
      for await (const m of call as AsyncIterable<Item>) yield settle(rpc.name, m, fallback);
      providerCalls.talos.inc({ method: rpc.name, code: "OK" });
    } catch (e) {
      const err = e as grpc.ServiceError;
      providerCalls.talos.inc({ method: rpc.name, code: grpc.status[err.code] ?? String(err.code) });
      if (err.code === grpc.status.CANCELLED && t.signal?.aborted) return;
      throw this.#wrap(rpc.name, t, endpoint, err);
    } finally {
      t.signal?.removeEventListener("abort", onAbort);
      call.cancel();
    }
  }

  async *stream<Req, Item extends WithMetadata>(rpc: Rpc<Req, Item>, req: Req, t: Target = {}): AsyncGenerator<Item> {
    for await (const r of this.streamSettled(rpc, req, t)) {
      if (r.error) throw r.error;
      yield r.value;
    }
  }

  // ---- the RPCs ----------------------------------------------------------------------------------

  version(t?: Target): Promise<Version[]> {
    return this.unary(RPCS.Version, {}, t);
  }
  bootstrap(req: BootstrapRequest = {}, t?: Target): Promise<Bootstrap[]> {
    return this.unary(RPCS.Bootstrap, req, t);
  }
  serviceList(t?: Target): Promise<ServiceList[]> {
    return this.unary(RPCS.ServiceList, {}, t);
  }
  etcdMemberList(req: EtcdMemberListRequest = {}, t?: Target): Promise<EtcdMembers[]> {
    return this.unary(RPCS.EtcdMemberList, req, t);
  }
  etcdForfeitLeadership(t?: Target): Promise<EtcdForfeitLeadership[]> {
    return this.unary(RPCS.EtcdForfeitLeadership, {}, t);
  }
  etcdLeaveCluster(t?: Target): Promise<EtcdLeaveCluster[]> {
    return this.unary(RPCS.EtcdLeaveCluster, {}, t);
  }
  etcdRemoveMemberByID(memberId: bigint, t?: Target): Promise<EtcdRemoveMemberByID[]> {
    return this.unary(RPCS.EtcdRemoveMemberByID, { memberId }, t);
  }
  reset(req: ResetRequest = {}, t?: Target): Promise<Reset[]> {
    return this.unary(RPCS.Reset, req, t);
  }
  /** All FileInfo entries; per-node failures as results (what CACPPT's "already bootstrapped?" probe needs). */
  async listSettled(req: ListRequest, t?: Target): Promise<NodeResult<FileInfo>[]> {
    const out: NodeResult<FileInfo>[] = [];
    for await (const r of this.streamSettled(RPCS.List, req, t)) out.push(r);
    return out;
  }
  async list(req: ListRequest, t?: Target): Promise<FileInfo[]> {
    return unwrap(await this.listSettled(req, t));
  }
  events(req: EventsRequest, t?: Target): AsyncGenerator<MachineEvent> {
    return this.stream(RPCS.Events, req, t);
  }
  /** The Kubeconfig stream's chunks concatenated: a .tar.gz holding `kubeconfig`. */
  async kubeconfigArchive(t?: Target): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    for await (const d of this.stream<object, Data>(RPCS.Kubeconfig, {}, t)) chunks.push(d.bytes);
    return new Uint8Array(Buffer.concat(chunks));
  }
  /** The admin kubeconfig YAML from the Kubeconfig RPC. */
  async kubeconfig(t?: Target): Promise<string> {
    const file = untarGz(await this.kubeconfigArchive(t)).get("kubeconfig");
    if (!file) throw new TalosNodeError(t?.node ?? this.#opts.endpoints[0]!, "Kubeconfig", "archive holds no kubeconfig");
    return Buffer.from(file).toString("utf8");
  }
}

/** Waits for a channel to connect; undefined when ready, else why not (refused fails fast). */
function connect(c: grpc.Client, deadline: Date): Promise<Error | undefined> {
  const ch = c.getChannel();
  const S = grpc.connectivityState;
  return new Promise((resolve) => {
    const check = () => {
      const st = ch.getConnectivityState(true);
      if (st === S.READY) return resolve(undefined);
      if (st === S.TRANSIENT_FAILURE || st === S.SHUTDOWN) return resolve(new Error("connection failed"));
      if (Date.now() >= deadline.getTime()) return resolve(new Error("connect timeout"));
      ch.watchConnectivityState(st, deadline, (err) => (err ? resolve(new Error("connect timeout")) : check()));
    };
    check();
  });
}

function settle<T extends WithMetadata>(rpc: string, m: T, fallback: string): NodeResult<T> {
  const node = m.metadata?.hostname || fallback;
  if (m.metadata?.error) {
    return { node, error: new TalosNodeError(node, rpc, m.metadata.error, m.metadata.status?.code as grpc.status | undefined) };
  }
  return { node, value: m };
}

function unwrap<T>(results: NodeResult<T>[]): T[] {
  const errors = results.flatMap((r) => (r.error ? [r.error] : []));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new TalosMultiNodeError(errors);
  return results.map((r) => r.value!);
}
