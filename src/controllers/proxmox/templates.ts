/**
 * Which VM to clone: `templateID` on `sourceNode`, or the single template whose tags match
 * `templateSelector.matchTags` (CAPMOX FindVMTemplateByTags: tags compared lower-cased and
 * de-duplicated; `exact` = the same tag set, `uniqueSubset` = a superset, `bestSubset` = the
 * supersets with the fewest extra tags; anything but exactly one match fails with CAPMOX's text).
 * @module
 */
import type { PveVmInfo } from "../../providers/proxmox/types.ts";
import type { ProxmoxMachineSpec } from "./types.ts";

/** CAPMOX's sentinel text (`ErrTemplateNotFound`). */
export const TEMPLATE_NOT_FOUND = "VM template not found";

export class TemplateNotFoundError extends Error {
  override readonly name = "TemplateNotFoundError";
}

export interface TemplateRef {
  node: string;
  vmid: number;
}

export type MatchPolicy = "exact" | "uniqueSubset" | "bestSubset";

/** Normalised selector tags: lower-cased, sorted, unique. */
export function normalizeTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((t) => t.toLowerCase()))].sort();
}

export function findTemplateByTags(vms: readonly PveVmInfo[], matchTags: readonly string[], policy: MatchPolicy = "exact"): TemplateRef {
  const wanted = normalizeTags(matchTags);
  const candidates: { vm: PveVmInfo; distance: number }[] = [];
  for (const vm of vms) {
    if (!vm.template || vm.tags.length === 0 || vm.type !== "qemu") continue;
    const have = new Set(vm.tags.map((t) => t.trim().toLowerCase()));
    if (!wanted.every((t) => have.has(t))) continue;
    candidates.push({ vm, distance: have.size - wanted.length });
  }
  let matches: typeof candidates;
  if (policy === "exact") matches = candidates.filter((c) => c.distance === 0);
  else if (policy === "bestSubset") {
    const best = Math.min(...candidates.map((c) => c.distance));
    matches = candidates.filter((c) => c.distance === best);
  } else matches = candidates;
  if (matches.length !== 1) {
    throw new TemplateNotFoundError(`${TEMPLATE_NOT_FOUND}: found ${matches.length} VM templates with tags "${wanted.join(";")}"`);
  }
  return { node: matches[0]!.vm.node, vmid: matches[0]!.vm.vmid };
}

/** The source of the clone named by the spec; `vms` is only read for a tag selector. */
export function selectTemplate(spec: ProxmoxMachineSpec, vms: readonly PveVmInfo[]): TemplateRef {
  if (spec.templateSelector?.matchTags?.length) {
    return findTemplateByTags(vms, spec.templateSelector.matchTags, spec.templateSelector.matchPolicy ?? "exact");
  }
  if (spec.templateID !== undefined && spec.sourceNode) return { node: spec.sourceNode, vmid: spec.templateID };
  throw new TemplateNotFoundError(`${TEMPLATE_NOT_FOUND}: the spec names neither templateID with sourceNode nor templateSelector.matchTags`);
}
