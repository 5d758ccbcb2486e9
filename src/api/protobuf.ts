/**
 * Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).
 *
 * kubectl ≥ 1.32 and client-go typed clients send built-in kinds as protobuf: the bytes `k8s\0`
 * followed by a `runtime.Unknown` envelope {1 typeMeta{1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding,
 * 4 contentType} whose `raw` is the object's own generated message (k8s.io/api, k8s.io/apimachinery
 * generated.proto, v0.32). This module carries a small hand-written proto2 wire reader and one decoder
 * per supported kind; each turns the message into the JSON object the API server would see for the
 * same object, so the rest of the request path handles protobuf and JSON bodies alike.
 *
 * JSON shaping follows the Go types' json tags: scalars tagged `omitempty` are dropped when zero (Go
 * marshals proto2 optional scalars even when empty), pointer fields keep whatever was on the wire,
 * non-pointer struct fields (`metadata`, `spec`, `involvedObject`, …) are always objects, an all-zero
 * `status` is dropped, and zero timestamps are omitted rather than rendered as `null`.
 *
 * Every failure — wrong prefix, truncated or malformed bytes, unknown kind — is thrown as a
 * `badRequest` ApiError; nothing else escapes {@link decodeProtobufObject}.
 * @module
 */

import { badRequest, isApiError } from "../lib/api-errors.ts";

export const PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf";

/** The four bytes every Kubernetes protobuf body starts with: "k8s\0". */
export const PROTOBUF_MAGIC: readonly number[] = [0x6b, 0x38, 0x73, 0x00];

/** True for `application/vnd.kubernetes.protobuf` with or without parameters. */
export function isProtobufContentType(contentType: string | null | undefined): boolean {
  if (!contentType) return false;
  return contentType.split(";")[0].trim().toLowerCase() === PROTOBUF_CONTENT_TYPE;
}

/** True when the bytes start with the Kubernetes protobuf prefix. */
export function hasProtobufMagic(body: Uint8Array): boolean {
  return body.length >= 4 && PROTOBUF_MAGIC.every((b, i) => body[i] === b);
}

type Json = Record<string, unknown>;

/** Kind decoders by apiVersion, then kind. DeleteOptions is accepted under any apiVersion. */
const DECODERS: Record<string, Record<string, (m: Msg) => Json>> = {
  v1: {
    Namespace: decodeNamespace,
    ConfigMap: decodeConfigMap,
    Secret: decodeSecret,
    Service: decodeService,
    Event: decodeCoreEvent,
  },
  "coordination.k8s.io/v1": { Lease: decodeLease },
  "authorization.k8s.io/v1": { SelfSubjectAccessReview: decodeSelfSubjectAccessReview },
  "events.k8s.io/v1": { Event: decodeEventsV1Event },
};

/** The apiVersion/kind pairs {@link decodeProtobufObject} understands (DeleteOptions: any apiVersion). */
export const SUPPORTED_PROTOBUF_KINDS: readonly string[] = [
  ...Object.entries(DECODERS).flatMap(([gv, kinds]) => Object.keys(kinds).map((k) => `${gv}, Kind=${k}`)),
  "*, Kind=DeleteOptions",
];

/**
 * Decodes a protobuf request body into the JSON object Kubernetes would produce for it:
 * `{apiVersion, kind, metadata, ...}`. `defaults` fills an empty kind / apiVersion in the envelope as
 * the API server does with the endpoint's group-version-kind. Throws `badRequest` for anything else.
 */
export function decodeProtobufObject(body: Uint8Array, defaults?: { apiVersion?: string; kind?: string }): Json {
  try {
    return decodeUnchecked(body, defaults);
  } catch (e) {
    if (isApiError(e)) throw e;
    const detail = e instanceof Error ? e.message : String(e);
    throw badRequest(`unable to decode protobuf body: ${detail}`);
  }
}

