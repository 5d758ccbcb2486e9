/**
 * CAPMOX's admission webhooks (`internal/webhook/*.go` on main) as pure functions on the storage
 * form (v1alpha2), keyed by `<group>/<Kind>`, for wiring as registry hooks (same contract as the
 * Cluster API webhooks in ../../capi/webhooks): `mutate(obj, old)` defaults in place,
 * `validate(obj, old)` returns the causes of a 422 Invalid or throws where upstream answers with a
 * plain error (403 "denied the request") or a 400.
 * @module
 */
import type { CapiWebhook } from "../../capi/webhooks/index.ts";
import { INFRA_GROUP } from "../conversion/common.ts";
import { PROXMOX_CLUSTER_TEMPLATE_WEBHOOKS, PROXMOX_CLUSTER_WEBHOOKS, validateProxmoxCluster, validateProxmoxClusterTemplate } from "./proxmoxcluster.ts";
import {
  mutateProxmoxMachine,
  PROXMOX_MACHINE_TEMPLATE_WEBHOOKS,
  PROXMOX_MACHINE_WEBHOOKS,
  validateProxmoxMachine,
  validateProxmoxMachineTemplate,
} from "./proxmoxmachine.ts";

export const capmoxWebhooks: Record<string, CapiWebhook> = {
  [`${INFRA_GROUP}/ProxmoxCluster`]: { validate: validateProxmoxCluster, webhookNames: PROXMOX_CLUSTER_WEBHOOKS },
  [`${INFRA_GROUP}/ProxmoxClusterTemplate`]: { validate: validateProxmoxClusterTemplate, webhookNames: PROXMOX_CLUSTER_TEMPLATE_WEBHOOKS },
  [`${INFRA_GROUP}/ProxmoxMachine`]: { mutate: mutateProxmoxMachine, validate: validateProxmoxMachine, webhookNames: PROXMOX_MACHINE_WEBHOOKS },
  [`${INFRA_GROUP}/ProxmoxMachineTemplate`]: { validate: validateProxmoxMachineTemplate, webhookNames: PROXMOX_MACHINE_TEMPLATE_WEBHOOKS },
};
