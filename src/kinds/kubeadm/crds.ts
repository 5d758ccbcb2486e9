/**
 * The Cluster API kubeadm and addons CRDs the appliance serves: KubeadmConfig, KubeadmConfigTemplate
 * (bootstrap.cluster.x-k8s.io), KubeadmControlPlane, KubeadmControlPlaneTemplate
 * (controlplane.cluster.x-k8s.io), ClusterResourceSet, ClusterResourceSetBinding
 * (addons.cluster.x-k8s.io) — v1beta1 (deprecated) and v1beta2 (storage). The JSON files are the
 * project's own schema source for these kinds, translated once from upstream by
 * `scripts/import-crds.ts` (provenance in `crds/SOURCES.md`); imported here so a compiled binary
 * embeds them.
 * @module
 */
import type { CRDObject } from "../../registry/crd/to-resource.ts";
import clusterresourcesetbindings from "./crds/addons/clusterresourcesetbindings.addons.cluster.x-k8s.io.json" with { type: "json" };
import clusterresourcesets from "./crds/addons/clusterresourcesets.addons.cluster.x-k8s.io.json" with { type: "json" };
import kubeadmconfigs from "./crds/bootstrap/kubeadmconfigs.bootstrap.cluster.x-k8s.io.json" with { type: "json" };
import kubeadmconfigtemplates from "./crds/bootstrap/kubeadmconfigtemplates.bootstrap.cluster.x-k8s.io.json" with { type: "json" };
import kubeadmcontrolplanes from "./crds/controlplane/kubeadmcontrolplanes.controlplane.cluster.x-k8s.io.json" with { type: "json" };
import kubeadmcontrolplanetemplates from "./crds/controlplane/kubeadmcontrolplanetemplates.controlplane.cluster.x-k8s.io.json" with { type: "json" };

/** Shared module-level objects: clone before changing one (as `syncBundledCRDs` does). */
export const kubeadmCRDs: CRDObject[] = [
  kubeadmconfigs,
  kubeadmconfigtemplates,
  kubeadmcontrolplanes,
  kubeadmcontrolplanetemplates,
  clusterresourcesets,
  clusterresourcesetbindings,
] as unknown[] as CRDObject[];
