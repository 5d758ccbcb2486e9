/**
 * The structural-schema engine of custom resources: pruning, defaulting and validation as
 * kube-apiserver 1.32 applies them from a CRD's `openAPIV3Schema`, plus the checks a CRD's
 * schema must pass at creation.
 *
 * Decode order for a write: `pruneUnknown` (report unknown fields), `dropNulls`, `applyDefaults`,
 * then `validateValue` (with `oldObj` on update).
 * @module
 */

export { type CompiledRule, celEscape, compileRules, validFieldPath, validateRules } from "./cel.ts";
export { applyDefaults, cloneJSON } from "./defaults.ts";
export { checkFormat, isSupportedFormat } from "./formats.ts";
export { compileGoRegex, GoRegexError, translateGoRegex } from "./go-regex.ts";
export { dropNulls, pruneUnknown } from "./prune.ts";
export { checkStructural } from "./structural.ts";
export type { JSONSchemaProps, ValidationRule } from "./types.ts";
export { SKIPPED_RULES_MESSAGE, type ValidateOptions, validateValue } from "./validate.ts";
