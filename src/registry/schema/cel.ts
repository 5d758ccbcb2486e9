/**
 * `x-kubernetes-validations`: CEL rules of CRD schemas, compiled with @bufbuild/cel and evaluated
 * as kube-apiserver 1.32 does.
 *
 * - `self` is the value at the schema node, typed by the schema: integers are CEL `int`, numbers
 *   `double`, objects maps keyed by their (escaped: `__namespace__`, `a__dash__b`) property names,
 *   `additionalProperties` objects plain maps, arrays lists, int-or-string values stay dynamic,
 *   `format: byte` strings become bytes, `date`/`date-time` timestamps and `duration` durations.
 *   At a resource root (and an embedded resource) only `apiVersion`, `kind` and
 *   `metadata.name`/`metadata.generateName` are visible besides the schema's own properties.
 * - Transition rules (those naming `oldSelf`) run on update only when the old value correlates
 *   (object keys, `x-kubernetes-list-type: map` items by key); with `optionalOldSelf` they always
 *   run and `oldSelf` is an optional. On update, failures of other rules on values that did not
 *   change are dropped (validation ratcheting, on by default in 1.32).
 * - A static check rejects what cel-go's type checker rejects most often: unknown variables and
 *   functions, fields a schema does not declare (also inside `has()`), and rules that cannot
 *   evaluate to a bool. It is not a full type checker (operator overloads are checked at runtime).
 *
 * Not implemented: the cost budget (estimated and runtime), two-variable comprehensions, and the
 * libraries listed in cel-library.ts. Lists of type set/map compare order-sensitively with `==`.
 * @module
 */

import { type CelInput, celEnv, isCelError, parse, plan } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import type { StatusCause } from "../../lib/api-errors.ts";
import { FUNCTION_RESULTS, KNOWN_FUNCTIONS, k8sLibrary, optionalNone, optionalOf } from "./cel-library.ts";
import { parseGoDuration } from "./formats.ts";
import { compileGoRegex } from "./go-regex.ts";
import { goField, goQuote } from "./go-format.ts";
import type { JSONSchemaProps, ValidationRule } from "./types.ts";

const env = celEnv({
  funcs: [...strings, ...k8sLibrary],
  re2: { compile: (pattern: string) => compileGoRegex(pattern) },
});

type Program = ReturnType<typeof plan>;
type ParsedExpr = ReturnType<typeof parse>;
type Expr = ParsedExpr["expr"];

// --- property name escaping -------------------------------------------------------------------

const RESERVED = new Set(
  "true false null in as break const continue else for function if import let loop package namespace return var void while".split(" "),
);

/** The CEL field name of an object property (k8s.io/apiserver/pkg/cel Escape), or undefined. */
export function celEscape(ident: string): string | undefined {
  if (ident === "" || (ident[0] >= "0" && ident[0] <= "9")) return undefined;
  if (RESERVED.has(ident)) return `__${ident}__`;
  if (!/^[A-Za-z0-9_./-]+$/.test(ident)) return undefined;
  return ident.replace(/__|[./-]/g, (m) =>
    m === "__" ? "__underscores__" : m === "." ? "__dot__" : m === "-" ? "__dash__" : "__slash__",
  );
}

// --- values -------------------------------------------------------------------------------------

type Memo = Map<object, { s: JSONSchemaProps | undefined; embedded: boolean; v: CelInput }>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function genericToCel(v: unknown): CelInput {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(genericToCel);
  if (isObject(v)) {
    const m = new Map<string, CelInput>();
    for (const k of Object.keys(v)) m.set(k, genericToCel(v[k]));
    return m;
  }
  return v as CelInput;
}

function timestampOf(s: string): CelInput | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?$/.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(m[2] ? `${m[1]}T${m[2]}${m[4].toUpperCase()}` : `${m[1]}T00:00:00Z`);
  if (Number.isNaN(ms)) return undefined;
  const nanos = m[3] ? Number(m[3].slice(1).padEnd(9, "0").slice(0, 9)) : 0;
  return { $typeName: "google.protobuf.Timestamp", seconds: BigInt(Math.floor(ms / 1000)), nanos } as unknown as CelInput;
}

function durationOf(s: string): CelInput | undefined {
  const ns = parseGoDuration(s);
  if (ns === null) return undefined;
  const seconds = Math.trunc(ns / 1e9);
  return { $typeName: "google.protobuf.Duration", seconds: BigInt(seconds), nanos: Math.round(ns - seconds * 1e9) } as unknown as CelInput;
}

