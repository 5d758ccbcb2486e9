/**
 * Request bodies: JSON, YAML (apply-patch+yaml and YAML uploads), Kubernetes protobuf for the
 * built-in kinds kubectl sends that way; bounded at 3 MiB like kube-apiserver.
 * @module
 */
import { badRequest, requestEntityTooLarge, unsupportedMediaType } from "../lib/api-errors.ts";
import { assertJsonValue } from "./json-value.ts";
import { decodeProtobufObject, hasProtobufMagic, isProtobufContentType } from "./protobuf.ts";

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export type BodyFormat = "json" | "yaml" | "protobuf";

export async function readBody(req: Request, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw requestEntityTooLarge(limit);
  if (!req.body) return new Uint8Array();
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

/** Detects JSON duplicate keys, which strict decoding rejects. Returns the first duplicate path. */
function findDuplicateKey(text: string): string | undefined {
  // A light scanner: tracks object key sets along the nesting, ignoring string contents.
  const stack: { keys: Set<string>; path: string; isObj: boolean; index: number }[] = [];
  let i = 0;
  let expectKey = false;
  let lastKey = "";
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      let s = "";
      while (j < text.length && text[j] !== '"') {
        if (text[j] === "\\") {
          s += text.slice(j, j + 2);
          j += 2;
        } else s += text[j++];
      }
      const top = stack[stack.length - 1];
      if (top?.isObj && expectKey) {
        const key = JSON.parse(`"${s}"`) as string;
        if (top.keys.has(key)) return top.path ? `${top.path}.${key}` : key;
        top.keys.add(key);
        lastKey = key;
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === "{" || c === "[") {
      const top = stack[stack.length - 1];
      const seg = top ? (top.isObj ? lastKey : `[${top.index}]`) : "";
      const path = top ? (top.path ? (top.isObj ? `${top.path}.${seg}` : `${top.path}${seg}`) : seg) : "";
      stack.push({ keys: new Set(), path, isObj: c === "{", index: 0 });
      expectKey = c === "{";
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      const top = stack[stack.length - 1];
      if (top) {
        if (top.isObj) expectKey = true;
        else top.index++;
      }
    }
    i++;
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
export function decodeBody(bytes: Uint8Array, contentType: string | null, opts: { patch?: boolean } = {}): DecodedBody {
  const decoded = decodeRaw(bytes, contentType, opts.patch ?? false);
  assertJsonValue(decoded.value);
  return decoded;
}

function decodeRaw(bytes: Uint8Array, contentType: string | null, patch: boolean): DecodedBody {
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
      return { value, format: "json", duplicateField: findDuplicateKey(text) };
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
