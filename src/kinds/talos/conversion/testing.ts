/**
 * Test support: the schemas of the bundled Talos CRDs and a check of an object against them with
 * the project's structural-schema engine (pruning, types, constraints).
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { pruneUnknown, validateValue } from "../../../registry/schema/index.ts";
import type { JSONSchemaProps } from "../../../registry/schema/types.ts";
import { withoutConversionData } from "../../capi/conversion/preserve.ts";
import { talosCRDs } from "../crds.ts";

export function talosSchema(kind: string, version: string): JSONSchemaProps {
  const crd = talosCRDs.find((c) => c.spec.names.kind === kind);
  const schema = crd?.spec.versions.find((v) => v.name === version)?.schema?.openAPIV3Schema;
  if (!schema) throw new Error(`no schema for ${kind} ${version}`);
  return schema;
}

export function versionOf(o: KObject): string {
  const apiVersion = String(o.apiVersion ?? "");
  return apiVersion.slice(apiVersion.lastIndexOf("/") + 1);
}

/** Fields pruning would drop and validation failures (`field: message`) of `o` in its own version. */
export function schemaReport(o: KObject): { pruned: string[]; invalid: string[] } {
  const copy = structuredClone(withoutConversionData(o));
  const schema = talosSchema(String(o.kind), versionOf(o));
  const pruned = pruneUnknown(copy, schema, { root: true });
  const invalid = validateValue(copy, schema, { root: true }).map((c) => `${c.field ?? ""}: ${c.message ?? c.reason}`);
  return { pruned, invalid };
}
