/**
 * `x-kubernetes-validations`: CEL rules of CRD schemas, checked at CRD creation
 * (`compileRules`) and evaluated on writes (`validateRules`) as kube-apiserver 1.32 does.
 *
 * - `self` is the value at the schema node (see cel-values.ts for its CEL typing).
 * - Transition rules (those naming `oldSelf`) run on update only when the old value correlates
 *   (object keys, `x-kubernetes-list-type: map` items by key); with `optionalOldSelf` they always
 *   run and `oldSelf` is an optional. On update, failures of other rules on values that did not
 *   change are dropped (validation ratcheting, on by default in 1.32).
 * - Failures read like upstream's: `Invalid value: "<schema type>": <message>` at the node (the
 *   root prints as `<nil>`, a nil field path) or at the rule's `fieldPath`, with the rule's
 *   `reason`; runtime errors become `<error> evaluating rule: <rule>` causes, never exceptions.
 *
 * Not implemented: the cost budget (estimated and runtime), two-variable comprehensions,
 * homogeneous-literal checks, and what cel-library.ts lists. Lists of type set/map compare
 * order-sensitively with `==`.
 * @module
 */

import type { CelInput } from "@bufbuild/cel";
import type { StatusCause } from "../../lib/api-errors.ts";
import type { CT, Program } from "./cel-compile.ts";
import { deepEqualJSON, mapListLookup, type Memo, toCel } from "./cel-values.ts";
import { goField, goQuote } from "../../lib/go-format.ts";
import { hasOwn, isObject } from "./own.ts";
import {
  additionalSchema,
  itemsOf,
  propertyEntries,
  propertyOf,
  schemaList,
  schemaNode,
  stringOf,
  validationRules,
} from "./schema-types.ts";
import type { JSONSchemaProps, ValidationRule } from "./types.ts";

interface CelRuntime {
  cel: typeof import("@bufbuild/cel");
  lib: typeof import("./cel-library.ts");
  compile: typeof import("./cel-compile.ts");
}
let runtime: CelRuntime | undefined;

/**
 * @bufbuild/cel and the Kubernetes CEL libraries load on the first rule that needs them
 * (about 100 ms), not at startup: most objects are validated without CEL.
 */
function rt(): CelRuntime {
  return (runtime ??= {
    cel: require("@bufbuild/cel") as CelRuntime["cel"],
    lib: require("./cel-library.ts") as CelRuntime["lib"],
    compile: require("./cel-compile.ts") as CelRuntime["compile"],
  });
}

// --- compiled rules -----------------------------------------------------------------------------

export interface CompiledRule {
  rule: ValidationRule;
  program?: Program;
  /** Detail of a rule compile error. */
  error?: string;
  messageProgram?: Program;
  messageError?: string;
  usesOldSelf: boolean;
  /** `fieldPath` as a field.Path suffix (`spec.foo`, `labels[a.b]`), or undefined. */
  fieldPath?: string;
  fieldPathError?: string;
}

const compiledCache = [new WeakMap<JSONSchemaProps, CompiledRule[]>(), new WeakMap<JSONSchemaProps, CompiledRule[]>()];

/** The compiled rules of one schema node (cached per node). `embedded` is true at a resource root. */
export function compiledRules(s: JSONSchemaProps, embedded: boolean): CompiledRule[] {
  const cache = compiledCache[embedded ? 1 : 0];
  let hit = cache.get(s);
  if (hit) return hit;
  const self = rt().compile.schemaType(s, embedded);
  hit = validationRules(s).map((rule) => {
    const text = rule.rule;
    const p = rt().compile.parseExpr(text);
    const usesOldSelf = p.ok && rt().compile.usesIdent(p.parsed.expr, "oldSelf");
    const scope = new Map<string, CT>([["self", self]]);
    scope.set("oldSelf", rule.optionalOldSelf ? rt().compile.prim("optional") : self);
    const compiled = rt().compile.compileExpr(text, scope, "bool");
    const out: CompiledRule = { rule, usesOldSelf, program: compiled.program, error: compiled.error };
    if (rule.messageExpression?.trim()) {
      const m = rt().compile.compileExpr(rule.messageExpression, scope, "string");
      out.messageProgram = m.program;
      out.messageError = m.error?.replace(/^compilation failed: /, "messageExpression compilation failed: ");
    }
    if (rule.fieldPath) {
      try {
        out.fieldPath = validFieldPath(rule.fieldPath, s);
      } catch (e) {
        out.fieldPathError = (e as Error).message;
      }
    }
    return out;
  });
  cache.set(s, hit);
  return hit;
}

