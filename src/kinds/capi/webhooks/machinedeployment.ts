/**
 * MachineDeployment admission (cluster.x-k8s.io/v1beta2), after upstream release-1.14
 * `core/webhooks/admission/machinedeployment.go` (formerly `internal/webhooks/machinedeployment.go`).
 *
 * Defaults: `cluster.x-k8s.io/cluster-name` label; `spec.replicas` (kept, else from the autoscaler
 * min/max-size annotations, else 1); `spec.rollout.strategy.type` RollingUpdate with
 * `rollingUpdate.maxSurge` 1 / `maxUnavailable` 0; an empty selector becomes
 * `cluster.x-k8s.io/deployment-name=<name>` (also on the template labels); the cluster-name label
 * on selector matchLabels and template labels; `v` prefix on `spec.template.spec.version`.
 * @module
 */
import type { StatusCause } from "../../../lib/api-errors.ts";
import { goQuote } from "../../../lib/go-format.ts";
import type { KObject } from "../../../lib/kobject.ts";
import {
  defaultReplicas,
  defaultVersionPrefix,
  validateBootstrap,
  validateMachineNaming,
  validateMachineTaints,
  validateMachineTaintsForWorkers,
  validateSkippedPreflightChecks,
} from "./common.ts";
import {
  cause,
  CLUSTER_NAME_LABEL,
  ensureLabels,
  ensureObj,
  goJsonLabelSelector,
  isObject,
  type JsonObject,
  MACHINE_DEPLOYMENT_NAME_LABEL,
  objAt,
  Rendered,
  strAt,
  stringMap,
  valueAt,
} from "./util.ts";
import { intOrStringText, labelValueErrors, selectorFrom, validateIntOrPercent, validateMetadata, validateVersion } from "./validation.ts";

export const MACHINE_DEPLOYMENT_WEBHOOKS = {
  mutating: "default.machinedeployment.cluster.x-k8s.io",
  validating: "validation.machinedeployment.cluster.x-k8s.io",
};

export function mutateMachineDeployment(obj: KObject, old: KObject | undefined): void {
  if (!isObject(obj.spec)) obj.spec = {};
  const spec = obj.spec as JsonObject;
  const clusterName = strAt(spec, "clusterName");
  ensureLabels(obj)[CLUSTER_NAME_LABEL] = clusterName;

  spec.replicas = defaultReplicas(obj, old, "MachineDeployment", MACHINE_DEPLOYMENT_WEBHOOKS.mutating);

  const selector = ensureObj(spec, "selector");
  const matchLabels = ensureObj(selector, "matchLabels") as Record<string, string>;

  const rollout = ensureObj(spec, "rollout");
  const strategy = ensureObj(rollout, "strategy");
  if (typeof strategy.type !== "string" || strategy.type === "") strategy.type = "RollingUpdate";

  const template = ensureObj(spec, "template");
  const templateLabels = ensureObj(ensureObj(template, "metadata"), "labels") as Record<string, string>;

  if (strategy.type === "RollingUpdate") {
    const rollingUpdate = ensureObj(strategy, "rollingUpdate");
    if (rollingUpdate.maxSurge === undefined || rollingUpdate.maxSurge === null) rollingUpdate.maxSurge = 1;
    if (rollingUpdate.maxUnavailable === undefined || rollingUpdate.maxUnavailable === null) rollingUpdate.maxUnavailable = 0;
  }

  const expressions = selector.matchExpressions;
  if (Object.keys(matchLabels).length === 0 && !(Array.isArray(expressions) && expressions.length > 0)) {
    const name = obj.metadata?.name ?? "";
    matchLabels[MACHINE_DEPLOYMENT_NAME_LABEL] = name;
    templateLabels[MACHINE_DEPLOYMENT_NAME_LABEL] = name;
  }
  matchLabels[CLUSTER_NAME_LABEL] = clusterName;
  templateLabels[CLUSTER_NAME_LABEL] = clusterName;

  defaultVersionPrefix(objAt(template, "spec"));
}

export function validateMachineDeployment(obj: KObject, old: KObject | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = obj.metadata?.name ?? "";
  for (const msg of labelValueErrors(name)) causes.push(cause.invalid("metadata.name", name, `must be a valid label value: ${msg}`));

  const spec = objAt(obj, "spec");
  const templateSpec = objAt(spec, "template", "spec");
  causes.push(
    ...validateBootstrap(
      valueAt(templateSpec, "bootstrap"),
      "spec.template.spec.bootstrap",
      "expected either spec.template.spec.bootstrap.dataSecretName or spec.template.spec.bootstrap.configRef to be populated",
    ),
  );

  const selectorValue = valueAt(spec, "selector");
  const parsed = selectorFrom(selectorValue);
  if ("error" in parsed) {
    causes.push(cause.invalid("spec.selector", new Rendered(goJsonLabelSelector(selectorValue)), parsed.error));
  } else if (!parsed.selector.matches(stringMap(valueAt(spec, "template", "metadata", "labels")))) {
    causes.push(cause.forbidden("spec.template.metadata.labels", `must match spec.selector ${goQuote(parsed.selector.toString())}`));
  }

  causes.push(...validateSkippedPreflightChecks(obj));

  const clusterName = strAt(spec, "clusterName");
  if (old && strAt(old, "spec", "clusterName") !== clusterName) causes.push(cause.forbidden("spec.clusterName", "field is immutable"));
  if (clusterName !== strAt(templateSpec, "clusterName")) {
    causes.push(cause.invalid("spec.clusterName", clusterName, "spec.clusterName and spec.template.spec.clusterName must be set to the same value"));
  }

  causes.push(...validateRolloutStrategy("spec.rollout.strategy", valueAt(spec, "rollout", "strategy", "rollingUpdate")));
  causes.push(...validateIntOrPercent("spec.remediation.maxInFlight", valueAt(spec, "remediation", "maxInFlight")));
  causes.push(...validateVersion("spec.template.spec.version", strAt(templateSpec, "version")));
  causes.push(...validateMachineNaming(valueAt(spec, "machineNaming"), "spec.machineNaming"));
  causes.push(...validateMachineTaints(valueAt(templateSpec, "taints"), "spec.template.spec.taints"));
  causes.push(...validateMachineTaintsForWorkers(valueAt(templateSpec, "taints"), undefined, "spec.template.spec.taints"));
  causes.push(...validateMetadata(valueAt(spec, "template", "metadata"), "spec.template.metadata"));
  return causes;
}

/** validateRolloutStrategy: int-or-percent values, and not both integer 0. */
export function validateRolloutStrategy(field: string, rollingUpdate: unknown): StatusCause[] {
  const maxUnavailable = valueAt(rollingUpdate, "maxUnavailable");
  const maxSurge = valueAt(rollingUpdate, "maxSurge");
  const causes: StatusCause[] = [
    ...validateIntOrPercent(`${field}.rollingUpdate.maxUnavailable`, maxUnavailable),
    ...validateIntOrPercent(`${field}.rollingUpdate.maxSurge`, maxSurge),
  ];
  if (maxUnavailable === 0 && maxSurge === 0) {
    causes.push(cause.invalid(`${field}.rollingUpdate`, intOrStringText(maxSurge), "maxUnavailable and maxSurge cannot both be 0"));
  }
  return causes;
}
