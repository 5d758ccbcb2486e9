/**
 * Label and field selectors compiled into one predicate over stored objects. Unsupported field
 * labels are refused with 400, never ignored.
 * @module
 */
import { badRequest } from "../../lib/api-errors.ts";
import { jsonPathFirst } from "../../lib/jsonpath.ts";
import type { KObject } from "../../lib/kobject.ts";
import { matchFieldSelector, parseFieldSelector, parseLabelSelector } from "../../lib/selectors/index.ts";
import type { Resolved } from "../registry.ts";

export interface SelectorOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export type ObjectFilter = ((obj: KObject) => boolean) & {
  matchesAll: boolean;
  /** A label every match carries with exactly this value (from `key=value` or `key in (value)`): lets a cache look up by index. */
  requiredLabel?: { key: string; value: string };
};

export function compileFilter(r: Resolved, opts: SelectorOptions): ObjectFilter {
  const { resource, version } = r;
  const labels = opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined;
  const fields = opts.fieldSelector ? parseFieldSelector(opts.fieldSelector) : [];
  const selectable = new Set(version.selectableFields?.map((p) => p.replace(/^\./, "")) ?? []);
  for (const req of fields) {
    const f = req.field;
    if (f === "metadata.name" || f === "metadata.namespace") continue;
    if (selectable.has(f)) continue;
    if (resource.hooks?.fieldValue && resource.hooks.selectableFields?.includes(f)) continue;
    if (resource.hooks?.fieldValue?.({ metadata: {} }, f) !== undefined) continue;
    throw badRequest(`field label not supported: ${f}`);
  }
  const get = (obj: KObject) => (field: string): string | undefined => {
    if (field === "metadata.name") return obj.metadata.name ?? "";
    if (field === "metadata.namespace") return obj.metadata.namespace ?? "";
    if (selectable.has(field)) {
      const v = jsonPathFirst(obj, `.${field}`);
      return v === undefined || v === null ? "" : String(v);
    }
    return resource.hooks?.fieldValue?.(obj, field) ?? "";
  };
  const matchesAll = !labels?.requirements.length && fields.length === 0;
  const fn = ((obj: KObject) => {
    if (labels && !labels.matches(obj.metadata.labels)) return false;
    if (fields.length && !matchFieldSelector(fields, get(obj))) return false;
    return true;
  }) as ObjectFilter;
  fn.matchesAll = matchesAll;
  const pinned = labels?.matchesNothing ? undefined : labels?.requirements.find((r) => (r.operator === "=" || r.operator === "==" || r.operator === "in") && r.values.length === 1);
  if (pinned) fn.requiredLabel = { key: pinned.key, value: pinned.values[0]! };
  return fn;
}