function unescapeSingleQuote(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => {
    switch (c) {
      case "b":
        return "\b";
      case "f":
        return "\f";
      case "n":
        return "\n";
      case "r":
        return "\r";
      case "t":
        return "\t";
      case "v":
        return "\v";
      case "'":
        return "'";
      case "\\":
        return "\\";
    }
    throw new Error(`invalid escape char \\${c}`);
  });
}

/**
 * Resolves a rule's `fieldPath` (`.spec.foo`, `.labels['a.b']`) against the node's schema and
 * returns it as a field.Path string (`spec.foo`, `labels[a.b]`); throws with upstream's reason.
 */
export function validFieldPath(jsonPath: string, schema: JSONSchemaProps): string {
  const tokens: string[] = [];
  for (let i = 0; i < jsonPath.length; ) {
    const c = jsonPath[i];
    if (c === "." || c === "[" || c === "]") {
      tokens.push(c);
      i++;
    } else if (c === "'") {
      let j = i + 1;
      while (j < jsonPath.length && !(jsonPath[j] === "'" && jsonPath[j - 1] !== "\\")) j++;
      tokens.push(jsonPath.slice(i, j + 1));
      i = j + 1;
    } else {
      let j = i;
      while (j < jsonPath.length && !".[]".includes(jsonPath[j])) j++;
      tokens.push(jsonPath.slice(i, j));
      i = j;
    }
  }
  let path = "";
  let s: JSONSchemaProps | undefined = schema;
  const step = (name: string): void => {
    const ap = additionalSchema(s);
    if (isObject(s?.properties)) {
      const prop = propertyOf(s, name);
      if (!prop) throw new Error("does not refer to a valid field");
      path = path ? `${path}.${name}` : name;
      s = prop;
    } else if (ap) {
      path = `${path}[${name}]`;
      s = ap;
    } else {
      throw new Error("does not refer to a valid field");
    }
  };
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (tok === ".") {
      const name = tokens[++i];
      if (name === undefined) throw new Error("unexpected end of JSON path");
      step(name);
    } else if (tok === "[") {
      const q = tokens[++i];
      if (q === undefined) throw new Error("unexpected end of JSON path");
      if (q.length < 2 || q[0] !== "'" || q[q.length - 1] !== "'") throw new Error(`expected single quoted string but got ${q}`);
      let name: string;
      try {
        name = unescapeSingleQuote(q.slice(1, -1));
      } catch (e) {
        throw new Error(`invalid string literal: ${(e as Error).message}`);
      }
      step(name);
      const close = tokens[++i];
      if (close === undefined) throw new Error("unexpected end of JSON path");
      if (close !== "]") throw new Error(`expected ] but got ${close}`);
    } else {
      throw new Error(`expected [ or . but got: ${tok}`);
    }
  }
  return path;
}

// --- compileRules -------------------------------------------------------------------------------

const SUPPORTED_REASONS = ["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"];

/** `%#v` of apiextensions.ValidationRule, the value upstream reports for a broken rule. */
function ruleRepr(r: ValidationRule): string {
  const ptr = (set: boolean, type: string): string => `(${type})(${set ? "0xc000000000" : "nil"})`;
  return (
    `apiextensions.ValidationRule{Rule:${goQuote(r.rule ?? "")}, Message:${goQuote(r.message ?? "")}, ` +
    `MessageExpression:${goQuote(r.messageExpression ?? "")}, ` +
    `Reason:${ptr(r.reason !== undefined, "*apiextensions.FieldValueErrorReason")}, FieldPath:${goQuote(r.fieldPath ?? "")}, ` +
    `OptionalOldSelf:${ptr(r.optionalOldSelf !== undefined, "*bool")}}`
  );
}

function invalidRaw(field: string, rendered: string, detail: string): StatusCause {
  return { reason: "FieldValueInvalid", field, message: `Invalid value: ${rendered}: ${detail}` };
}

/**
 * Checks every `x-kubernetes-validations` rule of a CRD schema as kube-apiserver does when the
 * CRD is created or updated: rules must be present and compile, messages must be single-line,
 * `reason` and `fieldPath` must be valid, `messageExpression` must compile to a string, and
 * `oldSelf` may not be used below a list that is not `x-kubernetes-list-type: map`.
 * `path` is where the schema sits in the CRD (default `spec.validation.openAPIV3Schema`; use
 * `spec.versions[i].schema.openAPIV3Schema` for per-version schemas).
 */
