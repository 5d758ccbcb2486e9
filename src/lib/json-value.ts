/**
 * Guards decoded request bodies: only JSON data (no YAML-only types such as dates, sets,
 * binary, infinities) and no nesting deeper than MAX_DEPTH — checked iteratively, so hostile
 * input cannot exhaust the stack anywhere after decoding.
 * @module
 */
import { badRequest } from "./api-errors.ts";

export const MAX_DEPTH = 1000;

function describe(v: unknown): string {
  if (v instanceof Date) return "a timestamp";
  if (v instanceof Set) return "a set";
  if (v instanceof Map) return "an ordered map";
  if (v instanceof Uint8Array) return "binary data";
  if (typeof v === "number") return String(v);
  return typeof v;
}

/** Throws 400 unless `value` is plain JSON data nested at most MAX_DEPTH levels. */
export function assertJsonValue(value: unknown, what = "the body"): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v === "string" || typeof v === "boolean") continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw badRequest(`${what} contains ${describe(v)}, which JSON cannot represent`);
      continue;
    }
    if (typeof v !== "object") throw badRequest(`${what} contains ${describe(v)}, which is not JSON data`);
    if (depth >= MAX_DEPTH) throw badRequest(`${what} is nested more than ${MAX_DEPTH} levels deep`);
    if (Array.isArray(v)) {
      for (const item of v) stack.push([item, depth + 1]);
      continue;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw badRequest(`${what} contains ${describe(v)}, which is not JSON data`);
    for (const k of Object.keys(v)) stack.push([(v as Record<string, unknown>)[k], depth + 1]);
  }
}
