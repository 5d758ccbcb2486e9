/**
 * The subset of the Talos machine API (`package machine; service MachineService`, apid port 50000)
 * the appliance speaks, as message schemas for {@link ./wire.ts} plus the RPC table shared by the
 * client and the lab node. Field numbers follow upstream v1.13 `api/machine/machine.proto`,
 * `api/common/common.proto` and the google.protobuf / google.rpc well-known types.
 * @module
 */
import { decode, encode, type MessageSchema } from "./wire.ts";

export const TALOS_API_PORT = 50000;
export const SERVICE = "machine.MachineService";

// ---- types ---------------------------------------------------------------------------------------

export interface RpcStatus {
  code: number;
  message: string;
}
export interface Metadata {
  hostname: string;
  error: string;
  status?: RpcStatus;
}
export interface Timestamp {
  seconds: bigint;
  nanos: number;
}
export interface AnyMsg {
  typeUrl: string;
  value: Uint8Array;
}
export type Empty = Record<string, never>;
export interface Replies<T> {
  messages: T[];
}
export interface WithMetadata {
  metadata?: Metadata;
}

export interface VersionInfo {
  tag: string;
  sha: string;
  built: string;
  goVersion: string;
  os: string;
  arch: string;
}
export interface Version extends WithMetadata {
  version?: VersionInfo;
  platform?: { name: string; mode: string };
  features?: { rbac: boolean };
}
export interface BootstrapRequest {
  recoverEtcd?: boolean;
  recoverSkipHashCheck?: boolean;
}
export type Bootstrap = WithMetadata;
export interface ListRequest {
  root: string;
  recurse?: boolean;
  recursionDepth?: number;
  types?: number[];
  reportXattrs?: boolean;
}
export interface FileInfo extends WithMetadata {
  name: string;
  size: bigint;
  mode: number;
  modified: bigint;
  isDir: boolean;
  error: string;
  link: string;
  relativeName: string;
  uid: number;
  gid: number;
}
export interface ServiceEvent {
  msg: string;
  state: string;
  ts?: Timestamp;
}
export interface ServiceHealth {
  unknown: boolean;
  healthy: boolean;
  lastMessage: string;
  lastChange?: Timestamp;
}
export interface ServiceInfo {
  id: string;
  state: string;
  events?: { events: ServiceEvent[] };
  health?: ServiceHealth;
}
export interface ServiceList extends WithMetadata {
  services: ServiceInfo[];
}
export interface EventsRequest {
  tailEvents?: number;
  tailId?: string;
  tailSeconds?: number;
  withActorId?: string;
}
export interface MachineEvent extends WithMetadata {
  data?: AnyMsg;
  id: string;
  actorId: string;
}
export enum SequenceAction {
  NOOP = 0,
  START = 1,
  STOP = 2,
}
export interface SequenceEvent {
  sequence: string;
  action: SequenceAction;
  error?: { code: number; message: string };
}
export const SEQUENCE_EVENT_TYPE = "talos/runtime/machine.SequenceEvent";
export interface EtcdMemberListRequest {
  queryLocal?: boolean;
}
export interface EtcdMember {
  id: bigint;
  hostname: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}
export interface EtcdMembers extends WithMetadata {
  legacyMembers: string[];
  members: EtcdMember[];
}
export type EtcdLeaveCluster = WithMetadata;
export interface EtcdRemoveMemberByIDRequest {
  memberId: bigint;
}
export type EtcdRemoveMemberByID = WithMetadata;
export interface EtcdForfeitLeadership extends WithMetadata {
  member: string;
}
export enum WipeMode {
  ALL = 0,
  SYSTEM_DISK = 1,
  USER_DISKS = 2,
}
export interface ResetRequest {
  graceful?: boolean;
  reboot?: boolean;
  systemPartitionsToWipe?: { label: string; wipe: boolean }[];
  userDisksToWipe?: string[];
  mode?: WipeMode;
}
export interface Reset extends WithMetadata {
  actorId: string;
}
export interface Data extends WithMetadata {
  bytes: Uint8Array;
}

