/**
 * Test support for the conversion tests: the upstream CRD schemas and example manifests from the
 * shared reference tree (absent on some machines: callers skip then), placeholder substitution
 * for clusterctl templates, and schema checks with the project's structural-schema engine.
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KObject } from "../../../lib/kobject.ts";
import { dropNulls, type JSONSchemaProps, pruneUnknown, validateValue } from "../../../registry/schema/index.ts";
import { withoutConversionData } from "./preserve.ts";
import { clone, isObj, type J } from "./util.ts";

/** The shared reference tree (override with CAPI_REFERENCE_DIR). */
export const REFERENCE_DIR = process.env.CAPI_REFERENCE_DIR ?? "/work/shared/reference/capi";
export const CRD_DIR = join(REFERENCE_DIR, "crds/cluster-api-release-1.14");

export function referenceAvailable(): boolean {
  return existsSync(CRD_DIR);
}

const CRD_FILES: Record<string, string> = {
  "cluster.x-k8s.io/Cluster": "cluster.x-k8s.io_clusters.yaml",
  "cluster.x-k8s.io/Machine": "cluster.x-k8s.io_machines.yaml",
  "cluster.x-k8s.io/MachineSet": "cluster.x-k8s.io_machinesets.yaml",
  "cluster.x-k8s.io/MachineDeployment": "cluster.x-k8s.io_machinedeployments.yaml",
  "cluster.x-k8s.io/MachineHealthCheck": "cluster.x-k8s.io_machinehealthchecks.yaml",
  "ipam.cluster.x-k8s.io/IPAddress": "ipam.cluster.x-k8s.io_ipaddresses.yaml",
  "ipam.cluster.x-k8s.io/IPAddressClaim": "ipam.cluster.x-k8s.io_ipaddressclaims.yaml",
};

const schemaCache = new Map<string, Map<string, JSONSchemaProps>>();

/** The upstream openAPIV3Schema of `group/Kind` at `version` (undefined without the reference). */
export function upstreamSchema(groupKind: string, version: string): JSONSchemaProps | undefined {
  let versions = schemaCache.get(groupKind);
  if (!versions) {
    const file = CRD_FILES[groupKind];
    if (!file || !existsSync(join(CRD_DIR, file))) return undefined;
    versions = new Map();
    for (const doc of parseAllDocuments(readFileSync(join(CRD_DIR, file), "utf8"))) {
      const crd = doc.toJSON() as J | null;
      const list = isObj(crd) && isObj(crd.spec) && Array.isArray(crd.spec.versions) ? crd.spec.versions : [];
      for (const v of list as J[]) {
        const schema = isObj(v.schema) ? v.schema.openAPIV3Schema : undefined;
        if (typeof v.name === "string" && isObj(schema)) versions.set(v.name, schema as JSONSchemaProps);
      }
    }
    schemaCache.set(groupKind, versions);
  }
  return versions.get(version);
}

export function groupKindOf(o: KObject): string {
  const apiVersion = String(o.apiVersion ?? "");
  return `${apiVersion.slice(0, apiVersion.lastIndexOf("/"))}/${o.kind}`;
}

export function versionOfObject(o: KObject): string {
  const apiVersion = String(o.apiVersion ?? "");
  return apiVersion.slice(apiVersion.lastIndexOf("/") + 1);
}

export interface SchemaReport {
  /** Fields pruning would remove (outside metadata). */
  pruned: string[];
  /** Validation failures as `field: message`. */
  invalid: string[];
}

/** Prunes a copy (without the conversion-data annotation) and validates it against the schema. */
export function checkAgainstSchema(o: KObject, schema: JSONSchemaProps): SchemaReport {
  const copy = clone(withoutConversionData(o)) as J;
  const pruned = pruneUnknown(copy, schema, { root: true });
  const invalid = validateValue(copy, schema, { root: true }).map((c) => `${c.field ?? ""}: ${c.message ?? c.reason}`);
  return { pruned, invalid };
}

/** What the API server does before conversion: drop nulls the schema does not allow. */
export function normalizeForSchema(o: KObject): KObject {
  const copy = clone(o);
  const schema = upstreamSchema(groupKindOf(copy), versionOfObject(copy));
  if (schema) dropNulls(copy, schema);
  return copy;
}

// ---- example manifests ------------------------------------------------------------------------

/** A plausible value for a clusterctl template variable. */
export function placeholderValue(name: string, fallback: string | undefined): string {
  if (fallback !== undefined) return fallback;
  if (/_COUNT$/.test(name)) return name.startsWith("CONTROL_PLANE") ? "3" : "2";
  if (/PORT$/.test(name)) return "6443";
  if (/VERSION/.test(name)) return "v1.32.0";
  if (name === "NAMESPACE") return "default";
  if (/(^|_)IP$/.test(name) || /GATEWAY$/.test(name)) return "10.0.0.10";
  if (/PREFIX$/.test(name)) return "24";
  if (/VMID/.test(name)) return "100";
  return name.toLowerCase().replace(/_/g, "-");
}

/** Replaces `${VAR}`, `${VAR:=default}`, `${VAR=default}`, `${VAR:-default}`, `${VAR-default}`. */
export function substitutePlaceholders(text: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[=-])([^}]*))?\}/g, (_m, name: string, _op?: string, def?: string) => {
    let fallback = def;
    if (fallback !== undefined && /^".*"$/.test(fallback)) fallback = fallback.slice(1, -1);
    return placeholderValue(name, fallback);
  });
}

function walkFiles(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir).sort()) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) walkFiles(p, out);
    else if (/\.ya?ml$/.test(entry)) out.push(p);
  }
}

export interface ExampleObject {
  file: string;
  index: number;
  object: KObject;
}

/** Every document of the listed kinds in the reference examples/templates (after substitution). */
export function loadExamples(groupKinds: ReadonlySet<string>): ExampleObject[] {
  const files: string[] = [];
  for (const sub of ["examples", "templates"]) {
    const dir = join(REFERENCE_DIR, sub);
    if (existsSync(dir)) walkFiles(dir, files);
  }
  const out: ExampleObject[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(substitutePlaceholders(readFileSync(file, "utf8")));
    docs.forEach((doc, index) => {
      if (doc.errors.length > 0) return;
      const value = doc.toJSON() as unknown;
      if (!isObj(value) || typeof value.apiVersion !== "string" || typeof value.kind !== "string") return;
      const object = value as KObject;
      if (!isObj(object.metadata)) object.metadata = {};
      if (groupKinds.has(groupKindOf(object))) out.push({ file: file.slice(REFERENCE_DIR.length + 1), index, object });
    });
  }
  return out;
}
