/**
 * KubeadmConfig and KubeadmConfigTemplate v1beta1 ⇄ v1beta2 (hub), after upstream
 * `bootstrap/kubeadm/webhooks/conversion/` and `api/bootstrap/kubeadm/v1beta1/conversion.go`.
 *
 * spec: kubeadm-spec.ts. status: `ready` ⇄ `initialization.dataSecretCreated` (false ⇒ unset);
 * conditions, `failureReason`, `failureMessage` ⇄ `deprecated.v1beta1`; `v1beta2.conditions` ⇄
 * `conditions`; an empty `dataSecretName` vanishes. The hub is always marshalled into the spoke, as
 * upstream does.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { copyConditions, deprecatedV1Beta1, setDeprecatedV1Beta1, setV1Beta2Block, v1beta2Block } from "../../capi/conversion/conditions.ts";
import type { SpokeConversion } from "../../capi/conversion/hub.ts";
import { nonZero, shell } from "../../capi/conversion/machine.ts";
import { copyKeys, type J, nonEmptyStr, obj, orUndef, put } from "../../capi/conversion/util.ts";
import { apiVersionOf, BOOTSTRAP_GROUP, HUB_VERSION, SPOKE_VERSION } from "./common.ts";
import { kubeadmConfigSpecFromHub, kubeadmConfigSpecToHub } from "./kubeadm-spec.ts";

const HUB = apiVersionOf(BOOTSTRAP_GROUP, HUB_VERSION);
const SPOKE = apiVersionOf(BOOTSTRAP_GROUP, SPOKE_VERSION);

function statusToHub(s: J): J | undefined {
  const out: J = {};
  copyConditions(out, "conditions", v1beta2Block(s)?.conditions);
  if (s.ready === true) out.initialization = { dataSecretCreated: true };
  put(out, "dataSecretName", nonEmptyStr(s.dataSecretName));
  put(out, "observedGeneration", nonZero(s.observedGeneration));
  const dep: J = {};
  copyConditions(dep, "conditions", s.conditions);
  put(dep, "failureReason", nonEmptyStr(s.failureReason));
  put(dep, "failureMessage", nonEmptyStr(s.failureMessage));
  setDeprecatedV1Beta1(out, dep);
  return orUndef(out);
}

function statusFromHub(h: J): J {
  const out: J = {};
  out.ready = obj(h.initialization)?.dataSecretCreated === true;
  put(out, "dataSecretName", nonEmptyStr(h.dataSecretName));
  copyKeys(out, deprecatedV1Beta1(h), ["failureReason", "failureMessage"]);
  put(out, "observedGeneration", nonZero(h.observedGeneration));
  copyConditions(out, "conditions", deprecatedV1Beta1(h)?.conditions);
  const v1beta2: J = {};
  copyConditions(v1beta2, "conditions", h.conditions);
  setV1Beta2Block(out, v1beta2);
  return out;
}

function configToHub(src: KObject): KObject {
  const out = shell(src, HUB);
  const spec = obj(src.spec);
  if (spec) put(out, "spec", orUndef(kubeadmConfigSpecToHub(spec)));
  const status = obj(src.status);
  if (status) put(out, "status", statusToHub(status));
  return out;
}

function configFromHub(src: KObject): KObject {
  const out = shell(src, SPOKE);
  const spec = obj(src.spec);
  if (spec) out.spec = kubeadmConfigSpecFromHub(spec);
  const status = obj(src.status);
  if (status) out.status = statusFromHub(status);
  return out;
}

/** `spec.template.{metadata, spec}` with the spec converted by `convert`. */
function templateSpec(spec: J, convert: (s: J) => J, up: boolean): J {
  const out: J = {};
  const template = obj(spec.template);
  if (!template) return out;
  const t: J = {};
  put(t, "metadata", up ? orUndef(obj(template.metadata) ?? {}) : template.metadata);
  const inner = obj(template.spec);
  if (inner) put(t, "spec", up ? orUndef(convert(inner)) : convert(inner));
  out.template = t;
  return out;
}

function templateToHub(src: KObject): KObject {
  const out = shell(src, HUB);
  const spec = obj(src.spec);
  if (spec) out.spec = templateSpec(spec, kubeadmConfigSpecToHub, true);
  return out;
}

function templateFromHub(src: KObject): KObject {
  const out = shell(src, SPOKE);
  const spec = obj(src.spec);
  if (spec) out.spec = templateSpec(spec, kubeadmConfigSpecFromHub, false);
  return out;
}

export const kubeadmConfigV1Beta1: SpokeConversion = { version: SPOKE_VERSION, toHub: configToHub, fromHub: configFromHub, marshalHub: "always" };

export const kubeadmConfigTemplateV1Beta1: SpokeConversion = {
  version: SPOKE_VERSION,
  toHub: templateToHub,
  fromHub: templateFromHub,
  marshalHub: "always",
};
