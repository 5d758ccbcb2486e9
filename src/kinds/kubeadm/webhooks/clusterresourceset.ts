/**
 * ClusterResourceSet and ClusterResourceSetBinding admission (v1beta2), after Cluster API
 * release-1.14 `core/webhooks/admission/clusterresourceset{,binding}.go`.
 *
 * ClusterResourceSet: `strategy` defaults to ApplyOnce (create and update); `clusterSelector` must
 * parse and must not be empty (an empty selector would match every cluster); on update `strategy`
 * (once set) and `clusterSelector` are immutable. ClusterResourceSetBinding: `clusterName` is
 * immutable once set.
 * @module
 */
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { jsonEqual } from "../../capi/conversion/util.ts";
import { cause, ensureObj, goJsonLabelSelector, Rendered, strAt, valueAt } from "../../capi/webhooks/util.ts";
import { selectorFrom } from "../../capi/webhooks/validation.ts";

export const CLUSTER_RESOURCE_SET_WEBHOOKS = {
  mutating: "default.clusterresourceset.addons.cluster.x-k8s.io",
  validating: "validation.clusterresourceset.addons.cluster.x-k8s.io",
};
export const CLUSTER_RESOURCE_SET_BINDING_WEBHOOKS = { validating: "validation.clusterresourcesetbinding.addons.cluster.x-k8s.io" };

export const APPLY_ONCE = "ApplyOnce";

export function mutateClusterResourceSet(obj: KObject, _old: KObject | undefined): void {
  const spec = ensureObj(obj as Record<string, unknown>, "spec");
  if (spec.strategy === undefined || spec.strategy === "") spec.strategy = APPLY_ONCE;
}

const selectorValue = (sel: unknown) => new Rendered(goJsonLabelSelector(sel));

export function validateClusterResourceSet(obj: KObject, old: KObject | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  const sel = valueAt(obj, "spec", "clusterSelector");
  const parsed = selectorFrom(sel ?? {});
  if ("error" in parsed) causes.push(cause.invalid("spec.clusterSelector", selectorValue(sel), parsed.error));
  else if (parsed.selector.empty) causes.push(cause.invalid("spec.clusterSelector", selectorValue(sel), "selector must not be empty"));
  if (old) {
    const oldStrategy = strAt(old, "spec", "strategy");
    const strategy = strAt(obj, "spec", "strategy");
    if (oldStrategy !== "" && oldStrategy !== strategy) causes.push(cause.invalid("spec.strategy", strategy, "field is immutable"));
    if (!jsonEqual(valueAt(old, "spec", "clusterSelector") ?? {}, sel ?? {})) {
      causes.push(cause.invalid("spec.clusterSelector", selectorValue(sel), "field is immutable"));
    }
  }
  return causes;
}

export function validateClusterResourceSetBinding(obj: KObject, old: KObject | undefined): StatusCause[] {
  if (!old) return [];
  const oldName = strAt(old, "spec", "clusterName");
  const name = strAt(obj, "spec", "clusterName");
  return oldName !== "" && oldName !== name ? [cause.invalid("spec.clusterName", name, "field is immutable")] : [];
}
