/**
 * The records a ProxmoxMachine carries about its VM beyond CAPMOX's status fields, as
 * annotations (the schema has no place for them): the clone it is about to send or has sent
 * (written before the request, so a restart finds and adopts the VM instead of cloning again),
 * a VM condemned after a failed clone or start (destroyed, then cloned anew), and where its
 * bootstrap data was written (removed with the VM).
 * @module
 */
import type { BootstrapAttachment } from "../../providers/proxmox/types.ts";
import { BOOTSTRAP_ANNOTATION, CLONE_INTENT_ANNOTATION } from "./constants.ts";
import type { MachineScope } from "./machine-scope.ts";

export const RECREATE_ANNOTATION = "proxmox.capx.dev/recreate";

export interface CloneIntent {
  vmid: number;
  sourceNode: string;
  template: number;
  targetNode: string;
  /** The clone queue key (storage). */
  storage: string;
}

export interface RecordedAttachment extends BootstrapAttachment {
  /** The node the data was written for. */
  node: string;
  /** An ISO detached after the Machine became Available (CAPMOX unmounts it). */
  ejected?: boolean;
}

function readJson<T>(s: MachineScope, key: string): T | undefined {
  const text = s.annotation(key);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

export function readIntent(s: MachineScope): CloneIntent | undefined {
  return readJson<CloneIntent>(s, CLONE_INTENT_ANNOTATION);
}

export function writeIntent(s: MachineScope, intent: CloneIntent | undefined): void {
  s.setAnnotation(CLONE_INTENT_ANNOTATION, intent && JSON.stringify(intent));
}

export function readRecreate(s: MachineScope): { vmid: number; why: string } | undefined {
  return readJson(s, RECREATE_ANNOTATION);
}

export function writeRecreate(s: MachineScope, mark: { vmid: number; why: string } | undefined): void {
  s.setAnnotation(RECREATE_ANNOTATION, mark && JSON.stringify(mark));
}

export function readAttachment(s: MachineScope): RecordedAttachment | undefined {
  return readJson<RecordedAttachment>(s, BOOTSTRAP_ANNOTATION);
}

export function writeAttachment(s: MachineScope, a: RecordedAttachment | undefined): void {
  s.setAnnotation(BOOTSTRAP_ANNOTATION, a && JSON.stringify(a));
}
