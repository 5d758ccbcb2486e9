/**
 * Where the two condition flavours live in each version, as upstream moves them:
 *
 * | | v1beta1 | v1beta2 |
 * |---|---|---|
 * | CAPI `Condition` (with `severity`) | `status.conditions` | `status.deprecated.v1beta1.conditions` |
 * | `metav1.Condition` (with `observedGeneration`) | `status.v1beta2.conditions` | `status.conditions` |
 *
 * The same goes for the other legacy status fields (`failureReason`, `failureMessage`, the old
 * replica counters) that v1beta2 keeps under `status.deprecated.v1beta1`, and for the new fields
 * v1beta1 keeps under `status.v1beta2`. Conditions are copied verbatim: the shapes are identical
 * on both sides of each move.
 * @module
 */
import { clone, type J, obj, orUndef, put } from "./util.ts";

/** v1beta2 `status.deprecated.v1beta1` (undefined when absent). */
export function deprecatedV1Beta1(hubStatus: J | undefined): J | undefined {
  return obj(obj(hubStatus?.deprecated)?.v1beta1);
}

/** v1beta1 `status.v1beta2` (undefined when absent). */
export function v1beta2Block(spokeStatus: J | undefined): J | undefined {
  return obj(spokeStatus?.v1beta2);
}

/**
 * Writes `status.deprecated.v1beta1 = content` on a hub status. With `always` the block is
 * written even when empty (upstream MachineSet/MachineDeployment always allocate it).
 */
export function setDeprecatedV1Beta1(hubStatus: J, content: J, always = false): void {
  if (!always && Object.keys(content).length === 0) return;
  hubStatus.deprecated = { v1beta1: content };
}

/** Writes `status.v1beta2 = content` on a v1beta1 status when it has anything. */
export function setV1Beta2Block(spokeStatus: J, content: J): void {
  const block = orUndef(content);
  if (block) spokeStatus.v1beta2 = block;
}

/** Copies a conditions list (either flavour) when present. */
export function copyConditions(to: J, key: string, conditions: unknown): void {
  if (Array.isArray(conditions)) put(to, key, clone(conditions));
}
