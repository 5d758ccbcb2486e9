/**
 * Validates Talos machine config documents against the bundled JSON schema of a Talos minor
 * (see README.md for provenance). Each YAML document is checked on its own, against the schema
 * definition its `version` (v1alpha1) or `apiVersion`/`kind` selects. Two fields the Talos
 * generator still emits but the published schema omits (`persist`,
 * `machine.install.extraKernelArgs`) are accepted, as Talos itself accepts them.
 * Schemas are compiled on first use (the daemon imports this lazily).
 * @module
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import v112 from "./config.schema.v1.12.11.json" with { type: "json" };
import v113 from "./config.schema.v1.13.9.json" with { type: "json" };
import v114 from "./config.schema.v1.14.0-rc.1.json" with { type: "json" };

const SCHEMAS: Record<string, { version: string; schema: Record<string, unknown> }> = {
  "1.12": { version: "v1.12.11", schema: v112 as Record<string, unknown> },
  "1.13": { version: "v1.13.9", schema: v113 as Record<string, unknown> },
  "1.14": { version: "v1.14.0-rc.1", schema: v114 as Record<string, unknown> },
};

/** The bundled schema for a Talos version (`v1.13.9`, `1.12`, …): nearest minor, clamped. */
export function schemaFor(talosVersion: string): { minor: string; version: string } {
  const m = /^v?(\d+)\.(\d+)/.exec(talosVersion);
  const minors = Object.keys(SCHEMAS).sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1]));
  let minor = "1.13";
  if (m && Number(m[1]) === 1) {
    const n = Number(m[2]);
    minor = minors.find((x) => Number(x.split(".")[1]) === n) ?? (n < Number(minors[0]!.split(".")[1]) ? minors[0]! : minors.at(-1)!);
  } else if (m && Number(m[1]) > 1) minor = minors.at(-1)!;
  return { minor, version: SCHEMAS[minor]!.version };
}

interface Compiled {
  ajv: Ajv2020;
  byDef: Map<string, ValidateFunction>;
  defs: Record<string, { properties?: Record<string, { enum?: unknown[] }> }>;
  id: string;
}
const compiled = new Map<string, Compiled>();

function compiledFor(minor: string): Compiled {
  let c = compiled.get(minor);
  if (!c) {
    const schema = SCHEMAS[minor]!.schema;
    const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
    ajv.addSchema(schema);
    c = { ajv, byDef: new Map(), defs: (schema.$defs ?? {}) as Compiled["defs"], id: String(schema.$id) };
    compiled.set(minor, c);
  }
  return c;
}

/**
 * The published 1.14+ schemas spell this kind `UnattendedInstall`; Talos itself emits and
 * accepts `UnattendedInstallConfig`.
 */
function schemaSpelling(doc: Record<string, unknown>): Record<string, unknown> {
  return doc.kind === "UnattendedInstallConfig" ? { ...doc, kind: "UnattendedInstall" } : doc;
}

/** The `$defs` entry a document is an instance of, or undefined for an unknown document type. */
function defFor(c: Compiled, doc: Record<string, unknown>): string | undefined {
  if ("version" in doc && !("kind" in doc)) return "v1alpha1.Config";
  for (const [name, def] of Object.entries(c.defs)) {
    const p = def.properties;
    if (p?.kind?.enum?.includes(doc.kind) && p.apiVersion?.enum?.includes(doc.apiVersion)) return name;
  }
  return undefined;
}

function describe(e: ErrorObject): string {
  const at = e.instancePath || "/";
  const p = e.params as Record<string, unknown>;
  if (e.keyword === "additionalProperties") return `${at}: unknown field ${JSON.stringify(p.additionalProperty)}`;
  if (e.keyword === "required") return `${at}: missing required field ${JSON.stringify(p.missingProperty)}`;
  if (e.keyword === "enum") return `${at}: ${e.message} ${JSON.stringify(p.allowedValues)}`;
  return `${at}: ${e.message}`;
}

/** Copies a v1alpha1 document without the generator-only fields the schema omits. */
function withoutGeneratorOnly(doc: Record<string, unknown>): Record<string, unknown> {
  const { persist: _persist, ...rest } = doc;
  const machine = rest.machine as Record<string, unknown> | undefined;
  const install = machine?.install as Record<string, unknown> | undefined;
  if (install && "extraKernelArgs" in install) {
    const { extraKernelArgs: _args, ...inst } = install;
    rest.machine = { ...machine, install: inst };
  }
  return rest;
}

export interface SchemaResult {
  /** The schema version used (e.g. v1.13.9). */
  schema: string;
  /** One line per problem, `<document>: <path>: <what>`; empty when valid. */
  errors: string[];
}

/** Validates every document; documents of a type the schema does not know are errors too. */
export function validateMachineConfig(docs: Record<string, unknown>[], talosVersion: string): SchemaResult {
  const { minor, version } = schemaFor(talosVersion);
  const c = compiledFor(minor);
  const errors: string[] = [];
  docs.forEach((original, i) => {
    const doc = schemaSpelling(original);
    const label = "kind" in original ? `${String(original.apiVersion)}/${String(original.kind)}` : `v1alpha1 (document ${i + 1})`;
    const def = defFor(c, doc);
    if (!def) {
      errors.push(`${label}: document type not known to Talos ${version}`);
      return;
    }
    let fn = c.byDef.get(def);
    if (!fn) {
      fn = c.ajv.getSchema(`${c.id}#/$defs/${def}`)!;
      c.byDef.set(def, fn);
    }
    const subject = def === "v1alpha1.Config" ? withoutGeneratorOnly(doc) : doc;
    if (!fn(subject)) for (const e of fn.errors ?? []) errors.push(`${label}: ${describe(e)}`);
  });
  return { schema: version, errors };
}
