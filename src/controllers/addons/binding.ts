/**
 * ClusterResourceSetBinding contents (Cluster API `api/addons/v1beta2`): one binding per Cluster
 * (same name, `spec.clusterName`), one entry per ClusterResourceSet with what was applied from
 * each of its resources.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { ResourceRef } from "./resources.ts";

export const ADDONS_VERSION = "addons.cluster.x-k8s.io/v1beta2";

export interface ResourceBinding extends ResourceRef {
  /** Absent when the resource could not be read or parsed. */
  hash?: string;
  lastAppliedTime?: string;
  applied: boolean;
}

export interface ResourceSetBinding {
  clusterResourceSetName: string;
  resources?: ResourceBinding[];
}

export interface BindingSpec {
  clusterName?: string;
  bindings?: ResourceSetBinding[];
}

export function bindingSpec(binding: KObject): BindingSpec {
  return ((binding.spec as BindingSpec | undefined) ??= {}) as BindingSpec;
}

export function getOrCreateEntry(binding: KObject, crsName: string): ResourceSetBinding {
  const spec = bindingSpec(binding);
  const list = (spec.bindings ??= []);
  let entry = list.find((b) => b.clusterResourceSetName === crsName);
  if (!entry) list.push((entry = { clusterResourceSetName: crsName, resources: [] }));
  return entry;
}

export function findEntry(binding: KObject, crsName: string): ResourceSetBinding | undefined {
  return (binding.spec as BindingSpec | undefined)?.bindings?.find((b) => b.clusterResourceSetName === crsName);
}

/** Removes the CRS's entry; returns whether there was one. */
export function removeEntry(binding: KObject, crsName: string): boolean {
  const spec = bindingSpec(binding);
  const before = spec.bindings?.length ?? 0;
  spec.bindings = (spec.bindings ?? []).filter((b) => b.clusterResourceSetName !== crsName);
  return spec.bindings.length !== before;
}

export function resourceEntry(entry: ResourceSetBinding, ref: ResourceRef): ResourceBinding | undefined {
  return entry.resources?.find((r) => r.kind === ref.kind && r.name === ref.name);
}

export function setResourceEntry(entry: ResourceSetBinding, rb: ResourceBinding): void {
  const list = (entry.resources ??= []);
  const i = list.findIndex((r) => r.kind === rb.kind && r.name === rb.name);
  const clean: ResourceBinding = { kind: rb.kind, name: rb.name, ...(rb.hash ? { hash: rb.hash } : {}), ...(rb.lastAppliedTime ? { lastAppliedTime: rb.lastAppliedTime } : {}), applied: rb.applied };
  if (i >= 0) list[i] = clean;
  else list.push(clean);
}
