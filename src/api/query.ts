/**
 * Query parameters of resource requests, parsed strictly: a malformed value or a parameter the
 * appliance does not know is a 400 naming it, never silently ignored.
 * @module
 */
import { badRequest } from "../lib/api-errors.ts";
import type { FieldValidation } from "../registry/rest/context.ts";
import type { IncludeObject } from "../registry/table/table.ts";

const KNOWN = new Set([
  "pretty",
  "timeout",
  "labelSelector",
  "fieldSelector",
  "limit",
  "continue",
  "resourceVersion",
  "resourceVersionMatch",
  "watch",
  "allowWatchBookmarks",
  "timeoutSeconds",
  "sendInitialEvents",
  "includeObject",
  "dryRun",
  "fieldManager",
  "fieldValidation",
  "force",
  "propagationPolicy",
  "gracePeriodSeconds",
  "orphanDependents",
  "ignoreStoreReadErrorWithClusterBreakingPotential",
]);

export interface ResourceQuery {
  pretty: boolean;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  watch: boolean;
  allowWatchBookmarks: boolean;
  timeoutSeconds?: number;
  sendInitialEvents?: boolean;
  includeObject?: IncludeObject;
  dryRun: boolean;
  fieldManager?: string;
  fieldValidation?: FieldValidation;
  force: boolean;
  propagationPolicy?: string;
  gracePeriodSeconds?: number;
  orphanDependents?: boolean;
}

function bool(name: string, v: string | null): boolean | undefined {
  if (v === null) return undefined;
  if (v === "" || v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)} (expected true or false)`);
}

function int(name: string, v: string | null): number | undefined {
  if (v === null || v === "") return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)} (expected an integer)`);
  return Number(v);
}

export function parseQuery(params: URLSearchParams): ResourceQuery {
  for (const key of params.keys()) {
    if (!KNOWN.has(key)) throw badRequest(`unknown query parameter ${JSON.stringify(key)}`);
  }
  const get = (k: string) => params.get(k);
  const dryRunValues = params.getAll("dryRun");
  for (const v of dryRunValues) {
    if (v !== "All") throw badRequest(`Invalid dryRun value: ${JSON.stringify(v)} (supported: "All")`);
  }
  const fv = get("fieldValidation");
  if (fv !== null && fv !== "" && fv !== "Strict" && fv !== "Warn" && fv !== "Ignore") {
    throw badRequest(`fieldValidation: Unsupported value: ${JSON.stringify(fv)}: supported values: "Ignore", "Strict", "Warn"`);
  }
  const include = get("includeObject");
  if (include !== null && include !== "None" && include !== "Metadata" && include !== "Object") {
    throw badRequest(`includeObject: Unsupported value: ${JSON.stringify(include)}: supported values: "None", "Metadata", "Object"`);
  }
  const limit = int("limit", get("limit"));
  if (limit !== undefined && limit < 0) throw badRequest(`invalid value for limit: ${limit}`);
  const timeoutSeconds = int("timeoutSeconds", get("timeoutSeconds"));
  if (timeoutSeconds !== undefined && timeoutSeconds < 0) throw badRequest(`invalid value for timeoutSeconds: ${timeoutSeconds}`);
  const grace = int("gracePeriodSeconds", get("gracePeriodSeconds"));
  const fieldManager = get("fieldManager") ?? undefined;
  if (fieldManager !== undefined && fieldManager.length > 128) throw badRequest("fieldManager: Too long: may not be more than 128 bytes");
  return {
    pretty: bool("pretty", get("pretty")) ?? false,
    labelSelector: get("labelSelector") ?? undefined,
    fieldSelector: get("fieldSelector") ?? undefined,
    limit,
    continue: get("continue") || undefined,
    resourceVersion: get("resourceVersion") ?? undefined,
    resourceVersionMatch: get("resourceVersionMatch") || undefined,
    watch: bool("watch", get("watch")) ?? false,
    allowWatchBookmarks: bool("allowWatchBookmarks", get("allowWatchBookmarks")) ?? false,
    timeoutSeconds,
    sendInitialEvents: bool("sendInitialEvents", get("sendInitialEvents")),
    includeObject: (include as IncludeObject | null) ?? undefined,
    dryRun: dryRunValues.length > 0,
    fieldManager,
    fieldValidation: (fv || undefined) as FieldValidation | undefined,
    force: bool("force", get("force")) ?? false,
    propagationPolicy: get("propagationPolicy") ?? undefined,
    gracePeriodSeconds: grace,
    orphanDependents: bool("orphanDependents", get("orphanDependents")),
  };
}
