/**
 * Checks and defaults shared by the Machine, MachineSet and MachineDeployment webhooks
 * (upstream: `core/webhooks/admission/{machine,machineset,machinedeployment}.go`,
 * `internal/util/taints/validation.go`).
 * @module
 */
import type { StatusCause } from "../../../lib/api-errors.ts";
import { goQuote } from "../../../lib/go-format.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { featureGates } from "./features.ts";
import { machineSetMachineName } from "./name-template.ts";
import {
  AUTOSCALER_MAX_SIZE_ANNOTATION,
  AUTOSCALER_MIN_SIZE_ANNOTATION,
  cause,
  goJsonStrings,
  isObject,
  MACHINE_CONTROL_PLANE_LABEL,
  Rendered,
  SKIP_PREFLIGHT_CHECKS_ANNOTATION,
  strAt,
  valueAt,
  webhookDenied,
} from "./util.ts";
import { dns1123SubdomainErrors, labelKeyErrors } from "./validation.ts";

/** Prepends `v` to a non-empty version without it (all three defaulting webhooks). */
export function defaultVersionPrefix(spec: Record<string, unknown> | undefined): void {
  if (!spec) return;
  const v = spec.version;
  if (typeof v === "string" && v !== "" && !v.startsWith("v")) spec.version = `v${v}`;
}

/** The bootstrap check: configRef or dataSecretName (`spec[.template.spec].bootstrap`). */
export function validateBootstrap(bootstrap: unknown, field: string, detail: string): StatusCause[] {
  const configRef = valueAt(bootstrap, "configRef");
  const configRefDefined = isObject(configRef) && !!(strAt(configRef, "kind") || strAt(configRef, "name") || strAt(configRef, "apiGroup"));
  const dataSecretName = valueAt(bootstrap, "dataSecretName");
  if (!configRefDefined && typeof dataSecretName !== "string") return [cause.required(field, detail)];
  return [];
}

// ---------------------------------------------------------------------------------------------
// Taints
// ---------------------------------------------------------------------------------------------

const NODE_UNINITIALIZED_TAINT = "node.cluster.x-k8s.io/uninitialized";
const NODE_OUTDATED_REVISION_TAINT = "node.cluster.x-k8s.io/outdated-revision";

/** taints.ValidateMachineTaints */
export function validateMachineTaints(taints: unknown, field: string): StatusCause[] {
  const list = Array.isArray(taints) ? taints : [];
  const causes: StatusCause[] = [];
  if (!featureGates.MachineTaintPropagation && list.length > 0) {
    causes.push(cause.forbidden(field, "taints are not allowed to be set when the feature gate MachineTaintPropagation is disabled"));
  }
  list.forEach((taint, i) => {
    const keyField = `${field}[${i}].key`;
    const key = strAt(taint, "key");
    if (key === NODE_UNINITIALIZED_TAINT || key === NODE_OUTDATED_REVISION_TAINT) {
      causes.push(cause.invalid(keyField, key, "taint key is not allowed"));
    } else if (key.startsWith("node.kubernetes.io/") && key !== "node.kubernetes.io/out-of-service") {
      causes.push(cause.invalid(keyField, key, "taint key must not have the prefix node.kubernetes.io/, except for node.kubernetes.io/out-of-service"));
    } else if (key.startsWith("node.cloudprovider.kubernetes.io/")) {
      causes.push(cause.invalid(keyField, key, "taint key must not have the prefix node.cloudprovider.kubernetes.io/"));
    } else if (key === "node-role.kubernetes.io/master") {
      causes.push(cause.invalid(keyField, key, "taint is deprecated since 1.24 and should not be used anymore"));
    }
    for (const msg of labelKeyErrors(key)) causes.push(cause.invalid(keyField, key, msg));
  });
  return causes;
}

/** validateMachineTaintsForWorkers: the control-plane taint only on control-plane Machines. */
export function validateMachineTaintsForWorkers(taints: unknown, machine: KObject | undefined, field: string): StatusCause[] {
  if (!featureGates.MachineTaintPropagation) return [];
  const labels = machine?.metadata?.labels;
  if (isObject(labels) && Object.prototype.hasOwnProperty.call(labels, MACHINE_CONTROL_PLANE_LABEL)) return [];
  const list = Array.isArray(taints) ? taints : [];
  const causes: StatusCause[] = [];
  list.forEach((taint, i) => {
    const key = strAt(taint, "key");
    if (key === "node-role.kubernetes.io/control-plane") {
      causes.push(cause.invalid(`${field}[${i}].key`, key, "taint is not allowed for worker Machines"));
    }
  });
  return causes;
}

