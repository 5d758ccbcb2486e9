/**
 * Kinds the appliance ships (Cluster API core, providers): served as CRD objects — visible with
 * `kubectl get crd` like on a real management cluster — with in-process conversion between
 * their versions and the behaviour of upstream's admission webhooks attached as registry hooks.
 * @module
 */
import type { CRDObject } from "../registry/crd/to-resource.ts";
import type { KindHooks } from "../registry/types.ts";

export interface BundledKind {
  /** The CRD (apiextensions.k8s.io/v1) served for the kind; schemas translated from upstream. */
  crd: CRDObject;
  /**
   * - `convert(obj, toApiVersion)`: between any two served versions (through the storage version,
   *   lossless: what has no place in the target goes to an annotation, as upstream does);
   * - `mutate(obj, old)`: the defaulting webhook, on the storage form;
   * - `validate(obj, old)`: the validating webhook, on the storage form.
   */
  hooks?: KindHooks;
}

/** Annotation marking CRDs the appliance manages (re-synced at every start). */
export const BUNDLED_ANNOTATION = "capx.dev/bundled";
