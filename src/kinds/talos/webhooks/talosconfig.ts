/**
 * TalosConfig and TalosConfigTemplate admission (v1beta1, the storage form), after CABPT v0.7's
 * `api/v1beta1/talosconfig_webhook.go` and `talosconfigtemplate_webhook.go` (validating only; CABPT
 * has no defaulting webhook).
 *
 * TalosConfig (create and update): `spec.hostname.source` is empty, `MachineName` or
 * `InfrastructureName` (a 422 at that field otherwise); on update the whole spec is immutable
 * (a plain 400 `TalosConfig.Spec is immutable`, checked first).
 * TalosConfigTemplate (update only): the spec is immutable (a plain 400
 * `TalosConfigTemplate.Spec is immutable`).
 *
 * A plain error from a webhook reaches the client with kube-apiserver's prefix
 * `admission webhook "<name>" denied the request: `, which the thrown 400s carry.
 * @module
 */
import { badRequest, type StatusCause } from "../../../lib/api-errors.ts";
import { goQuote } from "../../../lib/go-format.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { jsonEqual } from "../../capi/conversion/util.ts";
import { cause, valueAt } from "../../capi/webhooks/util.ts";

export const TALOS_CONFIG_WEBHOOKS = { validating: "vtalosconfig.cluster.x-k8s.io" };
export const TALOS_CONFIG_TEMPLATE_WEBHOOKS = { validating: "vtalosconfigtemplate.cluster.x-k8s.io" };

export const HOSTNAME_SOURCES = ["MachineName", "InfrastructureName"] as const;

/** Go's `%q` of a string slice: `["a" "b"]`. */
export const goQuoteList = (list: readonly string[]) => `[${list.map(goQuote).join(" ")}]`;

const denied = (webhook: string, message: string) => badRequest(`admission webhook "${webhook}" denied the request: ${message}`);

export function validateTalosConfig(obj: KObject, old: KObject | undefined): StatusCause[] {
  if (old && !jsonEqual(obj.spec, old.spec)) throw denied(TALOS_CONFIG_WEBHOOKS.validating, "TalosConfig.Spec is immutable");
  const source = valueAt(obj, "spec", "hostname", "source");
  if (source === undefined || source === "" || (HOSTNAME_SOURCES as readonly unknown[]).includes(source)) return [];
  return [cause.invalid("spec.hostname.source", source, `valid values are: ${goQuoteList(HOSTNAME_SOURCES)}`)];
}

export function validateTalosConfigTemplate(obj: KObject, old: KObject | undefined): StatusCause[] {
  if (old && !jsonEqual(obj.spec, old.spec)) throw denied(TALOS_CONFIG_TEMPLATE_WEBHOOKS.validating, "TalosConfigTemplate.Spec is immutable");
  return [];
}