function decodeUnchecked(body: Uint8Array, defaults?: { apiVersion?: string; kind?: string }): Json {
  if (body.length === 0) throw badRequest("empty data");
  if (!hasProtobufMagic(body)) {
    throw badRequest(
      `provided data does not appear to be a protobuf message, expected prefix [${PROTOBUF_MAGIC.join(" ")}]`,
    );
  }
  if (body.length === PROTOBUF_MAGIC.length) throw badRequest("empty body");

  const unknown = parseMessage(body.subarray(PROTOBUF_MAGIC.length), "Unknown");
  const typeMeta = unknown.message(1, "TypeMeta");
  const wireApiVersion = typeMeta?.string(1, "APIVersion") ?? "";
  const wireKind = typeMeta?.string(2, "Kind") ?? "";
  const raw = unknown.bytes(2, "Raw") ?? new Uint8Array(0);
  // contentEncoding (3) and contentType (4) are read for their wire type only, as upstream ignores them.
  unknown.string(3, "ContentEncoding");
  unknown.string(4, "ContentType");

  let kind = wireKind;
  let apiVersion = wireApiVersion;
  if (!kind && defaults?.kind) kind = defaults.kind;
  if (!versionOf(apiVersion) && defaults?.apiVersion && versionOf(defaults.apiVersion)) apiVersion = defaults.apiVersion;
  const typeMetaText = `runtime.TypeMeta{APIVersion:${goQuote(wireApiVersion)}, Kind:${goQuote(wireKind)}}`;
  if (!kind) throw badRequest(`Object 'Kind' is missing in '${typeMetaText}'`);
  if (!versionOf(apiVersion)) throw badRequest(`Object 'apiVersion' is missing in '${typeMetaText}'`);

  const obj = parseMessage(raw, kind);
  if (kind === "DeleteOptions") return { apiVersion, kind, ...decodeDeleteOptions(obj) };
  const kinds = Object.hasOwn(DECODERS, apiVersion) ? DECODERS[apiVersion] : undefined;
  const decoder = kinds && Object.hasOwn(kinds, kind) ? kinds[kind] : undefined;
  if (!decoder) {
    throw badRequest(`no kind ${goQuote(kind)} is registered for version ${goQuote(apiVersion)} in scheme "capx-appliance protobuf"`);
  }
  return { apiVersion, kind, ...decoder(obj) };
}

function versionOf(apiVersion: string): string {
  const i = apiVersion.lastIndexOf("/");
  return i < 0 ? apiVersion : apiVersion.slice(i + 1);
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

// ---------------------------------------------------------------------------------------------
// Wire reader
// ---------------------------------------------------------------------------------------------

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;
const MAX_FIELD_NUMBER = 536870911; // 2^29 - 1
const MAX_GROUP_DEPTH = 64;

interface WireField {
  wt: number;
  /** varint value (wire type 0) */
  num: bigint;
  /** payload (wire type 2) */
  data: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder("utf-8");

function malformed(what: string, detail: string): never {
  throw badRequest(`unable to decode protobuf body: proto: ${what}: ${detail}`);
}

/** Reads a base-128 varint at `pos`; returns the value (mod 2^64) and the next position. */
function readVarint(buf: Uint8Array, pos: number, what: string): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; ; i++) {
    if (i >= 10) malformed(what, "integer overflow");
    if (pos >= buf.length) malformed(what, "unexpected EOF");
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7n;
  }
  return [BigInt.asUintN(64, result), pos];
}

/** Skips the body of a group whose start tag has already been read; returns the next position. */
function skipGroup(buf: Uint8Array, pos: number, fieldNo: number, depth: number, what: string): number {
  if (depth > MAX_GROUP_DEPTH) malformed(what, "groups nested too deeply");
  for (;;) {
    if (pos >= buf.length) malformed(what, "unexpected EOF");
    const [tag, p] = readVarint(buf, pos, what);
    const [n, wt] = splitTag(tag, what);
    if (wt === WIRE_END_GROUP) {
      if (n !== fieldNo) malformed(what, `end group tag ${n} does not match start group tag ${fieldNo}`);
      return p;
    }
    pos = skipValue(buf, p, n, wt, depth, what).next;
  }
}

