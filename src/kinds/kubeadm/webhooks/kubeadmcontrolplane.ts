/**
 * KubeadmControlPlane and KubeadmControlPlaneTemplate admission (v1beta2), after Cluster API
 * release-1.14 `controlplane/kubeadm/webhooks/admission/kubeadmcontrolplane{,_scale,template}.go`.
 *
 * KubeadmControlPlane defaulting (create and update): `replicas` 1 when unset; a leading `v` on
 * `version`; `rollout.strategy.type` RollingUpdate and `rollingUpdate.maxSurge` 1 when unset.
 * Validation (create and update): replicas required and > 0, odd with stacked (local) etcd;
 * `machineTemplate.spec.infrastructureRef` apiGroup/kind/name not empty; machine taints and template
 * metadata; `version` `v`-prefixed semver; rollout strategy RollingUpdate with maxSurge 0 or 1 (0
 * needs ≥ 3 replicas); certificate validity periods and `rollout.before`; machine naming template;
 * clusterConfiguration image tags, not both local and external etcd; the kubeadm spec checks of
 * ../webhooks/kubeadmconfig.ts with equal control-plane health-check timeouts. On update only the
 * upstream allow-list of paths may change (everything else: "cannot be modified"), etcd cannot
 * switch between local and external, and the Kubernetes version may move up at most one minor.
 * Scale subresource writes go through the same validation here (the registry applies them as
 * updates of the object), so replicas ≤ 0 or even with stacked etcd answer 422 where upstream's
 * scale webhook answers 403 with the same reasons.
 *
 * Left out: the CoreDNS upgrade check (`migration.ValidUpMigration` of coredns/corefile-migration,
 * a table of CoreDNS releases this project does not carry).
 *
 * KubeadmControlPlaneTemplate: creating one is forbidden while the ClusterTopology feature gate is
 * off, which it is upstream by default and always here (ClusterClass is not supported); on update
 * `spec.template.spec` is immutable.
 * @module
 */
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { jsonEqual } from "../../capi/conversion/util.ts";
import { validateMachineTaints } from "../../capi/webhooks/common.ts";
import { generateNameFromTemplate } from "../../capi/webhooks/name-template.ts";
import { cause, ensureObj, isObject, type JsonObject, objAt, Rendered, strAt, valueAt } from "../../capi/webhooks/util.ts";
import { dns1123SubdomainErrors, isSemver, validateMetadata } from "../../capi/webhooks/validation.ts";
import { validateKubeadmConfigSpec } from "./kubeadmconfig.ts";
import { compareCore, parseTolerant } from "./semver.ts";
import { cloneData } from "../../../lib/clone.ts";

export const KUBEADM_CONTROL_PLANE_WEBHOOKS = {
  mutating: "default.kubeadmcontrolplane.controlplane.cluster.x-k8s.io",
  validating: "validation.kubeadmcontrolplane.controlplane.cluster.x-k8s.io",
};
export const KUBEADM_CONTROL_PLANE_TEMPLATE_WEBHOOKS = { validating: "validation.kubeadmcontrolplanetemplate.controlplane.cluster.x-k8s.io" };

const ROLLING_UPDATE = "RollingUpdate";
const DEFAULT_CA_CERTIFICATES_EXPIRY_DAYS = 3650;
const OCI_TAG_DISALLOWED = /[^-a-zA-Z0-9_.]/;

export function mutateKubeadmControlPlane(obj: KObject, _old: KObject | undefined): void {
  const spec = ensureObj(obj as JsonObject, "spec");
  if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 1;
  const version = typeof spec.version === "string" ? spec.version : "";
  if (!version.startsWith("v")) spec.version = `v${version}`;
  const strategy = ensureObj(ensureObj(spec, "rollout"), "strategy");
  strategy.type = ROLLING_UPDATE;
  const rolling = ensureObj(strategy, "rollingUpdate");
  if (rolling.maxSurge === undefined || rolling.maxSurge === null) rolling.maxSurge = 1;
}

const externalEtcd = (spec: unknown) => isObject(valueAt(spec, "kubeadmConfigSpec", "clusterConfiguration", "etcd", "external"));

/** `intstr.IntOrString.IntValue()`: the int, or a string parsed with Atoi (0 on failure). */
function intValue(v: unknown): number {
  if (typeof v === "number") return Math.trunc(v);
  if (typeof v === "string" && /^[+-]?\d+$/.test(v)) return Number(v);
  return 0;
}

