/** coordination.k8s.io/v1 Lease (leader election of controllers that run against the appliance). */
import type { ResourceDefinition } from "../types.ts";
import { builtinKind } from "./define.ts";
import { fieldError, type StatusCause } from "../../lib/api-errors.ts";
import type { KObject } from "../../lib/kobject.ts";
import { int, ageColumn, nameColumn, obj, resourceSchema, str } from "./schema-helpers.ts";

const microTime = (d: string) => ({ type: "string" as const, format: "date-time", description: d });

const schema = resourceSchema("Lease defines a lease concept.", {
  spec: obj({
    holderIdentity: str("The identity of the holder of a current lease."),
    leaseDurationSeconds: int("Duration that candidates for a lease need to wait to force acquire it."),
    acquireTime: microTime("The time the current lease was acquired."),
    renewTime: microTime("The time the current holder last updated the lease."),
    leaseTransitions: int("The number of transitions of a lease between holders."),
    strategy: str("The strategy for picking the leader for coordinated leader election."),
    preferredHolder: str("Signals to a lease holder that the lease has a more optimal holder."),
  }),
});

function validateLease(o: KObject): StatusCause[] {
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  const causes: StatusCause[] = [];
  if (spec.leaseDurationSeconds !== undefined && Number(spec.leaseDurationSeconds) <= 0) {
    causes.push(fieldError.invalid("spec.leaseDurationSeconds", spec.leaseDurationSeconds, "must be greater than 0"));
  }
  if (spec.leaseTransitions !== undefined && Number(spec.leaseTransitions) < 0) {
    causes.push(fieldError.invalid("spec.leaseTransitions", spec.leaseTransitions, "must be greater than or equal to 0"));
  }
  return causes;
}

export const leaseDefinition: ResourceDefinition = builtinKind({
  group: "coordination.k8s.io",
  kind: "Lease",
  plural: "leases",
  namespaced: true,
  schema,
  printerColumns: [nameColumn, { name: "Holder", type: "string", description: "The holder of the lease", jsonPath: ".spec.holderIdentity" }, ageColumn],
  hooks: { validate: validateLease, allowUnconditionalUpdate: true },
});
