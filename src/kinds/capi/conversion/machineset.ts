/**
 * MachineSet v1beta1 ⇄ v1beta2 (hub), after upstream `core/webhooks/conversion/machineset.go` and
 * `Convert_*_MachineSet{Spec,Status}_*`.
 *
 * spec: `minReadySeconds` (0 ⇒ unset) ⇄ `template.spec.minReadySeconds`; `deletePolicy` ⇄
 * `deletion.order`; `machineNamingStrategy` ⇄ `machineNaming`; the Machine template as for
 * Machines. status: `replicas` becomes a pointer (always set from v1beta1); `fullyLabeledReplicas`,
 * and the old-semantics `readyReplicas`/`availableReplicas`, conditions, `failureReason`,
 * `failureMessage` ⇄ `deprecated.v1beta1` (always allocated from v1beta1, counters default 0);
 * `v1beta2.{conditions,readyReplicas,availableReplicas,upToDateReplicas}` ⇄ the top-level fields.
 * Upstream does not marshal the hub into a v1beta1 MachineSet; here the annotation is only added
 * when the plain mapping would lose something.
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
import { copyKeys, type J, nonEmptyStr, num, obj, orUndef, put, str } from "./util.ts";

/** Sets `template.spec.minReadySeconds` on a hub template (creating the levels it needs). */
export function setTemplateMinReadySeconds(spec: J, value: number | undefined): void {
  if (value === undefined) return;
  const template = obj(spec.template) ?? {};
  const machineSpec = obj(template.spec) ?? {};
  machineSpec.minReadySeconds = value;
  template.spec = machineSpec;
  spec.template = template;
}

/** The hub template's `spec.minReadySeconds`. */
export function templateMinReadySeconds(spec: J): number | undefined {
  return num(obj(obj(spec.template)?.spec)?.minReadySeconds);
}

function specToHub(s: J): J {
  const out: J = {};
  put(out, "clusterName", nonEmptyStr(s.clusterName));
  put(out, "replicas", num(s.replicas));
  put(out, "selector", s.selector);
  const template = obj(s.template);
  if (template) put(out, "template", orUndef(machineTemplateToHub(template)));
  setTemplateMinReadySeconds(out, nonZero(s.minReadySeconds));
  const naming = obj(s.machineNamingStrategy);
  if (naming) put(out, "machineNaming", orUndef(nonEmptyStr(naming.template) ? { template: naming.template } : {}));
  const order = nonEmptyStr(s.deletePolicy);
  if (order) out.deletion = { order };
  return out;
}

function specFromHub(h: J, namespace: string | undefined): J {
  const out: J = {};
  out.clusterName = str(h.clusterName) ?? "";
  put(out, "replicas", num(h.replicas));
  put(out, "minReadySeconds", nonZero(templateMinReadySeconds(h)));
  put(out, "deletePolicy", nonEmptyStr(obj(h.deletion)?.order));
  out.selector = obj(h.selector) ?? {};
  const template = obj(h.template);
  if (template) out.template = machineTemplateFromHub(template, namespace);
  const naming = nonEmptyStr(obj(h.machineNaming)?.template);
  if (naming) out.machineNamingStrategy = { template: naming };
  return out;
}

function statusToHub(s: J): J {
  const out: J = {};
  const v1beta2 = v1beta2Block(s);
  copyConditions(out, "conditions", v1beta2?.conditions);
  put(out, "selector", nonEmptyStr(s.selector));
  out.replicas = num(s.replicas) ?? 0;
  copyKeys(out, v1beta2, ["readyReplicas", "availableReplicas", "upToDateReplicas"]);
  put(out, "versions", s.versions);
  put(out, "observedGeneration", nonZero(s.observedGeneration));
  const dep: J = {};
  copyConditions(dep, "conditions", s.conditions);
  copyKeys(dep, s, ["failureReason", "failureMessage"]);
  dep.fullyLabeledReplicas = num(s.fullyLabeledReplicas) ?? 0;
  dep.readyReplicas = num(s.readyReplicas) ?? 0;
  dep.availableReplicas = num(s.availableReplicas) ?? 0;
  setDeprecatedV1Beta1(out, dep, true);
  return out;
}

function statusFromHub(h: J): J {
  const out: J = {};
  const dep = deprecatedV1Beta1(h);
  put(out, "selector", nonEmptyStr(h.selector));
  out.replicas = num(h.replicas) ?? 0;
  out.fullyLabeledReplicas = num(dep?.fullyLabeledReplicas) ?? 0;
  out.readyReplicas = num(dep?.readyReplicas) ?? 0;
  out.availableReplicas = num(dep?.availableReplicas) ?? 0;
  put(out, "observedGeneration", nonZero(h.observedGeneration));
  copyKeys(out, dep, ["failureReason", "failureMessage"]);
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

export const machineSetV1Beta1: SpokeConversion = {
  version: "v1beta1",
  toHub,
  fromHub,
  marshalHub: "when-lossy",
};
