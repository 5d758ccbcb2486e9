/**
 * Every kind the appliance ships, assembled from its CRD, conversion and admission.
 * @module
 */
import type { BundledKind } from "./types.ts";

export function bundledKinds(): BundledKind[] {
  return [];
}