function splitTag(tag: bigint, what: string): [number, number] {
  const wt = Number(tag & 7n);
  const n = tag >> 3n;
  if (n <= 0n || n > BigInt(MAX_FIELD_NUMBER)) malformed(what, `illegal tag ${n} (wire type ${wt})`);
  return [Number(n), wt];
}

function skipValue(
  buf: Uint8Array,
  pos: number,
  fieldNo: number,
  wt: number,
  depth: number,
  what: string,
): { next: number; num: bigint; data: Uint8Array } {
  switch (wt) {
    case WIRE_VARINT: {
      const [v, p] = readVarint(buf, pos, what);
      return { next: p, num: v, data: EMPTY };
    }
    case WIRE_FIXED64:
      if (buf.length - pos < 8) malformed(what, "unexpected EOF");
      return { next: pos + 8, num: 0n, data: EMPTY };
    case WIRE_FIXED32:
      if (buf.length - pos < 4) malformed(what, "unexpected EOF");
      return { next: pos + 4, num: 0n, data: EMPTY };
    case WIRE_BYTES: {
      const [len, p] = readVarint(buf, pos, what);
      if (BigInt.asIntN(64, len) < 0n) malformed(what, "negative length found during unmarshaling");
      if (len > BigInt(buf.length - p)) malformed(what, "unexpected EOF");
      const end = p + Number(len);
      return { next: end, num: 0n, data: buf.subarray(p, end) };
    }
    case WIRE_START_GROUP:
      return { next: skipGroup(buf, pos, fieldNo, depth + 1, what), num: 0n, data: EMPTY };
    case WIRE_END_GROUP:
      return malformed(what, "wiretype end group for non-group");
    default:
      return malformed(what, `illegal wireType ${wt} for field ${fieldNo}`);
  }
}

/** Splits a message into its fields; every value is bounds-checked here, typed later by {@link Msg}. */
function parseMessage(buf: Uint8Array, what: string): Msg {
  const fields = new Map<number, WireField[]>();
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p] = readVarint(buf, pos, what);
    const [fieldNo, wt] = splitTag(tag, what);
    const v = skipValue(buf, p, fieldNo, wt, 0, what);
    pos = v.next;
    let list = fields.get(fieldNo);
    if (!list) fields.set(fieldNo, (list = []));
    list.push({ wt, num: v.num, data: v.data });
  }
  return new Msg(fields, what);
}

/** Typed access to a parsed message. Accessors check the wire type of every occurrence they read. */
class Msg {
  constructor(
    private readonly fields: Map<number, WireField[]>,
    readonly what: string,
  ) {}

  private all(n: number, wt: number, name: string): WireField[] {
    const list = this.fields.get(n);
    if (!list) return [];
    for (const f of list) {
      if (f.wt !== wt) malformed(this.what, `wrong wireType = ${f.wt} for field ${name}`);
    }
    return list;
  }

  private last(n: number, wt: number, name: string): WireField | undefined {
    const list = this.all(n, wt, name);
    return list.length ? list[list.length - 1] : undefined;
  }

  string(n: number, name: string): string | undefined {
    const f = this.last(n, WIRE_BYTES, name);
    return f ? utf8.decode(f.data) : undefined;
  }

  bytes(n: number, name: string): Uint8Array | undefined {
    return this.last(n, WIRE_BYTES, name)?.data;
  }

  strings(n: number, name: string): string[] {
    return this.all(n, WIRE_BYTES, name).map((f) => utf8.decode(f.data));
  }

