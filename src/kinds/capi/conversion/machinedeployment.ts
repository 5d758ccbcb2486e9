/**
 * MachineDeployment v1beta1 ⇄ v1beta2 (hub), after upstream
 * `core/webhooks/conversion/machinedeployment.go` and `Convert_*_MachineDeployment{Spec,Status}_*`.
 *
 * spec: `strategy.{type,rollingUpdate.{maxSurge,maxUnavailable}}` ⇄
 * `rollout.strategy.{type,rollingUpdate.*}`; `strategy.rollingUpdate.deletePolicy` ⇄
 * `deletion.order`; `strategy.remediation.maxInFlight` ⇄ `remediation.maxInFlight`;
 * `rolloutAfter` ⇄ `rollout.after`; `machineNamingStrategy` ⇄ `machineNaming`; `minReadySeconds` ⇄
 * `template.spec.minReadySeconds`; `paused` false ⇒ unset; `revisionHistoryLimit` and
 * `progressDeadlineSeconds` have no v1beta2 field (upstream drops them; kept in the annotation).
 * status: `updatedReplicas`, `unavailableReplicas` and the old `readyReplicas`/`availableReplicas`,
 * conditions ⇄ `deprecated.v1beta1` (always allocated from v1beta1); `v1beta2.*` ⇄ the new
 * `conditions`/`readyReplicas`/`availableReplicas`/`upToDateReplicas`.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { copyConditions, deprecatedV1Beta1, setDeprecatedV1Beta1, setV1Beta2Block, v1beta2Block } from "./conditions.ts";
import type { SpokeConversion } from "./hub.ts";
import {
  HUB_API_VERSION,
  machineTemplateFromHub,
  machineTemplateToHub,
  nonZero,
  shell,
  V1BETA1_API_VERSION,
} from "./machine.ts";
import { setTemplateMinReadySeconds, templateMinReadySeconds } from "./machineset.ts";
import { copyKeys, type J, nonEmptyStr, num, obj, orUndef, put, str } from "./util.ts";

/** Whether an int-or-string pointer is set (Go: non-nil, so `0` counts). */
export function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** v1beta1 `MachineRollingUpdateDeployment`/strategy pieces → v1beta2 rollout strategy (or undefined). */
export function rolloutStrategyToHub(strategy: J | undefined): J | undefined {
  if (!strategy) return undefined;
  const out: J = {};
  put(out, "type", nonEmptyStr(strategy.type));
  const ru = obj(strategy.rollingUpdate);
  if (ru) {
    const r: J = {};
    if (isSet(ru.maxUnavailable)) put(r, "maxUnavailable", ru.maxUnavailable);
    if (isSet(ru.maxSurge)) put(r, "maxSurge", ru.maxSurge);
    put(out, "rollingUpdate", orUndef(r));
  }
  return orUndef(out);
}

/**
 * v1beta2 rollout strategy + deletion order + remediation maxInFlight → v1beta1 `strategy`
 * (upstream builds each level only when something below it is set).
 */
export function strategyFromHub(rolloutStrategy: J | undefined, order: string | undefined, maxInFlight: unknown): J | undefined {
  let strategy: J | undefined;
  const ru = obj(rolloutStrategy?.rollingUpdate);
  const type = nonEmptyStr(rolloutStrategy?.type);
  const hasRollingUpdate = !!ru && (isSet(ru.maxUnavailable) || isSet(ru.maxSurge));
  if (type || hasRollingUpdate) {
    strategy = {};
    put(strategy, "type", type);
    if (hasRollingUpdate && ru) {
      const r: J = {};
      if (isSet(ru.maxUnavailable)) put(r, "maxUnavailable", ru.maxUnavailable);
      if (isSet(ru.maxSurge)) put(r, "maxSurge", ru.maxSurge);
      strategy.rollingUpdate = r;
    }
  }
  if (order) {
    strategy ??= {};
    const r = obj(strategy.rollingUpdate) ?? {};
    r.deletePolicy = order;
    strategy.rollingUpdate = r;
  }
  if (isSet(maxInFlight)) {
    strategy ??= {};
    strategy.remediation = { maxInFlight };
  }
  return strategy;
}

