/**
 * Groups and versions of the Talos kinds.
 * @module
 */
export const BOOTSTRAP_GROUP = "bootstrap.cluster.x-k8s.io";
/** CABPT's hub and storage version (v0.7). */
export const BOOTSTRAP_HUB_VERSION = "v1beta1";
export const BOOTSTRAP_HUB_API_VERSION = `${BOOTSTRAP_GROUP}/${BOOTSTRAP_HUB_VERSION}`;
export const BOOTSTRAP_SPOKE_VERSION = "v1alpha3";
export const BOOTSTRAP_SPOKE_API_VERSION = `${BOOTSTRAP_GROUP}/${BOOTSTRAP_SPOKE_VERSION}`;

export const CONTROL_PLANE_GROUP = "controlplane.cluster.x-k8s.io";
/** CACPPT v0.5 serves and stores v1alpha3 only. */
export const CONTROL_PLANE_VERSION = "v1alpha3";
export const CONTROL_PLANE_API_VERSION = `${CONTROL_PLANE_GROUP}/${CONTROL_PLANE_VERSION}`;
