/**
 * KubeadmControlPlane and KubeadmControlPlaneTemplate v1beta1 ⇄ v1beta2 (hub), after upstream
 * `controlplane/kubeadm/webhooks/conversion/` and `api/controlplane/kubeadm/v1beta1/conversion.go`.
 *
 * spec: `kubeadmConfigSpec` as kubeadm-spec.ts; `machineTemplate.{infrastructureRef, readinessGates,
 * taints}` ⇄ `machineTemplate.spec.{…}` (the reference becomes `{apiGroup, kind, name}`),
 * `machineTemplate.node*Timeout` ⇄ `machineTemplate.spec.deletion.node*TimeoutSeconds`;
 * `remediationStrategy.{maxRetry, minHealthyPeriod, retryPeriod}` ⇄
 * `remediation.{maxRetry, minHealthyPeriodSeconds, retryPeriodSeconds}`; `rolloutStrategy`,
 * `rolloutAfter`, `rolloutBefore` ⇄ `rollout.{strategy, after, before}`; `machineNamingStrategy` ⇄
 * `machineNaming`. The template's `rolloutStrategy` without a type becomes `RollingUpdate` (as
 * upstream). status: `initialized` ⇄ `initialization.controlPlaneInitialized`; the old replica
 * counters, conditions and failure fields ⇄ `deprecated.v1beta1`; `v1beta2.{conditions,
 * readyReplicas, availableReplicas, upToDateReplicas}` ⇄ the top level; `ready` is derived
 * (`readyReplicas > 0`); `lastRemediation.timestamp` ⇄ `time`.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { copyConditions, deprecatedV1Beta1, setDeprecatedV1Beta1, setV1Beta2Block, v1beta2Block } from "../../capi/conversion/conditions.ts";
import { durationToSeconds, secondsToDuration } from "../../capi/conversion/durations.ts";
import type { SpokeConversion } from "../../capi/conversion/hub.ts";
import { nonZero, shell, timeoutsFromSeconds, timeoutsToSeconds } from "../../capi/conversion/machine.ts";
import { contractVersionedToRef, refToContractVersioned } from "../../capi/conversion/refs.ts";
import { type J, nonEmptyStr, num, obj, orUndef, put, str } from "../../capi/conversion/util.ts";
import { apiVersionOf, CONTROL_PLANE_GROUP, HUB_VERSION, SPOKE_VERSION } from "./common.ts";
import { kubeadmConfigSpecFromHub, kubeadmConfigSpecToHub } from "./kubeadm-spec.ts";

const HUB = apiVersionOf(CONTROL_PLANE_GROUP, HUB_VERSION);
const SPOKE = apiVersionOf(CONTROL_PLANE_GROUP, SPOKE_VERSION);

function machineTemplateToHub(t: J, withInfraRef: boolean): J | undefined {
  const out: J = {};
  put(out, "metadata", orUndef(obj(t.metadata) ?? {}));
  const spec: J = {};
  if (withInfraRef) put(spec, "infrastructureRef", refToContractVersioned(t.infrastructureRef));
  put(spec, "readinessGates", t.readinessGates);
  put(spec, "taints", t.taints);
  const deletion: J = {};
  timeoutsToSeconds(t, deletion);
  put(spec, "deletion", orUndef(deletion));
  put(out, "spec", orUndef(spec));
  return orUndef(out);
}

function machineTemplateFromHub(t: J, withInfraRef: boolean, namespace: string | undefined): J {
  const out: J = {};
  put(out, "metadata", t.metadata);
  const spec = obj(t.spec);
  if (withInfraRef) out.infrastructureRef = contractVersionedToRef(spec?.infrastructureRef, namespace) ?? {};
  put(out, "readinessGates", spec?.readinessGates);
  put(out, "taints", spec?.taints);
  timeoutsFromSeconds(obj(spec?.deletion), out);
  return out;
}

/** The fields KubeadmControlPlane and its template's resource spec share, v1beta1 → v1beta2. */
function commonSpecToHub(s: J, out: J, isTemplate: boolean): void {
  const kcs = obj(s.kubeadmConfigSpec);
  if (kcs) put(out, "kubeadmConfigSpec", orUndef(kubeadmConfigSpecToHub(kcs)));
  const rs = obj(s.remediationStrategy);
  if (rs) {
    const r: J = {};
    put(r, "maxRetry", num(rs.maxRetry));
    put(r, "minHealthyPeriodSeconds", durationToSeconds(rs.minHealthyPeriod));
    put(r, "retryPeriodSeconds", durationToSeconds(rs.retryPeriod));
    put(out, "remediation", orUndef(r));
  }
  const rollout: J = {};
  put(rollout, "after", nonEmptyStr(s.rolloutAfter));
  const days = num(obj(s.rolloutBefore)?.certificatesExpiryDays);
  if (days !== undefined) rollout.before = { certificatesExpiryDays: days };
  const rst = obj(s.rolloutStrategy);
  if (rst) {
    const strategy: J = {};
    put(strategy, "type", nonEmptyStr(rst.type) ?? (isTemplate ? "RollingUpdate" : undefined));
    const maxSurge = obj(rst.rollingUpdate)?.maxSurge;
    if (maxSurge !== undefined && maxSurge !== null) strategy.rollingUpdate = { maxSurge };
    put(rollout, "strategy", orUndef(strategy));
  }
  put(out, "rollout", orUndef(rollout));
  const naming = nonEmptyStr(obj(s.machineNamingStrategy)?.template);
  if (naming) out.machineNaming = { template: naming };
}

