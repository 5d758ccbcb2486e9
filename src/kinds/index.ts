/**
 * Every kind the appliance ships, assembled from its CRD, conversion and admission.
 * @module
 */
import type { KindHooks } from "../registry/types.ts";
import type { Registry } from "../registry/registry.ts";
import { capiConverters, setRefVersionResolver } from "./capi/conversion/index.ts";
import { capiCRDs } from "./capi/crds.ts";
import { capiWebhooks } from "./capi/webhooks/index.ts";
import { capmoxConverters } from "./capmox/conversion/index.ts";
import { capmoxCRDs } from "./capmox/crds.ts";
import { capmoxWebhooks } from "./capmox/webhooks/index.ts";
import { ipamBundledKinds } from "./ipam/index.ts";
import { kubeadmConverters } from "./kubeadm/conversion/index.ts";
import { kubeadmCRDs } from "./kubeadm/crds.ts";
import { kubeadmWebhooks } from "./kubeadm/webhooks/index.ts";
import { talosConverters } from "./talos/conversion/index.ts";
import { talosCRDs } from "./talos/crds.ts";
import { talosWebhooks } from "./talos/webhooks/index.ts";
import type { BundledKind } from "./types.ts";
import { clusterClassKind } from "./capi/clusterclass.ts";

function hooksFor(group: string, kind: string): KindHooks | undefined {
  const key = `${group}/${kind}`;
  const webhook = capiWebhooks[key] ?? kubeadmWebhooks[key] ?? capmoxWebhooks[key] ?? talosWebhooks[key];
  const convert = capiConverters[key] ?? kubeadmConverters[key] ?? capmoxConverters[key] ?? talosConverters[key];
  if (!webhook && !convert) return undefined;
  const hooks: KindHooks = {};
  if (convert) hooks.convert = convert;
  if (webhook?.mutate) hooks.mutate = webhook.mutate;
  const validate = webhook?.validate;
  // Admission webhooks do not run on the status and scale subresources upstream.
  if (validate) hooks.validate = (obj, old, subresource) => (subresource ? [] : validate(obj, old));
  return hooks;
}

/**
 * v1beta2 references carry no version; converting down to v1beta1 needs one: the storage
 * version of the referenced kind where it is served, else the conversion's defaults.
 */
export function resolveReferenceVersions(registry: Registry): void {
  setRefVersionResolver((group, kind) => registry.byGroupKind(group, kind)?.storageVersion);
}

export function bundledKinds(): BundledKind[] {
  return [
    ...[...capiCRDs, ...kubeadmCRDs, ...capmoxCRDs, ...talosCRDs].map((crd) => ({ crd, hooks: hooksFor(crd.spec.group, crd.spec.names.kind) })),
    ...ipamBundledKinds(),
    clusterClassKind,
  ];
}
