/**
 * Kubernetes label selectors: the query-string syntax (`labelSelector=tier in (a,b),!canary`) and the
 * object form (`{matchLabels, matchExpressions}`), with the semantics and error wording of
 * k8s.io/apimachinery `pkg/labels` and `metav1.LabelSelectorAsSelector`.
 *
 * Grammar (comma = AND, blanks between tokens ignored):
 * ```
 * selector    ::= requirement ("," requirement)*
 * requirement ::= ["!"] KEY | KEY ("=" | "==" | "!=" | ">" | "<") VALUE | KEY ("in" | "notin") "(" VALUE ("," VALUE)* ")"
 * ```
 * KEY is `[DNS-1123 subdomain "/"] name`, name ≤ 63 chars of `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`;
 * VALUE is empty or the same pattern, ≤ 63 chars. Errors are thrown as `badRequest` with upstream messages.
 * @module
 */

import { badRequest } from "../api-errors.ts";

/** Operator names as `k8s.io/apimachinery/pkg/selection` spells them. */
export type LabelOperator = "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** As given (the string parser hands them over de-duplicated and sorted). */
  readonly values: readonly string[];
}

/** The object form (metav1.LabelSelector). */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: LabelSelectorObjectRequirement[] | null;
}

export interface LabelSelectorObjectRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | (string & {});
  values?: string[] | null;
}

export type Labels = Readonly<Record<string, string>>;

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** A parsed selector: the AND of its requirements, kept sorted by key. */
export class LabelSelector {
  readonly requirements: readonly LabelRequirement[];

  /** Use {@link parseLabelSelector}, {@link labelSelectorFromObject} or {@link labelSelectorFromSet}. */
  constructor(
    requirements: readonly LabelRequirement[],
    /** True only for the selector of a nil object selector, which matches nothing. */
    readonly matchesNothing = false,
  ) {
    this.requirements = sortByKey(requirements);
  }

  /** True when the selector does not restrict anything (matches every object). */
  get empty(): boolean {
    return !this.matchesNothing && this.requirements.length === 0;
  }

  matches(labels?: Labels | null): boolean {
    if (this.matchesNothing) return false;
    const ls = labels ?? {};
    return this.requirements.every((r) => requirementMatches(r, ls));
  }

  /** The value `key` must equal, when a requirement pins it to exactly one value (`=`, `==`, `in (v)`). */
  requiresExactMatch(key: string): string | undefined {
    if (this.matchesNothing) return undefined;
    const r = this.requirements.find((q) => q.key === key);
    if (!r || r.values.length !== 1) return undefined;
    return r.operator === "=" || r.operator === "==" || r.operator === "in" ? r.values[0] : undefined;
  }

  /** Canonical text, as labels.Selector.String() renders it (`a=b,c in (x,y),!d`); "" for empty / nothing. */
  toString(): string {
    return this.requirements.map(requirementString).join(",");
  }
}

/** Matches every object. */
export const everythingSelector: LabelSelector = new LabelSelector([]);
/** Matches no object (the selector of a nil LabelSelector). */
export const nothingSelector: LabelSelector = new LabelSelector([], true);

function sortByKey(reqs: readonly LabelRequirement[]): LabelRequirement[] {
  // Array.prototype.sort is stable; keys compare as Go compares strings (bytewise ≈ code points).
  return [...reqs].sort((a, b) => compareCodePoints(a.key, b.key));
}

export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const cx = x.value.codePointAt(0) ?? 0;
    const cy = y.value.codePointAt(0) ?? 0;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64) */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

function requirementMatches(r: LabelRequirement, ls: Labels): boolean {
  const has = hasOwn(ls, r.key);
  const value = has ? ls[r.key] : undefined;
  switch (r.operator) {
    case "=":
    case "==":
    case "in":
      return has && r.values.includes(value as string);
    case "!=":
    case "notin":
      return !has || !r.values.includes(value as string);
    case "exists":
      return has;
    case "!":
      return !has;
    case "gt":
    case "lt": {
      if (!has || r.values.length !== 1) return false;
      const lv = parseInt64(value as string);
      const rv = parseInt64(r.values[0]);
      if (lv === undefined || rv === undefined) return false;
      return r.operator === "gt" ? lv > rv : lv < rv;
    }
  }
}

const OPERATOR_TEXT: Record<LabelOperator, string> = {
  "=": "=",
  "==": "==",
  "!=": "!=",
  in: " in ",
  notin: " notin ",
  gt: ">",
  lt: "<",
  exists: "",
  "!": "",
};

