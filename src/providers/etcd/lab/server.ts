/**
 * A simulated etcd member's v3 gRPC endpoint for lab mode (`<node-ip>:2379`), answering what KCP
 * asks: Cluster.MemberList / MemberRemove and Maintenance.Status / MoveLeader / Alarm, from a
 * shared {@link EtcdMembership}.
 *
 * TLS as kubeadm configures etcd (`--client-cert-auth`): the serving certificate is minted from the
 * cluster's etcd CA like kubeadm's `etcd/server` (CN and DNS SAN = node name, DNS `localhost`, IPs
 * node address, 127.0.0.1, ::1; server+client auth), and a client certificate must chain to that
 * CA or the handshake fails. A real grpc-js server on 127.0.0.1 (random port), registered on the
 * {@link LabNetwork} as `address:2379`.
 *
 * Errors are etcd's, verbatim with their gRPC codes (`rpctypes`): member not found, not leader,
 * bad leader transferee; a member no longer in the membership answers `etcdserver: server stopped`.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import type { LabNetwork } from "../../workload/dialer.ts";
import {
  AlarmAction,
  AlarmType,
  ETCD_CLIENT_PORT,
  ETCD_RPCS,
  deserializer,
  serializer,
  type AlarmRequest,
  type EtcdRpc,
  type EtcdRpcName,
  type Member,
  type MemberRemoveRequest,
  type MoveLeaderRequest,
  type ResponseHeader,
} from "../rpc.ts";
import { raftIndex, raftState, type EtcdMembership, type LabMember } from "./membership.ts";

/** etcd's error as its gRPC server sends it. */
export class EtcdRpcError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
  }
}

export const ERR_MEMBER_NOT_FOUND = () => new EtcdRpcError(grpc.status.NOT_FOUND, "etcdserver: member not found");
export const ERR_NOT_LEADER = () => new EtcdRpcError(grpc.status.FAILED_PRECONDITION, "etcdserver: not leader");
export const ERR_BAD_LEADER_TRANSFEREE = () => new EtcdRpcError(grpc.status.FAILED_PRECONDITION, "etcdserver: bad leader transferee");
export const ERR_STOPPED = () => new EtcdRpcError(grpc.status.UNAVAILABLE, "etcdserver: server stopped");
export const ERR_NO_LEADER = () => new EtcdRpcError(grpc.status.UNAVAILABLE, "etcdserver: no leader");

export interface LabEtcdServerOptions {
  membership: EtcdMembership;
  /** The cluster's name: the etcd cluster id is derived from it. */
  clusterName: string;
  /** This member's name in the membership (the node's hostname). */
  name: string;
  /** The node's address on the lab LAN. */
  address: string;
  /** The cluster's etcd CA (`<cluster>-etcd`): PEM certificate and key. */
  ca: { cert: string; key: string };
  network?: LabNetwork;
  /** etcd server version reported by Status (default 3.5.21). */
  version?: string;
}

function toMember(m: LabMember): Member {
  return { id: BigInt(m.id), name: m.hostname, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner };
}

export class LabEtcdServer {
  readonly name: string;
  readonly address: string;
  readonly clusterId: bigint;
  readonly #opts: LabEtcdServerOptions;
  #server: grpc.Server | undefined;
  #port = 0;
  #unlisten: (() => void) | undefined;

  constructor(opts: LabEtcdServerOptions) {
    this.#opts = opts;
    this.name = opts.name;
    this.address = opts.address;
    this.clusterId = createHash("sha256").update(`etcd-cluster:${opts.clusterName}`).digest().readBigUInt64BE(0) || 1n;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }
  /** The loopback port it listens on (0 when stopped). */
  get port(): number {
    return this.#port;
  }

