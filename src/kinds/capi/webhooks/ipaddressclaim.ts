/**
 * IPAddressClaim admission (ipam.cluster.x-k8s.io/v1beta2), after upstream release-1.14
 * `core/webhooks/admission/ipaddressclaim.go`: nothing on create; `spec` is immutable on update.
 * Validation only (no defaulting webhook). Upstream returns the update error as a plain field
 * error (HTTP 403 "denied the request"); here it is a cause of the registry's 422 Invalid.
 * @module
 */
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { specImmutable } from "./ipaddress.ts";

export const IP_ADDRESS_CLAIM_WEBHOOKS = { validating: "validation.ipaddressclaim.ipam.cluster.x-k8s.io" };

export function validateIPAddressClaim(obj: KObject, old: KObject | undefined): StatusCause[] {
  return old ? specImmutable("IPAddressClaim", obj, old) : [];
}