export function compileRules(schema: JSONSchemaProps, opts: { path?: string } = {}): StatusCause[] {
  const out: StatusCause[] = [];
  const path = opts.path ?? "spec.validation.openAPIV3Schema";
  try {
    walkRules(schemaNode(schema), path, true, undefined, out);
  } catch (e) {
    // Never an exception for a schema, whatever its shape: report what could not be checked.
    out.push(goField.invalid(path, "", `validation rules could not be checked: ${errorText(e)}`));
  }
  return out;
}

function errorText(e: unknown): string {
  if (e instanceof RangeError) return "schema is nested too deeply";
  return e instanceof Error ? e.message : String(e);
}

const hasNewline = (s: string): boolean => s.includes("\n");

function walkRules(s: JSONSchemaProps, path: string, embedded: boolean, forbidOldSelfWithin: string | undefined, out: StatusCause[]): void {
  const rules = validationRules(s);
  if (rules.length) {
    const compiled = compiledRules(s, embedded);
    let staticErrors = false;
    rules.forEach((rule, i) => {
      const rp = `${path}.x-kubernetes-validations[${i}]`;
      const trimmedRule = rule.rule.trim();
      const trimmedMsg = (rule.message ?? "").trim();
      const before = out.length;
      if (!trimmedRule) out.push(goField.required(`${rp}.rule`, "rule is not specified"));
      else if (rule.message !== undefined && rule.message.length > 0 && !trimmedMsg) {
        out.push(goField.invalid(`${rp}.message`, rule.message, "message must be non-empty if specified"));
      } else if (hasNewline(trimmedMsg)) out.push(goField.invalid(`${rp}.message`, rule.message, "message must not contain line breaks"));
      else if (hasNewline(trimmedRule) && !trimmedMsg) {
        out.push(goField.required(`${rp}.message`, "message must be specified if rule contains line breaks"));
      }
      if (rule.messageExpression !== undefined && rule.messageExpression.length > 0 && !rule.messageExpression.trim()) {
        out.push(goField.required(`${rp}.messageExpression`, "messageExpression must be non-empty if specified"));
      }
      if (rule.reason !== undefined && !SUPPORTED_REASONS.includes(rule.reason)) {
        out.push(goField.notSupported(`${rp}.reason`, rule.reason, SUPPORTED_REASONS));
      }
      if (rule.fieldPath !== undefined && rule.fieldPath.length > 0) {
        if (!rule.fieldPath.trim()) out.push(goField.invalid(`${rp}.fieldPath`, rule.fieldPath, "fieldPath must be non-empty if specified"));
        if (hasNewline(rule.fieldPath)) out.push(goField.invalid(`${rp}.fieldPath`, rule.fieldPath, "fieldPath must not contain line breaks"));
        if (compiled[i].fieldPathError) out.push(goField.invalid(`${rp}.fieldPath`, rule.fieldPath, "fieldPath must be a valid path"));
      }
      if (out.length > before) staticErrors = true;
    });
    if (!staticErrors) {
      compiled.forEach((c, i) => {
        const rp = `${path}.x-kubernetes-validations[${i}]`;
        if (c.error) out.push(invalidRaw(`${rp}.rule`, ruleRepr(c.rule), c.error));
        if (c.messageError) out.push(invalidRaw(`${rp}.messageExpression`, ruleRepr(c.rule), c.messageError));
        if (c.usesOldSelf) {
          if (forbidOldSelfWithin !== undefined) {
            out.push(goField.invalid(`${rp}.rule`, c.rule.rule, `oldSelf cannot be used on the uncorrelatable portion of the schema within ${forbidOldSelfWithin}`));
          }
        } else if (c.rule.optionalOldSelf !== undefined && !c.error) {
          out.push(goField.invalid(`${rp}.optionalOldSelf`, c.rule.optionalOldSelf, "may not be set if oldSelf is not used in rule"));
        }
      });
    }
  }
  for (const [k, prop] of propertyEntries(s)) {
    walkRules(prop, `${path}.properties[${k}]`, prop["x-kubernetes-embedded-resource"] === true, forbidOldSelfWithin, out);
  }
  const items = itemsOf(s);
  if (items) {
    const forbid = s["x-kubernetes-list-type"] === "map" ? forbidOldSelfWithin : (forbidOldSelfWithin ?? path);
    walkRules(items, `${path}.items`, items["x-kubernetes-embedded-resource"] === true, forbid, out);
  }
  const ap = additionalSchema(s);
  if (ap) {
    walkRules(ap, `${path}.additionalProperties`, ap["x-kubernetes-embedded-resource"] === true, forbidOldSelfWithin, out);
  }
  schemaList(s.allOf).forEach((sub, i) => walkRules(sub, `${path}.allOf[${i}]`, embedded, forbidOldSelfWithin, out));
}