function validateRollout(spec: JsonObject, replicas: number | undefined, prefix: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const rollout = objAt(spec, "rollout");
  const strategy = objAt(rollout, "strategy");
  if (strategy && Object.keys(strategy).length > 0) {
    if (strategy.type !== ROLLING_UPDATE) causes.push(cause.required(`${prefix}.rollout.strategy.type`, "only RollingUpdate is supported"));
    const maxSurge = valueAt(strategy, "rollingUpdate", "maxSurge");
    if (maxSurge !== undefined && maxSurge !== null) {
      const n = intValue(maxSurge);
      if (n === 0 && replicas !== undefined && replicas < 3) {
        causes.push(cause.required(`${prefix}.rollout.strategy.rollingUpdate`, "when KubeadmControlPlane is configured to scale-in, replica count needs to be at least 3"));
      }
      if (n !== 1 && n !== 0) causes.push(cause.required(`${prefix}.rollout.strategy.rollingUpdate.maxSurge`, "value must be 1 or 0"));
    }
  }
  const cc = objAt(spec, "kubeadmConfigSpec", "clusterConfiguration");
  const certDays = typeof cc?.certificateValidityPeriodDays === "number" ? cc.certificateValidityPeriodDays : 0;
  const caDays = typeof cc?.caCertificateValidityPeriodDays === "number" ? cc.caCertificateValidityPeriodDays : 0;
  if (certDays !== 0) {
    const field = `${prefix}.kubeadmConfigSpec.clusterConfiguration.certificateValidityPeriodDays`;
    if (caDays !== 0) {
      if (certDays > caDays) causes.push(cause.invalid(field, certDays, `must be less than or equal to caCertificateValidityPeriodDays (${caDays})`));
    } else if (certDays > DEFAULT_CA_CERTIFICATES_EXPIRY_DAYS) {
      causes.push(cause.invalid(field, certDays, `must be less than or equal to the default value of caCertificateValidityPeriodDays (${DEFAULT_CA_CERTIFICATES_EXPIRY_DAYS})`));
    }
    const before = valueAt(rollout, "before", "certificatesExpiryDays");
    if (typeof before === "number" && before !== 0 && before >= certDays) {
      causes.push(cause.invalid(`${prefix}.rollout.before.certificatesExpiryDays`, before, `must be less than certificateValidityPeriodDays (${certDays})`));
    }
  }
  return causes;
}

function validateNaming(spec: JsonObject, prefix: string): StatusCause[] {
  const template = strAt(spec, "machineNaming", "template");
  if (template === "") return [];
  const field = `${prefix}.machineNaming.template`;
  const causes: StatusCause[] = [];
  if (!template.includes("{{ .random }}")) causes.push(cause.invalid(field, template, "invalid template, {{ .random }} is missing"));
  const generated = generateNameFromTemplate(template, "cluster", { kubeadmControlPlane: { name: "kubeadmcontrolplane" } });
  if ("error" in generated) causes.push(cause.invalid(field, template, `invalid template: ${generated.error}`));
  else {
    for (const msg of dns1123SubdomainErrors(generated.name)) {
      causes.push(cause.invalid(field, template, `invalid template, generated names would not be valid Kubernetes object names: ${msg}`));
    }
  }
  return causes;
}

function validateSpec(spec: JsonObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const replicas = typeof spec.replicas === "number" ? spec.replicas : undefined;
  if (replicas === undefined) causes.push(cause.required("spec.replicas", "is required"));
  else if (replicas <= 0) causes.push(cause.forbidden("spec.replicas", "cannot be less than or equal to 0"));
  if (!externalEtcd(spec) && replicas !== undefined && replicas % 2 === 0) {
    causes.push(cause.forbidden("spec.replicas", "cannot be an even number when etcd is stacked"));
  }
  const ref = objAt(spec, "machineTemplate", "spec", "infrastructureRef");
  for (const k of ["apiGroup", "kind", "name"]) {
    if (strAt(ref, k) === "") causes.push(cause.invalid(`spec.machineTemplate.infrastructure.${k}`, "", "cannot be empty"));
  }
  causes.push(...validateMachineTaints(valueAt(spec, "machineTemplate", "spec", "taints"), "spec.machineTemplate.spec.taints"));
  causes.push(...validateMetadata(valueAt(spec, "machineTemplate", "metadata"), "spec.machineTemplate.metadata"));
  const version = strAt(spec, "version");
  if (!version.startsWith("v")) causes.push(cause.invalid("spec.version", version, "must start with v"));
  if (!isSemver(version.startsWith("v") ? version.slice(1) : version)) causes.push(cause.invalid("spec.version", version, "must be a valid semantic version"));
  causes.push(...validateRollout(spec, replicas, "spec"));
  causes.push(...validateNaming(spec, "spec"));
  return causes;
}

