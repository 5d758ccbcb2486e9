/**
 * An etcd v3 client for one member (`<node-ip>:2379`) over @grpc/grpc-js with mTLS: what KCP's
 * `controlplane/kubeadm/pkg/etcd` client does (MemberList, MemberRemove by id, MoveLeader, Status,
 * AlarmList), one endpoint per client as upstream's per-node clients.
 *
 * - Credentials: the etcd CA (`<cluster>-etcd` tls.crt) plus a client certificate signed by it
 *   (see {@link ./client-cert.ts}).
 * - Like upstream (which dials members through the API server proxy by pod name), the serving
 *   certificate must chain to the etcd CA but its host name is not checked. Bun's TLS refuses an
 *   IP as ServerName, so the TLS name sent is {@link EtcdClientOptions.serverName} (default
 *   `localhost`, which kubeadm puts into every etcd serving certificate).
 * - Connections go through a {@link Dialer} (the lab maps simulated 10.10.0.x:2379 to loopback).
 * - Failures are {@link EtcdError}s naming the node, the RPC and the gRPC code; etcd's own errors
 *   keep their text verbatim (e.g. `etcdserver: member not found`, NotFound).
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { directDialer, type Dialer } from "../workload/dialer.ts";
import {
  AlarmAction,
  AlarmType,
  ETCD_CLIENT_PORT,
  ETCD_RPCS,
  deserializer,
  serializer,
  type EtcdRpc,
  type Member,
  type StatusResponse,
} from "./rpc.ts";

export class EtcdError extends Error {
  constructor(
    readonly node: string,
    readonly rpc: string,
    readonly detail: string,
    readonly code?: grpc.status,
  ) {
    super(`etcd ${rpc} on ${node}: ${detail}${code !== undefined ? ` (${grpc.status[code] ?? code})` : ""}`);
    this.name = "EtcdError";
  }
}

export interface EtcdClientOptions {
  /** The member: IP or name, optional `:port` (default 2379). */
  endpoint: string;
  /** etcd CA certificate, client certificate and key (PEM). */
  ca: string;
  crt: string;
  key: string;
  dialer?: Dialer;
  /** TLS name sent to the server (default `localhost`); the server certificate's names are not checked. */
  serverName?: string;
  /** Per-call deadline, ms (default 15s, upstream's DefaultCallTimeout). */
  timeoutMs?: number;
}

export interface EtcdMember extends Member {
  /** The cluster id from the MemberList response header (as upstream's Member.ClusterID). */
  clusterId: bigint;
}

export interface EtcdStatus {
  clusterId: bigint;
  /** The member that answered. */
  memberId: bigint;
  /** The member it believes leads. */
  leader: bigint;
  raftIndex: bigint;
  raftTerm: bigint;
  raftAppliedIndex: bigint;
  version: string;
  dbSize: bigint;
  isLearner: boolean;
  errors: string[];
}

export interface EtcdAlarm {
  memberId: bigint;
  type: "NONE" | "NOSPACE" | "CORRUPT";
}

function splitHostPort(ep: string): { host: string; port: number } {
  const m = /^\[(.+)\](?::(\d+))?$/.exec(ep);
  if (m) return { host: m[1]!, port: m[2] ? Number(m[2]) : ETCD_CLIENT_PORT };
  const i = ep.lastIndexOf(":");
  if (i > 0 && ep.indexOf(":") === i) return { host: ep.slice(0, i), port: Number(ep.slice(i + 1)) };
  return { host: ep, port: ETCD_CLIENT_PORT };
}

export class EtcdClient {
  readonly node: string;
  readonly #opts: EtcdClientOptions;
  readonly #client: grpc.Client;

  constructor(opts: EtcdClientOptions) {
    this.#opts = opts;
    const { host, port } = splitHostPort(opts.endpoint);
    this.node = host;
    const creds = grpc.credentials.createSsl(Buffer.from(opts.ca), Buffer.from(opts.key), Buffer.from(opts.crt), {
      // chain verified against the etcd CA by TLS; the host name is not part of the check (upstream skips it too)
      checkServerIdentity: () => undefined,
    });
    const route = (opts.dialer ?? directDialer).route(host, port);
    const target = `${route.host.includes(":") ? `[${route.host}]` : route.host}:${route.port}`;
    const name = opts.serverName ?? "localhost";
    this.#client = new grpc.Client(`dns:${target}`, creds, {
      "grpc.ssl_target_name_override": name,
      "grpc.default_authority": name,
      "grpc.enable_channelz": 0,
    });
  }

  close(): void {
    this.#client.close();
  }

  #call<Req, Res>(rpc: EtcdRpc<Req, Res>, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest<Req, Res>(
        rpc.path,
        serializer(rpc.request),
        deserializer<Res>(rpc.response),
        req,
        new grpc.Metadata(),
        { deadline: new Date(Date.now() + (this.#opts.timeoutMs ?? 15_000)) },
        (err, value) => {
          if (err) reject(new EtcdError(this.node, rpc.name, err.details || err.message, err.code));
          else resolve(value!);
        },
      );
    });
  }

  /** All members, linearizable (clientv3's default). */
  async members(): Promise<EtcdMember[]> {
    const res = await this.#call(ETCD_RPCS.MemberList, { linearizable: true });
    const clusterId = res.header?.clusterId ?? 0n;
    return res.members.map((m) => ({ ...m, clusterId }));
  }

  /** Removes a member by id; the members left. */
  async removeMember(id: bigint): Promise<Member[]> {
    return (await this.#call(ETCD_RPCS.MemberRemove, { id })).members;
  }

  /** Transfers leadership to `toId`; must be asked of the current leader (else `etcdserver: not leader`). */
  async moveLeader(toId: bigint): Promise<void> {
    await this.#call(ETCD_RPCS.MoveLeader, { targetID: toId });
  }

  async status(): Promise<EtcdStatus> {
    const s: StatusResponse = await this.#call(ETCD_RPCS.Status, {});
    return {
      clusterId: s.header?.clusterId ?? 0n,
      memberId: s.header?.memberId ?? 0n,
      leader: s.leader,
      raftIndex: s.raftIndex,
      raftTerm: s.raftTerm,
      raftAppliedIndex: s.raftAppliedIndex,
      version: s.version,
      dbSize: s.dbSize,
      isLearner: s.isLearner,
      errors: s.errors,
    };
  }

  /** The raised alarms of every member (clientv3 AlarmList: GET, member 0, NONE). */
  async alarms(): Promise<EtcdAlarm[]> {
    const res = await this.#call(ETCD_RPCS.Alarm, { action: AlarmAction.GET, memberID: 0n, alarm: AlarmType.NONE });
    return res.alarms.map((a) => ({ memberId: a.memberID, type: (AlarmType[a.alarm] ?? "NONE") as EtcdAlarm["type"] }));
  }
}
