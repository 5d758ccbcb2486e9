/**
 * Test support shared by the bundled kinds: the schema of a kind's version in a set of bundled
 * CRDs, and what pruning and validation say about an object in its own version.
 * @module
 */
import type { KObject } from "../lib/kobject.ts";
import type { CRDObject } from "../registry/crd/to-resource.ts";
import { pruneUnknown, validateValue } from "../registry/schema/index.ts";
import type { JSONSchemaProps } from "../registry/schema/types.ts";
import { withoutConversionData } from "./capi/conversion/preserve.ts";
import { cloneData } from "../lib/clone.ts";

export function bundledSchema(crds: CRDObject[], kind: string, version: string): JSONSchemaProps {
  const crd = crds.find((c) => c.spec.names.kind === kind);
  const schema = crd?.spec.versions.find((v) => v.name === version)?.schema?.openAPIV3Schema;
  if (!schema) throw new Error(`no schema for ${kind} ${version}`);
  return schema;
}

export function versionOf(o: KObject): string {
  const apiVersion = String(o.apiVersion ?? "");
  return apiVersion.slice(apiVersion.lastIndexOf("/") + 1);
}

/** Fields pruning would drop and validation failures (`field: message`) of `o` in its own version. */
export function bundledSchemaReport(crds: CRDObject[], o: KObject): { pruned: string[]; invalid: string[] } {
  const copy = cloneData(withoutConversionData(o));
  const schema = bundledSchema(crds, String(o.kind), versionOf(o));
  const pruned = pruneUnknown(copy, schema, { root: true });
  const invalid = validateValue(copy, schema, { root: true }).map((c) => `${c.field ?? ""}: ${c.message ?? c.reason}`);
  return { pruned, invalid };
}
