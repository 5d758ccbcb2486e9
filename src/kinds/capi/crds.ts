/**
 * The Cluster API core CRDs the appliance serves (Cluster, Machine, MachineSet, MachineDeployment,
 * MachineHealthCheck, IPAddress, IPAddressClaim). The JSON files are the project's own schema
 * source for these kinds, translated once from upstream by `scripts/import-crds.ts` (provenance in
 * `crds/SOURCES.md`); imported here so a compiled binary embeds them.
 * @module
 */
import type { CRDObject } from "../../registry/crd/to-resource.ts";
import clusters from "./crds/clusters.cluster.x-k8s.io.json" with { type: "json" };
import ipaddressclaims from "./crds/ipaddressclaims.ipam.cluster.x-k8s.io.json" with { type: "json" };
import ipaddresses from "./crds/ipaddresses.ipam.cluster.x-k8s.io.json" with { type: "json" };
import machinedeployments from "./crds/machinedeployments.cluster.x-k8s.io.json" with { type: "json" };
import machinehealthchecks from "./crds/machinehealthchecks.cluster.x-k8s.io.json" with { type: "json" };
import machines from "./crds/machines.cluster.x-k8s.io.json" with { type: "json" };
import machinesets from "./crds/machinesets.cluster.x-k8s.io.json" with { type: "json" };

/**
 * Shared module-level objects: callers that change one (e.g. the store's create path) must clone
 * it first (`structuredClone`), as `syncBundledCRDs` does.
 */
export const capiCRDs: CRDObject[] = [
  clusters,
  machines,
  machinesets,
  machinedeployments,
  machinehealthchecks,
  ipaddresses,
  ipaddressclaims,
] as unknown[] as CRDObject[];