function validateClusterConfiguration(oldSpec: unknown, spec: unknown, prefix: string): StatusCause[] {
  const cc = objAt(spec, "kubeadmConfigSpec", "clusterConfiguration") ?? {};
  const causes: StatusCause[] = [];
  const dnsTag = strAt(cc, "dns", "imageTag");
  if (OCI_TAG_DISALLOWED.test(dnsTag)) causes.push(cause.forbidden(`${prefix}.dns.imageTag`, `tag ${dnsTag} is invalid`));
  if (dnsTag !== "" && !parseTolerant(dnsTag.replaceAll("_", "+"))) {
    // Upstream reports this one at `dns.imageTag` (without the prefix).
    causes.push(cause.invalid("dns.imageTag", dnsTag, `failed to parse CoreDNS version: ${semverError(dnsTag)}`));
  }
  const local = objAt(cc, "etcd", "local");
  const localDefined = !!local && Object.keys(local).length > 0;
  const etcdTag = strAt(local, "imageTag");
  if (localDefined && OCI_TAG_DISALLOWED.test(etcdTag)) causes.push(cause.forbidden(`${prefix}.etcd.local.imageTag`, `tag ${etcdTag} is invalid`));
  if (localDefined && externalEtcd(spec)) causes.push(cause.forbidden(`${prefix}.etcd.local`, "cannot have both external and local etcd"));
  if (oldSpec !== undefined && externalEtcd(spec) !== externalEtcd(oldSpec)) {
    causes.push(cause.forbidden(`${prefix}.etcd.external`, "cannot change between external and local etcd"));
  }
  return causes;
}

/** Approximates blang/semver's error text for an unparsable tag. */
function semverError(tag: string): string {
  return `Invalid character(s) found in version ${JSON.stringify(tag.replace(/^v/, ""))}`;
}

const ALLOWED_UPDATE_PATHS: string[][] = [
  ["metadata", "*"],
  ...[
    ["etcd"], ["etcd", "*"], ["etcd", "local"], ["etcd", "local", "*"], ["etcd", "external", "*"], ["dns"], ["dns", "*"], ["imageRepository"],
    ["featureGates"], ["featureGates", "*"], ["apiServer"], ["apiServer", "*"], ["controllerManager"], ["controllerManager", "*"], ["scheduler"],
    ["scheduler", "*"], ["certificateValidityPeriodDays"], ["encryptionAlgorithm"],
  ].map((p) => ["spec", "kubeadmConfigSpec", "clusterConfiguration", ...p]),
  ...[
    ["nodeRegistration"], ["nodeRegistration", "*"], ["patches", "directory"], ["patches"], ["skipPhases"], ["bootstrapTokens"],
    ["localAPIEndpoint"], ["localAPIEndpoint", "*"], ["timeouts"], ["timeouts", "*"],
  ].map((p) => ["spec", "kubeadmConfigSpec", "initConfiguration", ...p]),
  ...[
    ["nodeRegistration"], ["nodeRegistration", "*"], ["patches", "directory"], ["patches"], ["skipPhases"], ["caCertPath"], ["controlPlane"],
    ["controlPlane", "*"], ["discovery"], ["discovery", "*"], ["timeouts"], ["timeouts", "*"],
  ].map((p) => ["spec", "kubeadmConfigSpec", "joinConfiguration", ...p]),
  ...[
    ["bootCommands"], ["preKubeadmCommands"], ["postKubeadmCommands"], ["files"], ["verbosity"], ["users"], ["ntp"], ["ntp", "*"], ["ignition"],
    ["ignition", "*"], ["diskSetup"], ["diskSetup", "*"], ["format"], ["mounts"],
  ].map((p) => ["spec", "kubeadmConfigSpec", ...p]),
  ["spec", "machineTemplate", "metadata"],
  ["spec", "machineTemplate", "metadata", "*"],
  ["spec", "machineTemplate", "spec"],
  ["spec", "machineTemplate", "spec", "*"],
  ["spec", "replicas"],
  ["spec", "version"],
  ["spec", "remediation"],
  ["spec", "remediation", "*"],
  ["spec", "machineNaming"],
  ["spec", "machineNaming", "*"],
  ["spec", "rollout"],
  ["spec", "rollout", "*"],
];