  int64(n: number, name: string): number | undefined {
    const f = this.last(n, WIRE_VARINT, name);
    if (!f) return undefined;
    const v = BigInt.asIntN(64, f.num);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      malformed(this.what, `value ${v} of field ${name} is outside the range this server can represent`);
    }
    return Number(v);
  }

  /** int64 without the safe-integer restriction (timestamps are range-checked by their reader). */
  int64Big(n: number, name: string): bigint | undefined {
    const f = this.last(n, WIRE_VARINT, name);
    return f ? BigInt.asIntN(64, f.num) : undefined;
  }

  int32(n: number, name: string): number | undefined {
    const f = this.last(n, WIRE_VARINT, name);
    return f ? Number(BigInt.asIntN(32, f.num)) : undefined;
  }

  bool(n: number, name: string): boolean | undefined {
    const f = this.last(n, WIRE_VARINT, name);
    return f ? f.num !== 0n : undefined;
  }

  /** A singular embedded message; repeated occurrences merge (proto concatenation semantics). */
  message(n: number, name: string): Msg | undefined {
    const list = this.all(n, WIRE_BYTES, name);
    if (!list.length) return undefined;
    if (list.length === 1) return parseMessage(list[0].data, name);
    const total = list.reduce((s, f) => s + f.data.length, 0);
    const joined = new Uint8Array(total);
    let off = 0;
    for (const f of list) {
      joined.set(f.data, off);
      off += f.data.length;
    }
    return parseMessage(joined, name);
  }

  messages(n: number, name: string): Msg[] {
    return this.all(n, WIRE_BYTES, name).map((f) => parseMessage(f.data, name));
  }

  /** Payload of the last occurrence (for Time, whose Unmarshal replaces rather than merges). */
  lastMessage(n: number, name: string): Msg | undefined {
    const f = this.last(n, WIRE_BYTES, name);
    return f ? parseMessage(f.data, name) : undefined;
  }

  /** map<string,string>; undefined when the map has no entries. */
  stringMap(n: number, name: string): Record<string, string> | undefined {
    return this.map(n, name, (e) => e.string(2, "value") ?? "");
  }

  /** map<string,bytes> rendered as JSON renders []byte: base64 strings. */
  bytesMap(n: number, name: string): Record<string, string> | undefined {
    return this.map(n, name, (e) => base64(e.bytes(2, "value") ?? EMPTY));
  }

  private map(n: number, name: string, value: (entry: Msg) => string): Record<string, string> | undefined {
    const entries = this.messages(n, name);
    if (!entries.length) return undefined;
    const out: Record<string, string> = {};
    for (const e of entries) setKey(out, e.string(1, "key") ?? "", value(e));
    return out;
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Assigns an own property even for keys such as `__proto__`. */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON shaping helpers
// ---------------------------------------------------------------------------------------------

/** Builds an object in Go field order, skipping undefined values. */
class Out {
  readonly o: Json = {};
  /** Sets when defined. */
  set(key: string, v: unknown): this {
    if (v !== undefined) this.o[key] = v;
    return this;
  }
  /** `omitempty` string / number / bool: skipped when zero. */
  nz(key: string, v: string | number | boolean | undefined): this {
    if (v !== undefined && v !== "" && v !== 0 && v !== false) this.o[key] = v;
    return this;
  }
  /** `omitempty` list: skipped when empty. */
  list(key: string, v: unknown[]): this {
    if (v.length) this.o[key] = v;
    return this;
  }
  get empty(): boolean {
    return Object.keys(this.o).length === 0;
  }
}

const MIN_SECONDS = -62167219200n; // 0000-01-01T00:00:00Z
const MAX_SECONDS = 253402300799n; // 9999-12-31T23:59:59Z

/**
 * metav1.Time / MicroTime {1 seconds, 2 nanos}. Empty or all-zero → undefined (Go's zero time, omitted).
 * Time renders RFC 3339 in seconds; MicroTime keeps microseconds (nanos truncated toward zero).
 */
function timeOf(m: Msg | undefined, micro: boolean, name: string): string | undefined {
  if (!m) return undefined;
  const seconds = m.int64Big(1, "seconds") ?? 0n;
  const nanos = m.int32(2, "nanos") ?? 0;
  // Time drops nanos entirely; MicroTime truncates them to microseconds.
  const subMicros = micro ? Math.trunc(nanos / 1000) : 0;
  if (seconds === 0n && subMicros === 0) return undefined;
  const totalMicros = seconds * 1_000_000n + BigInt(subMicros);
  const floorDiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));
  const secs = floorDiv(totalMicros, 1_000_000n);
  if (secs < MIN_SECONDS || secs > MAX_SECONDS) {
    malformed(name, `timestamp ${seconds}s is outside the range [0000, 9999]`);
  }
  const micros = Number(totalMicros - secs * 1_000_000n);
  const iso = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  return micro ? `${iso}.${String(micros).padStart(6, "0")}Z` : `${iso}Z`;
}

