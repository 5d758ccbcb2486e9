/**
 * The in-cluster IPAM pool kinds (InClusterIPPool, GlobalInClusterIPPool) as bundled kinds: their
 * CRDs, v1alpha1 ⇄ v1alpha2 conversion, and upstream's admission rules as registry hooks — the
 * validating webhook on create/update of the main resource (not on status writes), and the delete
 * rule through `prepareForDelete`, which runs on every DELETE of an object not yet terminating and
 * refuses it by throwing. The in-use rules read the store once `bindPoolUsage` has been called.
 * @module
 */
import type { KindHooks } from "../../registry/types.ts";
import type { BundledKind } from "../types.ts";
import { poolConverters } from "./conversion.ts";
import { ipamPoolCRDs } from "./crds.ts";
import { validatePool, validatePoolDelete } from "./webhooks/pool.ts";

function poolHooks(group: string, kind: string): KindHooks {
  return {
    convert: poolConverters[`${group}/${kind}`],
    validate: (obj, old, subresource) => (subresource ? [] : validatePool(obj, old)),
    prepareForDelete(obj) {
      validatePoolDelete(obj);
      return false;
    },
  };
}

export function ipamBundledKinds(): BundledKind[] {
  return ipamPoolCRDs.map((crd) => ({ crd, hooks: poolHooks(crd.spec.group, crd.spec.names.kind) }));
}

export { bindPoolUsage, refersToPool, setPoolUsageSource, type PoolKey, type PoolUsageSource } from "./webhooks/usage.ts";
export * from "./pool-spec.ts";
