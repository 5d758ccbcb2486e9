/**
 * Conversion between the served versions of the kubeadm and addons kinds — KubeadmConfig,
 * KubeadmConfigTemplate, KubeadmControlPlane, KubeadmControlPlaneTemplate, ClusterResourceSet,
 * ClusterResourceSetBinding: v1beta1 ⇄ v1beta2 (hub/storage), as Cluster API release-1.14's
 * conversion webhooks do it, but lossless both ways (the hub-and-spoke machinery and the
 * `cluster.x-k8s.io/conversion-data` annotation are shared with the core kinds,
 * ../../capi/conversion/hub.ts).
 *
 * Each converter has the `KindHooks.convert` signature: any served apiVersion in, a new object in
 * `toApiVersion` out (the input is never mutated; an unknown apiVersion throws).
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { makeConverter, type SpokeConversion } from "../../capi/conversion/hub.ts";
import { clusterResourceSetBindingV1Beta1, clusterResourceSetV1Beta1 } from "./clusterresourceset.ts";
import { ADDONS_GROUP, BOOTSTRAP_GROUP, CONTROL_PLANE_GROUP, HUB_VERSION } from "./common.ts";
import { kubeadmConfigTemplateV1Beta1, kubeadmConfigV1Beta1 } from "./kubeadmconfig.ts";
import { kubeadmControlPlaneTemplateV1Beta1, kubeadmControlPlaneV1Beta1 } from "./kubeadmcontrolplane.ts";

export * from "./common.ts";

const converter = (group: string, kind: string, spoke: SpokeConversion) => makeConverter({ group, kind, hubVersion: HUB_VERSION, spokes: [spoke] });

/** `"group/Kind"` → `(obj, toApiVersion) => obj in toApiVersion`. */
export const kubeadmConverters: Record<string, (obj: KObject, toApiVersion: string) => KObject> = {
  [`${BOOTSTRAP_GROUP}/KubeadmConfig`]: converter(BOOTSTRAP_GROUP, "KubeadmConfig", kubeadmConfigV1Beta1),
  [`${BOOTSTRAP_GROUP}/KubeadmConfigTemplate`]: converter(BOOTSTRAP_GROUP, "KubeadmConfigTemplate", kubeadmConfigTemplateV1Beta1),
  [`${CONTROL_PLANE_GROUP}/KubeadmControlPlane`]: converter(CONTROL_PLANE_GROUP, "KubeadmControlPlane", kubeadmControlPlaneV1Beta1),
  [`${CONTROL_PLANE_GROUP}/KubeadmControlPlaneTemplate`]: converter(CONTROL_PLANE_GROUP, "KubeadmControlPlaneTemplate", kubeadmControlPlaneTemplateV1Beta1),
  [`${ADDONS_GROUP}/ClusterResourceSet`]: converter(ADDONS_GROUP, "ClusterResourceSet", clusterResourceSetV1Beta1),
  [`${ADDONS_GROUP}/ClusterResourceSetBinding`]: converter(ADDONS_GROUP, "ClusterResourceSetBinding", clusterResourceSetBindingV1Beta1),
};