function time(m: Msg, n: number, name: string): string | undefined {
  return timeOf(m.lastMessage(n, name), false, name);
}

function microTime(m: Msg, n: number, name: string): string | undefined {
  return timeOf(m.lastMessage(n, name), true, name);
}

// ---------------------------------------------------------------------------------------------
// meta/v1
// ---------------------------------------------------------------------------------------------

function objectMeta(m: Msg | undefined): Json {
  const o = new Out();
  if (!m) return o.o;
  o.nz("name", m.string(1, "name"))
    .nz("generateName", m.string(2, "generateName"))
    .nz("namespace", m.string(3, "namespace"))
    .nz("selfLink", m.string(4, "selfLink"))
    .nz("uid", m.string(5, "uid"))
    .nz("resourceVersion", m.string(6, "resourceVersion"))
    .nz("generation", m.int64(7, "generation"))
    .set("creationTimestamp", time(m, 8, "creationTimestamp"))
    .set("deletionTimestamp", time(m, 9, "deletionTimestamp"))
    .set("deletionGracePeriodSeconds", m.int64(10, "deletionGracePeriodSeconds"))
    .set("labels", m.stringMap(11, "labels"))
    .set("annotations", m.stringMap(12, "annotations"))
    .list("ownerReferences", m.messages(13, "ownerReferences").map(ownerReference))
    .list("finalizers", m.strings(14, "finalizers"))
    .list("managedFields", m.messages(17, "managedFields").map(managedFieldsEntry));
  return o.o;
}

function ownerReference(m: Msg): Json {
  return new Out()
    .set("apiVersion", m.string(5, "apiVersion") ?? "")
    .set("kind", m.string(1, "kind") ?? "")
    .set("name", m.string(3, "name") ?? "")
    .set("uid", m.string(4, "uid") ?? "")
    .set("controller", m.bool(6, "controller"))
    .set("blockOwnerDeletion", m.bool(7, "blockOwnerDeletion")).o;
}

function managedFieldsEntry(m: Msg): Json {
  const o = new Out()
    .nz("manager", m.string(1, "manager"))
    .nz("operation", m.string(2, "operation"))
    .nz("apiVersion", m.string(3, "apiVersion"))
    .set("time", time(m, 4, "time"))
    .nz("fieldsType", m.string(6, "fieldsType"));
  const fields = m.message(7, "fieldsV1");
  if (fields) {
    const raw = fields.bytes(1, "Raw");
    if (raw && raw.length) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(utf8.decode(raw));
      } catch {
        malformed("FieldsV1", "Raw is not valid JSON");
      }
      o.set("fieldsV1", parsed);
    }
  }
  return o.nz("subresource", m.string(8, "subresource")).o;
}

function decodeDeleteOptions(m: Msg): Json {
  const o = new Out().set("gracePeriodSeconds", m.int64(1, "gracePeriodSeconds"));
  const pre = m.message(2, "preconditions");
  if (pre) {
    o.set(
      "preconditions",
      new Out().set("uid", pre.string(1, "uid")).set("resourceVersion", pre.string(2, "resourceVersion")).o,
    );
  }
  return o
    .set("orphanDependents", m.bool(3, "orphanDependents"))
    .set("propagationPolicy", m.string(4, "propagationPolicy"))
    .list("dryRun", m.strings(5, "dryRun"))
    .set(
      "ignoreStoreReadErrorWithClusterBreakingPotential",
      m.bool(6, "ignoreStoreReadErrorWithClusterBreakingPotential"),
    ).o;
}

function selectorRequirement(m: Msg): Json {
  return new Out()
    .set("key", m.string(1, "key") ?? "")
    .set("operator", m.string(2, "operator") ?? "")
    .list("values", m.strings(3, "values")).o;
}