// ---- schemas -------------------------------------------------------------------------------------

const S = (typeName: string, fields: MessageSchema["fields"]): MessageSchema => ({ typeName, fields });

export const RpcStatusSchema = S("google.rpc.Status", [
  { no: 1, name: "code", kind: "int32" },
  { no: 2, name: "message", kind: "string" },
]);
export const MetadataSchema = S("common.Metadata", [
  { no: 1, name: "hostname", kind: "string" },
  { no: 2, name: "error", kind: "string" },
  { no: 3, name: "status", kind: "message", message: () => RpcStatusSchema },
]);
export const TimestampSchema = S("google.protobuf.Timestamp", [
  { no: 1, name: "seconds", kind: "int64" },
  { no: 2, name: "nanos", kind: "int32" },
]);
export const AnySchema = S("google.protobuf.Any", [
  { no: 1, name: "typeUrl", kind: "string" },
  { no: 2, name: "value", kind: "bytes" },
]);
export const EmptySchema = S("google.protobuf.Empty", []);
const meta = { no: 1, name: "metadata", kind: "message" as const, message: () => MetadataSchema };
const replies = (typeName: string, item: MessageSchema) =>
  S(typeName, [{ no: 1, name: "messages", kind: "message", repeated: true, message: () => item }]);

export const VersionSchema = S("machine.Version", [
  meta,
  {
    no: 2,
    name: "version",
    kind: "message",
    message: () =>
      S("machine.VersionInfo", [
        { no: 1, name: "tag", kind: "string" },
        { no: 2, name: "sha", kind: "string" },
        { no: 3, name: "built", kind: "string" },
        { no: 4, name: "goVersion", kind: "string" },
        { no: 5, name: "os", kind: "string" },
        { no: 6, name: "arch", kind: "string" },
      ]),
  },
  {
    no: 3,
    name: "platform",
    kind: "message",
    message: () =>
      S("machine.PlatformInfo", [
        { no: 1, name: "name", kind: "string" },
        { no: 2, name: "mode", kind: "string" },
      ]),
  },
  { no: 4, name: "features", kind: "message", message: () => S("machine.FeaturesInfo", [{ no: 1, name: "rbac", kind: "bool" }]) },
]);
export const BootstrapRequestSchema = S("machine.BootstrapRequest", [
  { no: 1, name: "recoverEtcd", kind: "bool" },
  { no: 2, name: "recoverSkipHashCheck", kind: "bool" },
]);
export const BootstrapSchema = S("machine.Bootstrap", [meta]);
export const ListRequestSchema = S("machine.ListRequest", [
  { no: 1, name: "root", kind: "string" },
  { no: 2, name: "recurse", kind: "bool" },
  { no: 3, name: "recursionDepth", kind: "int32" },
  { no: 4, name: "types", kind: "enum", repeated: true },
  { no: 5, name: "reportXattrs", kind: "bool" },
]);
export const FileInfoSchema = S("machine.FileInfo", [
  meta,
  { no: 2, name: "name", kind: "string" },
  { no: 3, name: "size", kind: "int64" },
  { no: 4, name: "mode", kind: "uint32" },
  { no: 5, name: "modified", kind: "int64" },
  { no: 6, name: "isDir", kind: "bool" },
  { no: 7, name: "error", kind: "string" },
  { no: 8, name: "link", kind: "string" },
  { no: 9, name: "relativeName", kind: "string" },
  { no: 10, name: "uid", kind: "uint32" },
  { no: 11, name: "gid", kind: "uint32" },
]);
const ServiceEventSchema = S("machine.ServiceEvent", [
  { no: 1, name: "msg", kind: "string" },
  { no: 2, name: "state", kind: "string" },
  { no: 3, name: "ts", kind: "message", message: () => TimestampSchema },
]);
const ServiceHealthSchema = S("machine.ServiceHealth", [
  { no: 1, name: "unknown", kind: "bool" },
  { no: 2, name: "healthy", kind: "bool" },
  { no: 3, name: "lastMessage", kind: "string" },
  { no: 4, name: "lastChange", kind: "message", message: () => TimestampSchema },
]);
const ServiceInfoSchema = S("machine.ServiceInfo", [
  { no: 1, name: "id", kind: "string" },
  { no: 2, name: "state", kind: "string" },
  {
    no: 3,
    name: "events",
    kind: "message",
    message: () => S("machine.ServiceEvents", [{ no: 1, name: "events", kind: "message", repeated: true, message: () => ServiceEventSchema }]),
  },
  { no: 4, name: "health", kind: "message", message: () => ServiceHealthSchema },
]);
export const ServiceListSchema = S("machine.ServiceList", [
  meta,
  { no: 2, name: "services", kind: "message", repeated: true, message: () => ServiceInfoSchema },
]);
export const EventsRequestSchema = S("machine.EventsRequest", [
  { no: 1, name: "tailEvents", kind: "int32" },
  { no: 2, name: "tailId", kind: "string" },
  { no: 3, name: "tailSeconds", kind: "int32" },
  { no: 4, name: "withActorId", kind: "string" },
]);
export const EventSchema = S("machine.Event", [
  meta,
  { no: 2, name: "data", kind: "message", message: () => AnySchema },
  { no: 3, name: "id", kind: "string" },
  { no: 4, name: "actorId", kind: "string" },
]);
export const SequenceEventSchema = S("machine.SequenceEvent", [
  { no: 1, name: "sequence", kind: "string" },
  { no: 2, name: "action", kind: "enum" },
  {
    no: 3,
    name: "error",
    kind: "message",
    message: () =>
      S("common.Error", [
        { no: 1, name: "code", kind: "enum" },
        { no: 2, name: "message", kind: "string" },
      ]),
  },
]);
export const EtcdMemberListRequestSchema = S("machine.EtcdMemberListRequest", [{ no: 1, name: "queryLocal", kind: "bool" }]);
const EtcdMemberSchema = S("machine.EtcdMember", [
  { no: 2, name: "id", kind: "uint64" },
  { no: 3, name: "hostname", kind: "string" },
  { no: 4, name: "peerUrls", kind: "string", repeated: true },
  { no: 5, name: "clientUrls", kind: "string", repeated: true },
  { no: 6, name: "isLearner", kind: "bool" },
]);
export const EtcdMembersSchema = S("machine.EtcdMembers", [
  meta,
  { no: 2, name: "legacyMembers", kind: "string", repeated: true },
  { no: 3, name: "members", kind: "message", repeated: true, message: () => EtcdMemberSchema },
]);
export const EtcdRemoveMemberByIDRequestSchema = S("machine.EtcdRemoveMemberByIDRequest", [{ no: 1, name: "memberId", kind: "uint64" }]);
export const MetadataOnlySchema = (typeName: string) => S(typeName, [meta]);
export const EtcdForfeitLeadershipSchema = S("machine.EtcdForfeitLeadership", [meta, { no: 2, name: "member", kind: "string" }]);
export const ResetRequestSchema = S("machine.ResetRequest", [
  { no: 1, name: "graceful", kind: "bool" },
  { no: 2, name: "reboot", kind: "bool" },
  {
    no: 3,
    name: "systemPartitionsToWipe",
    kind: "message",
    repeated: true,
    message: () =>
      S("machine.ResetPartitionSpec", [
        { no: 1, name: "label", kind: "string" },
        { no: 2, name: "wipe", kind: "bool" },
      ]),
  },
  { no: 4, name: "userDisksToWipe", kind: "string", repeated: true },
  { no: 5, name: "mode", kind: "enum" },
]);
export const ResetSchema = S("machine.Reset", [meta, { no: 2, name: "actorId", kind: "string" }]);
export const DataSchema = S("common.Data", [meta, { no: 2, name: "bytes", kind: "bytes" }]);

