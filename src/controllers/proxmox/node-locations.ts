/**
 * `ProxmoxCluster.status.nodeLocations`: where each machine of the cluster was placed, by role
 * (the scheduler spreads by it). Many machine reconciles write it at once, so every write is a
 * read-modify-write guarded by the resourceVersion and retried on conflict.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Client, ObjectRef } from "../../runtime/client.ts";
import type { NodeLocation, ProxmoxClusterStatus } from "./types.ts";
import { cloneData } from "../../lib/clone.ts";

type Locations = NonNullable<ProxmoxClusterStatus["nodeLocations"]>;

function roleKey(controlPlane: boolean): keyof Locations {
  return controlPlane ? "controlPlane" : "workers";
}

export function locationsFor(pc: KObject, controlPlane: boolean): NodeLocation[] {
  return ((pc.status as ProxmoxClusterStatus | undefined)?.nodeLocations?.[roleKey(controlPlane)] ?? []) as NodeLocation[];
}

async function updateLocations(client: Client, ref: ObjectRef, change: (l: Locations) => boolean): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const pc = client.get(ref);
    if (!pc) return;
    const locations: Locations = cloneData((pc.status as ProxmoxClusterStatus | undefined)?.nodeLocations ?? {});
    if (!change(locations)) return;
    try {
      await client.patch(ref, "merge", { metadata: { resourceVersion: pc.metadata.resourceVersion }, status: { nodeLocations: locations } }, { subresource: "status" });
      return;
    } catch (e) {
      if ((e as { code?: number }).code !== 409 || attempt >= 8) throw e;
    }
  }
}

/** Records (or moves) a machine's placement; a no-op when it is already recorded there. */
export function setNodeLocation(client: Client, pc: ObjectRef, machine: string, node: string, controlPlane: boolean): Promise<void> {
  return updateLocations(client, pc, (l) => {
    const key = roleKey(controlPlane);
    const list = (l[key] ??= []);
    const i = list.findIndex((x) => x.machine.name === machine);
    if (i >= 0 && list[i]!.node === node) return false;
    if (i >= 0) list[i] = { ...list[i]!, node };
    else list.push({ machine: { name: machine }, node });
    return true;
  });
}

export function removeNodeLocation(client: Client, pc: ObjectRef, machine: string): Promise<void> {
  return updateLocations(client, pc, (l) => {
    let changed = false;
    for (const key of ["controlPlane", "workers"] as const) {
      const list = l[key];
      if (list?.some((x) => x.machine.name === machine)) {
        l[key] = list.filter((x) => x.machine.name !== machine);
        changed = true;
      }
    }
    return changed;
  });
}