// ---------------------------------------------------------------------------------------------
// core/v1
// ---------------------------------------------------------------------------------------------

function decodeNamespace(m: Msg): Json {
  const spec = m.message(2, "spec");
  const o = new Out()
    .set("metadata", objectMeta(m.message(1, "metadata")))
    .set("spec", new Out().list("finalizers", spec?.strings(1, "finalizers") ?? []).o);
  const status = m.message(3, "status");
  if (status) {
    const s = new Out()
      .nz("phase", status.string(1, "phase"))
      .list("conditions", status.messages(2, "conditions").map(namespaceCondition));
    if (!s.empty) o.set("status", s.o);
  }
  return o.o;
}

function namespaceCondition(m: Msg): Json {
  return new Out()
    .set("type", m.string(1, "type") ?? "")
    .set("status", m.string(2, "status") ?? "")
    .set("lastTransitionTime", time(m, 4, "lastTransitionTime"))
    .nz("reason", m.string(5, "reason"))
    .nz("message", m.string(6, "message")).o;
}

function decodeConfigMap(m: Msg): Json {
  return new Out()
    .set("metadata", objectMeta(m.message(1, "metadata")))
    .set("immutable", m.bool(4, "immutable"))
    .set("data", m.stringMap(2, "data"))
    .set("binaryData", m.bytesMap(3, "binaryData")).o;
}

function decodeSecret(m: Msg): Json {
  return new Out()
    .set("metadata", objectMeta(m.message(1, "metadata")))
    .set("immutable", m.bool(5, "immutable"))
    .set("data", m.bytesMap(2, "data"))
    .set("stringData", m.stringMap(4, "stringData"))
    .nz("type", m.string(3, "type")).o;
}

function decodeService(m: Msg): Json {
  const spec = m.message(2, "spec");
  const o = new Out().set("metadata", objectMeta(m.message(1, "metadata"))).set("spec", spec ? serviceSpec(spec) : {});
  const status = m.message(3, "status");
  if (status) {
    const lb = status.message(1, "loadBalancer");
    const ingress = lb?.messages(1, "ingress").map((i) => new Out().nz("ip", i.string(1, "ip")).nz("hostname", i.string(2, "hostname")).set("ipMode", i.string(3, "ipMode")).o) ?? [];
    o.set("status", new Out().set("loadBalancer", new Out().list("ingress", ingress).o).list("conditions", status.messages(2, "conditions").map(metaCondition)).o);
  }
  return o.o;
}

function serviceSpec(m: Msg): Json {
  const affinity = m.message(14, "sessionAffinityConfig");
  const clientIP = affinity?.message(1, "clientIP");
  return new Out()
    .list("ports", m.messages(1, "ports").map(servicePort))
    .set("selector", m.stringMap(2, "selector"))
    .nz("clusterIP", m.string(3, "clusterIP"))
    .list("clusterIPs", m.strings(18, "clusterIPs"))
    .nz("type", m.string(4, "type"))
    .list("externalIPs", m.strings(5, "externalIPs"))
    .nz("sessionAffinity", m.string(7, "sessionAffinity"))
    .nz("loadBalancerIP", m.string(8, "loadBalancerIP"))
    .list("loadBalancerSourceRanges", m.strings(9, "loadBalancerSourceRanges"))
    .nz("externalName", m.string(10, "externalName"))
    .nz("externalTrafficPolicy", m.string(11, "externalTrafficPolicy"))
    .nz("healthCheckNodePort", m.int32(12, "healthCheckNodePort"))
    .nz("publishNotReadyAddresses", m.bool(13, "publishNotReadyAddresses"))
    .set("sessionAffinityConfig", affinity ? new Out().set("clientIP", clientIP ? new Out().set("timeoutSeconds", clientIP.int32(1, "timeoutSeconds")).o : undefined).o : undefined)
    .list("ipFamilies", m.strings(19, "ipFamilies"))
    .set("ipFamilyPolicy", m.string(17, "ipFamilyPolicy"))
    .set("allocateLoadBalancerNodePorts", m.bool(20, "allocateLoadBalancerNodePorts"))
    .set("loadBalancerClass", m.string(21, "loadBalancerClass"))
    .set("internalTrafficPolicy", m.string(22, "internalTrafficPolicy"))
    .set("trafficDistribution", m.string(23, "trafficDistribution")).o;
}