function requirementString(r: LabelRequirement): string {
  if (r.operator === "exists") return r.key;
  if (r.operator === "!") return `!${r.key}`;
  const values = r.values.length === 1 ? r.values[0] : [...r.values].sort(compareCodePoints).join(",");
  const set = r.operator === "in" || r.operator === "notin";
  return `${r.key}${OPERATOR_TEXT[r.operator]}${set ? `(${values})` : values}`;
}

// ---------------------------------------------------------------------------------------------
// Validation (k8s.io/apimachinery/pkg/util/validation, field.Error rendering)
// ---------------------------------------------------------------------------------------------

const QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_RE = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
const QUALIFIED_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

const byteLength = (s: string) => Buffer.byteLength(s, "utf8");

/** The upstream RegexError text, examples included. */
function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (!examples.length) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(" or ")}regex used for validation is '${fmt}')`;
}

/** validation.IsQualifiedName: the messages, empty when valid. */
export function qualifiedNameErrors(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) {
      errs.push("prefix part must be non-empty");
    } else {
      if (byteLength(prefix) > 253) errs.push("prefix part must be no more than 253 characters");
      if (!DNS1123_SUBDOMAIN_RE.test(prefix)) {
        errs.push(`prefix part ${regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com")}`);
      }
    }
  } else {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")}` +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else if (byteLength(name) > 63) errs.push("name part must be no more than 63 characters");
  if (!QUALIFIED_NAME_RE.test(name)) {
    errs.push(`name part ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")}`);
  }
  return errs;
}

/** validation.IsValidLabelValue: the messages, empty when valid. */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push("must be no more than 63 characters");
  if (!LABEL_VALUE_RE.test(value)) errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"));
  return errs;
}

const GO_ESCAPES: Record<string, string> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
  '"': '\\"',
  "\\": "\\\\",
};

/** Go's %q, for ASCII control characters included (other non-printable runes are left as they are). */
function goQuote(s: string): string {
  let out = '"';
  for (const c of s) {
    const code = c.codePointAt(0) ?? 0;
    if (GO_ESCAPES[c]) out += GO_ESCAPES[c];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += c;
  }
  return `${out}"`;
}

/** Go's %#v of a []string. */
function goStringSlice(vals: readonly string[] | null): string {
  if (vals === null) return "[]string(nil)";
  return `[]string{${vals.map(goQuote).join(", ")}}`;
}

/** One field.Error: `path: Invalid value: "v": detail`. */
function invalid(path: string, value: string, detail: string): string {
  return `${path}: Invalid value: ${value}: ${detail}`;
}

/** utilerrors aggregate rendering: one message alone, several de-duplicated in brackets. */
function aggregate(msgs: string[]): string {
  const unique = [...new Set(msgs)];
  return unique.length === 1 ? unique[0] : `[${unique.join(", ")}]`;
}

const BINARY_OPERATORS: readonly LabelOperator[] = ["in", "notin", "=", "==", "!=", "gt", "lt"];
const ALL_OPERATORS: readonly LabelOperator[] = [...BINARY_OPERATORS, "exists", "!"];

/**
 * labels.NewRequirement: validates and builds one requirement; throws `badRequest` with the aggregated
 * field errors. `values` of null stands for a Go nil slice (only visible in error text).
 */
export function newLabelRequirement(key: string, operator: LabelOperator, values: readonly string[] | null): LabelRequirement {
  const errs: string[] = [];
  const keyErrs = qualifiedNameErrors(key);
  if (keyErrs.length) errs.push(invalid("key", goQuote(key), keyErrs.join("; ")));
  const vals = values ?? [];
  switch (operator) {
    case "in":
    case "notin":
      if (vals.length === 0) {
        errs.push(invalid("values", goStringSlice(values), "for 'in', 'notin' operators, values set can't be empty"));
      }
      break;
    case "=":
    case "==":
    case "!=":
      if (vals.length !== 1) {
        errs.push(invalid("values", goStringSlice(values), "exact-match compatibility requires one single value"));
      }
      break;
    case "exists":
    case "!":
      if (vals.length !== 0) {
        errs.push(invalid("values", goStringSlice(values), "values set must be empty for exists and does not exist"));
      }
      break;
    case "gt":
    case "lt":
      if (vals.length !== 1) {
        errs.push(invalid("values", goStringSlice(values), "for 'Gt', 'Lt' operators, exactly one value is required"));
      }
      vals.forEach((v, i) => {
        if (parseInt64(v) === undefined) {
          errs.push(invalid(`values[${i}]`, goQuote(v), "for 'Gt', 'Lt' operators, the value must be an integer"));
        }
      });
      break;
    default: {
      const op: string = operator;
      errs.push(
        `operator: Unsupported value: ${goQuote(op)}: supported values: ${ALL_OPERATORS.map(goQuote).join(", ")}`,
      );
    }
  }
  vals.forEach((v, i) => {
    const vErrs = labelValueErrors(v);
    if (vErrs.length) errs.push(invalid(`values[${i}][${key}]`, goQuote(v), vErrs.join("; ")));
  });
  if (errs.length) throw badRequest(aggregate(errs));
  return { key, operator, values: [...vals] };
}