// --- evaluation -------------------------------------------------------------------------------

const subtreeRules = new WeakMap<JSONSchemaProps, { any: boolean; transition: boolean }>();

/** Whether a schema node or anything below it has rules (and transition rules). */
function rulesBelow(s: JSONSchemaProps | undefined): { any: boolean; transition: boolean } {
  if (!isObject(s)) return { any: false, transition: false };
  let hit = subtreeRules.get(s);
  if (hit) return hit;
  hit = { any: false, transition: false };
  subtreeRules.set(s, hit); // guards against cycles
  const own = validationRules(s);
  if (own.length) {
    hit.any = true;
    if (own.some((r) => /\boldSelf\b/.test(r.rule))) hit.transition = true;
  }
  const children: (JSONSchemaProps | undefined)[] = [
    ...propertyEntries(s).map(([, p]) => p),
    itemsOf(s),
    additionalSchema(s),
    ...schemaList(s.allOf),
  ];
  for (const c of children) {
    const r = rulesBelow(c);
    hit.any ||= r.any;
    hit.transition ||= r.transition;
  }
  return hit;
}

const META = new Set(["apiVersion", "kind", "metadata"]);

interface EvalCtx {
  out: StatusCause[];
  memo: Memo;
  update: boolean;
}

function renderPath(path: string | null): string {
  return path ?? "<nil>";
}

function childPath(path: string | null, name: string): string {
  return path === null ? name : `${path}.${name}`;
}

/** Maps @bufbuild/cel runtime errors to cel-go's wording where they differ. */
function celGoError(message: string): string {
  let m = /^field not found: (.*)$/.exec(message);
  if (m) return `no such key: ${m[1]}`;
  m = /^index (-?\d+) out of bounds \[0, (-?\d+)\)$/.exec(message);
  if (m) return `index out of bounds: ${m[1]}`;
  if (message === "int divide by zero" || message === "uint divide by zero") return "division by zero";
  if (message === "int modulus by zero" || message === "uint modulus by zero") return "modulus by zero";
  if (/^(int|uint) overflow/.test(message)) return "integer overflow";
  if (message.startsWith("found no matching overload") || message.startsWith("unbound function")) return "no such overload";
  return message;
}

function ruleErrorString(rule: ValidationRule): string {
  return rule.message?.trim() ? rule.message.trim() : rule.rule.trim();
}

function failure(field: string, type: string, detail: string, reason: ValidationRule["reason"]): StatusCause {
  switch (reason) {
    case "FieldValueForbidden":
      return goField.forbidden(field, detail);
    case "FieldValueRequired":
      return goField.required(field, detail);
    case "FieldValueDuplicate":
      return goField.duplicate(field, type);
  }
  return goField.invalid(field, type, detail);
}

function evalMessage(program: Program, bindings: Record<string, CelInput>): string | undefined {
  let result: unknown;
  try {
    result = program(bindings);
  } catch {
    return undefined;
  }
  if (rt().cel.isCelError(result) || typeof result !== "string") return undefined;
  const msg = result.trim();
  if (!msg || msg.includes("\n") || Buffer.byteLength(msg) > 5 * 1024) return undefined;
  return msg;
}

