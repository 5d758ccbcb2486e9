/**
 * MachineHealthCheck admission (cluster.x-k8s.io/v1beta2), after upstream release-1.14
 * `core/webhooks/admission/machinehealthcheck.go`.
 *
 * Defaults: `cluster.x-k8s.io/cluster-name` label; `spec.checks.nodeStartupTimeoutSeconds` 600
 * when unset (0 is kept: it disables the startup check).
 *
 * Left to the schema (v1beta2 CRD): `unhealthyInRange` format (`^\[[0-9]+-[0-9]+\]$`), the
 * `unhealthyMachineConditions[].type` blacklist (CEL), condition `status` enum and required
 * fields. v1beta2 `remediation.templateRef` has no namespace (v1beta1's "must match
 * metadata.namespace" check has nothing to check any more).
 * @module
 */
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { cause, CLUSTER_NAME_LABEL, ensureLabels, ensureObj, goJsonLabelSelector, isObject, type JsonObject, objAt, Rendered, strAt, valueAt } from "./util.ts";
import { selectorFrom, validateIntOrPercent } from "./validation.ts";

export const MACHINE_HEALTH_CHECK_WEBHOOKS = {
  mutating: "default.machinehealthcheck.cluster.x-k8s.io",
  validating: "validation.machinehealthcheck.cluster.x-k8s.io",
};

export const DEFAULT_NODE_STARTUP_TIMEOUT_SECONDS = 600;
const MIN_NODE_STARTUP_TIMEOUT_SECONDS = 30;

export function mutateMachineHealthCheck(obj: KObject, _old: KObject | undefined): void {
  if (!isObject(obj.spec)) obj.spec = {};
  const spec = obj.spec as JsonObject;
  ensureLabels(obj)[CLUSTER_NAME_LABEL] = strAt(spec, "clusterName");
  const checks = ensureObj(spec, "checks");
  if (checks.nodeStartupTimeoutSeconds === undefined || checks.nodeStartupTimeoutSeconds === null) {
    checks.nodeStartupTimeoutSeconds = DEFAULT_NODE_STARTUP_TIMEOUT_SECONDS;
  }
}

export function validateMachineHealthCheck(obj: KObject, old: KObject | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = objAt(obj, "spec");
  const selectorValue = valueAt(spec, "selector");
  const rendered = () => new Rendered(goJsonLabelSelector(selectorValue));
  const parsed = selectorFrom(selectorValue);
  if ("error" in parsed) causes.push(cause.invalid("spec.selector", rendered(), parsed.error));
  else if (parsed.selector.empty) causes.push(cause.required("spec.selector", "selector must not be empty"));

  const clusterName = strAt(spec, "clusterName");
  const matchLabels = valueAt(selectorValue, "matchLabels");
  if (isObject(matchLabels) && Object.prototype.hasOwnProperty.call(matchLabels, CLUSTER_NAME_LABEL) && matchLabels[CLUSTER_NAME_LABEL] !== clusterName) {
    causes.push(cause.invalid("spec.selector", rendered(), "cannot specify a cluster selector other than the one specified by ClusterName"));
  }

  if (old && strAt(old, "spec", "clusterName") !== clusterName) causes.push(cause.forbidden("spec.clusterName", "field is immutable"));

  const timeout = valueAt(spec, "checks", "nodeStartupTimeoutSeconds");
  if (typeof timeout === "number" && timeout !== 0 && timeout < MIN_NODE_STARTUP_TIMEOUT_SECONDS) {
    causes.push(cause.invalid("spec.checks.nodeStartupTimeoutSeconds", timeout, "must be at least 30s"));
  }

  causes.push(
    ...validateIntOrPercent(
      "spec.remediation.triggerIf.unhealthyLessThanOrEqualTo",
      valueAt(spec, "remediation", "triggerIf", "unhealthyLessThanOrEqualTo"),
    ),
  );
  return causes;
}
