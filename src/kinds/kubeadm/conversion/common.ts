/**
 * Groups and versions of the kubeadm and addons kinds: v1beta2 is the hub and storage version,
 * v1beta1 the (deprecated) spoke, as in Cluster API release-1.14.
 * @module
 */
export const BOOTSTRAP_GROUP = "bootstrap.cluster.x-k8s.io";
export const CONTROL_PLANE_GROUP = "controlplane.cluster.x-k8s.io";
export const ADDONS_GROUP = "addons.cluster.x-k8s.io";
export const HUB_VERSION = "v1beta2";
export const SPOKE_VERSION = "v1beta1";

export const apiVersionOf = (group: string, version: string) => `${group}/${version}`;
