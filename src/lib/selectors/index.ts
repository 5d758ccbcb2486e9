/**
 * Label and field selectors with Kubernetes semantics. See label-selector.ts and field-selector.ts.
 * @module
 */

export {
  everythingSelector,
  labelSelectorFromObject,
  labelSelectorFromSet,
  labelValueErrors,
  LabelSelector,
  newLabelRequirement,
  nothingSelector,
  parseLabelSelector,
  qualifiedNameErrors,
} from "./label-selector.ts";
export type {
  LabelOperator,
  LabelRequirement,
  Labels,
  LabelSelectorObject,
  LabelSelectorObjectRequirement,
} from "./label-selector.ts";
export {
  checkFieldSelectorFields,
  escapeFieldValue,
  fieldSelectorRequiresExactMatch,
  fieldSelectorToString,
  matchFieldSelector,
  parseFieldSelector,
  unescapeFieldValue,
} from "./field-selector.ts";
export type { FieldOperator, FieldRequirement } from "./field-selector.ts";
