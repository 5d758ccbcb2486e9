/**
 * The in-cluster IPAM pool CRDs the appliance serves (InClusterIPPool, GlobalInClusterIPPool;
 * v1alpha1 and v1alpha2, storage v1alpha2). The JSON files are the project's own schema source for
 * these kinds, translated once from upstream by `scripts/import-crds.ts` (provenance in
 * `crds/SOURCES.md`); imported here so a compiled binary embeds them.
 * @module
 */
import type { CRDObject } from "../../registry/crd/to-resource.ts";
import globalinclusterippools from "./crds/globalinclusterippools.ipam.cluster.x-k8s.io.json" with { type: "json" };
import inclusterippools from "./crds/inclusterippools.ipam.cluster.x-k8s.io.json" with { type: "json" };

/** Shared module-level objects: clone before changing one (as `syncBundledCRDs` does). */
export const ipamPoolCRDs: CRDObject[] = [inclusterippools, globalinclusterippools] as unknown[] as CRDObject[];
