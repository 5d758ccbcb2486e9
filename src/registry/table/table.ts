/**
 * meta.k8s.io/v1 Tables from printer columns (CRD additionalPrinterColumns or the built-in
 * columns), with rows carrying PartialObjectMetadata so `get -A` and `--show-labels` work.
 * @module
 */
import { evalJsonPath, JsonPathError } from "../../lib/jsonpath.ts";
import type { KObject } from "../../lib/kobject.ts";
import type { PrinterColumn, ResourceVersion } from "../types.ts";
import { humanAge } from "./age.ts";

export type IncludeObject = "None" | "Metadata" | "Object";

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object?: KObject;
}

export interface Table {
  kind: "Table";
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions?: TableColumnDefinition[];
  rows: TableRow[];
}

export function columnDefinitions(version: ResourceVersion): TableColumnDefinition[] {
  return version.printerColumns.map((c) => ({
    name: c.name,
    type: c.type,
    format: c.format ?? "",
    description: c.description ?? "",
    priority: c.priority ?? 0,
  }));
}

function formatCell(c: PrinterColumn, values: unknown[], now: number): unknown {
  // As kube-apiserver: only the first result counts, and a list or map prints as JSON.
  const v = values[0];
  if (v === undefined || v === null) return null;
  switch (c.type) {
    case "date":
      return typeof v === "string" ? humanAge(v, now) : null;
    case "integer":
      return typeof v === "number" && Number.isInteger(v) ? v : null;
    case "number":
      return typeof v === "number" ? v : null;
    case "boolean":
      return typeof v === "boolean" ? v : null;
    default:
      return typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
  }
}

export function rowCells(version: ResourceVersion, obj: KObject, now: number): unknown[] {
  return version.printerColumns.map((c) => {
    if (c.cell) return c.cell(obj, now);
    if (c.format === "name" && !c.jsonPath) return obj.metadata.name ?? "";
    if (!c.jsonPath) return null;
    try {
      return formatCell(c, evalJsonPath(obj, c.jsonPath), now);
    } catch (e) {
      if (e instanceof JsonPathError) return null;
      throw e;
    }
  });
}

export function partialObjectMetadata(obj: KObject, version: "v1" | "v1beta1" = "v1"): KObject {
  return { kind: "PartialObjectMetadata", apiVersion: `meta.k8s.io/${version}`, metadata: obj.metadata };
}

export function toTable(
  version: ResourceVersion,
  objects: KObject[],
  opts: { includeObject?: IncludeObject; withColumns?: boolean; tableVersion?: string; listMeta?: Table["metadata"]; now?: number },
): Table {
  const now = opts.now ?? Date.now();
  const include = opts.includeObject ?? "Metadata";
  return {
    kind: "Table",
    apiVersion: `meta.k8s.io/${opts.tableVersion ?? "v1"}`,
    metadata: opts.listMeta ?? {},
    ...(opts.withColumns === false ? {} : { columnDefinitions: columnDefinitions(version) }),
    rows: objects.map((o) => {
      const row: TableRow = { cells: rowCells(version, o, now) };
      if (include === "Object") row.object = o;
      else if (include === "Metadata") row.object = partialObjectMetadata(o);
      return row;
    }),
  };
}
