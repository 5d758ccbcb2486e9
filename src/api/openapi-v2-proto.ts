/**
 * The protobuf (gnostic `openapi.v2.Document`) form of /openapi/v2. kubectl asks for it only
 * when the v3 documents cannot answer, most visibly for a `kind: List` manifest (what
 * `kubectl get -o yaml` writes): its field-validation check treats List as unknown to v3 and
 * falls back to client-side validation against v2, failing outright on a 404. The document
 * names no definitions, so kubectl skips its client-side check and each item is validated
 * by the server (`fieldValidation=Strict`), as for single objects.
 * @module
 */
import { VERSION } from "../version.ts";

/** What clients ask for; the answer is labelled application/octet-stream, since Go's media-type
 * parser (client-go checks every response's Content-Type) rejects the "@". */
export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/** Length-delimited field (wire type 2). */
function field(num: number, payload: Uint8Array): Uint8Array {
  const len: number[] = [];
  let n = payload.length;
  do {
    len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  const out = new Uint8Array(1 + len.length + payload.length);
  out[0] = (num << 3) | 2;
  out.set(len, 1);
  out.set(payload, 1 + len.length);
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]) => Buffer.concat(parts);

let cached: Uint8Array | undefined;

export function openApiV2Protobuf(): Uint8Array {
  // Document: swagger = 1, info = 2 (title = 1, version = 2), paths = 8, definitions = 9.
  cached ??= concat(
    field(1, text("2.0")),
    field(2, concat(field(1, text("capx-appliance")), field(2, text(VERSION)))),
    field(8, new Uint8Array(0)),
    field(9, new Uint8Array(0)),
  );
  return cached;
}
