/**
 * For watch tests (not used at run time): a controller's reconcile count once it stops moving.
 * @module
 */
import type { Controller } from "./controller.ts";

export function reconcileCount(controller: Controller): number {
  return Object.values(controller.stats.reconciles).reduce((a, b) => a + b, 0);
}

/** Waits until the count has not moved for `quietMs`, and returns it. */
export async function settledReconciles(controller: Controller, quietMs = 300): Promise<number> {
  let last = -1;
  while (last !== reconcileCount(controller)) {
    last = reconcileCount(controller);
    await Bun.sleep(quietMs);
  }
  return last;
}