function bytesOf(s: string): CelInput | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(s, "base64"));
}

function metaToCel(v: unknown): CelInput {
  const m = new Map<string, CelInput>();
  if (isObject(v)) {
    if (typeof v.name === "string") m.set("name", v.name);
    if (typeof v.generateName === "string") m.set("generateName", v.generateName);
  }
  return m;
}

/** Converts a JSON value to its CEL representation under a schema. */
export function toCel(v: unknown, s: JSONSchemaProps | undefined, embedded = false, memo?: Memo): CelInput {
  if (v === null || v === undefined) return null;
  if (!s) return genericToCel(v);
  if (typeof v === "object" && memo) {
    const hit = memo.get(v as object);
    if (hit && hit.s === s && hit.embedded === embedded) return hit.v;
  }
  const out = convert(v, s, embedded, memo);
  if (typeof v === "object" && memo) memo.set(v as object, { s, embedded, v: out });
  return out;
}

function convert(v: unknown, s: JSONSchemaProps, embedded: boolean, memo?: Memo): CelInput {
  if (s["x-kubernetes-int-or-string"]) return genericToCel(v);
  switch (s.type) {
    case "integer":
      return typeof v === "number" && Number.isInteger(v) ? BigInt(v) : genericToCel(v);
    case "number":
      return typeof v === "number" ? v : genericToCel(v);
    case "string":
      if (typeof v !== "string") return genericToCel(v);
      switch (s.format) {
        case "byte":
          return bytesOf(v) ?? v;
        case "date":
        case "date-time":
          return timestampOf(v) ?? v;
        case "duration":
          return durationOf(v) ?? v;
      }
      return v;
    case "array": {
      if (!Array.isArray(v)) return genericToCel(v);
      const items = s.items;
      const itemEmbedded = items?.["x-kubernetes-embedded-resource"] === true;
      return v.map((x) => toCel(x, items, itemEmbedded, memo));
    }
    case "object": {
      if (!isObject(v)) return genericToCel(v);
      const m = new Map<string, CelInput>();
      const ap = typeof s.additionalProperties === "object" ? s.additionalProperties : undefined;
      if (ap) {
        const apEmbedded = ap["x-kubernetes-embedded-resource"] === true;
        for (const k of Object.keys(v)) m.set(k, toCel(v[k], ap, apEmbedded, memo));
        return m;
      }
      const props = s.properties;
      if (!props && !embedded) return genericToCel(v);
      for (const k of Object.keys(v)) {
        if (embedded && (k === "apiVersion" || k === "kind")) {
          m.set(k, genericToCel(v[k]));
          continue;
        }
        if (embedded && k === "metadata") {
          m.set(k, metaToCel(v[k]));
          continue;
        }
        const prop = props && Object.hasOwn(props, k) ? props[k] : undefined;
        if (!prop) continue;
        const name = celEscape(k);
        if (name !== undefined) m.set(name, toCel(v[k], prop, prop["x-kubernetes-embedded-resource"] === true, memo));
      }
      return m;
    }
  }
  return genericToCel(v);
}

// --- static checking --------------------------------------------------------------------------

type CT =
  | { k: "schema"; s: JSONSchemaProps; embedded: boolean }
  | { k: "meta" }
  | { k: "list"; elem: CT }
  | { k: "map"; val: CT }
  | { k: "dyn" | "bool" | "int" | "uint" | "double" | "string" | "bytes" | "null" | "timestamp" | "duration" | "type" | "optional" };

const DYN: CT = { k: "dyn" };
const prim = (k: "bool" | "int" | "uint" | "double" | "string" | "bytes" | "null" | "timestamp" | "duration" | "type" | "optional"): CT => ({ k });

/** Whether a property is visible to CEL (kube-apiserver drops properties without a CEL type). */
function declared(s: JSONSchemaProps): boolean {
  if (s["x-kubernetes-int-or-string"]) return true;
  if (s.type === "array") return s.items !== undefined && declared(s.items);
  return s.type !== undefined;
}

