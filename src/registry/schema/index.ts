/**
 * The structural-schema engine of custom resources: pruning, defaulting and validation as
 * kube-apiserver 1.32 applies them from a CRD's `openAPIV3Schema`, plus the checks a CRD's
 * schema must pass at creation.
 *
 * A write: `pruneUnknown` (report unknown fields under fieldValidation=Strict|Warn), `dropNulls`,
 * `applyDefaults`, then `validateValue` (with `oldObj` on update).
 * A CRD create/update: `checkSchemaTypes` first (a wrongly typed keyword is a decoding error
 * upstream: 400 before any validation), then `checkStructural` and `compileRules` on every
 * version's schema, with `path: "spec.versions[i].schema.openAPIV3Schema"`. None of these throws,
 * whatever the schema's shape.
 *
 * Object keys are data everywhere (own properties only; `__proto__`, `constructor`, … are
 * ordinary keys): see own.ts.
 * @module
 */

export { type CompiledRule, compileRules, validFieldPath, validateRules } from "./cel.ts";
export { celEscape, toCel } from "./cel-values.ts";
export { applyDefaults, cloneJSON } from "./defaults.ts";
export { checkFormat, isSupportedFormat } from "./formats.ts";
export { compileGoRegex, GoRegexError, translateGoRegex } from "./go-regex.ts";
export { dropNulls, pruneUnknown } from "./prune.ts";
export { checkSchemaTypes } from "./schema-types.ts";
export { getOwn, hasOwn, setOwn } from "./own.ts";
export { checkStructural } from "./structural.ts";
export type { JSONSchemaProps, ValidationRule } from "./types.ts";
export { SKIPPED_RULES_MESSAGE, type ValidateOptions, validateValue } from "./validate.ts";
