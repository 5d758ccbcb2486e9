/**
 * How the appliance proves a VM is its own before it adopts, stops or destroys it (CAPMOX
 * destroys whatever VMID it recorded, which can be another machine's VM: CAPMOX#742, #856):
 * the VM's name is the ProxmoxMachine's, its description carries a marker line naming the
 * ProxmoxMachine by namespace, name and UID, and it has the appliance's ownership tag.
 *
 * The marker goes into the clone request itself, so a VM is recognisable from the moment PVE
 * writes its config; the tag is added with the first config change after the clone. A VM with
 * name and marker but no tag yet is one the appliance cloned and never configured: it is
 * tagged and then treated as owned.
 * @module
 */
import type { VmConfig } from "../../providers/proxmox/types.ts";
import { parseTags } from "./vmconfig.ts";

export const OWNERSHIP_TAG = "capx-managed";

export interface Owner {
  namespace: string;
  name: string;
  uid: string;
}

const MARKER_PREFIX = "capx-appliance:";

/** The marker line: `capx-appliance: ProxmoxMachine <ns>/<name> uid=<uid>`. */
export function ownershipMarker(o: Owner): string {
  return `${MARKER_PREFIX} ProxmoxMachine ${o.namespace}/${o.name} uid=${o.uid}`;
}

/** The VM description: the user's (if any), then the marker on its own line. */
export function vmDescription(userDescription: string | undefined, o: Owner): string {
  return userDescription ? `${userDescription}\n${ownershipMarker(o)}` : ownershipMarker(o);
}

/** The uid named by the description's marker line, if there is one. */
export function markerUid(description: string | undefined): string | undefined {
  for (const line of (description ?? "").split("\n")) {
    const m = /^capx-appliance: ProxmoxMachine [^ ]+\/[^ ]+ uid=([0-9a-fA-F-]+)\s*$/.exec(line.trim());
    if (m) return m[1];
  }
  return undefined;
}

export type Ownership =
  /** Name, marker and tag: the appliance's VM for this ProxmoxMachine. */
  | { owned: true; tagged: true }
  /** Name and marker without the tag: cloned by the appliance, not configured yet. */
  | { owned: true; tagged: false }
  | { owned: false; why: string };

/** The proof, from the VM config (consistent at once, unlike /cluster/resources). */
export function proveOwnership(config: VmConfig, o: Owner): Ownership {
  if (config.name !== o.name) return { owned: false, why: config.name ? `its name is ${JSON.stringify(config.name)}, not ${JSON.stringify(o.name)}` : "it has no name yet" };
  const uid = markerUid(config.description);
  if (uid === undefined) return { owned: false, why: "its description has no capx-appliance marker" };
  if (uid !== o.uid) return { owned: false, why: `its marker names another ProxmoxMachine (uid ${uid})` };
  return parseTags(config.tags).includes(OWNERSHIP_TAG) ? { owned: true, tagged: true } : { owned: true, tagged: false };
}

/** PVE writes a clone's config with only `lock: clone` until the first disk is copied. */
export function cloneInProgress(config: VmConfig): boolean {
  return config.lock === "clone";
}
