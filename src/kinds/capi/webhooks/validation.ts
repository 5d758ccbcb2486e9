/**
 * The k8s.io/apimachinery v0.36 checks the Cluster API release-1.14 webhooks call, with that
 * version's wording: label keys/values (`api/validate/content`), DNS-1123 subdomains
 * (`util/validation`), ObjectMeta labels/annotations (`metav1validation.ValidateLabels`,
 * `apivalidation.ValidateAnnotations`), int-or-percent parsing (`intstr`), label selectors
 * (`metav1.LabelSelectorAsSelector`) and strict semantic versions (blang/semver/v4 `Parse`).
 * @module
 */
import { isApiError, type StatusCause } from "../../../lib/api-errors.ts";
import { goQuote } from "../../../lib/go-format.ts";
import { type LabelSelector, labelSelectorFromObject, type LabelSelectorObject } from "../../../lib/selectors/index.ts";
import { dns1123Subdomain } from "../../../registry/validation/names.ts";
import { cause, isObject, sortedKeys } from "./util.ts";

const byteLength = (s: string) => Buffer.byteLength(s, "utf8");

/** content.RegexError */
function regexError(msg: string, re: string, ...examples: string[]): string {
  if (!examples.length) return `${msg} (regex used for validation is '${re}')`;
  let out = `${msg} (e.g. `;
  examples.forEach((e, i) => {
    if (i > 0) out += " or ";
    out += `'${e}', `;
  });
  return `${out}regex used for validation is '${re}')`;
}

const LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_RE = new RegExp(`^${LABEL_KEY_FMT}$`);
const LABEL_KEY_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${LABEL_KEY_FMT})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/** content.IsDNS1123Subdomain (lengths in bytes). */
function contentDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 253) errs.push("must be no more than 253 bytes");
  if (!DNS1123_SUBDOMAIN_RE.test(value)) errs.push(regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"));
  return errs;
}

/** content.IsLabelKey (= validation.IsQualifiedName in apimachinery v0.36). */
export function labelKeyErrors(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push("prefix part must be non-empty");
    else errs.push(...contentDNS1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [
      `a valid label key ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else if (byteLength(name) > 63) errs.push("name part must be no more than 63 bytes");
  if (!LABEL_KEY_RE.test(name)) errs.push(`name part ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")}`);
  return errs;
}

/** content.IsLabelValue (= validation.IsValidLabelValue in apimachinery v0.36). */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push("must be no more than 63 bytes");
  if (!LABEL_VALUE_RE.test(value)) errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"));
  return errs;
}

/** validation.IsDNS1123Subdomain (the util/validation flavour: lengths in characters). */
export function dns1123SubdomainErrors(value: string): string[] {
  return dns1123Subdomain(value);
}

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/**
 * clusterv1.ObjectMeta.Validate: metav1validation.ValidateLabels at `<parent>.labels` and
 * apivalidation.ValidateAnnotations at `<parent>.annotations`. Go walks the maps in random order;
 * keys are visited sorted here so the causes are stable.
 */
export function validateMetadata(metadata: unknown, parent: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const labels = isObject(metadata) ? metadata.labels : undefined;
  if (isObject(labels)) {
    const field = `${parent}.labels`;
    for (const k of sortedKeys(labels)) {
      for (const msg of labelKeyErrors(k)) causes.push(cause.invalid(field, k, msg));
      const v = labels[k];
      if (typeof v === "string") for (const msg of labelValueErrors(v)) causes.push(cause.invalid(field, v, msg));
    }
  }
  const annotations = isObject(metadata) ? metadata.annotations : undefined;
  if (isObject(annotations)) {
    const field = `${parent}.annotations`;
    let size = 0;
    for (const k of sortedKeys(annotations)) {
      for (const msg of labelKeyErrors(k.toLowerCase())) causes.push(cause.invalid(field, k, msg));
      const v = annotations[k];
      size += byteLength(k) + (typeof v === "string" ? byteLength(v) : 0);
    }
    if (size > TOTAL_ANNOTATION_SIZE_LIMIT) causes.push(cause.tooLong(field, TOTAL_ANNOTATION_SIZE_LIMIT));
  }
  return causes;
}

// ---------------------------------------------------------------------------------------------
// IntOrString
// ---------------------------------------------------------------------------------------------

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The error text of Go's strconv.Atoi (int64), or undefined when it parses. */
function atoiError(s: string): string | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return `strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`;
  const v = BigInt(s);
  if (v < INT64_MIN || v > INT64_MAX) return `strconv.Atoi: parsing ${goQuote(s)}: value out of range`;
  return undefined;
}

