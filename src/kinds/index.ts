/**
 * Every kind the appliance ships, assembled from its CRD, conversion and admission.
 * @module
 */
import { capiCRDs } from "./capi/crds.ts";
import type { BundledKind } from "./types.ts";

export function bundledKinds(): BundledKind[] {
  return capiCRDs.map((crd) => ({ crd }));
}
