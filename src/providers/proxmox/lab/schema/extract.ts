/**
 * Reduces the upstream PVE API schema (pve-docs apidata, as `path -> {METHOD: info}`) to what the
 * lab needs to verify parameters: per endpoint, each parameter's type, optionality and constraints
 * (enum, minimum/maximum, pattern, length, named format, or the keys of a property-string format).
 * Descriptions are dropped. Used by generate.ts and by the drift check in test/upstream/.
 * @module
 */
import { LAB_ENDPOINTS } from "./endpoints.ts";

export interface ParamDef {
  type?: string;
  optional?: 1 | 0;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  maxLength?: number;
  minLength?: number;
  requires?: string;
  default_key?: 1 | 0;
  alias?: string;
  /** A named format (`pve-vmid`, `dns-name`, …) or the keys of a property string. */
  format?: string | Record<string, ParamDef>;
  items?: ParamDef;
}

export interface EndpointDef {
  additionalProperties: boolean;
  properties: Record<string, ParamDef>;
}

export type LabSchema = Record<string, EndpointDef>;

interface UpstreamSchema {
  paths: Record<string, Record<string, { parameters?: { additionalProperties?: unknown; properties?: Record<string, Record<string, unknown>> } }>>;
}

const KEPT = ["type", "optional", "enum", "minimum", "maximum", "pattern", "maxLength", "minLength", "requires", "default_key", "alias", "format", "items"] as const;

function reduce(def: Record<string, unknown>): ParamDef {
  const out: Record<string, unknown> = {};
  for (const k of KEPT) {
    if (!(k in def)) continue;
    let v = def[k];
    if (k === "format" && v && typeof v === "object") {
      v = Object.fromEntries(Object.entries(v as Record<string, Record<string, unknown>>).sort(([a], [b]) => a.localeCompare(b)).map(([sk, sd]) => [sk, reduce(sd)]));
    } else if (k === "items" && v && typeof v === "object") {
      v = reduce(v as Record<string, unknown>);
    } else if ((k === "minimum" || k === "maximum") && typeof v === "string") {
      v = Number(v);
    }
    out[k] = v;
  }
  return out as ParamDef;
}

export function extractLabSchema(upstream: UpstreamSchema): LabSchema {
  const out: LabSchema = {};
  for (const key of LAB_ENDPOINTS) {
    const [method, path] = key.split(" ") as [string, string];
    const info = upstream.paths[path]?.[method];
    if (!info) throw new Error(`upstream schema has no ${key}`);
    const params = info.parameters ?? {};
    const props = params.properties ?? {};
    out[key] = {
      additionalProperties: Boolean(params.additionalProperties),
      properties: Object.fromEntries(Object.keys(props).sort().map((name) => [name, reduce(props[name]!)])),
    };
  }
  return out;
}
