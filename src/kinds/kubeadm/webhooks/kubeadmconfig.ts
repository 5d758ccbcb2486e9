/**
 * KubeadmConfig and KubeadmConfigTemplate admission (v1beta2), after Cluster API release-1.14
 * `bootstrap/kubeadm/webhooks/admission/kubeadmconfig{,template}.go`. Validation only, on create
 * and update: files (content xor contentFrom, secret name and key, unique paths), users (passwd xor
 * passwdFrom, secret name and key), ignition (the KubeadmBootstrapFormatIgnition feature gate is
 * off upstream by default and the appliance has no ignition support: `format: ignition` and
 * `spec.ignition` are forbidden), diskSetup layouts (≤ 100 %), the join kubeconfig user (not both
 * authProvider and exec) and, for KubeadmControlPlane(Template), equal
 * `controlPlaneComponentHealthCheckSeconds` in init and join timeouts. Template metadata is checked
 * like ObjectMeta upstream.
 *
 * Not defaulted: release-1.14 no longer defaults `format` (cloud-config is what an unset format
 * means); the template's "previous defaults" apply only to the topology controller's dry-run
 * requests, which the appliance does not make.
 * @module
 */
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { cause, isObject, objAt, strAt, valueAt } from "../../capi/webhooks/util.ts";
import { validateMetadata } from "../../capi/webhooks/validation.ts";

export const KUBEADM_CONFIG_WEBHOOKS = { validating: "validation.kubeadmconfig.bootstrap.cluster.x-k8s.io" };
export const KUBEADM_CONFIG_TEMPLATE_WEBHOOKS = {
  mutating: "default.kubeadmconfigtemplate.bootstrap.cluster.x-k8s.io",
  validating: "validation.kubeadmconfigtemplate.bootstrap.cluster.x-k8s.io",
};

export const IGNITION_GATE_MSG = "can be set only if the KubeadmBootstrapFormatIgnition feature gate is enabled; this appliance does not support ignition (Flatcar) yet: use format cloud-config";
const CONFLICTING_FILE_SOURCE = "only one of content or contentFrom may be specified for a single file";
const CONFLICTING_USER_SOURCE = "only one of passwd or passwdFrom may be specified for a single user";
const MISSING_SECRET_NAME = "secret file source must specify non-empty secret name";
const MISSING_SECRET_KEY = "secret file source must specify non-empty secret key";
const PATH_CONFLICT = "path property must be unique among all files";

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const defined = (v: unknown): boolean => isObject(v) && Object.keys(v).length > 0;

function validateSecretSource(source: unknown, field: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (strAt(source, "secret", "name") === "") causes.push(cause.required(`${field}.secret.name`, MISSING_SECRET_NAME));
  if (strAt(source, "secret", "key") === "") causes.push(cause.required(`${field}.secret.key`, MISSING_SECRET_KEY));
  return causes;
}

function validateFiles(spec: Record<string, unknown>, prefix: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const known = new Set<string>();
  list(spec.files).forEach((file, i) => {
    const field = `${prefix}.files[${i}]`;
    const contentFrom = valueAt(file, "contentFrom");
    if (strAt(file, "content") !== "" && defined(contentFrom)) causes.push(cause.invalid(field, file, CONFLICTING_FILE_SOURCE));
    if (defined(contentFrom)) causes.push(...validateSecretSource(contentFrom, `${field}.contentFrom`));
    const path = strAt(file, "path");
    if (known.has(path)) causes.push(cause.invalid(`${field}.path`, file, PATH_CONFLICT));
    known.add(path);
  });
  return causes;
}

function validateUsers(spec: Record<string, unknown>, prefix: string): StatusCause[] {
  const causes: StatusCause[] = [];
  list(spec.users).forEach((user, i) => {
    const field = `${prefix}.users[${i}]`;
    const passwdFrom = valueAt(user, "passwdFrom");
    if (strAt(user, "passwd") !== "" && defined(passwdFrom)) causes.push(cause.invalid(field, user, CONFLICTING_USER_SOURCE));
    if (defined(passwdFrom)) causes.push(...validateSecretSource(passwdFrom, `${field}.passwdFrom`));
  });
  return causes;
}

function validateIgnition(spec: Record<string, unknown>, prefix: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (spec.format === "ignition") causes.push(cause.forbidden(`${prefix}.format`, IGNITION_GATE_MSG));
  if (defined(spec.ignition)) causes.push(cause.forbidden(`${prefix}.ignition`, IGNITION_GATE_MSG));
  return causes;
}

function validateDiskSetup(spec: Record<string, unknown>, prefix: string): StatusCause[] {
  const causes: StatusCause[] = [];
  list(objAt(spec, "diskSetup")?.partitions).forEach((partition, i) => {
    const layout = list(valueAt(partition, "diskLayout"));
    if (layout.length === 0) return;
    const total = layout.reduce<number>((sum, l) => sum + (typeof valueAt(l, "percentage") === "number" ? (valueAt(l, "percentage") as number) : 0), 0);
    if (total > 100) causes.push(cause.invalid(`${prefix}.diskSetup.partitions[${i}].diskLayout`, total, ""));
  });
  return causes;
}

const healthCheck = (spec: Record<string, unknown>, config: string): string => {
  const v = valueAt(spec, config, "timeouts", "controlPlaneComponentHealthCheckSeconds");
  return typeof v === "number" ? String(v) : "unset";
};

/** bootstrapadmission.Validate(spec, isKCP, prefix). */
export function validateKubeadmConfigSpec(spec: unknown, isKCP: boolean, prefix: string): StatusCause[] {
  if (!isObject(spec)) return [];
  const causes = [...validateFiles(spec, prefix), ...validateUsers(spec, prefix), ...validateIgnition(spec, prefix), ...validateDiskSetup(spec, prefix)];
  const user = objAt(spec, "joinConfiguration", "discovery", "file", "kubeConfig", "user");
  if (user && defined(user.authProvider) && defined(user.exec)) {
    causes.push(cause.invalid(`${prefix}.joinConfiguration.discovery.file.kubeconfig.user`, user, ""));
  }
  if (isKCP) {
    const tInit = healthCheck(spec, "initConfiguration");
    const tJoin = healthCheck(spec, "joinConfiguration");
    if (tInit !== tJoin) {
      const detail = `controlPlaneComponentHealthCheckSeconds must be set to the same value both in initConfiguration.timeouts (${tInit}) and in joinConfiguration.timeouts (${tJoin})`;
      causes.push(cause.invalid(`${prefix}.initConfiguration.timeouts.controlPlaneComponentHealthCheckSeconds`, tInit, detail));
      causes.push(cause.invalid(`${prefix}.joinConfiguration.timeouts.controlPlaneComponentHealthCheckSeconds`, tJoin, detail));
    }
  }
  return causes;
}

export function validateKubeadmConfig(obj: KObject, _old: KObject | undefined): StatusCause[] {
  return validateKubeadmConfigSpec(obj.spec ?? {}, false, "spec");
}

export function validateKubeadmConfigTemplate(obj: KObject, _old: KObject | undefined): StatusCause[] {
  return [
    ...validateKubeadmConfigSpec(valueAt(obj, "spec", "template", "spec") ?? {}, false, "spec.template.spec"),
    ...validateMetadata(valueAt(obj, "spec", "template", "metadata"), "spec.template.metadata"),
  ];
}
