/**
 * Test support: the bundled kubeadm/addons CRDs' schemas and a check of an object against them.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { bundledSchemaReport } from "../../bundled-schema-report.ts";
import { kubeadmCRDs } from "../crds.ts";
import { kubeadmConverters } from "./index.ts";

export { versionOf } from "../../bundled-schema-report.ts";

export function schemaReport(o: KObject): { pruned: string[]; invalid: string[] } {
  return bundledSchemaReport(kubeadmCRDs, o);
}

export function groupOf(o: KObject): string {
  const apiVersion = String(o.apiVersion ?? "");
  return apiVersion.slice(0, apiVersion.lastIndexOf("/"));
}

/** `o` converted to `version` of its own group by the bundled converter. */
export function convert(o: KObject, version: string): KObject {
  const group = groupOf(o);
  const c = kubeadmConverters[`${group}/${o.kind}`];
  if (!c) throw new Error(`no converter for ${group}/${o.kind}`);
  return c(o, `${group}/${version}`);
}
