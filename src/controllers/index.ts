/**
 * The controllers the daemon runs (when `controllers` is on), each a function registering
 * itself on the manager.
 * @module
 */
import type { Manager } from "../runtime/manager.ts";

export type ControllerSetupFn = (m: Manager) => void;

export function controllerSetups(): ControllerSetupFn[] {
  return [];
}
