/**
 * The Talos CRDs the appliance serves: CABPT's TalosConfig and TalosConfigTemplate
 * (bootstrap.cluster.x-k8s.io v1alpha3 and v1beta1, storage v1beta1) and CACPPT's TalosControlPlane
 * (controlplane.cluster.x-k8s.io v1alpha3). The JSON files are the project's own schema source for
 * these kinds, translated once from upstream by `scripts/import-crds.ts` (provenance in
 * `crds/SOURCES.md`); imported here so a compiled binary embeds them.
 * @module
 */
import type { CRDObject } from "../../registry/crd/to-resource.ts";
import talosconfigs from "./crds/bootstrap/talosconfigs.bootstrap.cluster.x-k8s.io.json" with { type: "json" };
import talosconfigtemplates from "./crds/bootstrap/talosconfigtemplates.bootstrap.cluster.x-k8s.io.json" with { type: "json" };
import taloscontrolplanes from "./crds/controlplane/taloscontrolplanes.controlplane.cluster.x-k8s.io.json" with { type: "json" };

/** Shared module-level objects: clone before changing one (as `syncBundledCRDs` does). */
export const talosCRDs: CRDObject[] = [talosconfigs, talosconfigtemplates, taloscontrolplanes] as unknown[] as CRDObject[];