function pathsMatch(allowed: string[], path: string[]): boolean {
  if (allowed.length === 0 || path.length === 0) return false;
  let i = 0;
  for (i = 0; i < path.length; i++) {
    if (i > allowed.length - 1) return false;
    if (allowed[i] === "*") return true;
    if (path[i] !== allowed[i]) return false;
  }
  return i - 1 >= allowed.length - 1;
}

/** The leaf paths of the JSON merge patch from `a` to `b` (jsonpatch.CreateMergePatch + paths()). */
export function mergePatchPaths(a: unknown, b: unknown, path: string[] = [], out: string[][] = []): string[][] {
  if (!isObject(a) || !isObject(b)) {
    if (!jsonEqual(a, b)) out.push(path);
    return out;
  }
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (jsonEqual(a[k], b[k])) continue;
    if (isObject(a[k]) && isObject(b[k])) mergePatchPaths(a[k], b[k], [...path, k], out);
    else if (!(k in a) && isObject(b[k])) {
      // An added object shows up in the patch as that object: its leaves are the paths.
      const leaves = mergePatchPaths({}, b[k], [...path, k]);
      if (leaves.length === 0) out.push([...path, k]);
      else out.push(...leaves);
    } else out.push([...path, k]);
  }
  return out;
}

function validateVersionSkew(oldVersion: string, version: string): StatusCause[] {
  const from = parseTolerant(oldVersion);
  const to = parseTolerant(version);
  // Upstream reports unparsable versions as internal errors; the spec check above already refuses them.
  if (!from || !to) return [];
  if (compareCore(to, { major: from.major, minor: from.minor + 2, patch: 0 }) >= 0) {
    return [cause.forbidden("spec.version", `cannot update Kubernetes version from ${oldVersion} to ${version}`)];
  }
  return [];
}

export function validateKubeadmControlPlane(obj: KObject, old: KObject | undefined): StatusCause[] {
  const spec = (isObject(obj.spec) ? obj.spec : {}) as JsonObject;
  const causes = validateSpec(spec);
  if (old) {
    for (const p of mergePatchPaths(old, obj)) {
      if (p.length === 0 || ALLOWED_UPDATE_PATHS.some((a) => pathsMatch(a, p))) continue;
      // Go walks the patch map in random order; these come in document order.
      causes.push(cause.forbidden(p.join("."), "cannot be modified"));
    }
    causes.push(...validateVersionSkew(strAt(old, "spec", "version"), strAt(spec, "version")));
  }
  causes.push(...validateClusterConfiguration(old ? (old.spec ?? {}) : undefined, spec, "spec.kubeadmConfigSpec.clusterConfiguration"));
  causes.push(...validateKubeadmConfigSpec(spec.kubeadmConfigSpec ?? {}, true, "spec.kubeadmConfigSpec"));
  return causes;
}

export const CLUSTER_TOPOLOGY_DISABLED_MSG = "can be set only if the ClusterTopology feature flag is enabled";

/** Upstream treats a new empty strategy as unchanged when the old one was RollingUpdate, maxSurge 1. */
function withPreviousStrategy(before: unknown, after: unknown): unknown {
  const strategy = valueAt(after, "rollout", "strategy");
  const oldStrategy = valueAt(before, "rollout", "strategy");
  const empty = strategy === undefined || (isObject(strategy) && Object.keys(strategy).length === 0);
  if (!empty || valueAt(oldStrategy, "type") !== ROLLING_UPDATE || valueAt(oldStrategy, "rollingUpdate", "maxSurge") !== 1) return after;
  const copy = cloneData(after ?? {}) as JsonObject;
  ensureObj(copy, "rollout").strategy = cloneData(oldStrategy);
  return copy;
}

export function validateKubeadmControlPlaneTemplate(obj: KObject, old: KObject | undefined): StatusCause[] {
  if (!old) return [cause.forbidden("spec", CLUSTER_TOPOLOGY_DISABLED_MSG)];
  const before = valueAt(old, "spec", "template", "spec") ?? {};
  const after = withPreviousStrategy(before, valueAt(obj, "spec", "template", "spec") ?? {});
  if (jsonEqual(before, after)) return [];
  // Upstream appends a field-by-field diff to the message; it is left out here.
  const detail = "KubeadmControlPlaneTemplate spec.template.spec field is immutable. Please create new resource instead.";
  return [cause.invalid("spec.template.spec", new Rendered(JSON.stringify(obj)), detail)];
}