function commonSpecFromHub(h: J, out: J): void {
  const r = obj(h.remediation);
  if (r) {
    const rs: J = {};
    put(rs, "maxRetry", num(r.maxRetry));
    put(rs, "minHealthyPeriod", secondsToDuration(r.minHealthyPeriodSeconds));
    rs.retryPeriod = secondsToDuration(r.retryPeriodSeconds) ?? "0s";
    out.remediationStrategy = rs;
  }
  const rollout = obj(h.rollout);
  put(out, "rolloutAfter", nonEmptyStr(rollout?.after));
  const days = num(obj(rollout?.before)?.certificatesExpiryDays);
  if (obj(rollout?.before)) out.rolloutBefore = { certificatesExpiryDays: days ?? 0 };
  const strategy = obj(rollout?.strategy);
  if (strategy) {
    const rst: J = {};
    put(rst, "type", str(strategy.type));
    const maxSurge = obj(strategy.rollingUpdate)?.maxSurge;
    if (maxSurge !== undefined) rst.rollingUpdate = { maxSurge };
    out.rolloutStrategy = rst;
  }
  const naming = nonEmptyStr(obj(h.machineNaming)?.template);
  if (naming) out.machineNamingStrategy = { template: naming };
  const kcs = obj(h.kubeadmConfigSpec);
  out.kubeadmConfigSpec = kcs ? kubeadmConfigSpecFromHub(kcs) : {};
}

function kcpSpecToHub(s: J): J {
  const out: J = {};
  put(out, "replicas", num(s.replicas));
  put(out, "version", nonEmptyStr(s.version));
  const mt = obj(s.machineTemplate);
  if (mt) put(out, "machineTemplate", machineTemplateToHub(mt, true));
  commonSpecToHub(s, out, false);
  return out;
}

function kcpSpecFromHub(h: J, namespace: string | undefined): J {
  const out: J = {};
  put(out, "replicas", num(h.replicas));
  out.version = str(h.version) ?? "";
  out.machineTemplate = machineTemplateFromHub(obj(h.machineTemplate) ?? {}, true, namespace);
  commonSpecFromHub(h, out);
  return out;
}

const LAST_REMEDIATION_KEYS = ["machine", "retryCount"] as const;

function lastRemediation(l: unknown, fromTime: "timestamp" | "time", toTime: "timestamp" | "time"): J | undefined {
  const lr = obj(l);
  if (!lr) return undefined;
  const out: J = {};
  for (const k of LAST_REMEDIATION_KEYS) put(out, k, lr[k]);
  put(out, toTime, lr[fromTime]);
  return out;
}

function kcpStatusToHub(s: J): J | undefined {
  const out: J = {};
  const v2 = v1beta2Block(s);
  copyConditions(out, "conditions", v2?.conditions);
  if (s.initialized === true) out.initialization = { controlPlaneInitialized: true };
  put(out, "selector", nonEmptyStr(s.selector));
  put(out, "replicas", num(s.replicas));
  put(out, "readyReplicas", num(v2?.readyReplicas));
  put(out, "availableReplicas", num(v2?.availableReplicas));
  put(out, "upToDateReplicas", num(v2?.upToDateReplicas));
  put(out, "version", nonEmptyStr(s.version));
  put(out, "observedGeneration", nonZero(s.observedGeneration));
  put(out, "lastRemediation", lastRemediation(s.lastRemediation, "timestamp", "time"));
  const dep: J = {};
  copyConditions(dep, "conditions", s.conditions);
  put(dep, "failureReason", nonEmptyStr(s.failureReason));
  put(dep, "failureMessage", nonEmptyStr(s.failureMessage));
  dep.updatedReplicas = num(s.updatedReplicas) ?? 0;
  dep.readyReplicas = num(s.readyReplicas) ?? 0;
  dep.unavailableReplicas = num(s.unavailableReplicas) ?? 0;
  setDeprecatedV1Beta1(out, dep, true);
  return orUndef(out);
}

