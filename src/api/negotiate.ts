/**
 * Response negotiation: plain JSON, a meta.k8s.io Table, or PartialObjectMetadata, from the
 * Accept header (kubectl asks `application/json;as=Table;v=v1;g=meta.k8s.io,...,application/json`).
 * @module
 */
import { notAcceptable } from "../lib/api-errors.ts";

export type ResponseShape = "object" | "table" | "partial";

export interface Negotiated {
  shape: ResponseShape;
  tableVersion?: "v1" | "v1beta1";
  partialVersion?: "v1" | "v1beta1";
}

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseAccept(accept: string): MediaRange[] {
  return accept
    .split(",")
    .map((part) => {
      const [type, ...params] = part.split(";").map((s) => s.trim());
      const p: Record<string, string> = {};
      for (const kv of params) {
        const i = kv.indexOf("=");
        if (i > 0) p[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
      }
      return { type: (type ?? "").toLowerCase(), params: p };
    })
    .filter((m) => m.type);
}

const JSONISH = new Set(["application/json", "*/*", "application/*", "application/yaml", "application/json;stream=watch"]);

/** Decides the response shape; throws 406 when nothing acceptable is offered. */
export function negotiate(accept: string | null): Negotiated {
  if (!accept) return { shape: "object" };
  const ranges = parseAccept(accept);
  for (const m of ranges) {
    if (m.params.as === "Table" && m.params.g === "meta.k8s.io" && (m.params.v === "v1" || m.params.v === "v1beta1")) {
      if (m.type === "application/json") return { shape: "table", tableVersion: m.params.v };
      continue;
    }
    if ((m.params.as === "PartialObjectMetadata" || m.params.as === "PartialObjectMetadataList") && m.params.g === "meta.k8s.io") {
      if (m.type === "application/json" && (m.params.v === "v1" || m.params.v === "v1beta1")) return { shape: "partial", partialVersion: m.params.v };
      continue;
    }
    if (m.params.as) continue;
    if (JSONISH.has(m.type)) return { shape: "object" };
  }
  throw notAcceptable(
    "only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
  );
}
