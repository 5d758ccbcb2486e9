/**
 * Every kind the appliance ships, assembled from its CRD, conversion and admission.
 * @module
 */
import type { KindHooks } from "../registry/types.ts";
import { capiCRDs } from "./capi/crds.ts";
import { capiWebhooks } from "./capi/webhooks/index.ts";
import type { BundledKind } from "./types.ts";

function hooksFor(group: string, kind: string): KindHooks | undefined {
  const key = `${group}/${kind}`;
  const webhook = capiWebhooks[key];
  if (!webhook) return undefined;
  const hooks: KindHooks = {};
  if (webhook.mutate) hooks.mutate = webhook.mutate;
  const validate = webhook.validate;
  // Admission webhooks do not run on the status and scale subresources upstream.
  if (validate) hooks.validate = (obj, old, subresource) => (subresource ? [] : validate(obj, old));
  return hooks;
}

export function bundledKinds(): BundledKind[] {
  return capiCRDs.map((crd) => ({ crd, hooks: hooksFor(crd.spec.group, crd.spec.names.kind) }));
}
