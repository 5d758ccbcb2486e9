/**
 * Pieces the CAPMOX conversions share: the group and versions, the object shell, and the two
 * condition flavours (v1alpha1 carries Cluster API v1beta1 conditions with `severity`, v1alpha2
 * `metav1.Condition`s with `observedGeneration`; upstream converts them in place and fills an
 * empty reason/message with `APIConversionReason` / `API Conversion`).
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { clone, isObj, type J, put } from "../../capi/conversion/util.ts";

export const INFRA_GROUP = "infrastructure.cluster.x-k8s.io";
export const HUB_VERSION = "v1alpha2";
export const HUB_API_VERSION = `${INFRA_GROUP}/${HUB_VERSION}`;
export const SPOKE_API_VERSION = `${INFRA_GROUP}/v1alpha1`;

/** apiVersion, kind and a copy of the metadata; the caller adds spec and status. */
export function shell(src: KObject, apiVersion: string): KObject {
  const out: KObject = { apiVersion, kind: src.kind, metadata: clone(src.metadata ?? {}) };
  if (out.kind === undefined) delete out.kind;
  return out;
}

const CONVERSION_REASON = "APIConversionReason";
const CONVERSION_MESSAGE = "API Conversion";

/**
 * One condition list into the other flavour: type, status, lastTransitionTime, reason and message
 * carry over; `severity` (v1alpha1) and `observedGeneration` (v1alpha2) have no place on the
 * other side (the conversion data keeps them).
 */
export function convertConditions(list: unknown): unknown[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.map((c) => {
    if (!isObj(c)) return c;
    const out: J = {};
    put(out, "type", c.type);
    put(out, "status", c.status);
    put(out, "lastTransitionTime", c.lastTransitionTime);
    out.reason = typeof c.reason === "string" && c.reason !== "" ? c.reason : CONVERSION_REASON;
    out.message = typeof c.message === "string" && c.message !== "" ? c.message : CONVERSION_MESSAGE;
    return out;
  });
}

/** Template `spec.template.metadata` is `{labels, annotations}` in both versions. */
export function templateMetadata(m: unknown): J | undefined {
  if (!isObj(m)) return undefined;
  const out: J = {};
  put(out, "labels", m.labels);
  put(out, "annotations", m.annotations);
  return out;
}