  async start(): Promise<number> {
    if (this.#server) return this.#port;
    const { issueCertificate } = await import("../../pki/certs.ts");
    const serving = await issueCertificate(
      { certPem: this.#opts.ca.cert, keyPem: this.#opts.ca.key },
      {
        commonName: this.name,
        dnsNames: [this.name, "localhost"],
        ipAddresses: [...new Set([this.address, "127.0.0.1", "::1"])],
        usage: "server-client",
        days: 365,
      },
    );
    const server = new grpc.Server({ "grpc.enable_channelz": 0 });
    for (const service of ["etcdserverpb.Cluster", "etcdserverpb.Maintenance"] as const) {
      const rpcs = (Object.values(ETCD_RPCS) as EtcdRpc<unknown, unknown>[]).filter((r) => r.service === service);
      server.addService(definition(rpcs), this.#implementation(rpcs));
    }
    const creds = grpc.ServerCredentials.createSsl(
      Buffer.from(this.#opts.ca.cert),
      [{ cert_chain: Buffer.from(serving.certPem), private_key: Buffer.from(serving.keyPem) }],
      true,
    );
    this.#port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", creds, (err, port) => (err ? reject(err) : resolve(port))),
    );
    this.#server = server;
    this.#unlisten = this.#opts.network?.listen(this.address, ETCD_CLIENT_PORT, this.#port);
    return this.#port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    this.#port = 0;
    this.#unlisten?.();
    this.#unlisten = undefined;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 1000);
      server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  // ---- etcd, locally -----------------------------------------------------------------------------

  /** This server's member; a removed (or never joined) member's etcd has stopped. */
  #self(): LabMember {
    const me = this.#opts.membership.members.find((m) => m.hostname === this.name);
    if (!me) throw ERR_STOPPED();
    return me;
  }

  #header(me: LabMember): ResponseHeader {
    return { clusterId: this.clusterId, memberId: BigInt(me.id), revision: raftIndex(this.#opts.membership), raftTerm: raftState(this.#opts.membership).term };
  }

  /** One RPC's reply. */
  handle(name: EtcdRpcName, req: unknown): object {
    const ms = this.#opts.membership;
    const me = this.#self();
    switch (name) {
      case "MemberList":
        return { header: this.#header(me), members: ms.members.map(toMember) };
      case "MemberRemove": {
        if (!ms.leader) throw ERR_NO_LEADER();
        const { id } = req as MemberRemoveRequest;
        if (!ms.removeById(id)) throw ERR_MEMBER_NOT_FOUND();
        return { header: this.#header(me), members: ms.members.map(toMember) };
      }
      case "MoveLeader": {
        const leader = ms.leader;
        if (!leader) throw ERR_NO_LEADER();
        if (leader.id !== me.id) throw ERR_NOT_LEADER();
        const { targetID } = req as MoveLeaderRequest;
        if (String(targetID) !== leader.id) {
          if (!ms.moveLeader(targetID)) throw ERR_BAD_LEADER_TRANSFEREE();
          raftState(ms).writes++;
        }
        return { header: this.#header(me) };
      }
      case "Status": {
        const s = raftState(ms);
        const index = raftIndex(ms);
        return {
          header: this.#header(me),
          version: this.#opts.version ?? "3.5.21",
          dbSize: 20_480n * 1024n,
          dbSizeInUse: 16_384n * 1024n,
          leader: ms.leader ? BigInt(ms.leader.id) : 0n,
          raftIndex: index,
          raftTerm: s.term,
          raftAppliedIndex: index,
          errors: s.alarms.map((a) => `memberID:${a.memberId} alarm:${AlarmType[a.alarm]} `),
          isLearner: me.isLearner,
        };
      }
      case "Alarm":
        return { header: this.#header(me), alarms: this.#alarm(req as AlarmRequest) };
      default:
        throw new EtcdRpcError(grpc.status.UNIMPLEMENTED, `unknown method ${name}`);
    }
  }

  /** Alarm GET / ACTIVATE / DEACTIVATE as etcd's alarm store: GET with alarm NONE lists all. */
  #alarm(req: AlarmRequest): { memberID: bigint; alarm: AlarmType }[] {
    const s = raftState(this.#opts.membership);
    const memberId = req.memberID ?? 0n;
    const alarm = req.alarm ?? AlarmType.NONE;
    const out = (list: typeof s.alarms) => list.map((a) => ({ memberID: a.memberId, alarm: a.alarm }));
    switch (req.action ?? AlarmAction.GET) {
      case AlarmAction.ACTIVATE:
        if (alarm === AlarmType.NONE) return [];
        if (!s.alarms.some((a) => a.memberId === memberId && a.alarm === alarm)) s.alarms.push({ memberId, alarm });
        return out([{ memberId, alarm }]);
      case AlarmAction.DEACTIVATE: {
        const gone = s.alarms.filter((a) => a.memberId === memberId && a.alarm === alarm);
        s.alarms = s.alarms.filter((a) => !gone.includes(a));
        return out(gone);
      }
      default:
        return out(alarm === AlarmType.NONE ? s.alarms : s.alarms.filter((a) => a.alarm === alarm));
    }
  }

  /** Lab knob: raise an alarm (e.g. NOSPACE) on a member, as etcd does when its quota is exhausted. */
  raiseAlarm(memberId: bigint, alarm: AlarmType): void {
    this.#alarm({ action: AlarmAction.ACTIVATE, memberID: memberId, alarm });
  }

  #implementation(rpcs: EtcdRpc<unknown, unknown>[]): grpc.UntypedServiceImplementation {
    const impl: grpc.UntypedServiceImplementation = {};
    for (const rpc of rpcs) {
      impl[rpc.name] = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        try {
          cb(null, this.handle(rpc.name as EtcdRpcName, call.request));
        } catch (e) {
          const err = e instanceof EtcdRpcError ? e : new EtcdRpcError(grpc.status.UNKNOWN, e instanceof Error ? e.message : String(e));
          cb({ code: err.code, details: err.details });
        }
      };
    }
    return impl;
  }
}

function definition(rpcs: EtcdRpc<unknown, unknown>[]): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const rpc of rpcs) {
    def[rpc.name] = {
      path: rpc.path,
      requestStream: false,
      responseStream: false,
      requestSerialize: serializer(rpc.request),
      requestDeserialize: deserializer(rpc.request),
      responseSerialize: serializer(rpc.response),
      responseDeserialize: deserializer(rpc.response),
    };
  }
  return def as grpc.ServiceDefinition;
}