function evaluateRules(v: unknown, old: unknown, s: JSONSchemaProps, embedded: boolean, path: string | null, ratchet: boolean, ctx: EvalCtx): void {
  const rules = compiledRules(s, embedded);
  if (!rules.length) return;
  const type = stringOf(s.type) ?? "";
  const field = renderPath(path);
  let self: CelInput | undefined;
  let oldSelf: CelInput | undefined;
  for (const c of rules) {
    const hasOld = old !== undefined && old !== null;
    if (c.usesOldSelf && !hasOld && !c.rule.optionalOldSelf) continue;
    if (!c.usesOldSelf && ratchet) continue;
    if (c.error || !c.program) {
      if (c.error) ctx.out.push(goField.invalid(field, type, `rule compile error: ${c.error}`));
      continue;
    }
    self ??= toCel(v, s, embedded, ctx.memo);
    const bindings: Record<string, CelInput> = { self };
    if (c.usesOldSelf) {
      if (hasOld) oldSelf ??= toCel(old, s, embedded, ctx.memo);
      bindings.oldSelf = c.rule.optionalOldSelf ? (hasOld ? rt().lib.optionalOf(oldSelf!) : rt().lib.optionalNone()) : oldSelf!;
    }
    let result: unknown;
    try {
      result = c.program(bindings);
    } catch (e) {
      result = e instanceof Error ? e : new Error(String(e));
    }
    if (result === true) continue;
    if (rt().cel.isCelError(result) || result instanceof Error) {
      const err = celGoError((result as Error).message);
      const detail =
        err === "no such overload"
          ? `'${err}': call arguments did not match a supported operator, function or macro signature for rule: ${ruleErrorString(c.rule)}`
          : `${err} evaluating rule: ${ruleErrorString(c.rule)}`;
      ctx.out.push(goField.invalid(field, type, detail));
      continue;
    }
    const target = c.fieldPath ? (path === null ? c.fieldPath : c.fieldPath.startsWith("[") ? `${path}${c.fieldPath}` : `${path}.${c.fieldPath}`) : field;
    let message = c.messageProgram ? evalMessage(c.messageProgram, bindings) : undefined;
    message ??= c.rule.message?.trim() ? c.rule.message.trim() : `failed rule: ${ruleErrorString(c.rule)}`;
    ctx.out.push(failure(target, type, message, c.rule.reason));
  }
}

function walk(v: unknown, old: unknown, s: JSONSchemaProps, embedded: boolean, root: boolean, path: string | null, ratchet: boolean, ctx: EvalCtx): void {
  if (v === null || v === undefined) return;
  const below = rulesBelow(s);
  if (!below.any || (ratchet && !below.transition)) return;
  evaluateRules(v, old, s, embedded, path, ratchet, ctx);
  for (const sub of schemaList(s.allOf)) evaluateRules(v, old, sub, embedded, path, ratchet, ctx);
  if (Array.isArray(v)) {
    const items = itemsOf(s);
    if (!items || !rulesBelow(items).any) return;
    const lookup = mapListLookup(s, old);
    const itemEmbedded = items["x-kubernetes-embedded-resource"] === true;
    for (let i = 0; i < v.length; i++) {
      const oldItem = lookup?.(v[i]);
      const childRatchet = ctx.update && lookup ? oldItem !== undefined && deepEqualJSON(v[i], oldItem) : ratchet;
      walk(v[i], oldItem, items, itemEmbedded, false, `${path ?? ""}[${i}]`, childRatchet, ctx);
    }
    return;
  }
  if (!isObject(v)) return;
  const oldObj = isObject(old) ? old : undefined;
  const ap = additionalSchema(s);
  for (const k of Object.keys(v)) {
    if (root && META.has(k)) continue;
    let sub: JSONSchemaProps | undefined = propertyOf(s, k);
    let p: string;
    if (sub) {
      p = childPath(path, k);
    } else if (ap) {
      sub = ap;
      p = `${path ?? ""}[${k}]`;
    } else continue;
    if (!rulesBelow(sub).any) continue;
    const oldV = oldObj && hasOwn(oldObj, k) ? oldObj[k] : undefined;
    const childRatchet = ctx.update ? oldV !== undefined && deepEqualJSON(v[k], oldV) : false;
    walk(v[k], oldV, sub, sub["x-kubernetes-embedded-resource"] === true, false, p, childRatchet, ctx);
  }
}

/**
 * Evaluates every `x-kubernetes-validations` rule that applies to `obj`. Failures are causes at
 * the rule's node (`<nil>` at the root, as kube-apiserver prints a nil field path) or at its
 * `fieldPath`, with `reason` (default FieldValueInvalid) and the message, messageExpression or
 * `failed rule: <rule>`. Runtime errors are reported as FieldValueInvalid causes, never thrown.
 */
export function validateRules(
  obj: unknown,
  schema: JSONSchemaProps,
  opts: { oldObj?: unknown; root?: boolean; basePath?: string } = {},
): StatusCause[] {
  const ctx: EvalCtx = { out: [], memo: new Map(), update: opts.oldObj !== undefined };
  const root = opts.root === true;
  const s = schemaNode(schema);
  const ratchet = ctx.update && deepEqualJSON(obj, opts.oldObj);
  const embedded = root || s["x-kubernetes-embedded-resource"] === true;
  walk(obj, opts.oldObj ?? undefined, s, embedded, root, opts.basePath ?? null, ratchet, ctx);
  return ctx.out;
}
