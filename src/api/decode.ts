/**
 * Request bodies: JSON, YAML (apply-patch+yaml and YAML uploads), Kubernetes protobuf for the
 * built-in kinds kubectl sends that way; bounded at 3 MiB like kube-apiserver.
 * @module
 */
import { badRequest, requestEntityTooLarge, unsupportedMediaType } from "../lib/api-errors.ts";
import { assertJsonValue } from "../lib/json-value.ts";
import { decodeProtobufObject, hasProtobufMagic, isProtobufContentType } from "./protobuf.ts";

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export type BodyFormat = "json" | "yaml" | "protobuf";

export async function readBody(req: Request, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const length = req.headers.get("content-length");
  const declared = Number(length ?? "0");
  if (declared > limit) throw requestEntityTooLarge(limit);
  if (!req.body) return new Uint8Array();
  // A declared length is enforced by the HTTP parser: read it in one go (much cheaper than
  // pulling the stream chunk by chunk); only chunked bodies are counted as they arrive.
  if (length !== null && /^\d+$/.test(length)) return new Uint8Array(await req.arrayBuffer());
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw requestEntityTooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

function mediaType(contentType: string | null): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/**
 * Finds the first repeated key of a JSON object in `text` (already known to parse), as a
 * field path (`metadata.name`, `spec.items[0].x`). Strict decoding rejects duplicates.
 * Scans without building strings except for keys.
 */
export function findDuplicateKey(text: string): string | undefined {
  interface Frame {
    keys?: Set<string>;
    path: string;
    index: number;
  }
  const stack: Frame[] = [];
  let expectKey = false;
  let lastKey = "";
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      let j = i + 1;
      for (;;) {
        const k = text.indexOf('"', j);
        if (k < 0) return undefined;
        let b = k - 1;
        let slashes = 0;
        while (text.charCodeAt(b) === 92) {
          slashes++;
          b--;
        }
        if (slashes % 2 === 0) {
          j = k;
          break;
        }
        j = k + 1;
      }
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys) {
        const raw = text.slice(i + 1, j);
        const key = raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (top.keys.has(key)) return top.path ? `${top.path}.${key}` : key;
        top.keys.add(key);
        lastKey = key;
        expectKey = false;
      }
      i = j;
    } else if (c === 123 || c === 91) {
      const top = stack[stack.length - 1];
      const path = !top ? "" : top.keys ? (top.path ? `${top.path}.${lastKey}` : lastKey) : `${top.path}[${top.index}]`;
      stack.push(c === 123 ? { keys: new Set(), path, index: 0 } : { path, index: 0 });
      expectKey = c === 123;
    } else if (c === 125 || c === 93) {
      stack.pop();
    } else if (c === 44) {
      const top = stack[stack.length - 1];
      if (top?.keys) expectKey = true;
      else if (top) top.index++;
    }
  }
  return undefined;
}

export interface DecodedBody {
  value: unknown;
  format: BodyFormat;
  /** Set when a JSON body repeats a key (strict decoding rejects it, Warn reports it). */
  duplicateField?: string;
}

const OBJECT_TYPES = "application/json, application/yaml, application/vnd.kubernetes.protobuf";

/**
 * Decodes a body by its Content-Type. Missing Content-Type is treated as JSON (kubectl scale
 * PUT). `patch` bodies also accept the patch media types; object bodies do not.
 */
export function decodeBody(bytes: Uint8Array, contentType: string | null, opts: { patch?: boolean; checkDuplicates?: boolean } = {}): DecodedBody {
  const decoded = decodeRaw(bytes, contentType, opts.patch ?? false, opts.checkDuplicates ?? true);
  assertJsonValue(decoded.value);
  return decoded;
}

function decodeRaw(bytes: Uint8Array, contentType: string | null, patch: boolean, checkDuplicates: boolean): DecodedBody {
  const mt = mediaType(contentType);
  if (isProtobufContentType(mt) || (mt === "" && hasProtobufMagic(bytes))) {
    if (patch) throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${OBJECT_TYPES}`);
    return { value: decodeProtobufObject(bytes), format: "protobuf" };
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  const isYaml = mt === "application/yaml" || (patch && mt === "application/apply-patch+yaml");
  const isJson = mt === "" || mt === "application/json" || (patch && mt.endsWith("+json"));
  if (!isYaml && !isJson) {
    throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${OBJECT_TYPES}`);
  }
  if (text.trim() === "") throw badRequest("Object 'Kind' is missing in ''");
  if (isJson) {
    try {
      const value = JSON.parse(text) as unknown;
      return { value, format: "json", duplicateField: checkDuplicates ? findDuplicateKey(text) : undefined };
    } catch (e) {
      throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
  }
  try {
    // Loaded on the first YAML body: most clients send JSON, and startup stays lean.
    const { parse: parseYaml, parseAllDocuments } = require("yaml") as typeof import("yaml");
    const docs = parseAllDocuments(text);
    if (Array.isArray(docs) && docs.length > 1) throw badRequest("yaml: the body must contain exactly one document");
    const value = parseYaml(text, { uniqueKeys: true, maxAliasCount: 100, schema: "core", logLevel: "silent" }) as unknown;
    return { value, format: "yaml" };
  } catch (e) {
    if ((e as { code?: number }).code === 400) throw e;
    throw badRequest(`error converting YAML to JSON: ${(e as Error).message.split("\n")[0]}`);
  }
}
