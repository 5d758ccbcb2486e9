/**
 * Kubernetes field selectors (`fieldSelector=metadata.name=c1,status.phase!=Running`) with the
 * semantics and error wording of k8s.io/apimachinery `pkg/fields`:
 * terms are split on unescaped commas, sorted, and each split at its first `!=`, `==` or `=`;
 * values may escape `\,` `\=` `\\`; nothing is trimmed; a term with neither field nor value is dropped.
 * A field the object lacks compares as "".
 * @module
 */

import { badRequest } from "../api-errors.ts";
import { compareCodePoints } from "./label-selector.ts";

export type FieldOperator = "=" | "==" | "!=";

export interface FieldRequirement {
  field: string;
  /** As written; `=` and `==` mean the same. */
  op: FieldOperator;
  /** Unescaped. */
  value: string;
}

/** Splits on commas not preceded by a backslash escape. */
function splitTerms(s: string): string[] {
  if (!s) return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (escaped) escaped = false;
    else if (c === "\\") escaped = true;
    else if (c === ",") {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

const TERM_OPERATORS: readonly FieldOperator[] = ["!=", "==", "="];

function splitTerm(term: string): [string, FieldOperator, string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of TERM_OPERATORS) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

/** Undoes {@link escapeFieldValue}; throws `badRequest` on a bad escape or a bare `,` / `=`. */
export function unescapeFieldValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = "";
  let escaped = false;
  for (const c of s) {
    if (escaped) {
      if (c !== "\\" && c !== "," && c !== "=") {
        throw badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      escaped = false;
    } else if (c === "\\") {
      escaped = true;
    } else if (c === "," || c === "=") {
      // upstream prints the rune with %v: its code point
      throw badRequest(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else {
      out += c;
    }
  }
  if (escaped) throw badRequest("invalid field selector: invalid escape sequence: \\");
  return out;
}

/** Escapes `\`, `,` and `=` so the value survives {@link parseFieldSelector}. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/**
 * Parses the `fieldSelector` query syntax (fields.ParseSelector). "" → no requirements (matches
 * everything). Requirements come back ordered by their raw term text, as upstream sorts them.
 */
export function parseFieldSelector(s: string): FieldRequirement[] {
  const parts = splitTerms(s).sort(compareCodePoints);
  const reqs: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === "") continue;
    const split = splitTerm(part);
    if (!split) throw badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    const [field, op, rawValue] = split;
    const value = unescapeFieldValue(rawValue);
    if (field === "" && value === "") continue; // the identity transform turns such a term into "everything"
    reqs.push({ field, op, value });
  }
  return reqs;
}

/** True when every requirement holds; `get` returns undefined for a field the object lacks (→ ""). */
export function matchFieldSelector(
  reqs: readonly FieldRequirement[],
  get: (field: string) => string | undefined,
): boolean {
  for (const r of reqs) {
    const actual = get(r.field) ?? "";
    if (r.op === "!=" ? actual === r.value : actual !== r.value) return false;
  }
  return true;
}

/** Canonical text as fields.Selector.String() renders it: `=` for both equality forms, values escaped. */
export function fieldSelectorToString(reqs: readonly FieldRequirement[]): string {
  return reqs.map((r) => `${r.field}${r.op === "!=" ? "!=" : "="}${escapeFieldValue(r.value)}`).join(",");
}

/** The value `field` must equal when an equality requirement pins it (e.g. `metadata.name=x`). */
export function fieldSelectorRequiresExactMatch(reqs: readonly FieldRequirement[], field: string): string | undefined {
  return reqs.find((r) => r.field === field && r.op !== "!=")?.value;
}

/**
 * Rejects fields outside a kind's supported set the way kube-apiserver does
 * (`field label not supported: spec.foo`, 400 BadRequest).
 */
export function checkFieldSelectorFields(reqs: readonly FieldRequirement[], supported: ReadonlySet<string> | readonly string[]): void {
  const ok = Array.isArray(supported) ? new Set(supported) : (supported as ReadonlySet<string>);
  for (const r of reqs) {
    if (!ok.has(r.field)) throw badRequest(`field label not supported: ${r.field}`);
  }
}
