/**
 * Cluster API's admission webhooks (release-1.14 `core/webhooks/admission/*.go`) as pure functions
 * on the storage form (v1beta2), keyed by `<group>/<Kind>`, for wiring as registry hooks:
 * `mutate(obj, old)` is the defaulting webhook (it may throw a 403 ApiError where upstream's
 * defaulter fails the request), `validate(obj, old)` the validating webhook (returns causes for
 * a 422 Invalid). `webhookNames` are upstream's webhook configuration names, should a caller
 * want kube-apiserver's `admission webhook "<name>" denied the request: ` message prefix.
 * @module
 */
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { CLUSTER_WEBHOOKS, validateCluster } from "./cluster.ts";
import { IP_ADDRESS_WEBHOOKS, validateIPAddress } from "./ipaddress.ts";
import { IP_ADDRESS_CLAIM_WEBHOOKS, validateIPAddressClaim } from "./ipaddressclaim.ts";
import { MACHINE_WEBHOOKS, mutateMachine, validateMachine } from "./machine.ts";
import { MACHINE_DEPLOYMENT_WEBHOOKS, mutateMachineDeployment, validateMachineDeployment } from "./machinedeployment.ts";
import { MACHINE_HEALTH_CHECK_WEBHOOKS, mutateMachineHealthCheck, validateMachineHealthCheck } from "./machinehealthcheck.ts";
import { MACHINE_SET_WEBHOOKS, mutateMachineSet, validateMachineSet } from "./machineset.ts";

export interface CapiWebhook {
  mutate?(obj: KObject, old: KObject | undefined): void;
  validate?(obj: KObject, old: KObject | undefined): StatusCause[];
  webhookNames?: { mutating?: string; validating?: string };
}

export const capiWebhooks: Record<string, CapiWebhook> = {
  "cluster.x-k8s.io/Cluster": { validate: validateCluster, webhookNames: { validating: CLUSTER_WEBHOOKS.validating } },
  "cluster.x-k8s.io/Machine": { mutate: mutateMachine, validate: validateMachine, webhookNames: MACHINE_WEBHOOKS },
  "cluster.x-k8s.io/MachineSet": { mutate: mutateMachineSet, validate: validateMachineSet, webhookNames: MACHINE_SET_WEBHOOKS },
  "cluster.x-k8s.io/MachineDeployment": {
    mutate: mutateMachineDeployment,
    validate: validateMachineDeployment,
    webhookNames: MACHINE_DEPLOYMENT_WEBHOOKS,
  },
  "cluster.x-k8s.io/MachineHealthCheck": {
    mutate: mutateMachineHealthCheck,
    validate: validateMachineHealthCheck,
    webhookNames: MACHINE_HEALTH_CHECK_WEBHOOKS,
  },
  "ipam.cluster.x-k8s.io/IPAddress": { validate: validateIPAddress, webhookNames: IP_ADDRESS_WEBHOOKS },
  "ipam.cluster.x-k8s.io/IPAddressClaim": { validate: validateIPAddressClaim, webhookNames: IP_ADDRESS_CLAIM_WEBHOOKS },
};

export { featureGates, setFeatureGates } from "./features.ts";
export type { CapiFeatureGates } from "./features.ts";
export { validateIPAddressAgainstClaim } from "./ipaddress.ts";
export { generateNameFromTemplate, machineSetMachineName } from "./name-template.ts";
export { mustFormatLabelValue } from "./machineset.ts";