// ---------------------------------------------------------------------------------------------
// Object form
// ---------------------------------------------------------------------------------------------

const OBJECT_OPERATORS: Record<string, LabelOperator> = {
  In: "in",
  NotIn: "notin",
  Exists: "exists",
  DoesNotExist: "!",
};

/**
 * metav1.LabelSelectorAsSelector: nil → matches nothing; `{}` (no labels, no expressions) → matches
 * everything; otherwise the AND of `key=value` per matchLabels entry and one requirement per expression.
 */
export function labelSelectorFromObject(sel: LabelSelectorObject | null | undefined): LabelSelector {
  if (sel === null || sel === undefined) return nothingSelector;
  const matchLabels = sel.matchLabels ?? {};
  const expressions = sel.matchExpressions ?? [];
  const labelKeys = Object.keys(matchLabels).sort(compareCodePoints);
  if (labelKeys.length + expressions.length === 0) return everythingSelector;
  const reqs: LabelRequirement[] = labelKeys.map((k) => newLabelRequirement(k, "=", [matchLabels[k]]));
  for (const expr of expressions) {
    const op = hasOwn(OBJECT_OPERATORS, expr.operator) ? OBJECT_OPERATORS[expr.operator] : undefined;
    if (!op) throw badRequest(`${goQuote(String(expr.operator))} is not a valid label selector operator`);
    const values = expr.values && expr.values.length ? [...expr.values] : null;
    reqs.push(newLabelRequirement(expr.key, op, values));
  }
  return new LabelSelector(reqs);
}

/** labels.SelectorFromSet: `k=v` for every entry, not validated; nil / empty → everything. */
export function labelSelectorFromSet(set: Labels | null | undefined): LabelSelector {
  if (!set) return everythingSelector;
  return new LabelSelector(Object.keys(set).map((k) => ({ key: k, operator: "=" as const, values: [set[k]] })));
}

// ---------------------------------------------------------------------------------------------
// String form: lexer and parser (behaviour of labels.Parse)
// ---------------------------------------------------------------------------------------------

type TokenKind =
  | "end"
  | "ident"
  | "("
  | ")"
  | ","
  | "!"
  | "="
  | "=="
  | "!="
  | ">"
  | "<"
  | "in"
  | "notin";

interface Token {
  kind: TokenKind;
  text: string;
}

const SYMBOL_TOKENS = new Set(["(", ")", ",", "!", "=", "==", "!=", ">", "<"]);
const KEYWORDS: Record<string, TokenKind> = { in: "in", notin: "notin" };

const isBlank = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\n";
const isSymbol = (c: string) => c === "=" || c === "!" || c === "(" || c === ")" || c === "," || c === ">" || c === "<";

/** Splits the selector into tokens, ending with one "end" token. A NUL character reads as end of input. */
function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  /** Next character, or "\0" at the end (which is not consumed). */
  const read = (): string => (pos < s.length ? s[pos++] : "\0");
  for (;;) {
    let c = read();
    while (isBlank(c)) c = read();
    if (c === "\0") {
      tokens.push({ kind: "end", text: "" });
      return tokens;
    }
    if (isSymbol(c)) {
      // longest symbol token: all are one or two characters
      const two = c + (pos < s.length ? s[pos] : "");
      if (two.length === 2 && SYMBOL_TOKENS.has(two)) {
        pos++;
        tokens.push({ kind: two as TokenKind, text: two });
      } else {
        tokens.push({ kind: c as TokenKind, text: c });
      }
      if (pos < s.length && s[pos] === "\0") pos++; // upstream swallows a NUL right after a symbol
      continue;
    }
    let word = c;
    for (;;) {
      const d = read();
      if (d === "\0") break; // end of input, or a NUL that ends the word and is dropped
      if (isSymbol(d) || isBlank(d)) {
        pos--;
        break;
      }
      word += d;
    }
    tokens.push({ kind: hasOwn(KEYWORDS, word) ? KEYWORDS[word] : "ident", text: word });
  }
}

