/**
 * TalosControlPlane admission (v1alpha3), after CACPPT v0.5.12's
 * `api/v1alpha3/taloscontrolplane_webhook.go`.
 *
 * Defaulting (create and update): `replicas` 1 when unset; `infrastructureTemplate.namespace` the
 * object's namespace when empty; a leading `v` added to `version` when missing (also to an empty
 * version, which the CRD pattern then refuses, as upstream); `rolloutStrategy.type` RollingUpdate
 * when empty and, for RollingUpdate, `rollingUpdate.maxSurge` 1 when unset.
 * Validation (create and update): `rolloutStrategy.type` is empty, `RollingUpdate` or `OnDelete`
 * (a 422 reported at `spec.rolloutStrategy`, upstream's path).
 * @module
 */
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { cause, ensureObj, isObject, valueAt } from "../../capi/webhooks/util.ts";
import { goQuoteList } from "./talosconfig.ts";

export const TALOS_CONTROL_PLANE_WEBHOOKS = {
  mutating: "default.taloscontrolplane.controlplane.cluster.x-k8s.io",
  validating: "validate.taloscontrolplane.controlplane.cluster.x-k8s.io",
};

export const ROLLING_UPDATE = "RollingUpdate";
export const ON_DELETE = "OnDelete";

export function mutateTalosControlPlane(obj: KObject, _old: KObject | undefined): void {
  if (!isObject(obj.spec)) obj.spec = {};
  const spec = obj.spec as Record<string, unknown>;
  if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 1;
  const template = ensureObj(spec, "infrastructureTemplate");
  if (template.namespace === undefined || template.namespace === "") {
    if (obj.metadata.namespace) template.namespace = obj.metadata.namespace;
  }
  const version = typeof spec.version === "string" ? spec.version : "";
  if (!version.startsWith("v")) spec.version = `v${version}`;
  const strategy = ensureObj(spec, "rolloutStrategy");
  if (strategy.type === undefined || strategy.type === "") strategy.type = ROLLING_UPDATE;
  if (strategy.type === ROLLING_UPDATE) {
    const rolling = ensureObj(strategy, "rollingUpdate");
    if (rolling.maxSurge === undefined || rolling.maxSurge === null) rolling.maxSurge = 1;
  }
}

export function validateTalosControlPlane(obj: KObject, _old: KObject | undefined): StatusCause[] {
  const type = valueAt(obj, "spec", "rolloutStrategy", "type");
  if (type === undefined || type === "" || type === ROLLING_UPDATE || type === ON_DELETE) return [];
  return [cause.invalid("spec.rolloutStrategy", type, `valid values are: ${goQuoteList([ROLLING_UPDATE, ON_DELETE])}`)];
}