function schemaType(s: JSONSchemaProps | undefined, embedded: boolean): CT {
  if (!s || s["x-kubernetes-int-or-string"]) return DYN;
  switch (s.type) {
    case "object": {
      const ap = typeof s.additionalProperties === "object" ? s.additionalProperties : undefined;
      if (ap) return { k: "map", val: schemaType(ap, ap["x-kubernetes-embedded-resource"] === true) };
      return { k: "schema", s, embedded };
    }
    case "array":
      return s.items ? { k: "list", elem: schemaType(s.items, s.items["x-kubernetes-embedded-resource"] === true) } : DYN;
    case "string":
      if (s.format === "byte") return prim("bytes");
      if (s.format === "date" || s.format === "date-time") return prim("timestamp");
      if (s.format === "duration") return prim("duration");
      return prim("string");
    case "boolean":
      return prim("bool");
    case "integer":
      return prim("int");
    case "number":
      return prim("double");
  }
  return DYN;
}

function typeName(t: CT): string {
  switch (t.k) {
    case "schema":
    case "meta":
      return "object";
    case "list":
      return "list";
    case "map":
      return "map";
  }
  return t.k;
}

interface Issue {
  id: bigint;
  message: string;
}

const TYPE_IDENTS = new Set(["int", "uint", "double", "string", "bytes", "bool", "list", "map", "null_type", "type", "dyn"]);

class Checker {
  readonly issues: Issue[] = [];
  constructor(private readonly scope: Map<string, CT>) {}

  private issue(e: Expr, message: string): void {
    this.issues.push({ id: e.id, message });
  }

  select(e: Expr, t: CT, field: string): CT {
    switch (t.k) {
      case "schema": {
        if (t.embedded && (field === "apiVersion" || field === "kind")) return prim("string");
        if (t.embedded && field === "metadata") return { k: "meta" };
        const props = t.s.properties ?? {};
        for (const name of Object.keys(props)) {
          if (celEscape(name) === field && declared(props[name])) {
            return schemaType(props[name], props[name]["x-kubernetes-embedded-resource"] === true);
          }
        }
        this.issue(e, `undefined field '${field}'`);
        return DYN;
      }
      case "meta":
        if (field === "name" || field === "generateName") return prim("string");
        this.issue(e, `undefined field '${field}'`);
        return DYN;
      case "map":
        return t.val;
      case "dyn":
        return DYN;
      default:
        this.issue(e, `type '${typeName(t)}' does not support field selection`);
        return DYN;
    }
  }

  check(e: Expr, scope: Map<string, CT> = this.scope): CT {
    const kind = e.exprKind;
    switch (kind.case) {
      case "constExpr":
        switch (kind.value.constantKind.case) {
          case "boolValue":
            return prim("bool");
          case "int64Value":
            return prim("int");
          case "uint64Value":
            return prim("uint");
          case "doubleValue":
            return prim("double");
          case "stringValue":
            return prim("string");
          case "bytesValue":
            return prim("bytes");
          case "nullValue":
            return prim("null");
        }
        return DYN;
      case "identExpr": {
        const t = scope.get(kind.value.name);
        if (t) return t;
        if (TYPE_IDENTS.has(kind.value.name)) return prim("type");
        this.issue(e, `undeclared reference to '${kind.value.name}' (in container '')`);
        return DYN;
      }
      case "selectExpr": {
        const t = this.select(e, this.check(kind.value.operand!, scope), kind.value.field);
        return kind.value.testOnly ? prim("bool") : t;
      }
      case "callExpr":
        return this.call(e, kind.value, scope);
      case "listExpr": {
        const elems = kind.value.elements.map((x) => this.check(x, scope));
        return { k: "list", elem: elems[0] ?? DYN };
      }
      case "structExpr":
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === "mapKey") this.check(entry.keyKind.value, scope);
          if (entry.value) this.check(entry.value, scope);
        }
        return kind.value.messageName ? DYN : { k: "map", val: DYN };
      case "comprehensionExpr": {
        const c = kind.value;
        const range = this.check(c.iterRange!, scope);
        const inner = new Map(scope);
        let iterT: CT = DYN;
        if (range.k === "list") iterT = c.iterVar2 ? prim("int") : range.elem;
        else if (range.k === "map") iterT = prim("string");
        inner.set(c.iterVar, iterT);
        if (c.iterVar2) inner.set(c.iterVar2, range.k === "list" ? range.elem : range.k === "map" ? range.val : DYN);
        inner.set(c.accuVar, this.check(c.accuInit!, scope));
        if (c.loopCondition) this.check(c.loopCondition, inner);
        if (c.loopStep) this.check(c.loopStep, inner);
        return c.result ? this.check(c.result, inner) : DYN;
      }
    }
    return DYN;
  }

  private call(e: Expr, c: { function: string; target?: Expr; args: Expr[] }, scope: Map<string, CT>): CT {
    const fn = c.function;
    const target = c.target;
    if (target?.exprKind.case === "identExpr" && !scope.has(target.exprKind.value.name)) {
      const qualified = `${target.exprKind.value.name}.${fn}`;
      if (KNOWN_FUNCTIONS.has(qualified)) {
        for (const a of c.args) this.check(a, scope);
        return qualified.startsWith("optional.") ? prim("optional") : resultType(qualified, DYN);
      }
    }
    const tt = target ? this.check(target, scope) : undefined;
    const args = c.args.map((a) => this.check(a, scope));
    switch (fn) {
      case "_&&_":
      case "_||_":
      case "!_":
      case "_==_":
      case "_!=_":
      case "_<_":
      case "_<=_":
      case "_>_":
      case "_>=_":
      case "@in":
      case "@not_strictly_false":
        return prim("bool");
      case "_?_:_":
        return args[1]?.k === args[2]?.k ? args[1] : DYN;
      case "_[_]": {
        const t = args[0];
        if (t?.k === "list") return t.elem;
        if (t?.k === "map") return t.val;
        return DYN;
      }
      case "_+_":
        if (args[0]?.k === "list" && args[1]?.k === "list") return { k: "list", elem: DYN };
        return args[0]?.k === args[1]?.k ? numericOrString(args[0]) : DYN;
      case "_-_":
      case "_*_":
      case "_/_":
      case "_%_":
        return args[0]?.k === args[1]?.k ? numericOrString(args[0]) : DYN;
      case "-_":
        return numericOrString(args[0]);
    }
    if (!KNOWN_FUNCTIONS.has(fn)) {
      this.issue(e, `undeclared reference to '${fn}' (in container '')`);
      return DYN;
    }
    if ((fn === "min" || fn === "max" || fn === "sum") && tt?.k === "list") return tt.elem;
    return resultType(fn, DYN);
  }
}

