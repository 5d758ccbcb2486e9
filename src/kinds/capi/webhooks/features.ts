/**
 * The Cluster API feature gates the release-1.14 webhooks consult (`feature/feature.go`).
 *
 * Upstream defaults: MachineSetPreflightChecks on (beta), MachineTaintPropagation off (alpha),
 * ClusterTopology off (alpha). The appliance turns MachineTaintPropagation on because its Machine
 * and MachineSet controllers propagate `spec.taints` (with the gate off upstream rejects every
 * taint: "taints are not allowed to be set when the feature gate MachineTaintPropagation is
 * disabled"). ClusterTopology is not a switch here: `spec.topology` is always rejected (see
 * cluster.ts).
 * @module
 */

export interface CapiFeatureGates {
  MachineSetPreflightChecks: boolean;
  MachineTaintPropagation: boolean;
}

export const featureGates: CapiFeatureGates = {
  MachineSetPreflightChecks: true,
  MachineTaintPropagation: true,
};

/** Changes gates (tests, or a future config option); returns the previous values. */
export function setFeatureGates(gates: Partial<CapiFeatureGates>): CapiFeatureGates {
  const previous = { ...featureGates };
  Object.assign(featureGates, gates);
  return previous;
}
