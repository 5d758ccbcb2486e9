/**
 * Machine admission (cluster.x-k8s.io/v1beta2), after upstream release-1.14
 * `core/webhooks/admission/machine.go`.
 *
 * Defaults: `cluster.x-k8s.io/cluster-name` label; `v` prefix on `spec.version`;
 * `spec.deletion.nodeDeletionTimeoutSeconds` 10 (set by the webhook — the v1beta2 CRD has no
 * schema default for it). On update upstream only guards `spec.clusterName`; every other spec
 * field may change (the controllers react to changes instead).
 * @module
 */
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { defaultVersionPrefix, validateBootstrap, validateMachineTaints, validateMachineTaintsForWorkers } from "./common.ts";
import { cause, CLUSTER_NAME_LABEL, ensureLabels, ensureObj, isObject, type JsonObject, MACHINE_POOL_NAME_LABEL, objAt, strAt, valueAt } from "./util.ts";
import { validateVersion } from "./validation.ts";

export const MACHINE_WEBHOOKS = {
  mutating: "default.machine.cluster.x-k8s.io",
  validating: "validation.machine.cluster.x-k8s.io",
};

export const DEFAULT_NODE_DELETION_TIMEOUT_SECONDS = 10;

export function mutateMachine(obj: KObject, _old: KObject | undefined): void {
  if (!isObject(obj.spec)) obj.spec = {};
  const spec = obj.spec as JsonObject;
  ensureLabels(obj)[CLUSTER_NAME_LABEL] = strAt(spec, "clusterName");
  defaultVersionPrefix(spec);
  const deletion = ensureObj(spec, "deletion");
  if (deletion.nodeDeletionTimeoutSeconds === undefined || deletion.nodeDeletionTimeoutSeconds === null) {
    deletion.nodeDeletionTimeoutSeconds = DEFAULT_NODE_DELETION_TIMEOUT_SECONDS;
  }
}

/** labels.IsMachinePoolOwned: the pool-name label or a MachinePool owner. */
function isMachinePoolOwned(obj: KObject): boolean {
  const labels = obj.metadata?.labels;
  if (isObject(labels) && Object.prototype.hasOwnProperty.call(labels, MACHINE_POOL_NAME_LABEL)) return true;
  const owners = obj.metadata?.ownerReferences;
  return Array.isArray(owners) && owners.some((o) => isObject(o) && o.kind === "MachinePool");
}

export function validateMachine(obj: KObject, old: KObject | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = objAt(obj, "spec");
  if (!isMachinePoolOwned(obj)) {
    causes.push(
      ...validateBootstrap(
        valueAt(spec, "bootstrap"),
        "spec.bootstrap",
        "expected either spec.bootstrap.dataSecretName or spec.bootstrap.configRef to be populated",
      ),
    );
  }
  if (old && strAt(old, "spec", "clusterName") !== strAt(spec, "clusterName")) {
    causes.push(cause.forbidden("spec.clusterName", "field is immutable"));
  }
  causes.push(...validateVersion("spec.version", strAt(spec, "version")));
  causes.push(...validateMachineTaints(valueAt(spec, "taints"), "spec.taints"));
  causes.push(...validateMachineTaintsForWorkers(valueAt(spec, "taints"), obj, "spec.taints"));
  return causes;
}
