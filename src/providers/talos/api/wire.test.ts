/**
 * The hand-rolled codec against @bufbuild/protobuf's reflective one: descriptors are built at
 * runtime from the same field tables, and both sides must produce identical bytes and decode each
 * other's output.
 */
import { describe, expect, test } from "bun:test";
import { create, createFileRegistry, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  type DescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { RPCS, SequenceEventSchema, decodeSequenceEvent, encodeSequenceEvent, SequenceAction, type EtcdMembers, type Replies } from "./machine.ts";
import { decode, encode, type MessageSchema } from "./wire.ts";

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const flat = (typeName: string) => typeName.replace(/\./g, "_");

function registryFor(roots: MessageSchema[]) {
  const messages = new Map<string, DescriptorProto>();
  const T = FieldDescriptorProto_Type;
  const kinds: Record<string, FieldDescriptorProto_Type> = {
    string: T.STRING,
    bytes: T.BYTES,
    bool: T.BOOL,
    int32: T.INT32,
    enum: T.INT32,
    uint32: T.UINT32,
    int64: T.INT64,
    uint64: T.UINT64,
    message: T.MESSAGE,
  };
  const visit = (s: MessageSchema) => {
    if (messages.has(s.typeName)) return;
    const d = { name: flat(s.typeName), field: [] } as unknown as DescriptorProto;
    messages.set(s.typeName, d);
    for (const f of s.fields) {
      d.field.push({
        name: snake(f.name),
        number: f.no,
        type: kinds[f.kind]!,
        label: f.repeated ? FieldDescriptorProto_Label.REPEATED : FieldDescriptorProto_Label.OPTIONAL,
        ...(f.message ? { typeName: `.t.${flat(f.message().typeName)}` } : {}),
      } as DescriptorProto["field"][number]);
      if (f.message) visit(f.message());
    }
  };
  roots.forEach(visit);
  const file = create(FileDescriptorProtoSchema, { name: "t.proto", package: "t", syntax: "proto3", messageType: [...messages.values()] });
  const reg = createFileRegistry(file, () => undefined);
  return (s: MessageSchema) => reg.getMessage(`t.${flat(s.typeName)}`) as DescMessage;
}

describe("wire codec", () => {
  const schemas = [...Object.values(RPCS).flatMap((r) => [r.request, r.response]), SequenceEventSchema];
  const desc = registryFor(schemas);

  test("EtcdMemberListResponse with 64-bit ids: identical bytes both ways", () => {
    const value: Replies<EtcdMembers> = {
      messages: [
        {
          metadata: { hostname: "10.10.0.11", error: "", status: { code: 6, message: "x" } },
          legacyMembers: ["cp-1", "cp-2"],
          members: [
            { id: 0xfedcba9876543210n, hostname: "cp-1", peerUrls: ["https://10.10.0.11:2380"], clientUrls: ["https://10.10.0.11:2379"], isLearner: false },
            { id: 1n, hostname: "cp-2", peerUrls: [], clientUrls: [], isLearner: true },
          ],
        },
      ],
    };
    const schema = RPCS.EtcdMemberList.response;
    const ours = encode(schema, value);
    const theirs = toBinary(desc(schema), create(desc(schema), value as never));
    expect(Buffer.from(ours).toString("hex")).toBe(Buffer.from(theirs).toString("hex"));
    const back = decode<Replies<EtcdMembers>>(schema, theirs);
    expect(back.messages[0]!.members[0]!.id).toBe(0xfedcba9876543210n);
    expect(back.messages[0]!.members[1]!.isLearner).toBe(true);
    expect(back.messages[0]!.metadata!.status!.code).toBe(6);
  });

  test("ListRequest packs repeated enums like proto3; FileInfo int64/uint32 round-trip", () => {
    const req = { root: "/var/lib/etcd/member", recurse: true, recursionDepth: -1, types: [0, 1, 2] };
    const ours = encode(RPCS.List.request, req);
    const theirs = toBinary(desc(RPCS.List.request), create(desc(RPCS.List.request), req as never));
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);
    expect(decode<typeof req>(RPCS.List.request, ours)).toMatchObject(req);

    const fi = { name: "/x", size: -5n, mode: 0o20000000700, modified: 1_700_000_000n, isDir: true };
    const theirsFi = toBinary(desc(RPCS.List.item), create(desc(RPCS.List.item), fi as never));
    expect(decode(RPCS.List.item, theirsFi)).toMatchObject(fi);
  });

  test("unknown fields are skipped; Any-wrapped SequenceEvent decodes", () => {
    const any = encodeSequenceEvent({ sequence: "boot", action: SequenceAction.STOP });
    const ev = encode(RPCS.Events.item, { id: "e1", actorId: "a", data: any });
    // append an unknown field 99 (varint) to check skipping
    const withUnknown = new Uint8Array([...ev, 0x98, 0x06, 0x01]);
    const back = decode<{ id: string; data: { typeUrl: string; value: Uint8Array } }>(RPCS.Events.item, withUnknown);
    expect(back.id).toBe("e1");
    expect(decodeSequenceEvent(back.data)).toMatchObject({ sequence: "boot", action: SequenceAction.STOP });
    const theirs = fromBinary(desc(RPCS.Events.item), ev) as unknown as { data: { typeUrl: string } };
    expect(theirs.data.typeUrl).toBe("talos/runtime/machine.SequenceEvent");
  });
});
