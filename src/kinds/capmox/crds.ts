/**
 * The CAPMOX CRDs the appliance serves (ProxmoxCluster, ProxmoxClusterTemplate, ProxmoxMachine,
 * ProxmoxMachineTemplate; v1alpha1 and v1alpha2, storage v1alpha2). The JSON files are the project's
 * own schema source for these kinds, translated once from upstream by `scripts/import-crds.ts`
 * (provenance and the appliance's extension in `crds/SOURCES.md`); imported here so a compiled
 * binary embeds them.
 * @module
 */
import type { CRDObject } from "../../registry/crd/to-resource.ts";
import proxmoxclusters from "./crds/proxmoxclusters.infrastructure.cluster.x-k8s.io.json" with { type: "json" };
import proxmoxclustertemplates from "./crds/proxmoxclustertemplates.infrastructure.cluster.x-k8s.io.json" with { type: "json" };
import proxmoxmachines from "./crds/proxmoxmachines.infrastructure.cluster.x-k8s.io.json" with { type: "json" };
import proxmoxmachinetemplates from "./crds/proxmoxmachinetemplates.infrastructure.cluster.x-k8s.io.json" with { type: "json" };

/** Shared module-level objects: clone before changing one (as `syncBundledCRDs` does). */
export const capmoxCRDs: CRDObject[] = [proxmoxclusters, proxmoxclustertemplates, proxmoxmachines, proxmoxmachinetemplates] as unknown[] as CRDObject[];
