/**
 * The conditions of the Proxmox kinds: ProxmoxMachine `VirtualMachineProvisioned` (whose reason
 * is the provisioning state, as CAPMOX) and ProxmoxCluster `ProxmoxAvailable`, each summarised
 * into `Ready` as CAPI's summary does for a single condition (its status and reason; the message
 * lists it when it is not True).
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { getCondition, setCondition, type ConditionStatus } from "../../runtime/conditions.ts";
import { ProxmoxClusterConditions, VM_PROVISIONED } from "./constants.ts";

/** CAPI's summary of one condition into Ready. */
export function setReadyFrom(obj: KObject, type: string): void {
  const c = getCondition(obj, type);
  if (!c) {
    setCondition(obj, { type: "Ready", status: "Unknown", reason: "NotYetReported", message: `* ${type}: Condition not yet reported` });
    return;
  }
  const message = c.status === "True" ? (c.message ? `* ${type}: ${c.message}` : "") : `* ${type}: ${c.message || c.reason}`;
  setCondition(obj, { type: "Ready", status: c.status, reason: c.reason, message });
}

export function setVmProvisioned(pm: KObject, status: ConditionStatus, reason: string, message = ""): void {
  setCondition(pm, { type: VM_PROVISIONED, status, reason, message });
  setReadyFrom(pm, VM_PROVISIONED);
}

export function vmProvisionedReason(pm: KObject): string | undefined {
  return getCondition(pm, VM_PROVISIONED)?.reason;
}

export function setProxmoxAvailable(pc: KObject, status: ConditionStatus, reason: string, message = ""): void {
  setCondition(pc, { type: ProxmoxClusterConditions.ProxmoxAvailable, status, reason, message });
  setReadyFrom(pc, ProxmoxClusterConditions.ProxmoxAvailable);
}
