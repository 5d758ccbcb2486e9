/**
 * The kubeadm and addons admission webhooks of Cluster API release-1.14 (KubeadmConfig,
 * KubeadmConfigTemplate, KubeadmControlPlane, KubeadmControlPlaneTemplate, ClusterResourceSet,
 * ClusterResourceSetBinding) as pure functions on the storage form (v1beta2), keyed by
 * `<group>/<Kind>`, with the same contract as the core webhooks (../../capi/webhooks).
 * @module
 */
import type { CapiWebhook } from "../../capi/webhooks/index.ts";
import { ADDONS_GROUP, BOOTSTRAP_GROUP, CONTROL_PLANE_GROUP } from "../conversion/common.ts";
import {
  CLUSTER_RESOURCE_SET_BINDING_WEBHOOKS,
  CLUSTER_RESOURCE_SET_WEBHOOKS,
  mutateClusterResourceSet,
  validateClusterResourceSet,
  validateClusterResourceSetBinding,
} from "./clusterresourceset.ts";
import { KUBEADM_CONFIG_TEMPLATE_WEBHOOKS, KUBEADM_CONFIG_WEBHOOKS, validateKubeadmConfig, validateKubeadmConfigTemplate } from "./kubeadmconfig.ts";
import {
  KUBEADM_CONTROL_PLANE_TEMPLATE_WEBHOOKS,
  KUBEADM_CONTROL_PLANE_WEBHOOKS,
  mutateKubeadmControlPlane,
  validateKubeadmControlPlane,
  validateKubeadmControlPlaneTemplate,
} from "./kubeadmcontrolplane.ts";

export const kubeadmWebhooks: Record<string, CapiWebhook> = {
  [`${BOOTSTRAP_GROUP}/KubeadmConfig`]: { validate: validateKubeadmConfig, webhookNames: KUBEADM_CONFIG_WEBHOOKS },
  [`${BOOTSTRAP_GROUP}/KubeadmConfigTemplate`]: { validate: validateKubeadmConfigTemplate, webhookNames: KUBEADM_CONFIG_TEMPLATE_WEBHOOKS },
  [`${CONTROL_PLANE_GROUP}/KubeadmControlPlane`]: {
    mutate: mutateKubeadmControlPlane,
    validate: validateKubeadmControlPlane,
    webhookNames: KUBEADM_CONTROL_PLANE_WEBHOOKS,
  },
  [`${CONTROL_PLANE_GROUP}/KubeadmControlPlaneTemplate`]: {
    validate: validateKubeadmControlPlaneTemplate,
    webhookNames: KUBEADM_CONTROL_PLANE_TEMPLATE_WEBHOOKS,
  },
  [`${ADDONS_GROUP}/ClusterResourceSet`]: {
    mutate: mutateClusterResourceSet,
    validate: validateClusterResourceSet,
    webhookNames: CLUSTER_RESOURCE_SET_WEBHOOKS,
  },
  [`${ADDONS_GROUP}/ClusterResourceSetBinding`]: { validate: validateClusterResourceSetBinding, webhookNames: CLUSTER_RESOURCE_SET_BINDING_WEBHOOKS },
};