function servicePort(m: Msg): Json {
  const target = m.message(4, "targetPort");
  return new Out()
    .nz("name", m.string(1, "name"))
    .nz("protocol", m.string(2, "protocol"))
    .set("appProtocol", m.string(6, "appProtocol"))
    .set("port", m.int32(3, "port") ?? 0)
    .set("targetPort", target ? intOrString(target) : undefined)
    .nz("nodePort", m.int32(5, "nodePort")).o;
}

/** intstr.IntOrString {1 type (0 int, 1 string), 2 intVal, 3 strVal}: JSON renders the value itself. */
function intOrString(m: Msg): number | string {
  return m.int64(1, "type") === 1 ? (m.string(3, "strVal") ?? "") : (m.int32(2, "intVal") ?? 0);
}

/** metav1.Condition {1 type, 2 status, 3 observedGeneration, 4 lastTransitionTime, 5 reason, 6 message}. */
function metaCondition(m: Msg): Json {
  return new Out()
    .set("type", m.string(1, "type") ?? "")
    .set("status", m.string(2, "status") ?? "")
    .nz("observedGeneration", m.int64(3, "observedGeneration"))
    .set("lastTransitionTime", time(m, 4, "lastTransitionTime"))
    .set("reason", m.string(5, "reason") ?? "")
    .set("message", m.string(6, "message") ?? "").o;
}

function objectReference(m: Msg | undefined): Json {
  if (!m) return {};
  return new Out()
    .nz("kind", m.string(1, "kind"))
    .nz("namespace", m.string(2, "namespace"))
    .nz("name", m.string(3, "name"))
    .nz("uid", m.string(4, "uid"))
    .nz("apiVersion", m.string(5, "apiVersion"))
    .nz("resourceVersion", m.string(6, "resourceVersion"))
    .nz("fieldPath", m.string(7, "fieldPath")).o;
}

function eventSource(m: Msg | undefined): Json {
  if (!m) return {};
  return new Out().nz("component", m.string(1, "component")).nz("host", m.string(2, "host")).o;
}

function decodeCoreEvent(m: Msg): Json {
  const o = new Out()
    .set("metadata", objectMeta(m.message(1, "metadata")))
    .set("involvedObject", objectReference(m.message(2, "involvedObject")))
    .nz("reason", m.string(3, "reason"))
    .nz("message", m.string(4, "message"))
    .set("source", eventSource(m.message(5, "source")))
    .set("firstTimestamp", time(m, 6, "firstTimestamp"))
    .set("lastTimestamp", time(m, 7, "lastTimestamp"))
    .nz("count", m.int32(8, "count"))
    .nz("type", m.string(9, "type"))
    .set("eventTime", microTime(m, 10, "eventTime"));
  const series = m.message(11, "series");
  if (series) {
    o.set(
      "series",
      new Out().nz("count", series.int32(1, "count")).set("lastObservedTime", microTime(series, 2, "lastObservedTime")).o,
    );
  }
  o.nz("action", m.string(12, "action"));
  const related = m.message(13, "related");
  if (related) o.set("related", objectReference(related));
  // reportingComponent / reportingInstance have no omitempty: Go always writes them.
  return o
    .set("reportingComponent", m.string(14, "reportingComponent") ?? "")
    .set("reportingInstance", m.string(15, "reportingInstance") ?? "").o;
}

// ---------------------------------------------------------------------------------------------
// events.k8s.io/v1
// ---------------------------------------------------------------------------------------------