function numericOrString(t: CT | undefined): CT {
  if (!t) return DYN;
  return t.k === "int" || t.k === "uint" || t.k === "double" || t.k === "string" || t.k === "duration" || t.k === "timestamp" ? t : DYN;
}

function resultType(fn: string, fallback: CT): CT {
  switch (fn) {
    case "type":
      return prim("type");
    case "timestamp":
      return prim("timestamp");
    case "duration":
      return prim("duration");
    case "bytes":
      return prim("bytes");
    case "split":
    case "findAll":
      return { k: "list", elem: prim("string") };
  }
  const r = FUNCTION_RESULTS[fn];
  if (!r || r === "dyn") return fallback;
  if (r === "list") return { k: "list", elem: DYN };
  return prim(r);
}

function usesIdent(e: Expr | undefined, name: string): boolean {
  if (!e) return false;
  const k = e.exprKind;
  switch (k.case) {
    case "identExpr":
      return k.value.name === name;
    case "selectExpr":
      return usesIdent(k.value.operand, name);
    case "callExpr":
      return usesIdent(k.value.target, name) || k.value.args.some((a) => usesIdent(a, name));
    case "listExpr":
      return k.value.elements.some((a) => usesIdent(a, name));
    case "structExpr":
      return k.value.entries.some((en) => (en.keyKind.case === "mapKey" && usesIdent(en.keyKind.value, name)) || usesIdent(en.value, name));
    case "comprehensionExpr": {
      const c = k.value;
      return [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].some((x) => usesIdent(x, name));
    }
  }
  return false;
}

// --- compilation ----------------------------------------------------------------------------------

type Parsed = { ok: true; parsed: ParsedExpr; program: Program } | { ok: false; line: number; column: number; message: string };

const parseCache = new Map<string, Parsed>();

function parseExpr(text: string): Parsed {
  let hit = parseCache.get(text);
  if (hit) return hit;
  try {
    const parsed = parse(text);
    hit = { ok: true, parsed, program: plan(env, parsed) };
  } catch (e) {
    const msg = (e as Error).message;
    const m = /^<input>:(\d+):(\d+): (.*)$/s.exec(msg);
    hit = m ? { ok: false, line: Number(m[1]), column: Number(m[2]) - 1, message: m[3] } : { ok: false, line: 1, column: 0, message: msg };
  }
  if (parseCache.size > 10000) parseCache.clear();
  parseCache.set(text, hit);
  return hit;
}

