/**
 * ClusterClass (cluster.x-k8s.io, v1beta2 storage and v1beta1) is served so that kubectl finds the
 * kind and gets the appliance's answer, not "no matches for kind": every create and update is
 * refused with an Invalid Status naming the missing feature (managed topologies are not supported
 * yet; a Cluster with `spec.topology` is refused the same way). Nothing is ever stored, so the
 * schema is open and there is nothing to convert.
 * @module
 */
import type { StatusCause } from "../../lib/api-errors.ts";
import type { KObject } from "../../lib/kobject.ts";
import type { CRDObject } from "../../registry/crd/to-resource.ts";
import type { BundledKind } from "../types.ts";
import { BUNDLED_ANNOTATION } from "../types.ts";

export const CLUSTERCLASS_NOT_SUPPORTED =
  "ClusterClass (managed topologies) is not supported by capx-appliance yet: define the Cluster with spec.controlPlaneRef and spec.infrastructureRef and create its control plane, infrastructure and MachineDeployment objects directly (the cluster-template*.yaml flavors of a provider do this)";

const version = (name: string, storage: boolean) => ({
  name,
  served: true,
  storage,
  schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
  additionalPrinterColumns: [{ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }],
});

export const clusterClassCRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: {
    name: "clusterclasses.cluster.x-k8s.io",
    annotations: { [BUNDLED_ANNOTATION]: "true" },
    labels: { "cluster.x-k8s.io/provider": "cluster-api", "clusterctl.cluster.x-k8s.io": "" },
  },
  spec: {
    group: "cluster.x-k8s.io",
    names: { kind: "ClusterClass", listKind: "ClusterClassList", plural: "clusterclasses", singular: "clusterclass", shortNames: ["cc"], categories: ["cluster-api"] },
    scope: "Namespaced",
    versions: [version("v1beta1", false), version("v1beta2", true)],
  },
} as unknown as CRDObject;

export function refuseClusterClass(_obj: KObject, _old: KObject | undefined): StatusCause[] {
  return [{ reason: "FieldValueForbidden", field: "spec", message: `Forbidden: ${CLUSTERCLASS_NOT_SUPPORTED}` }];
}

export const clusterClassKind: BundledKind = { crd: clusterClassCRD, hooks: { validate: (obj, old, subresource) => (subresource ? [] : refuseClusterClass(obj, old)) } };
