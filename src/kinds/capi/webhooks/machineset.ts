/**
 * MachineSet admission (cluster.x-k8s.io/v1beta2), after upstream release-1.14
 * `core/webhooks/admission/machineset.go`.
 *
 * Defaults: `cluster.x-k8s.io/cluster-name` label on the object (upstream does not add it to the
 * selector or the template of a MachineSet); `spec.replicas` (kept, else from the autoscaler
 * annotations, else 1); an empty selector becomes `cluster.x-k8s.io/set-name=<name>` (hashed as
 * `hash_<fnv32a>_z` when the name is not a valid label value), also on the template labels;
 * `v` prefix on `spec.template.spec.version`. `spec.deletion.order` values are enforced by the
 * schema enum (Random / Newest / Oldest), not by the webhook.
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
  goJsonStringMap,
  isObject,
  type JsonObject,
  MACHINE_SET_NAME_LABEL,
  objAt,
  Rendered,
  strAt,
  stringMap,
  valueAt,
} from "./util.ts";
import { labelValueErrors, selectorFrom, validateMetadata, validateVersion } from "./validation.ts";

export const MACHINE_SET_WEBHOOKS = {
  mutating: "default.machineset.cluster.x-k8s.io",
  validating: "validation.machineset.cluster.x-k8s.io",
};

/** format.MustFormatValue: the value when it is a valid label value, else `hash_<base64url(fnv32a)>_z`. */
export function mustFormatLabelValue(value: string): string {
  if (labelValueErrors(value).length === 0) return value;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(value, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(hash >>> 0);
  return `hash_${bytes.toString("base64url")}_z`;
}

export function mutateMachineSet(obj: KObject, old: KObject | undefined): void {
  if (!isObject(obj.spec)) obj.spec = {};
  const spec = obj.spec as JsonObject;
  ensureLabels(obj)[CLUSTER_NAME_LABEL] = strAt(spec, "clusterName");

  spec.replicas = defaultReplicas(obj, old, "MachineSet", MACHINE_SET_WEBHOOKS.mutating);

  const selector = ensureObj(spec, "selector");
  const matchLabels = valueAt(selector, "matchLabels");
  const expressions = selector.matchExpressions;
  const empty = !(isObject(matchLabels) && Object.keys(matchLabels).length > 0) && !(Array.isArray(expressions) && expressions.length > 0);
  if (empty) {
    const value = mustFormatLabelValue(obj.metadata?.name ?? "");
    ensureObj(selector, "matchLabels")[MACHINE_SET_NAME_LABEL] = value;
    const template = ensureObj(spec, "template");
    ensureObj(ensureObj(template, "metadata"), "labels")[MACHINE_SET_NAME_LABEL] = value;
  }

  defaultVersionPrefix(objAt(spec, "template", "spec"));
}

export function validateMachineSet(obj: KObject, old: KObject | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
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
  const templateLabels = stringMap(valueAt(spec, "template", "metadata", "labels"));
  if ("error" in parsed) {
    causes.push(cause.invalid("spec.selector", new Rendered(goJsonLabelSelector(selectorValue)), parsed.error));
  } else if (!parsed.selector.matches(templateLabels)) {
    causes.push(
      cause.invalid(
        "spec.template.metadata.labels",
        new Rendered(Object.keys(templateLabels).length ? goJsonStringMap(templateLabels) : "null"),
        `must match spec.selector ${goQuote(parsed.selector.toString())}`,
      ),
    );
  }

  causes.push(...validateSkippedPreflightChecks(obj));

  const clusterName = strAt(spec, "clusterName");
  if (old && strAt(old, "spec", "clusterName") !== clusterName) causes.push(cause.forbidden("spec.clusterName", "field is immutable"));
  if (clusterName !== strAt(templateSpec, "clusterName")) {
    causes.push(cause.invalid("spec.clusterName", clusterName, "spec.clusterName and spec.template.spec.clusterName must be set to the same value"));
  }

  causes.push(...validateVersion("spec.template.spec.version", strAt(templateSpec, "version")));
  causes.push(...validateMachineTaints(valueAt(templateSpec, "taints"), "spec.template.spec.taints"));
  causes.push(...validateMachineTaintsForWorkers(valueAt(templateSpec, "taints"), undefined, "spec.template.spec.taints"));
  causes.push(...validateMachineNaming(valueAt(spec, "machineNaming"), "spec.machineNaming"));
  causes.push(...validateMetadata(valueAt(spec, "template", "metadata"), "spec.template.metadata"));
  return causes;
}
