/**
 * Conditions as Cluster API writes them: v1beta2 `status.conditions` (metav1.Condition) and the
 * deprecated v1beta1 ones (with severity) under `status.deprecated.v1beta1.conditions`.
 * A condition's lastTransitionTime only moves when its status changes.
 * @module
 */
import { nowRfc3339, type KObject } from "../lib/kobject.ts";

export type ConditionStatus = "True" | "False" | "Unknown";

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime?: string;
  reason: string;
  message?: string;
}

export interface V1Beta1Condition {
  type: string;
  status: ConditionStatus;
  severity?: "Error" | "Warning" | "Info" | "";
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

type Status = { conditions?: Condition[]; deprecated?: { v1beta1?: { conditions?: V1Beta1Condition[] } } };

function statusOf(obj: KObject): Status {
  return ((obj.status as Status | undefined) ??= {}) as Status;
}

export function getCondition(obj: KObject, type: string): Condition | undefined {
  return (obj.status as Status | undefined)?.conditions?.find((c) => c.type === type);
}

export function isTrue(obj: KObject, type: string): boolean {
  return getCondition(obj, type)?.status === "True";
}

function upsert<C extends { type: string; status: string; lastTransitionTime?: string }>(list: C[], next: C, now: Date): C[] {
  const i = list.findIndex((c) => c.type === next.type);
  const prev = list[i];
  const merged = { ...next, lastTransitionTime: prev && prev.status === next.status ? prev.lastTransitionTime : nowRfc3339(now) };
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}

/** Sets a v1beta2 condition; observedGeneration defaults to the object's generation. */
export function setCondition(obj: KObject, c: Omit<Condition, "lastTransitionTime">, now = new Date()): void {
  const status = statusOf(obj);
  const next: Condition = { ...c };
  const generation = c.observedGeneration ?? obj.metadata.generation;
  if (generation === undefined) delete next.observedGeneration;
  else next.observedGeneration = generation;
  // metav1.Condition requires message (it may be empty).
  next.message ??= "";
  status.conditions = upsert(status.conditions ?? [], next, now);
}

export function removeCondition(obj: KObject, type: string): void {
  const status = obj.status as Status | undefined;
  if (status?.conditions) status.conditions = status.conditions.filter((c) => c.type !== type);
}

/** Sets a deprecated v1beta1 condition (status.deprecated.v1beta1.conditions). */
export function setV1Beta1Condition(obj: KObject, c: Omit<V1Beta1Condition, "lastTransitionTime">, now = new Date()): void {
  const status = statusOf(obj);
  const v1 = ((status.deprecated ??= {}).v1beta1 ??= {});
  const next: V1Beta1Condition = { ...c };
  if (next.status === "True") delete next.severity;
  // v1beta1 conditions omit empty optional strings (the schema wants message/reason non-empty).
  for (const k of ["reason", "message", "severity"] as const) if (next[k] === "") delete next[k];
  v1.conditions = upsert(v1.conditions ?? [], next, now);
}

export function getV1Beta1Condition(obj: KObject, type: string): V1Beta1Condition | undefined {
  return (obj.status as Status | undefined)?.deprecated?.v1beta1?.conditions?.find((c) => c.type === type);
}
