/**
 * Conversion between the served versions of the CAPMOX kinds (infrastructure.cluster.x-k8s.io
 * ProxmoxCluster, ProxmoxClusterTemplate, ProxmoxMachine, ProxmoxMachineTemplate): v1alpha1 ⇄
 * v1alpha2 (hub/storage), lossless both ways. What one version cannot express travels in the
 * `cluster.x-k8s.io/conversion-data` annotation, the annotation upstream CAPMOX uses (Cluster API's
 * `util/conversion.MarshalData`); the hub-and-spoke machinery is shared with the Cluster API kinds
 * (../../capi/conversion/hub.ts, preserve.ts).
 *
 * Each converter has the `KindHooks.convert` signature: any served apiVersion in, a new object in
 * `toApiVersion` out (the input is never mutated; an unknown apiVersion throws).
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { makeConverter, type SpokeConversion } from "../../capi/conversion/hub.ts";
import { HUB_VERSION, INFRA_GROUP } from "./common.ts";
import { proxmoxClusterTemplateV1Alpha1, proxmoxClusterV1Alpha1 } from "./proxmoxcluster.ts";
import { proxmoxMachineTemplateV1Alpha1, proxmoxMachineV1Alpha1 } from "./proxmoxmachine.ts";

export { HUB_API_VERSION, HUB_VERSION, INFRA_GROUP, SPOKE_API_VERSION } from "./common.ts";

const converter = (kind: string, spoke: SpokeConversion) => makeConverter({ group: INFRA_GROUP, kind, hubVersion: HUB_VERSION, spokes: [spoke] });

/** `"group/Kind"` → `(obj, toApiVersion) => obj in toApiVersion`. */
export const capmoxConverters: Record<string, (obj: KObject, toApiVersion: string) => KObject> = {
  [`${INFRA_GROUP}/ProxmoxCluster`]: converter("ProxmoxCluster", proxmoxClusterV1Alpha1),
  [`${INFRA_GROUP}/ProxmoxClusterTemplate`]: converter("ProxmoxClusterTemplate", proxmoxClusterTemplateV1Alpha1),
  [`${INFRA_GROUP}/ProxmoxMachine`]: converter("ProxmoxMachine", proxmoxMachineV1Alpha1),
  [`${INFRA_GROUP}/ProxmoxMachineTemplate`]: converter("ProxmoxMachineTemplate", proxmoxMachineTemplateV1Alpha1),
};
