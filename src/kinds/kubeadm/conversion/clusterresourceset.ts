/**
 * ClusterResourceSet and ClusterResourceSetBinding v1beta1 ⇄ v1beta2 (hub), after upstream
 * `api/addons/v1beta1/conversion.go` and `core/webhooks/conversion/clusterresourceset*.go`.
 *
 * The specs have the same JSON in both versions. ClusterResourceSet status: conditions ⇄
 * `deprecated.v1beta1.conditions`, `v1beta2.conditions` ⇄ `conditions`. Upstream marshals the hub
 * into the spoke for neither kind.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { copyConditions, deprecatedV1Beta1, setDeprecatedV1Beta1, setV1Beta2Block, v1beta2Block } from "../../capi/conversion/conditions.ts";
import type { SpokeConversion } from "../../capi/conversion/hub.ts";
import { nonZero, shell } from "../../capi/conversion/machine.ts";
import { type J, obj, orUndef, put } from "../../capi/conversion/util.ts";
import { ADDONS_GROUP, apiVersionOf, HUB_VERSION, SPOKE_VERSION } from "./common.ts";

const HUB = apiVersionOf(ADDONS_GROUP, HUB_VERSION);
const SPOKE = apiVersionOf(ADDONS_GROUP, SPOKE_VERSION);

function statusToHub(s: J): J | undefined {
  const out: J = {};
  copyConditions(out, "conditions", v1beta2Block(s)?.conditions);
  put(out, "observedGeneration", nonZero(s.observedGeneration));
  const dep: J = {};
  copyConditions(dep, "conditions", s.conditions);
  setDeprecatedV1Beta1(out, dep);
  return orUndef(out);
}

function statusFromHub(h: J): J {
  const out: J = {};
  put(out, "observedGeneration", nonZero(h.observedGeneration));
  copyConditions(out, "conditions", deprecatedV1Beta1(h)?.conditions);
  const v1beta2: J = {};
  copyConditions(v1beta2, "conditions", h.conditions);
  setV1Beta2Block(out, v1beta2);
  return out;
}

function withBody(src: KObject, apiVersion: string, status?: (s: J) => J | undefined): KObject {
  const out = shell(src, apiVersion);
  put(out, "spec", src.spec);
  const s = obj(src.status);
  if (s) put(out, "status", status ? status(s) : s);
  return out;
}

export const clusterResourceSetV1Beta1: SpokeConversion = {
  version: SPOKE_VERSION,
  toHub: (src) => withBody(src, HUB, statusToHub),
  fromHub: (src) => withBody(src, SPOKE, statusFromHub),
  marshalHub: "when-lossy",
};

export const clusterResourceSetBindingV1Beta1: SpokeConversion = {
  version: SPOKE_VERSION,
  toHub: (src) => withBody(src, HUB),
  fromHub: (src) => withBody(src, SPOKE),
  marshalHub: "when-lossy",
};