/** Parser context: in value position the keywords `in` / `notin` are plain identifiers. */
type Context = "keyAndOperator" | "values";

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(ctx: Context): Token {
    return this.adjust(this.tokens[this.pos], ctx);
  }

  private next(ctx: Context): Token {
    const t = this.tokens[this.pos];
    if (this.pos < this.tokens.length - 1) this.pos++;
    return this.adjust(t, ctx);
  }

  private adjust(t: Token, ctx: Context): Token {
    return ctx === "values" && (t.kind === "in" || t.kind === "notin") ? { kind: "ident", text: t.text } : t;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const t = this.peek("values");
      if (t.kind === "end") return reqs;
      if (t.kind !== "ident" && t.kind !== "!") {
        throw new ParseError(`found '${t.text}', expected: !, identifier, or 'end of string'`);
      }
      try {
        reqs.push(this.requirement());
      } catch (e) {
        if (e instanceof ParseError) throw new ParseError(`unable to parse requirement: ${e.message}`);
        throw e;
      }
      const after = this.next("values");
      if (after.kind === "end") return reqs;
      if (after.kind !== ",") throw new ParseError(`found '${after.text}', expected: ',' or 'end of string'`);
      const following = this.peek("values");
      if (following.kind !== "ident" && following.kind !== "!") {
        throw new ParseError(`found '${following.text}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): LabelRequirement {
    let operator: LabelOperator | undefined;
    let t = this.next("values");
    if (t.kind === "!") {
      operator = "!";
      t = this.next("values");
    }
    if (t.kind !== "ident") throw new ParseError(`found '${t.text}', expected: identifier`);
    const key = t.text;
    const keyErrs = qualifiedNameErrors(key);
    if (keyErrs.length) throw new ParseError(invalid("<nil>", goQuote(key), keyErrs.join("; ")));
    const la = this.peek("values").kind;
    if (la === "end" || la === ",") operator = operator ?? "exists";
    if (operator === "exists" || operator === "!") return this.build(key, operator, []);

    const opTok = this.next("keyAndOperator");
    const op = BINARY_TOKEN_OPERATORS[opTok.kind];
    if (!op) throw new ParseError(`found '${opTok.text}', expected: ${BINARY_OPERATORS.join(", ")}`);
    const values = op === "in" || op === "notin" ? this.setValues() : this.exactValue();
    return this.build(key, op, [...values].sort(compareCodePoints));
  }

  private build(key: string, op: LabelOperator, values: string[]): LabelRequirement {
    try {
      return newLabelRequirement(key, op, values);
    } catch (e) {
      throw new ParseError(e instanceof Error ? e.message : String(e));
    }
  }

  /** `( v1, v2, ... )`; empty items are "" values; result de-duplicated. */
  private setValues(): Set<string> {
    const open = this.next("values");
    if (open.kind !== "(") throw new ParseError(`found '${open.text}' expected: '('`);
    const first = this.peek("values");
    if (first.kind === ")") {
      this.next("values");
      return new Set([""]);
    }
    if (first.kind !== "ident" && first.kind !== ",") {
      throw new ParseError(`found '${first.text}', expected: ',', ')' or identifier`);
    }
    const values = new Set<string>();
    for (;;) {
      const t = this.next("values");
      if (t.kind === "ident") {
        values.add(t.text);
        const la = this.peek("values");
        if (la.kind === ",") continue;
        if (la.kind === ")") break;
        throw new ParseError(`found '${la.text}', expected: ',' or ')'`);
      } else if (t.kind === ",") {
        if (values.size === 0) values.add(""); // "(,"
        const la = this.peek("values");
        if (la.kind === ")") {
          values.add(""); // ",)"
          break;
        }
        if (la.kind === ",") {
          this.next("values");
          values.add(""); // ",,"
        }
      } else {
        throw new ParseError(`found '${t.text}', expected: ',', or identifier`);
      }
    }
    this.next("values"); // the ")"
    return values;
  }

  /** The single value after `=`, `==`, `!=`, `>`, `<`; nothing before `,` / end means "". */
  private exactValue(): Set<string> {
    const la = this.peek("values");
    if (la.kind === "end" || la.kind === ",") return new Set([""]);
    const t = this.next("values");
    if (t.kind === "ident") return new Set([t.text]);
    throw new ParseError(`found '${t.text}', expected: identifier`);
  }
}

const BINARY_TOKEN_OPERATORS: Partial<Record<TokenKind, LabelOperator>> = {
  in: "in",
  notin: "notin",
  "=": "=",
  "==": "==",
  "!=": "!=",
  ">": "gt",
  "<": "lt",
};

class ParseError extends Error {}

/**
 * Parses the `labelSelector` query-string syntax (labels.Parse). "" (or only blanks) is the empty
 * selector that matches everything. Throws `badRequest` with the upstream parser message.
 */
export function parseLabelSelector(s: string): LabelSelector {
  try {
    return new LabelSelector(new Parser(tokenize(s)).parse());
  } catch (e) {
    if (e instanceof ParseError) throw badRequest(e.message);
    throw e;
  }
}