function specToHub(s: J): J {
  const out: J = {};
  put(out, "clusterName", nonEmptyStr(s.clusterName));
  put(out, "replicas", num(s.replicas));
  const strategy = obj(s.strategy);
  const rollout: J = {};
  put(rollout, "after", nonEmptyStr(s.rolloutAfter));
  put(rollout, "strategy", rolloutStrategyToHub(strategy));
  put(out, "rollout", orUndef(rollout));
  put(out, "selector", s.selector);
  const template = obj(s.template);
  if (template) put(out, "template", orUndef(machineTemplateToHub(template)));
  setTemplateMinReadySeconds(out, num(s.minReadySeconds));
  const naming = obj(s.machineNamingStrategy);
  if (naming) put(out, "machineNaming", orUndef(nonEmptyStr(naming.template) ? { template: naming.template } : {}));
  const maxInFlight = obj(strategy?.remediation)?.maxInFlight;
  if (isSet(maxInFlight)) out.remediation = { maxInFlight };
  const order = nonEmptyStr(obj(strategy?.rollingUpdate)?.deletePolicy);
  if (order) out.deletion = { order };
  if (s.paused === true) out.paused = true;
  return out;
}

function specFromHub(h: J, namespace: string | undefined): J {
  const out: J = {};
  out.clusterName = str(h.clusterName) ?? "";
  put(out, "replicas", num(h.replicas));
  const rollout = obj(h.rollout);
  put(out, "rolloutAfter", nonEmptyStr(rollout?.after));
  out.selector = obj(h.selector) ?? {};
  out.template = machineTemplateFromHub(obj(h.template) ?? {}, namespace);
  put(out, "strategy", strategyFromHub(obj(rollout?.strategy), nonEmptyStr(obj(h.deletion)?.order), obj(h.remediation)?.maxInFlight));
  const naming = nonEmptyStr(obj(h.machineNaming)?.template);
  if (naming) out.machineNamingStrategy = { template: naming };
  put(out, "minReadySeconds", templateMinReadySeconds(h));
  if (h.paused === true) out.paused = true;
  return out;
}

function statusToHub(s: J): J {
  const out: J = {};
  const v1beta2 = v1beta2Block(s);
  copyConditions(out, "conditions", v1beta2?.conditions);
  put(out, "observedGeneration", nonZero(s.observedGeneration));
  put(out, "selector", nonEmptyStr(s.selector));
  out.replicas = num(s.replicas) ?? 0;
  copyKeys(out, v1beta2, ["readyReplicas", "availableReplicas", "upToDateReplicas"]);
  put(out, "versions", s.versions);
  put(out, "phase", nonEmptyStr(s.phase));
  const dep: J = {};
  copyConditions(dep, "conditions", s.conditions);
  dep.updatedReplicas = num(s.updatedReplicas) ?? 0;
  dep.readyReplicas = num(s.readyReplicas) ?? 0;
  dep.availableReplicas = num(s.availableReplicas) ?? 0;
  dep.unavailableReplicas = num(s.unavailableReplicas) ?? 0;
  setDeprecatedV1Beta1(out, dep, true);
  return out;
}

function statusFromHub(h: J): J {
  const out: J = {};
  const dep = deprecatedV1Beta1(h);
  put(out, "observedGeneration", nonZero(h.observedGeneration));
  put(out, "selector", nonEmptyStr(h.selector));
  out.replicas = num(h.replicas) ?? 0;
  out.updatedReplicas = num(dep?.updatedReplicas) ?? 0;
  out.readyReplicas = num(dep?.readyReplicas) ?? 0;
  out.availableReplicas = num(dep?.availableReplicas) ?? 0;
  out.unavailableReplicas = num(dep?.unavailableReplicas) ?? 0;
  put(out, "phase", nonEmptyStr(h.phase));
  copyConditions(out, "conditions", dep?.conditions);
  put(out, "versions", h.versions);
  const v1beta2: J = {};
  copyConditions(v1beta2, "conditions", h.conditions);
  copyKeys(v1beta2, h, ["readyReplicas", "availableReplicas", "upToDateReplicas"]);
  setV1Beta2Block(out, v1beta2);
  return out;
}

function toHub(src: KObject): KObject {
  const out = shell(src, HUB_API_VERSION);
  const spec = obj(src.spec);
  if (spec) put(out, "spec", orUndef(specToHub(spec)));
  const status = obj(src.status);
  if (status) out.status = statusToHub(status);
  return out;
}

function fromHub(src: KObject): KObject {
  const out = shell(src, V1BETA1_API_VERSION);
  const spec = obj(src.spec);
  if (spec) out.spec = specFromHub(spec, src.metadata?.namespace);
  const status = obj(src.status);
  if (status) out.status = statusFromHub(status);
  return out;
}

export const machineDeploymentV1Beta1: SpokeConversion = {
  version: "v1beta1",
  toHub,
  fromHub,
  marshalHub: "always",
};
