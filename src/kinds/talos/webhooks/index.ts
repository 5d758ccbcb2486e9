/**
 * The Talos providers' admission webhooks (CABPT v0.7 for TalosConfig and TalosConfigTemplate,
 * CACPPT v0.5.12 for TalosControlPlane) as pure functions on the storage form, keyed by
 * `<group>/<Kind>`, for wiring as registry hooks (same contract as the Cluster API webhooks in
 * ../../capi/webhooks): `mutate(obj, old)` defaults in place, `validate(obj, old)` returns the
 * causes of a 422 Invalid or throws where upstream answers with a plain 400.
 * @module
 */
import type { CapiWebhook } from "../../capi/webhooks/index.ts";
import { BOOTSTRAP_GROUP, CONTROL_PLANE_GROUP } from "../conversion/common.ts";
import { TALOS_CONFIG_TEMPLATE_WEBHOOKS, TALOS_CONFIG_WEBHOOKS, validateTalosConfig, validateTalosConfigTemplate } from "./talosconfig.ts";
import { mutateTalosControlPlane, TALOS_CONTROL_PLANE_WEBHOOKS, validateTalosControlPlane } from "./taloscontrolplane.ts";

export const talosWebhooks: Record<string, CapiWebhook> = {
  [`${BOOTSTRAP_GROUP}/TalosConfig`]: { validate: validateTalosConfig, webhookNames: TALOS_CONFIG_WEBHOOKS },
  [`${BOOTSTRAP_GROUP}/TalosConfigTemplate`]: { validate: validateTalosConfigTemplate, webhookNames: TALOS_CONFIG_TEMPLATE_WEBHOOKS },
  [`${CONTROL_PLANE_GROUP}/TalosControlPlane`]: {
    mutate: mutateTalosControlPlane,
    validate: validateTalosControlPlane,
    webhookNames: TALOS_CONTROL_PLANE_WEBHOOKS,
  },
};