/** cel-go's rendering of an issue: `ERROR: <input>:L:C: msg` plus the source line and a caret. */
function renderIssue(text: string, line: number, column: number, message: string): string {
  const src = text.split("\n")[line - 1] ?? "";
  return `ERROR: <input>:${line}:${column + 1}: ${message}\n | ${src}\n | ${".".repeat(column)}^`;
}

function positionOf(text: string, parsed: ParsedExpr, id: bigint): { line: number; column: number } {
  const offset = parsed.sourceInfo?.positions[String(id)] ?? 0;
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - (before.lastIndexOf("\n") + 1) };
}

interface CompiledExpr {
  program?: Program;
  /** `compilation failed: ...` or `cel expression must evaluate to a bool`. */
  error?: string;
}

function compileExpr(text: string, scope: Map<string, CT>, want: "bool" | "string"): CompiledExpr {
  const p = parseExpr(text);
  if (!p.ok) return { error: `compilation failed: ${renderIssue(text, p.line, p.column, `Syntax error: ${p.message}`)}` };
  const checker = new Checker(scope);
  const t = checker.check(p.parsed.expr);
  if (checker.issues.length) {
    const rendered = checker.issues.map((i) => {
      const pos = positionOf(text, p.parsed, i.id);
      return renderIssue(text, pos.line, pos.column, i.message);
    });
    return { error: `compilation failed: ${rendered.join("\n")}` };
  }
  const ok = t.k === "dyn" || (want === "bool" ? t.k === "bool" : t.k === "string");
  if (!ok) return { error: want === "bool" ? "cel expression must evaluate to a bool" : "messageExpression must evaluate to a string" };
  return { program: p.program };
}

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
  const self = schemaType(s, embedded);
  hit = (s["x-kubernetes-validations"] ?? []).map((rule) => {
    const text = rule.rule ?? "";
    const p = parseExpr(text);
    const usesOldSelf = p.ok && usesIdent(p.parsed.expr, "oldSelf");
    const scope = new Map<string, CT>([["self", self]]);
    scope.set("oldSelf", rule.optionalOldSelf ? prim("optional") : self);
    const compiled = compileExpr(text, scope, "bool");
    const out: CompiledRule = { rule, usesOldSelf, program: compiled.program, error: compiled.error };
    if (rule.messageExpression?.trim()) {
      const m = compileExpr(rule.messageExpression, scope, "string");
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
    if (s?.properties) {
      if (!Object.hasOwn(s.properties, name)) throw new Error("does not refer to a valid field");
      path = path ? `${path}.${name}` : name;
      s = s.properties[name];
    } else if (s && typeof s.additionalProperties === "object") {
      path = `${path}[${name}]`;
      s = s.additionalProperties;
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
  walkRules(schema, opts.path ?? "spec.validation.openAPIV3Schema", true, undefined, out);
  return out;
}

const hasNewline = (s: string): boolean => s.includes("\n");

function walkRules(s: JSONSchemaProps, path: string, embedded: boolean, forbidOldSelfWithin: string | undefined, out: StatusCause[]): void {
  const rules = s["x-kubernetes-validations"] ?? [];
  if (rules.length) {
    const compiled = compiledRules(s, embedded);
    let staticErrors = false;
    rules.forEach((rule, i) => {
      const rp = `${path}.x-kubernetes-validations[${i}]`;
      const trimmedRule = (rule.rule ?? "").trim();
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
  for (const [k, prop] of Object.entries(s.properties ?? {})) {
    walkRules(prop, `${path}.properties[${k}]`, prop["x-kubernetes-embedded-resource"] === true, forbidOldSelfWithin, out);
  }
  if (s.items) {
    const forbid = s["x-kubernetes-list-type"] === "map" ? forbidOldSelfWithin : (forbidOldSelfWithin ?? path);
    walkRules(s.items, `${path}.items`, s.items["x-kubernetes-embedded-resource"] === true, forbid, out);
  }
  if (typeof s.additionalProperties === "object") {
    const ap = s.additionalProperties;
    walkRules(ap, `${path}.additionalProperties`, ap["x-kubernetes-embedded-resource"] === true, forbidOldSelfWithin, out);
  }
  s.allOf?.forEach((sub, i) => walkRules(sub, `${path}.allOf[${i}]`, embedded, forbidOldSelfWithin, out));
}

// --- evaluation -------------------------------------------------------------------------------

const subtreeRules = new WeakMap<JSONSchemaProps, { any: boolean; transition: boolean }>();

/** Whether a schema node or anything below it has rules (and transition rules). */
function rulesBelow(s: JSONSchemaProps | undefined): { any: boolean; transition: boolean } {
  if (!s) return { any: false, transition: false };
  let hit = subtreeRules.get(s);
  if (hit) return hit;
  hit = { any: false, transition: false };
  subtreeRules.set(s, hit); // guards against cycles
  const own = s["x-kubernetes-validations"] ?? [];
  if (own.length) {
    hit.any = true;
    if (own.some((r) => /\boldSelf\b/.test(r.rule ?? ""))) hit.transition = true;
  }
  const children: (JSONSchemaProps | undefined)[] = [
    ...Object.values(s.properties ?? {}),
    s.items,
    typeof s.additionalProperties === "object" ? s.additionalProperties : undefined,
    ...(s.allOf ?? []),
  ];
  for (const c of children) {
    const r = rulesBelow(c);
    hit.any ||= r.any;
    hit.transition ||= r.transition;
  }
  return hit;
}

export function deepEqualJSON(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqualJSON(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !deepEqualJSON((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** Old items of a `x-kubernetes-list-type: map` list, looked up by the new item's keys. */
export function mapListLookup(s: JSONSchemaProps, old: unknown): ((item: unknown) => unknown) | undefined {
  const keys = s["x-kubernetes-list-map-keys"];
  if (s["x-kubernetes-list-type"] !== "map" || !keys?.length || !Array.isArray(old)) return undefined;
  const keyOf = (item: unknown): string | undefined => {
    if (!isObject(item)) return undefined;
    return JSON.stringify(keys.map((k) => (Object.hasOwn(item, k) ? item[k] : undefined) ?? null));
  };
  const index = new Map<string, unknown>();
  for (const item of old) {
    const k = keyOf(item);
    if (k !== undefined && !index.has(k)) index.set(k, item);
  }
  return (item) => {
    const k = keyOf(item);
    return k === undefined ? undefined : index.get(k);
  };
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
  return rule.message?.trim() ? rule.message.trim() : (rule.rule ?? "").trim();
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
  if (isCelError(result) || typeof result !== "string") return undefined;
  const msg = result.trim();
  if (!msg || msg.includes("\n") || Buffer.byteLength(msg) > 5 * 1024) return undefined;
  return msg;
}

function evaluateRules(v: unknown, old: unknown, s: JSONSchemaProps, embedded: boolean, path: string | null, ratchet: boolean, ctx: EvalCtx): void {
  const rules = compiledRules(s, embedded);
  if (!rules.length) return;
  const type = s.type ?? "";
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
      bindings.oldSelf = c.rule.optionalOldSelf ? (hasOld ? optionalOf(oldSelf!) : optionalNone()) : oldSelf!;
    }
    let result: unknown;
    try {
      result = c.program(bindings);
    } catch (e) {
      result = e instanceof Error ? e : new Error(String(e));
    }
    if (result === true) continue;
    if (isCelError(result) || result instanceof Error) {
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
  for (const sub of s.allOf ?? []) evaluateRules(v, old, sub, embedded, path, ratchet, ctx);
  if (Array.isArray(v)) {
    const items = s.items;
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
  const ap = typeof s.additionalProperties === "object" ? s.additionalProperties : undefined;
  const props = s.properties;
  for (const k of Object.keys(v)) {
    if (root && META.has(k)) continue;
    let sub: JSONSchemaProps | undefined;
    let p: string;
    if (props && Object.hasOwn(props, k)) {
      sub = props[k];
      p = childPath(path, k);
    } else if (ap) {
      sub = ap;
      p = `${path ?? ""}[${k}]`;
    } else continue;
    if (!rulesBelow(sub).any) continue;
    const oldV = oldObj && Object.hasOwn(oldObj, k) ? oldObj[k] : undefined;
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
  const ratchet = ctx.update && deepEqualJSON(obj, opts.oldObj);
  const embedded = root || schema["x-kubernetes-embedded-resource"] === true;
  walk(obj, opts.oldObj ?? undefined, schema, embedded, root, opts.basePath ?? null, ratchet, ctx);
  return ctx.out;
}