/** intstr.IntOrString.String(): the string, or the integer in decimal. */
export function intOrStringText(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(Math.trunc(v));
  return "<nil>";
}

/**
 * The error of `intstr.GetScaledValueFromIntOrPercent(v, 0, false)` (only strings can fail: they
 * must be `<int>%`), or undefined when valid.
 */
export function intOrPercentError(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  if (!v.endsWith("%")) return "invalid value for IntOrString: invalid type: string is not a percentage";
  const err = atoiError(v.slice(0, -1));
  return err ? `invalid value for IntOrString: invalid value ${goQuote(v)}: ${err}` : undefined;
}

/** `<path>: Invalid value: "<v>": must be either an int or a percentage: <err>` when v is not int/percent. */
export function validateIntOrPercent(field: string, v: unknown): StatusCause[] {
  if (v === undefined || v === null) return [];
  const err = intOrPercentError(v);
  return err ? [cause.invalid(field, intOrStringText(v), `must be either an int or a percentage: ${err}`)] : [];
}

// ---------------------------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------------------------

/**
 * metav1.LabelSelectorAsSelector on a non-pointer LabelSelector field: absent → `{}` → everything.
 * Returns the selector or the error text.
 */
export function selectorFrom(sel: unknown): { selector: LabelSelector } | { error: string } {
  const obj: LabelSelectorObject = isObject(sel) ? (sel as LabelSelectorObject) : {};
  try {
    return { selector: labelSelectorFromObject(obj) };
  } catch (e) {
    if (isApiError(e)) return { error: e.message };
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Semantic versions (github.com/blang/semver/v4 Parse, strict)
// ---------------------------------------------------------------------------------------------

const UINT64_MAX = 2n ** 64n - 1n;
const NUMBERS = /^[0-9]*$/;
const ALPHANUM = /^[0-9A-Za-z-]*$/;

function numericPart(s: string): boolean {
  // containsOnly(numbers) accepts "", which ParseUint then rejects.
  if (!NUMBERS.test(s) || s.length === 0) return false;
  if (s.length > 1 && s[0] === "0") return false;
  return BigInt(s) <= UINT64_MAX;
}

/** True when blang/semver `Parse` accepts `s` (MAJOR.MINOR.PATCH[-pre][+build]). */
export function isSemver(s: string): boolean {
  if (s.length === 0) return false;
  const first = s.indexOf(".");
  if (first < 0) return false;
  const second = s.indexOf(".", first + 1);
  if (second < 0) return false;
  const major = s.slice(0, first);
  const minor = s.slice(first + 1, second);
  let patch = s.slice(second + 1);
  if (!numericPart(major) || !numericPart(minor)) return false;
  let build: string[] = [];
  let pre: string[] = [];
  const plus = patch.indexOf("+");
  if (plus >= 0) {
    build = patch.slice(plus + 1).split(".");
    patch = patch.slice(0, plus);
  }
  const dash = patch.indexOf("-");
  if (dash >= 0) {
    pre = patch.slice(dash + 1).split(".");
    patch = patch.slice(0, dash);
  }
  if (!numericPart(patch)) return false;
  for (const p of pre) {
    if (p.length === 0) return false;
    if (NUMBERS.test(p)) {
      if (!numericPart(p)) return false;
    } else if (!ALPHANUM.test(p)) return false;
  }
  for (const b of build) {
    if (b.length === 0 || !ALPHANUM.test(b)) return false;
  }
  return true;
}

/** The `v`-prefix and semver checks the Machine / MachineSet / MachineDeployment webhooks share. */
export function validateVersion(field: string, version: string): StatusCause[] {
  if (version === "") return [];
  const causes: StatusCause[] = [];
  if (!version.startsWith("v")) causes.push(cause.invalid(field, version, "must start with v"));
  if (!isSemver(version.startsWith("v") ? version.slice(1) : version)) {
    causes.push(cause.invalid(field, version, "must be a valid semantic version"));
  }
  return causes;
}