// ---- RPC table -----------------------------------------------------------------------------------

export interface Rpc<Req, Item> {
  name: string;
  path: string;
  /** Server stream of items (each carrying metadata) vs. unary `{messages: Item[]}`. */
  stream: boolean;
  request: MessageSchema;
  /** Unary: the `XResponse{repeated X messages=1}` schema; stream: the item schema. */
  response: MessageSchema;
  item: MessageSchema;
  /** Role needed (apid authz): admin for mutations, reader for the rest. */
  role: "os:admin" | "os:reader";
  /** Phantom fields so the table carries request/item types. */
  _req?: Req;
  _item?: Item;
}

function unary<Req, Item>(name: string, request: MessageSchema, item: MessageSchema, role: Rpc<Req, Item>["role"]): Rpc<Req, Item> {
  return { name, path: `/${SERVICE}/${name}`, stream: false, request, response: replies(`machine.${name}Response`, item), item, role };
}
function streaming<Req, Item>(name: string, request: MessageSchema, item: MessageSchema, role: Rpc<Req, Item>["role"]): Rpc<Req, Item> {
  return { name, path: `/${SERVICE}/${name}`, stream: true, request, response: item, item, role };
}

export const RPCS = {
  Version: unary<Empty, Version>("Version", EmptySchema, VersionSchema, "os:reader"),
  Bootstrap: unary<BootstrapRequest, Bootstrap>("Bootstrap", BootstrapRequestSchema, BootstrapSchema, "os:admin"),
  List: streaming<ListRequest, FileInfo>("List", ListRequestSchema, FileInfoSchema, "os:reader"),
  ServiceList: unary<Empty, ServiceList>("ServiceList", EmptySchema, ServiceListSchema, "os:reader"),
  Events: streaming<EventsRequest, MachineEvent>("Events", EventsRequestSchema, EventSchema, "os:reader"),
  EtcdMemberList: unary<EtcdMemberListRequest, EtcdMembers>("EtcdMemberList", EtcdMemberListRequestSchema, EtcdMembersSchema, "os:reader"),
  EtcdForfeitLeadership: unary<Empty, EtcdForfeitLeadership>(
    "EtcdForfeitLeadership",
    S("machine.EtcdForfeitLeadershipRequest", []),
    EtcdForfeitLeadershipSchema,
    "os:admin",
  ),
  EtcdLeaveCluster: unary<Empty, EtcdLeaveCluster>(
    "EtcdLeaveCluster",
    S("machine.EtcdLeaveClusterRequest", []),
    MetadataOnlySchema("machine.EtcdLeaveCluster"),
    "os:admin",
  ),
  EtcdRemoveMemberByID: unary<EtcdRemoveMemberByIDRequest, EtcdRemoveMemberByID>(
    "EtcdRemoveMemberByID",
    EtcdRemoveMemberByIDRequestSchema,
    MetadataOnlySchema("machine.EtcdRemoveMemberByID"),
    "os:admin",
  ),
  Reset: unary<ResetRequest, Reset>("Reset", ResetRequestSchema, ResetSchema, "os:admin"),
  Kubeconfig: streaming<Empty, Data>("Kubeconfig", EmptySchema, DataSchema, "os:admin"),
} as const;

export type RpcName = keyof typeof RPCS;

export function serializer(schema: MessageSchema): (v: unknown) => Buffer {
  return (v) => Buffer.from(encode(schema, v));
}
export function deserializer<T>(schema: MessageSchema): (b: Buffer) => T {
  return (b) => decode<T>(schema, new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
}

export function encodeSequenceEvent(ev: SequenceEvent): AnyMsg {
  return { typeUrl: SEQUENCE_EVENT_TYPE, value: encode(SequenceEventSchema, ev) };
}
export function decodeSequenceEvent(any: AnyMsg): SequenceEvent | undefined {
  if (any.typeUrl !== SEQUENCE_EVENT_TYPE) return undefined;
  return decode<SequenceEvent>(SequenceEventSchema, any.value);
}