function decodeEventsV1Event(m: Msg): Json {
  const o = new Out()
    .set("metadata", objectMeta(m.message(1, "metadata")))
    .set("eventTime", microTime(m, 2, "eventTime"));
  const series = m.message(3, "series");
  if (series) {
    o.set(
      "series",
      new Out()
        .set("count", series.int32(1, "count") ?? 0)
        .set("lastObservedTime", microTime(series, 2, "lastObservedTime")).o,
    );
  }
  o.nz("reportingController", m.string(4, "reportingController"))
    .nz("reportingInstance", m.string(5, "reportingInstance"))
    .nz("action", m.string(6, "action"))
    .nz("reason", m.string(7, "reason"))
    .set("regarding", objectReference(m.message(8, "regarding")));
  const related = m.message(9, "related");
  if (related) o.set("related", objectReference(related));
  return o
    .nz("note", m.string(10, "note"))
    .nz("type", m.string(11, "type"))
    .set("deprecatedSource", eventSource(m.message(12, "deprecatedSource")))
    .set("deprecatedFirstTimestamp", time(m, 13, "deprecatedFirstTimestamp"))
    .set("deprecatedLastTimestamp", time(m, 14, "deprecatedLastTimestamp"))
    .nz("deprecatedCount", m.int32(15, "deprecatedCount")).o;
}

// ---------------------------------------------------------------------------------------------
// coordination.k8s.io/v1
// ---------------------------------------------------------------------------------------------

function decodeLease(m: Msg): Json {
  const s = m.message(2, "spec");
  // Every LeaseSpec field is a pointer: presence on the wire is meaningful, zero values included.
  const spec = s
    ? new Out()
        .set("holderIdentity", s.string(1, "holderIdentity"))
        .set("leaseDurationSeconds", s.int32(2, "leaseDurationSeconds"))
        .set("acquireTime", microTime(s, 3, "acquireTime"))
        .set("renewTime", microTime(s, 4, "renewTime"))
        .set("leaseTransitions", s.int32(5, "leaseTransitions"))
        .set("strategy", s.string(6, "strategy"))
        .set("preferredHolder", s.string(7, "preferredHolder")).o
    : {};
  return new Out().set("metadata", objectMeta(m.message(1, "metadata"))).set("spec", spec).o;
}

// ---------------------------------------------------------------------------------------------
// authorization.k8s.io/v1
// ---------------------------------------------------------------------------------------------

function selectorAttributes(m: Msg): Json {
  return new Out()
    .nz("rawSelector", m.string(1, "rawSelector"))
    .list("requirements", m.messages(2, "requirements").map(selectorRequirement)).o;
}

function decodeSelfSubjectAccessReview(m: Msg): Json {
  const specMsg = m.message(2, "spec");
  const spec = new Out();
  const ra = specMsg?.message(1, "resourceAttributes");
  if (ra) {
    const r = new Out()
      .nz("namespace", ra.string(1, "namespace"))
      .nz("verb", ra.string(2, "verb"))
      .nz("group", ra.string(3, "group"))
      .nz("version", ra.string(4, "version"))
      .nz("resource", ra.string(5, "resource"))
      .nz("subresource", ra.string(6, "subresource"))
      .nz("name", ra.string(7, "name"));
    const fs = ra.message(8, "fieldSelector");
    if (fs) r.set("fieldSelector", selectorAttributes(fs));
    const ls = ra.message(9, "labelSelector");
    if (ls) r.set("labelSelector", selectorAttributes(ls));
    spec.set("resourceAttributes", r.o);
  }
  const nra = specMsg?.message(2, "nonResourceAttributes");
  if (nra) {
    spec.set("nonResourceAttributes", new Out().nz("path", nra.string(1, "path")).nz("verb", nra.string(2, "verb")).o);
  }
  const o = new Out().set("metadata", objectMeta(m.message(1, "metadata"))).set("spec", spec.o);
  const st = m.message(3, "status");
  if (st) {
    const allowed = st.bool(1, "allowed") ?? false;
    const rest = new Out()
      .nz("denied", st.bool(4, "denied"))
      .nz("reason", st.string(2, "reason"))
      .nz("evaluationError", st.string(3, "evaluationError"));
    if (allowed || !rest.empty) o.set("status", { allowed, ...rest.o });
  }
  return o.o;
}
