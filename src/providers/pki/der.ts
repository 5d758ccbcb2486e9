/**
 * The small part of DER (X.690) that certificates need: encoding TLVs, and walking a TLV's
 * children. Values are Buffers; nothing is parsed beyond what is asked for.
 * @module
 */

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = content.length === 1 ? content[0]! : Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const sequence = (...items: Buffer[]) => tlv(TAG.SEQUENCE, ...items);
export const set = (...items: Buffer[]) => tlv(TAG.SET, ...items);
export const octetString = (b: Buffer | Uint8Array) => tlv(TAG.OCTET_STRING, Buffer.from(b));
export const bitString = (b: Buffer | Uint8Array, unusedBits = 0) => tlv(TAG.BIT_STRING, Buffer.from([unusedBits]), Buffer.from(b));
export const NULL = Buffer.from([TAG.NULL, 0]);
export const TRUE = Buffer.from([TAG.BOOLEAN, 1, 0xff]);
/** Context-specific, constructed (EXPLICIT or IMPLICIT of a constructed type). */
export const explicit = (n: number, ...content: Buffer[]) => tlv(0xa0 | n, ...content);
/** Context-specific, primitive (IMPLICIT of a primitive type). */
export const implicitPrimitive = (n: number, content: Buffer) => tlv(0x80 | n, content);

/** A non-negative INTEGER from its big-endian magnitude. */
export function unsignedInteger(magnitude: Buffer | Uint8Array): Buffer {
  let b = Buffer.from(magnitude);
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  b = b.subarray(i);
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(TAG.INTEGER, b);
}

export function smallInteger(n: number): Buffer {
  return unsignedInteger(Buffer.from([n]));
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const out = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const groups: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  }
  return tlv(TAG.OID, Buffer.from(out));
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
export function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "");
  const year = d.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(TAG.UTC_TIME, Buffer.from(`${digits.slice(2)}Z`, "latin1"));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${digits}Z`, "latin1"));
}

/** PrintableString when every character allows it (as Go's encoder), else UTF8String. */
export function directoryString(s: string): Buffer {
  const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s);
  return tlv(printable ? TAG.PRINTABLE_STRING : TAG.UTF8_STRING, Buffer.from(s, printable ? "latin1" : "utf8"));
}

export interface Node {
  tag: number;
  /** The whole TLV. */
  raw: Buffer;
  /** The value bytes. */
  value: Buffer;
}

/** The TLV at `offset`. */
export function read(buf: Buffer, offset = 0): Node {
  const tag = buf[offset]!;
  let len = buf[offset + 1]!;
  let head = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i]!;
    head += n;
  }
  if (offset + head + len > buf.length) throw new Error("DER: truncated value");
  return { tag, raw: buf.subarray(offset, offset + head + len), value: buf.subarray(offset + head, offset + head + len) };
}

/** The children of a constructed TLV. */
export function children(node: Node): Node[] {
  const out: Node[] = [];
  for (let off = 0; off < node.value.length; ) {
    const c = read(node.value, off);
    out.push(c);
    off += c.raw.length;
  }
  return out;
}

export function oidToString(value: Buffer): string {
  const parts = [Math.floor(value[0]! / 40), value[0]! % 40];
  let v = 0;
  for (const b of value.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}
