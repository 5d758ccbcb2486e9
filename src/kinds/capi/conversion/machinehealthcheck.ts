/**
 * MachineHealthCheck v1beta1 ⇄ v1beta2 (hub), after upstream
 * `core/webhooks/conversion/machinehealthcheck.go` and `Convert_*_MachineHealthCheck{Spec,Status}_*`.
 * The check/remediation helpers also serve the Cluster topology's `machineHealthCheck` ⇄
 * `healthCheck` blocks.
 *
 * spec: `unhealthyConditions[{type,status,timeout}]` ⇄ `checks.unhealthyNodeConditions[{type,
 * status,timeoutSeconds}]`; `unhealthyMachineConditions` ⇄ `checks.unhealthyMachineConditions`;
 * `nodeStartupTimeout` ⇄ `checks.nodeStartupTimeoutSeconds`; `maxUnhealthy` ⇄
 * `remediation.triggerIf.unhealthyLessThanOrEqualTo`; `unhealthyRange` ⇄
 * `remediation.triggerIf.unhealthyInRange`; `remediationTemplate` (ObjectReference) ⇄
 * `remediation.templateRef {apiVersion,kind,name}` (namespace = the MHC's on the way down).
 * status: `expectedMachines`/`currentHealthy`/`remediationsAllowed` become pointers (0 ⇒ unset
 * unless the hub had an explicit 0); conditions ⇄ `deprecated.v1beta1.conditions`;
 * `v1beta2.conditions` ⇄ `conditions`.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { copyConditions, deprecatedV1Beta1, setDeprecatedV1Beta1, setV1Beta2Block, v1beta2Block } from "./conditions.ts";
import { durationToSeconds, formatSeconds, secondsToDuration } from "./durations.ts";
import type { SpokeConversion } from "./hub.ts";
import { HUB_API_VERSION, nonZero, shell, V1BETA1_API_VERSION } from "./machine.ts";
import { isSet } from "./machinedeployment.ts";
import { remediationTemplateFromHub, remediationTemplateToHub } from "./refs.ts";
import { arr, type J, nonEmptyStr, num, obj, orUndef, put, str } from "./util.ts";

function unhealthyToHub(list: unknown): J[] | undefined {
  const items = arr(list);
  if (!items) return undefined;
  return items.map((item) => {
    const c = obj(item) ?? {};
    const out: J = {};
    put(out, "type", nonEmptyStr(c.type));
    put(out, "status", nonEmptyStr(c.status));
    // Timeout is a non-pointer metav1.Duration upstream: absent decodes as 0s.
    put(out, "timeoutSeconds", c.timeout === undefined || c.timeout === null ? 0 : durationToSeconds(c.timeout));
    return out;
  });
}

function unhealthyFromHub(list: unknown, required: boolean): J[] | undefined {
  const items = arr(list);
  if (!items) return undefined;
  return items.map((item) => {
    const c = obj(item) ?? {};
    const out: J = {};
    if (required) {
      out.type = str(c.type) ?? "";
      out.status = str(c.status) ?? "";
    } else {
      put(out, "type", nonEmptyStr(c.type));
      put(out, "status", nonEmptyStr(c.status));
    }
    out.timeout = formatSeconds(num(c.timeoutSeconds) ?? 0);
    return out;
  });
}

/** v1beta1 MHC check fields (MHC spec or `MachineHealthCheckClass`) → v1beta2 `checks`. */
export function checksToHub(s: J): J | undefined {
  const out: J = {};
  put(out, "nodeStartupTimeoutSeconds", durationToSeconds(s.nodeStartupTimeout));
  put(out, "unhealthyNodeConditions", unhealthyToHub(s.unhealthyConditions));
  put(out, "unhealthyMachineConditions", unhealthyToHub(s.unhealthyMachineConditions));
  return orUndef(out);
}

/** v1beta1 MHC remediation fields → v1beta2 `remediation` (`extra` adds e.g. `maxInFlight`). */
export function remediationToHub(s: J, extra: J = {}): J | undefined {
  const out: J = { ...extra };
  const triggerIf: J = {};
  if (isSet(s.maxUnhealthy)) put(triggerIf, "unhealthyLessThanOrEqualTo", s.maxUnhealthy);
  put(triggerIf, "unhealthyInRange", nonEmptyStr(s.unhealthyRange));
  put(out, "triggerIf", orUndef(triggerIf));
  put(out, "templateRef", remediationTemplateToHub(s.remediationTemplate));
  return orUndef(out);
}

/** v1beta2 `checks` + `remediation` → the v1beta1 MHC fields, written to `out`. */
export function healthCheckFieldsFromHub(checks: J | undefined, remediation: J | undefined, namespace: string | undefined, out: J): void {
  put(out, "unhealthyConditions", unhealthyFromHub(checks?.unhealthyNodeConditions, true));
  put(out, "unhealthyMachineConditions", unhealthyFromHub(checks?.unhealthyMachineConditions, false));
  put(out, "nodeStartupTimeout", secondsToDuration(checks?.nodeStartupTimeoutSeconds));
  const triggerIf = obj(remediation?.triggerIf);
  if (isSet(triggerIf?.unhealthyLessThanOrEqualTo)) put(out, "maxUnhealthy", triggerIf?.unhealthyLessThanOrEqualTo);
  put(out, "unhealthyRange", nonEmptyStr(triggerIf?.unhealthyInRange));
  put(out, "remediationTemplate", remediationTemplateFromHub(remediation?.templateRef, namespace));
}

function specToHub(s: J): J {
  const out: J = {};
  put(out, "clusterName", nonEmptyStr(s.clusterName));
  put(out, "selector", s.selector);
  put(out, "checks", checksToHub(s));
  put(out, "remediation", remediationToHub(s));
  return out;
}

function specFromHub(h: J, namespace: string | undefined): J {
  const out: J = {};
  out.clusterName = str(h.clusterName) ?? "";
  out.selector = obj(h.selector) ?? {};
  healthCheckFieldsFromHub(obj(h.checks), obj(h.remediation), namespace, out);
  return out;
}

const COUNTERS = ["expectedMachines", "currentHealthy", "remediationsAllowed"];

function statusToHub(s: J): J | undefined {
  const out: J = {};
  copyConditions(out, "conditions", v1beta2Block(s)?.conditions);
  for (const k of COUNTERS) put(out, k, nonZero(s[k]));
  put(out, "observedGeneration", nonZero(s.observedGeneration));
  put(out, "targets", s.targets);
  const dep: J = {};
  copyConditions(dep, "conditions", s.conditions);
  setDeprecatedV1Beta1(out, dep);
  return orUndef(out);
}

function statusFromHub(h: J): J {
  const out: J = {};
  copyConditions(out, "conditions", deprecatedV1Beta1(h)?.conditions);
  for (const k of COUNTERS) out[k] = num(h[k]) ?? 0;
  put(out, "observedGeneration", nonZero(h.observedGeneration));
  put(out, "targets", h.targets);
  const v1beta2: J = {};
  copyConditions(v1beta2, "conditions", h.conditions);
  setV1Beta2Block(out, v1beta2);
  return out;
}

function toHub(src: KObject): KObject {
  const out = shell(src, HUB_API_VERSION);
  const spec = obj(src.spec);
  if (spec) put(out, "spec", orUndef(specToHub(spec)));
  const status = obj(src.status);
  if (status) put(out, "status", statusToHub(status));
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

export const machineHealthCheckV1Beta1: SpokeConversion = {
  version: "v1beta1",
  toHub,
  fromHub,
  marshalHub: "always",
};