function kcpStatusFromHub(h: J): J {
  const out: J = {};
  const dep = deprecatedV1Beta1(h);
  put(out, "selector", nonEmptyStr(h.selector));
  out.replicas = num(h.replicas) ?? 0;
  put(out, "version", nonEmptyStr(h.version));
  out.updatedReplicas = num(dep?.updatedReplicas) ?? 0;
  out.readyReplicas = num(dep?.readyReplicas) ?? 0;
  out.unavailableReplicas = num(dep?.unavailableReplicas) ?? 0;
  out.initialized = obj(h.initialization)?.controlPlaneInitialized === true;
  out.ready = (out.readyReplicas as number) > 0;
  put(out, "failureReason", nonEmptyStr(dep?.failureReason));
  put(out, "failureMessage", nonEmptyStr(dep?.failureMessage));
  put(out, "observedGeneration", nonZero(h.observedGeneration));
  copyConditions(out, "conditions", dep?.conditions);
  put(out, "lastRemediation", lastRemediation(h.lastRemediation, "time", "timestamp"));
  const v1beta2: J = {};
  copyConditions(v1beta2, "conditions", h.conditions);
  put(v1beta2, "readyReplicas", num(h.readyReplicas));
  put(v1beta2, "availableReplicas", num(h.availableReplicas));
  put(v1beta2, "upToDateReplicas", num(h.upToDateReplicas));
  setV1Beta2Block(out, v1beta2);
  return out;
}

function kcpToHub(src: KObject): KObject {
  const out = shell(src, HUB);
  const spec = obj(src.spec);
  if (spec) put(out, "spec", orUndef(kcpSpecToHub(spec)));
  const status = obj(src.status);
  if (status) put(out, "status", kcpStatusToHub(status));
  return out;
}

function kcpFromHub(src: KObject): KObject {
  const out = shell(src, SPOKE);
  const spec = obj(src.spec);
  if (spec) out.spec = kcpSpecFromHub(spec, src.metadata?.namespace);
  const status = obj(src.status);
  if (status) out.status = kcpStatusFromHub(status);
  return out;
}

function templateResourceToHub(s: J): J {
  const out: J = {};
  const mt = obj(s.machineTemplate);
  if (mt) put(out, "machineTemplate", machineTemplateToHub(mt, false));
  commonSpecToHub(s, out, true);
  return out;
}

function templateResourceFromHub(h: J): J {
  const out: J = {};
  const mt = obj(h.machineTemplate);
  if (mt) out.machineTemplate = machineTemplateFromHub(mt, false, undefined);
  commonSpecFromHub(h, out);
  return out;
}

function templateToHub(src: KObject): KObject {
  const out = shell(src, HUB);
  const template = obj(obj(src.spec)?.template);
  if (obj(src.spec)) {
    const t: J = {};
    put(t, "metadata", orUndef(obj(template?.metadata) ?? {}));
    const inner = obj(template?.spec);
    if (inner) put(t, "spec", orUndef(templateResourceToHub(inner)));
    out.spec = template ? { template: t } : {};
  }
  return out;
}

function templateFromHub(src: KObject): KObject {
  const out = shell(src, SPOKE);
  const template = obj(obj(src.spec)?.template);
  if (obj(src.spec)) {
    const t: J = {};
    put(t, "metadata", template?.metadata);
    t.spec = templateResourceFromHub(obj(template?.spec) ?? {});
    out.spec = { template: t };
  }
  return out;
}

export const kubeadmControlPlaneV1Beta1: SpokeConversion = { version: SPOKE_VERSION, toHub: kcpToHub, fromHub: kcpFromHub, marshalHub: "always" };

export const kubeadmControlPlaneTemplateV1Beta1: SpokeConversion = {
  version: SPOKE_VERSION,
  toHub: templateToHub,
  fromHub: templateFromHub,
  marshalHub: "always",
};
