/**
 * Writing a Machine that several controllers write to: metadata and spec go out as a merge patch
 * of what this reconcile changed; status is merged onto the *latest* stored object, taking only
 * the condition types the caller owns (the Machine controller owns Ready, NodeHealthy, ...; the
 * MachineHealthCheck owns HealthCheckSucceeded; MachineSet/KCP own others) — upstream's patch
 * helper with `WithOwnedConditions`. Reading the latest object and sending the patch happen in
 * one synchronous step, so no other in-process writer can slip in between.
 * @module
 */
import { deepEqual, type KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import type { Condition, V1Beta1Condition } from "../../runtime/conditions.ts";
import { mergeDiff, observingOwnSpecWrite, patchObject } from "../../runtime/patch-helper.ts";
import { cloneData } from "../../lib/clone.ts";

export interface OwnedConditions {
  /** v1beta2 condition types (status.conditions) this writer owns. */
  conditions: readonly string[];
  /** v1beta1 condition types (status.deprecated.v1beta1.conditions) this writer owns. */
  v1beta1?: readonly string[];
  /**
   * Types written only while the stored object lacks them or has them True (the MachineHealthCheck
   * starts a remediation through OwnerRemediated; the owner then drives that condition).
   */
  startOnly?: readonly string[];
}

type StatusShape = {
  conditions?: Condition[];
  deprecated?: { v1beta1?: { conditions?: V1Beta1Condition[]; [k: string]: unknown }; [k: string]: unknown };
  [k: string]: unknown;
};

function withoutStatus(o: KObject): KObject {
  const { status: _s, ...rest } = o;
  return rest as KObject;
}

/** Conditions of `latest`, with the owned types replaced by (or added from) `mine`. */
export function mergeOwnedConditions<T extends { type: string; status: string }>(
  latest: T[] | undefined,
  mine: T[] | undefined,
  owned: readonly string[],
  startOnly: readonly string[] = [],
): T[] | undefined {
  const out = [...(latest ?? [])];
  const set = new Set(owned);
  for (const c of mine ?? []) {
    const i = out.findIndex((x) => x.type === c.type);
    if (startOnly.includes(c.type)) {
      if (i >= 0 && out[i]!.status !== "True") continue;
    } else if (!set.has(c.type)) continue;
    if (i >= 0) out[i] = c;
    else out.push(c);
  }
  return out.length ? out : latest;
}

/**
 * Writes `after` relative to `before`: metadata/spec changes, then the status fields this reconcile
 * changed plus the owned conditions, merged onto the latest stored status. Returns the latest object.
 */
export async function writeMachine(client: Client, before: KObject, after: KObject, owned: OwnedConditions): Promise<KObject> {
  let latest = before;
  const main = await patchObject(client, withoutStatus(before), withoutStatus(after));
  if (main.changed) {
    latest = main.object;
    after = { ...after, status: observingOwnSpecWrite(after.status, before, latest) };
  }
  const ref = { apiVersion: after.apiVersion!, kind: after.kind!, namespace: after.metadata.namespace, name: after.metadata.name! };
  // From here to the patch call: synchronous (read latest, merge, write).
  const current = client.get(ref);
  if (!current) return latest;
  const b = cloneData((before.status ?? {}) as StatusShape);
  const a = cloneData((after.status ?? {}) as StatusShape);
  const cur = (current.status ?? {}) as StatusShape;
  const next = cloneData(cur);
  // Plain fields: apply this reconcile's own changes (conditions handled below).
  const strip = (s: StatusShape) => {
    delete s.conditions;
    if (s.deprecated?.v1beta1) delete s.deprecated.v1beta1.conditions;
  };
  strip(b);
  strip(a);
  const diff = mergeDiff(b, a) as Record<string, unknown>;
  applyMerge(next as Record<string, unknown>, diff);
  next.conditions = mergeOwnedConditions(cur.conditions, (after.status as StatusShape | undefined)?.conditions, owned.conditions, owned.startOnly);
  if (!next.conditions) delete next.conditions;
  if (owned.v1beta1?.length || owned.startOnly?.length) {
    const mine = (after.status as StatusShape | undefined)?.deprecated?.v1beta1?.conditions;
    const merged = mergeOwnedConditions(cur.deprecated?.v1beta1?.conditions, mine, owned.v1beta1 ?? [], owned.startOnly);
    if (merged) ((next.deprecated ??= {}).v1beta1 ??= {}).conditions = merged;
  }
  tidy(next);
  if (deepEqual(cur, next)) return current;
  const patch = mergeDiff(cur, next);
  return client.patch(ref, "merge", { status: patch }, { subresource: "status" });
}

/** Applies an RFC 7386 merge patch in place. */
function applyMerge(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (v && typeof v === "object" && !Array.isArray(v)) {
      const t = target[k];
      if (!t || typeof t !== "object" || Array.isArray(t)) target[k] = {};
      applyMerge(target[k] as Record<string, unknown>, v as Record<string, unknown>);
    } else target[k] = cloneData(v);
  }
}

/** What the Machine schema rejects: empty v1beta1 reason/message strings, an empty initialization. */
function tidy(status: StatusShape): void {
  for (const c of status.deprecated?.v1beta1?.conditions ?? []) {
    if (c.reason === "") delete c.reason;
    if (c.message === "") delete c.message;
  }
  const init = status.initialization as Record<string, unknown> | undefined;
  if (init && Object.keys(init).length === 0) delete status.initialization;
}
