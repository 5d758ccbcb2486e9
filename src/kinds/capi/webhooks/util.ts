/**
 * Small helpers shared by the Cluster API admission webhooks: defensive access to plain-JSON
 * objects, Go-style rendering of the bad values that `field.Error` prints, and the field-cause
 * builders (worded as k8s.io/apimachinery `field.Invalid` / `Required` / `Forbidden` render them).
 * @module
 */
import { forbidden as forbiddenError, type StatusCause } from "../../../lib/api-errors.ts";
import { goJsonString, goNumber, goQuote } from "../../../lib/go-format.ts";
import type { KObject } from "../../../lib/kobject.ts";

export type JsonObject = Record<string, unknown>;

export const CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name";
export const MACHINE_DEPLOYMENT_NAME_LABEL = "cluster.x-k8s.io/deployment-name";
export const MACHINE_SET_NAME_LABEL = "cluster.x-k8s.io/set-name";
export const MACHINE_POOL_NAME_LABEL = "cluster.x-k8s.io/pool-name";
export const MACHINE_CONTROL_PLANE_LABEL = "cluster.x-k8s.io/control-plane";
export const AUTOSCALER_MIN_SIZE_ANNOTATION = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size";
export const AUTOSCALER_MAX_SIZE_ANNOTATION = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size";
export const SKIP_PREFLIGHT_CHECKS_ANNOTATION = "machineset.cluster.x-k8s.io/skip-preflight-checks";

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The object at `key`, or undefined when absent / not an object. */
export function objAt(parent: unknown, ...keys: string[]): JsonObject | undefined {
  let cur: unknown = parent;
  for (const k of keys) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return isObject(cur) ? cur : undefined;
}

/** The value at a path of keys (undefined when any step is missing). */
export function valueAt(parent: unknown, ...keys: string[]): unknown {
  let cur: unknown = parent;
  for (const k of keys) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** The string at a path, "" when absent (Go's zero value). */
export function strAt(parent: unknown, ...keys: string[]): string {
  const v = valueAt(parent, ...keys);
  return typeof v === "string" ? v : "";
}

/** The object at `parent[key]`, created (replacing null / non-objects) when missing. */
export function ensureObj(parent: JsonObject, key: string): JsonObject {
  const cur = parent[key];
  if (isObject(cur)) return cur;
  const fresh: JsonObject = {};
  parent[key] = fresh;
  return fresh;
}

/** `metadata.labels` as a writable string map (created when missing). */
export function ensureLabels(obj: KObject): Record<string, string> {
  if (!isObject(obj.metadata)) obj.metadata = {};
  return ensureObj(obj.metadata as JsonObject, "labels") as Record<string, string>;
}

/** A string map (labels / annotations / matchLabels) read defensively: non-string values dropped. */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === "string") out[k] = val;
  return out;
}

/** True when a v1beta2 ContractVersionedObjectReference is set (any of kind / name / apiGroup). */
export function refIsDefined(ref: unknown): boolean {
  if (!isObject(ref)) return false;
  return !!(strAt(ref, "kind") || strAt(ref, "name") || strAt(ref, "apiGroup"));
}

/** Byte-wise (Go) ordering of map keys. */
export function sortedKeys(o: object): string[] {
  return Object.keys(o).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Go rendering of bad values (`field.Error.ErrorBody`: %q for strings, %v for numbers, JSON
// (encoding/json: sorted map keys, struct fields in declaration order) for everything else).
// ---------------------------------------------------------------------------------------------

/** encoding/json of a `map[string]string` (keys sorted). */
export function goJsonStringMap(m: Record<string, string>): string {
  return `{${sortedKeys(m)
    .map((k) => `${goJsonString(k)}:${goJsonString(m[k])}`)
    .join(",")}}`;
}

/** encoding/json of a `[]string` (nil → null). */
export function goJsonStrings(list: readonly string[] | null): string {
  return list === null ? "null" : `[${list.map(goJsonString).join(",")}]`;
}

/** encoding/json of a metav1.LabelSelector (fields `matchLabels`, `matchExpressions`, both omitempty). */
export function goJsonLabelSelector(sel: unknown): string {
  const parts: string[] = [];
  const ml = stringMap(valueAt(sel, "matchLabels"));
  if (Object.keys(ml).length) parts.push(`"matchLabels":${goJsonStringMap(ml)}`);
  const exprs = valueAt(sel, "matchExpressions");
  if (Array.isArray(exprs) && exprs.length) {
    const rendered = exprs.map((e) => {
      const fields = [`"key":${goJsonString(strAt(e, "key"))}`, `"operator":${goJsonString(strAt(e, "operator"))}`];
      const values = valueAt(e, "values");
      if (Array.isArray(values) && values.length) {
        fields.push(`"values":${goJsonStrings(values.filter((x): x is string => typeof x === "string"))}`);
      }
      return `{${fields.join(",")}}`;
    });
    parts.push(`"matchExpressions":[${rendered.join(",")}]`);
  }
  return `{${parts.join(",")}}`;
}

/** A bad value already rendered (Go-style) for a field error. */
export class Rendered {
  constructor(readonly text: string) {}
}

export function renderGo(v: unknown): string {
  if (v instanceof Rendered) return v.text;
  if (typeof v === "string") return goQuote(v);
  if (typeof v === "number") return goNumber(v);
  if (typeof v === "boolean") return String(v);
  if (v === null || v === undefined) return "null";
  return JSON.stringify(v);
}

/** Cause builders with the reasons and wording of k8s.io/apimachinery field errors. */
export const cause = {
  invalid(field: string, value: unknown, detail: string): StatusCause {
    return { reason: "FieldValueInvalid", field, message: `Invalid value: ${renderGo(value)}${detail ? `: ${detail}` : ""}` };
  },
  required(field: string, detail: string): StatusCause {
    return { reason: "FieldValueRequired", field, message: detail ? `Required value: ${detail}` : "Required value" };
  },
  forbidden(field: string, detail: string): StatusCause {
    return { reason: "FieldValueForbidden", field, message: detail ? `Forbidden: ${detail}` : "Forbidden" };
  },
  tooLong(field: string, max: number): StatusCause {
    return { reason: "FieldValueTooLong", field, message: `Too long: may not be more than ${max} bytes` };
  },
};

/**
 * A defaulting webhook that returns a plain (non-API-status) error: controller-runtime answers
 * `Denied(err.Error())` (HTTP 403) and kube-apiserver prefixes the webhook name.
 */
export function webhookDenied(webhookName: string, message: string): Error {
  return forbiddenError(`admission webhook "${webhookName}" denied the request: ${message}`);
}
