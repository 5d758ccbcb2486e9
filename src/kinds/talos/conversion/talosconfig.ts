/**
 * TalosConfig and TalosConfigTemplate v1alpha3 ⇄ v1beta1 (hub), after CABPT v0.7's
 * `api/v1alpha3/conversion.go`.
 *
 * The spec (TalosConfig `spec`, the template's `spec.template.spec`) is the same in both versions
 * (only the v1beta1 CRD restricts `generateType` to an enum) and is copied as is.
 *
 * TalosConfig status, v1alpha3 → v1beta1:
 * - `ready: true` → `initialization.dataSecretCreated: true` (false ⇒ unset);
 * - `dataSecretName` (a `*string`) → `dataSecretName` (a string of at least one character: "" ⇒ unset);
 * - the Cluster API v1beta1 `conditions`, `failureReason`, `failureMessage` →
 *   `deprecated.v1beta.{conditions, failureReason, failureMessage}` (upstream's JSON name is
 *   `v1beta`, not `v1beta1`);
 * - `v1beta2Status.conditions` (metav1 conditions) → `conditions`;
 * - `observedGeneration` as is; `talosConfig` (deprecated, v1alpha3 only) has no place and travels
 *   in the conversion-data annotation.
 * v1beta1 → v1alpha3 is the reverse. Like upstream, every down-converted TalosConfig carries the
 * hub in `cluster.x-k8s.io/conversion-data` (`MarshalData`); TalosConfigTemplate loses nothing and
 * carries no annotation (upstream marshals none either).
 *
 * Deliberate difference: upstream's up-conversion always allocates `status.deprecated.v1beta` and
 * so writes an empty `deprecated: {v1beta: {}}` into every hub object; here the block is written
 * only when it has content, so objects without a status keep none.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import type { SpokeConversion } from "../../capi/conversion/hub.ts";
import { clone, copyKeys, type J, nonEmptyStr, obj, orUndef, put } from "../../capi/conversion/util.ts";
import { BOOTSTRAP_HUB_API_VERSION, BOOTSTRAP_SPOKE_API_VERSION, BOOTSTRAP_SPOKE_VERSION } from "./common.ts";

/** apiVersion, kind and a copy of the metadata; the caller adds spec and status. */
function shell(src: KObject, apiVersion: string): KObject {
  const out: KObject = { apiVersion, kind: src.kind, metadata: clone(src.metadata ?? {}) };
  if (out.kind === undefined) delete out.kind;
  return out;
}

const LEGACY_FIELDS = ["conditions", "failureReason", "failureMessage"] as const;

function statusToHub(s: J): J | undefined {
  const out: J = {};
  put(out, "conditions", obj(s.v1beta2Status)?.conditions);
  if (s.ready === true) out.initialization = { dataSecretCreated: true };
  put(out, "dataSecretName", nonEmptyStr(s.dataSecretName));
  put(out, "observedGeneration", s.observedGeneration);
  const legacy: J = {};
  copyKeys(legacy, s, LEGACY_FIELDS);
  if (Object.keys(legacy).length) out.deprecated = { v1beta: legacy };
  return orUndef(out);
}

function statusFromHub(h: J): J | undefined {
  const out: J = {};
  copyKeys(out, obj(obj(h.deprecated)?.v1beta), LEGACY_FIELDS);
  if (obj(h.initialization)?.dataSecretCreated === true) out.ready = true;
  put(out, "dataSecretName", nonEmptyStr(h.dataSecretName));
  put(out, "observedGeneration", h.observedGeneration);
  if (h.conditions !== undefined) out.v1beta2Status = { conditions: clone(h.conditions) };
  return orUndef(out);
}

export const talosConfigV1Alpha3: SpokeConversion = {
  version: BOOTSTRAP_SPOKE_VERSION,
  toHub(src: KObject): KObject {
    const out = shell(src, BOOTSTRAP_HUB_API_VERSION);
    put(out, "spec", src.spec);
    const status = obj(src.status);
    if (status) put(out, "status", statusToHub(status));
    return out;
  },
  fromHub(src: KObject): KObject {
    const out = shell(src, BOOTSTRAP_SPOKE_API_VERSION);
    put(out, "spec", src.spec);
    const status = obj(src.status);
    if (status) put(out, "status", statusFromHub(status));
    return out;
  },
  marshalHub: "always",
};

export const talosConfigTemplateV1Alpha3: SpokeConversion = {
  version: BOOTSTRAP_SPOKE_VERSION,
  toHub(src: KObject): KObject {
    const out = shell(src, BOOTSTRAP_HUB_API_VERSION);
    put(out, "spec", src.spec);
    put(out, "status", src.status);
    return out;
  },
  fromHub(src: KObject): KObject {
    const out = shell(src, BOOTSTRAP_SPOKE_API_VERSION);
    put(out, "spec", src.spec);
    put(out, "status", src.status);
    return out;
  },
  marshalHub: "when-lossy",
};
