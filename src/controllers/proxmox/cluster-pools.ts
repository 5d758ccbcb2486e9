/**
 * The InClusterIPPools a ProxmoxCluster owns (CAPMOX CreateOrUpdateInClusterIPPool):
 * `<pc>-v4-icip` / `<pc>-v6-icip` from `ipv4Config` / `ipv6Config`, `<pc>-<zone>-v4-icip` … per
 * zone config; spec = addresses, prefix, gateway and a 60 s address reuse grace period;
 * annotations for the IP family and the gateway metric (plus the legacy `metric`); the zone
 * label set at creation and never changed; controller-owned by the ProxmoxCluster.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import { ensureOwnerRef, ownerRefTo } from "../core/contract.ts";
import { GATEWAY_METRIC_ANNOTATION, IP_FAMILY_ANNOTATION, LEGACY_METRIC_ANNOTATION, POOL_VERSION, ZONE_LABEL } from "./constants.ts";
import { parseAddr } from "./ip.ts";
import type { InClusterZoneRef, IPConfigSpec, ProxmoxClusterSpec } from "./types.ts";
import { cloneData } from "../../lib/clone.ts";

export const ADDRESS_REUSE_GRACE_SECONDS = 60;

export interface PoolPlan {
  name: string;
  zone: string;
  family: "ipv4" | "ipv6";
  config: IPConfigSpec;
}

export function poolName(pc: string, zone: string | undefined, format: "v4" | "v6"): string {
  return zone ? `${pc}-${zone}-${format}-icip` : `${pc}-${format}-icip`;
}

/** The family of a pool's first address (`10.0.0.1-10.0.0.9`, `10.0.0.0/24` or a single IP). */
function familyOf(config: IPConfigSpec): "ipv4" | "ipv6" {
  const first = /^[^-/]+/.exec(config.addresses[0] ?? "")?.[0] ?? "";
  const a = parseAddr(first);
  if (!a) throw new Error(`invalid pool address ${JSON.stringify(config.addresses[0] ?? "")}`);
  return a.family === 4 ? "ipv4" : "ipv6";
}

export function plannedPools(pc: KObject): PoolPlan[] {
  const spec = (pc.spec ?? {}) as ProxmoxClusterSpec;
  const name = pc.metadata.name!;
  const out: PoolPlan[] = [];
  const add = (zone: string | undefined, config: IPConfigSpec | undefined) => {
    if (!config?.addresses?.length) return;
    const family = familyOf(config);
    out.push({ name: poolName(name, zone, family === "ipv4" ? "v4" : "v6"), zone: zone ?? "default", family, config });
  };
  add(undefined, spec.ipv4Config);
  add(undefined, spec.ipv6Config);
  for (const z of spec.zoneConfig ?? []) {
    add(z.zone, z.ipv4Config);
    add(z.zone, z.ipv6Config);
  }
  return out;
}

function desiredSpec(p: PoolPlan): Record<string, unknown> {
  return {
    addresses: [...p.config.addresses],
    prefix: p.config.prefix,
    ...(p.config.gateway ? { gateway: p.config.gateway } : {}),
    addressReuseGracePeriodSeconds: ADDRESS_REUSE_GRACE_SECONDS,
  };
}

function desiredAnnotations(p: PoolPlan): Record<string, string> {
  const metric = p.config.metric !== undefined && p.config.metric >= 0 ? String(p.config.metric) : "";
  return {
    [IP_FAMILY_ANNOTATION]: p.family,
    [GATEWAY_METRIC_ANNOTATION]: metric,
    ...(p.config.metric !== undefined ? { [LEGACY_METRIC_ANNOTATION]: metric } : {}),
  };
}

/** Creates or updates each pool; resolves to the pools as stored. */
export async function ensurePools(client: Client, pc: KObject): Promise<{ plan: PoolPlan; pool: KObject }[]> {
  const out: { plan: PoolPlan; pool: KObject }[] = [];
  for (const plan of plannedPools(pc)) {
    const ref = { apiVersion: POOL_VERSION, kind: "InClusterIPPool", namespace: pc.metadata.namespace, name: plan.name };
    const current = client.get(ref);
    if (!current) {
      const created = await client
        .create({
          apiVersion: POOL_VERSION,
          kind: "InClusterIPPool",
          metadata: { name: plan.name, namespace: pc.metadata.namespace, labels: { [ZONE_LABEL]: plan.zone }, annotations: desiredAnnotations(plan), ownerReferences: [ownerRefTo(pc, true)] },
          spec: desiredSpec(plan),
        })
        .catch((e) => {
          if ((e as { code?: number }).code === 409) return undefined;
          throw e;
        });
      if (created) {
        out.push({ plan, pool: created });
        continue;
      }
    }
    const stored = current ?? client.get(ref);
    if (!stored) throw new Error(`InClusterIPPool ${plan.name} vanished while being created`);
    const next = cloneData(stored);
    next.spec = { ...(next.spec ?? {}), ...desiredSpec(plan) };
    next.metadata.annotations = { ...(next.metadata.annotations ?? {}), ...desiredAnnotations(plan) };
    ensureOwnerRef(next, pc, true);
    out.push({ plan, pool: (await patchObject(client, stored, next)).object });
  }
  return out;
}

/** `status.inClusterIPPoolRef` and `status.inClusterZoneRef` (CAPMOX SetInClusterIPPoolRef). */
export function poolRefs(pools: { plan: PoolPlan }[]): { inClusterIPPoolRef?: { name: string }[]; inClusterZoneRef?: InClusterZoneRef[] } {
  if (!pools.length) return {};
  const zones: InClusterZoneRef[] = [];
  for (const { plan } of pools) {
    let z = zones.find((x) => x.zone === plan.zone);
    if (!z) zones.push((z = { zone: plan.zone }));
    if (plan.family === "ipv4") z.inClusterIPPoolRefV4 = { name: plan.name };
    else z.inClusterIPPoolRefV6 = { name: plan.name };
  }
  return { inClusterIPPoolRef: pools.map((p) => ({ name: p.plan.name })), inClusterZoneRef: zones };
}
