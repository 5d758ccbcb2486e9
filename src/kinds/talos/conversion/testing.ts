/**
 * Test support: the bundled Talos CRDs' schemas and a check of an object against them.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import type { JSONSchemaProps } from "../../../registry/schema/types.ts";
import { bundledSchema, bundledSchemaReport } from "../../bundled-schema-report.ts";
import { talosCRDs } from "../crds.ts";

export { versionOf } from "../../bundled-schema-report.ts";

export function talosSchema(kind: string, version: string): JSONSchemaProps {
  return bundledSchema(talosCRDs, kind, version);
}

export function schemaReport(o: KObject): { pruned: string[]; invalid: string[] } {
  return bundledSchemaReport(talosCRDs, o);
}