// ---------------------------------------------------------------------------------------------
// MachineSet preflight checks annotation
// ---------------------------------------------------------------------------------------------

export const PREFLIGHT_CHECKS = ["All", "ControlPlaneIsStable", "ControlPlaneVersionSkew", "KubeadmVersionSkew", "KubernetesVersionSkew"];

/** validateSkippedMachineSetPreflightChecks (only with the MachineSetPreflightChecks gate). */
export function validateSkippedPreflightChecks(obj: KObject): StatusCause[] {
  if (!featureGates.MachineSetPreflightChecks) return [];
  const skip = obj.metadata?.annotations?.[SKIP_PREFLIGHT_CHECKS_ANNOTATION];
  if (typeof skip !== "string" || skip === "") return [];
  const invalid = skip
    .split(",")
    .map((s) => s.trim())
    .filter((s) => !PREFLIGHT_CHECKS.includes(s));
  if (!invalid.length) return [];
  return [
    cause.invalid(
      `metadata.annotations.${SKIP_PREFLIGHT_CHECKS_ANNOTATION}`,
      new Rendered(goJsonStrings(invalid)),
      `skipped preflight check(s) must be among: [${PREFLIGHT_CHECKS.join(" ")}]`,
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Machine naming
// ---------------------------------------------------------------------------------------------

/** validateMDMachineNaming / validateMSMachineNaming (identical upstream). */
export function validateMachineNaming(machineNaming: unknown, field: string): StatusCause[] {
  const template = strAt(machineNaming, "template");
  if (template === "") return [];
  const templateField = `${field}.template`;
  const causes: StatusCause[] = [];
  if (!template.includes("{{ .random }}")) {
    causes.push(cause.invalid(templateField, template, "invalid template, {{ .random }} is missing"));
  }
  const generated = machineSetMachineName(template, "cluster", "machineset");
  if ("error" in generated) {
    causes.push(cause.invalid(templateField, template, `invalid template: ${generated.error}`));
  } else {
    for (const msg of dns1123SubdomainErrors(generated.name)) {
      causes.push(
        cause.invalid(templateField, template, `invalid template, generated names would not be valid Kubernetes object names: ${msg}`),
      );
    }
  }
  return causes;
}

// ---------------------------------------------------------------------------------------------
// Replicas defaulting from the cluster-autoscaler annotations
// ---------------------------------------------------------------------------------------------

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** strconv.ParseInt(s, 10, 32): the value or the Go error text. */
function parseInt32(s: string): { value: number } | { error: string } {
  if (!/^[+-]?[0-9]+$/.test(s)) return { error: `strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax` };
  const v = BigInt(s);
  if (v > BigInt(INT32_MAX) || v < BigInt(INT32_MIN)) return { error: `strconv.ParseInt: parsing ${goQuote(s)}: value out of range` };
  return { value: Number(v) };
}

/**
 * calculateMachineDeploymentReplicas / calculateMachineSetReplicas: keep a set value; with both
 * autoscaler annotations use min size on create, and on update clamp the old replicas into
 * [min, max]; otherwise 1. An unparsable annotation fails the request as upstream's Default does.
 */
export function defaultReplicas(obj: KObject, old: KObject | undefined, kind: "MachineDeployment" | "MachineSet", webhookName: string): number {
  const current = valueAt(obj, "spec", "replicas");
  if (typeof current === "number") return current;
  const annotations = obj.metadata?.annotations ?? {};
  const hasMin = Object.prototype.hasOwnProperty.call(annotations, AUTOSCALER_MIN_SIZE_ANNOTATION);
  const hasMax = Object.prototype.hasOwnProperty.call(annotations, AUTOSCALER_MAX_SIZE_ANNOTATION);
  if (hasMin && hasMax) {
    const parse = (key: string): number => {
      const r = parseInt32(String(annotations[key]));
      if ("error" in r) {
        throw webhookDenied(
          webhookName,
          `failed to caculate ${kind} replicas value: could not parse the value of the ${goQuote(key)} annotation: ${r.error}`,
        );
      }
      return r.value;
    };
    const minSize = parse(AUTOSCALER_MIN_SIZE_ANNOTATION);
    const maxSize = parse(AUTOSCALER_MAX_SIZE_ANNOTATION);
    if (!old) return minSize;
    const oldReplicas = valueAt(old, "spec", "replicas");
    if (typeof oldReplicas !== "number") return minSize;
    if (oldReplicas < minSize) return minSize;
    if (oldReplicas > maxSize) return maxSize;
    return oldReplicas;
  }
  return 1;
}
