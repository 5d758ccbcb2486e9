/**
 * Conversion between the served versions of the Cluster API core kinds, as Cluster API
 * release-1.14's conversion webhooks do it, but lossless in both directions:
 *
 * - cluster.x-k8s.io Cluster, Machine, MachineSet, MachineDeployment, MachineHealthCheck:
 *   v1beta1 ⇄ v1beta2 (hub/storage);
 * - ipam.cluster.x-k8s.io IPAddress, IPAddressClaim: v1alpha1, v1beta1 ⇄ v1beta2 (hub/storage).
 *
 * Each converter has the `KindHooks.convert` signature: it takes an object in any served
 * apiVersion of its kind and returns a new object in `toApiVersion` (the input is never mutated;
 * an unknown apiVersion throws). What a version cannot express travels in the
 * `cluster.x-k8s.io/conversion-data` annotation (preserve.ts). v1beta2 references carry no version:
 * going down, {@link setRefVersionResolver} decides (default table in refs.ts).
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { clusterV1Beta1 } from "./cluster.ts";
import { type Converter, makeConverter } from "./hub.ts";
import { ipAddressClaimV1Alpha1, ipAddressClaimV1Beta1, ipAddressV1Alpha1, ipAddressV1Beta1, IPAM_GROUP, IPAM_HUB_VERSION } from "./ipam.ts";
import { CLUSTER_GROUP, HUB_VERSION, machineV1Beta1 } from "./machine.ts";
import { machineDeploymentV1Beta1 } from "./machinedeployment.ts";
import { machineHealthCheckV1Beta1 } from "./machinehealthcheck.ts";
import { machineSetV1Beta1 } from "./machineset.ts";

export { CONVERSION_DATA_ANNOTATION, withoutConversionData } from "./preserve.ts";
export {
  DEFAULT_REF_VERSIONS,
  FALLBACK_REF_VERSION,
  type RefVersionResolver,
  resolveRefApiVersion,
  setRefVersionResolver,
  versionFromContractLabels,
} from "./refs.ts";
export { CLUSTER_NAME_LABEL_SET_ANNOTATION } from "./ipam.ts";
export { type Converter, type KindConversion, makeConverter, type SpokeConversion } from "./hub.ts";

const core = (kind: string, spoke: Parameters<typeof makeConverter>[0]["spokes"][number]): Converter =>
  makeConverter({ group: CLUSTER_GROUP, kind, hubVersion: HUB_VERSION, spokes: [spoke] });

const ipam = (kind: string, spokes: Parameters<typeof makeConverter>[0]["spokes"]): Converter =>
  makeConverter({ group: IPAM_GROUP, kind, hubVersion: IPAM_HUB_VERSION, spokes });

/** `"group/Kind"` (e.g. `"cluster.x-k8s.io/Cluster"`) → `(obj, toApiVersion) => obj in toApiVersion`. */
export const capiConverters: Record<string, (obj: KObject, toApiVersion: string) => KObject> = {
  [`${CLUSTER_GROUP}/Cluster`]: core("Cluster", clusterV1Beta1),
  [`${CLUSTER_GROUP}/Machine`]: core("Machine", machineV1Beta1),
  [`${CLUSTER_GROUP}/MachineSet`]: core("MachineSet", machineSetV1Beta1),
  [`${CLUSTER_GROUP}/MachineDeployment`]: core("MachineDeployment", machineDeploymentV1Beta1),
  [`${CLUSTER_GROUP}/MachineHealthCheck`]: core("MachineHealthCheck", machineHealthCheckV1Beta1),
  [`${IPAM_GROUP}/IPAddress`]: ipam("IPAddress", [ipAddressV1Alpha1, ipAddressV1Beta1]),
  [`${IPAM_GROUP}/IPAddressClaim`]: ipam("IPAddressClaim", [ipAddressClaimV1Alpha1, ipAddressClaimV1Beta1]),
};
