/**
 * A small schema-driven protobuf codec over @bufbuild/protobuf's BinaryWriter/BinaryReader. There is
 * no protoc here, so each message of the Talos machine API subset is declared as a field table
 * (numbers and types from upstream `api/machine/machine.proto` and `api/common/common.proto`), and
 * encoded/decoded to plain objects with camelCase keys. Unknown fields are skipped on decode.
 * @module
 */
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

export type Scalar = "string" | "bytes" | "bool" | "int32" | "uint32" | "int64" | "uint64" | "enum";

export interface FieldSpec {
  no: number;
  name: string;
  kind: Scalar | "message";
  repeated?: boolean;
  /** For kind "message": the nested message's schema (a thunk, so schemas can reference each other). */
  message?: () => MessageSchema;
}

export interface MessageSchema {
  typeName: string;
  fields: FieldSpec[];
}

type Obj = Record<string, unknown>;

function defaultOf(f: FieldSpec): unknown {
  if (f.repeated) return [];
  switch (f.kind) {
    case "string":
      return "";
    case "bytes":
      return new Uint8Array(0);
    case "bool":
      return false;
    case "int64":
    case "uint64":
      return 0n;
    case "message":
      return undefined;
    default:
      return 0;
  }
}

function isDefault(f: FieldSpec, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  switch (f.kind) {
    case "string":
      return v === "";
    case "bytes":
      return (v as Uint8Array).length === 0;
    case "bool":
      return v === false;
    case "int64":
    case "uint64":
      return BigInt(v as bigint) === 0n;
    case "message":
      return false;
    default:
      return v === 0;
  }
}

function wireTypeOf(f: FieldSpec): WireType {
  return f.kind === "string" || f.kind === "bytes" || f.kind === "message" ? WireType.LengthDelimited : WireType.Varint;
}

function writeValue(w: BinaryWriter, f: FieldSpec, v: unknown): void {
  switch (f.kind) {
    case "string":
      w.string(v as string);
      break;
    case "bytes":
      w.bytes(v as Uint8Array);
      break;
    case "bool":
      w.bool(v as boolean);
      break;
    case "int32":
    case "enum":
      w.int32(v as number);
      break;
    case "uint32":
      w.uint32(v as number);
      break;
    case "int64":
      w.int64(BigInt(v as bigint));
      break;
    case "uint64":
      w.uint64(BigInt(v as bigint));
      break;
    default:
      throw new Error(`unsupported kind ${f.kind}`);
  }
}

function writeScalar(w: BinaryWriter, f: FieldSpec, v: unknown): void {
  w.tag(f.no, wireTypeOf(f));
  writeValue(w, f, v);
}

function writeMessage(w: BinaryWriter, schema: MessageSchema, msg: Obj): void {
  for (const f of schema.fields) {
    const v = msg[f.name];
    if (f.repeated && wireTypeOf(f) === WireType.Varint) {
      // proto3 packs repeated numeric fields
      const items = (v as unknown[] | undefined) ?? [];
      if (!items.length) continue;
      w.tag(f.no, WireType.LengthDelimited).fork();
      for (const item of items) writeValue(w, f, item);
      w.join();
      continue;
    }
    if (f.repeated) {
      for (const item of (v as unknown[] | undefined) ?? []) {
        if (f.kind === "message") {
          w.tag(f.no, WireType.LengthDelimited).fork();
          writeMessage(w, f.message!(), item as Obj);
          w.join();
        } else writeScalar(w, f, item);
      }
      continue;
    }
    if (isDefault(f, v)) continue;
    if (f.kind === "message") {
      w.tag(f.no, WireType.LengthDelimited).fork();
      writeMessage(w, f.message!(), v as Obj);
      w.join();
    } else writeScalar(w, f, v);
  }
}

export function encode<T>(schema: MessageSchema, msg: T): Uint8Array {
  const w = new BinaryWriter();
  writeMessage(w, schema, msg as Obj);
  return w.finish();
}

function readScalar(r: BinaryReader, f: FieldSpec): unknown {
  switch (f.kind) {
    case "string":
      return r.string();
    case "bytes":
      return r.bytes();
    case "bool":
      return r.bool();
    case "int32":
    case "enum":
      return r.int32();
    case "uint32":
      return r.uint32();
    case "int64":
      return BigInt(r.int64());
    case "uint64":
      return BigInt(r.uint64());
    default:
      throw new Error(`unsupported kind ${f.kind}`);
  }
}

function readMessage(r: BinaryReader, schema: MessageSchema, end: number): Obj {
  const out: Obj = {};
  for (const f of schema.fields) {
    const d = defaultOf(f);
    if (d !== undefined) out[f.name] = d;
  }
  const byNo = new Map(schema.fields.map((f) => [f.no, f]));
  while (r.pos < end) {
    const [no, wt] = r.tag();
    const f = byNo.get(no);
    if (!f) {
      r.skip(wt, no);
      continue;
    }
    let value: unknown;
    if (f.kind === "message") {
      const len = r.uint32();
      value = readMessage(r, f.message!(), r.pos + len);
    } else if (f.repeated && wt === WireType.LengthDelimited && f.kind !== "string" && f.kind !== "bytes") {
      // packed scalars
      const len = r.uint32();
      const stop = r.pos + len;
      while (r.pos < stop) (out[f.name] as unknown[]).push(readScalar(r, f));
      continue;
    } else value = readScalar(r, f);
    if (f.repeated) (out[f.name] as unknown[]).push(value);
    else out[f.name] = value;
  }
  return out;
}

export function decode<T>(schema: MessageSchema, bytes: Uint8Array): T {
  const r = new BinaryReader(bytes);
  return readMessage(r, schema, bytes.length) as T;
}
