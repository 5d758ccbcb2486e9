/**
 * Patch and field-management engines: JSON patch, merge patch, strategic merge patch,
 * FieldsV1 field sets, managedFields maintenance and server-side apply.
 * @module
 */
export { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS, PATCH_REJECTED_MESSAGE } from "./json-patch.ts";
export type { FieldValidation, JsonPatchOptions } from "./json-patch.ts";
export { applyMergePatch, INVALID_JSON_PATCH } from "./merge-patch.ts";
export { applyStrategicMergePatch } from "./strategic-merge-patch.ts";
export {
  FieldSet,
  PathElementError,
  comparePE,
  fieldPE,
  fieldPath,
  keyPE,
  renderPath,
  valuePE,
} from "./fieldpath.ts";
export type { PathElement } from "./fieldpath.ts";
export {
  LAST_APPLIED_ANNOTATION,
  ManagedFieldsDecodeError,
  buildLastApplied,
  conflictError,
  decodeManagedFields,
  encodeManagedFields,
  isResetManagedFields,
  managerFromUserAgent,
  managerIdentifier,
  serverSideApply,
  updateManagedFields,
  validateManagedFields,
  withManagedFields,
} from "./managed-fields.ts";
export type {
  Managed,
  ServerSideApplyOptions,
  ServerSideApplyResult,
  UpdateManagedFieldsOptions,
  VersionedSet,
} from "./managed-fields.ts";
