/**
 * The subset of etcd's v3 gRPC API the appliance speaks (what KCP's etcd client uses: MemberList,
 * MemberRemove, MoveLeader, Status, Alarm), as message schemas for the project's protobuf codec
 * plus the RPC table shared by the client and the lab server. Field numbers follow upstream
 * `api/etcdserverpb/rpc.proto` (services `etcdserverpb.Cluster` and `etcdserverpb.Maintenance`).
 * @module
 */
import { decode, encode, type MessageSchema } from "../talos/api/wire.ts";

/** etcd's client port (`--listen-client-urls https://<ip>:2379`). */
export const ETCD_CLIENT_PORT = 2379;

// ---- types ---------------------------------------------------------------------------------------

export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  revision: bigint;
  raftTerm: bigint;
}
export interface Member {
  id: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}
export interface MemberListRequest {
  linearizable?: boolean;
}
export interface MemberListResponse {
  header?: ResponseHeader;
  members: Member[];
}
export interface MemberRemoveRequest {
  id: bigint;
}
export interface MemberRemoveResponse {
  header?: ResponseHeader;
  members: Member[];
}
export interface MoveLeaderRequest {
  targetID: bigint;
}
export interface MoveLeaderResponse {
  header?: ResponseHeader;
}
export enum AlarmType {
  NONE = 0,
  NOSPACE = 1,
  CORRUPT = 2,
}
export enum AlarmAction {
  GET = 0,
  ACTIVATE = 1,
  DEACTIVATE = 2,
}
export interface AlarmRequest {
  action?: AlarmAction;
  memberID?: bigint;
  alarm?: AlarmType;
}
export interface AlarmMember {
  memberID: bigint;
  alarm: AlarmType;
}
export interface AlarmResponse {
  header?: ResponseHeader;
  alarms: AlarmMember[];
}
export type StatusRequest = Record<string, never>;
export interface StatusResponse {
  header?: ResponseHeader;
  version: string;
  dbSize: bigint;
  leader: bigint;
  raftIndex: bigint;
  raftTerm: bigint;
  raftAppliedIndex: bigint;
  errors: string[];
  dbSizeInUse: bigint;
  isLearner: boolean;
}

// ---- schemas -------------------------------------------------------------------------------------

const S = (typeName: string, fields: MessageSchema["fields"]): MessageSchema => ({ typeName, fields });

const ResponseHeaderSchema = S("etcdserverpb.ResponseHeader", [
  { no: 1, name: "clusterId", kind: "uint64" },
  { no: 2, name: "memberId", kind: "uint64" },
  { no: 3, name: "revision", kind: "int64" },
  { no: 4, name: "raftTerm", kind: "uint64" },
]);
const header = { no: 1, name: "header", kind: "message" as const, message: () => ResponseHeaderSchema };
const MemberSchema = S("etcdserverpb.Member", [
  { no: 1, name: "id", kind: "uint64" },
  { no: 2, name: "name", kind: "string" },
  { no: 3, name: "peerURLs", kind: "string", repeated: true },
  { no: 4, name: "clientURLs", kind: "string", repeated: true },
  { no: 5, name: "isLearner", kind: "bool" },
]);
const members = (no: number) => ({ no, name: "members", kind: "message" as const, repeated: true, message: () => MemberSchema });

export const MemberListRequestSchema = S("etcdserverpb.MemberListRequest", [{ no: 1, name: "linearizable", kind: "bool" }]);
export const MemberListResponseSchema = S("etcdserverpb.MemberListResponse", [header, members(2)]);
export const MemberRemoveRequestSchema = S("etcdserverpb.MemberRemoveRequest", [{ no: 1, name: "id", kind: "uint64" }]);
export const MemberRemoveResponseSchema = S("etcdserverpb.MemberRemoveResponse", [header, members(2)]);
export const MoveLeaderRequestSchema = S("etcdserverpb.MoveLeaderRequest", [{ no: 1, name: "targetID", kind: "uint64" }]);
export const MoveLeaderResponseSchema = S("etcdserverpb.MoveLeaderResponse", [header]);
export const AlarmRequestSchema = S("etcdserverpb.AlarmRequest", [
  { no: 1, name: "action", kind: "enum" },
  { no: 2, name: "memberID", kind: "uint64" },
  { no: 3, name: "alarm", kind: "enum" },
]);
export const AlarmResponseSchema = S("etcdserverpb.AlarmResponse", [
  header,
  {
    no: 2,
    name: "alarms",
    kind: "message",
    repeated: true,
    message: () =>
      S("etcdserverpb.AlarmMember", [
        { no: 1, name: "memberID", kind: "uint64" },
        { no: 2, name: "alarm", kind: "enum" },
      ]),
  },
]);
export const StatusRequestSchema = S("etcdserverpb.StatusRequest", []);
export const StatusResponseSchema = S("etcdserverpb.StatusResponse", [
  header,
  { no: 2, name: "version", kind: "string" },
  { no: 3, name: "dbSize", kind: "int64" },
  { no: 4, name: "leader", kind: "uint64" },
  { no: 5, name: "raftIndex", kind: "uint64" },
  { no: 6, name: "raftTerm", kind: "uint64" },
  { no: 7, name: "raftAppliedIndex", kind: "uint64" },
  { no: 8, name: "errors", kind: "string", repeated: true },
  { no: 9, name: "dbSizeInUse", kind: "int64" },
  { no: 10, name: "isLearner", kind: "bool" },
]);

// ---- RPC table -----------------------------------------------------------------------------------

export interface EtcdRpc<Req, Res> {
  name: string;
  service: "etcdserverpb.Cluster" | "etcdserverpb.Maintenance";
  path: string;
  request: MessageSchema;
  response: MessageSchema;
  /** Phantom fields so the table carries request/response types. */
  _req?: Req;
  _res?: Res;
}

function rpc<Req, Res>(service: EtcdRpc<Req, Res>["service"], name: string, request: MessageSchema, response: MessageSchema): EtcdRpc<Req, Res> {
  return { name, service, path: `/${service}/${name}`, request, response };
}

export const ETCD_RPCS = {
  MemberList: rpc<MemberListRequest, MemberListResponse>("etcdserverpb.Cluster", "MemberList", MemberListRequestSchema, MemberListResponseSchema),
  MemberRemove: rpc<MemberRemoveRequest, MemberRemoveResponse>(
    "etcdserverpb.Cluster",
    "MemberRemove",
    MemberRemoveRequestSchema,
    MemberRemoveResponseSchema,
  ),
  MoveLeader: rpc<MoveLeaderRequest, MoveLeaderResponse>("etcdserverpb.Maintenance", "MoveLeader", MoveLeaderRequestSchema, MoveLeaderResponseSchema),
  Status: rpc<StatusRequest, StatusResponse>("etcdserverpb.Maintenance", "Status", StatusRequestSchema, StatusResponseSchema),
  Alarm: rpc<AlarmRequest, AlarmResponse>("etcdserverpb.Maintenance", "Alarm", AlarmRequestSchema, AlarmResponseSchema),
} as const;

export type EtcdRpcName = keyof typeof ETCD_RPCS;

export function serializer(schema: MessageSchema): (v: unknown) => Buffer {
  return (v) => Buffer.from(encode(schema, v));
}
export function deserializer<T>(schema: MessageSchema): (b: Buffer) => T {
  return (b) => decode<T>(schema, new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
}
