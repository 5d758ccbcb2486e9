import { describe, expect, it } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { applyDefaults, checkStructural, compileRules, dropNulls, type JSONSchemaProps, pruneUnknown, validateValue } from "./index.ts";

/** Test documents are free-form JSON. */
type Doc = Record<string, any>;

/** The shared upstream reference next to the repository (`../shared/reference`), when present. */
const REFERENCE = resolve(import.meta.dir, "../../../../shared/reference/capi");
const hasReference = existsSync(join(REFERENCE, "crds"));
if (!hasReference) console.log(`note: ${REFERENCE} not found, skipping the tests against upstream CRDs`);

function* yamlFiles(dir: string): Generator<string> {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) yield* yamlFiles(p);
    else if (f.endsWith(".yaml") || f.endsWith(".yml")) yield p;
  }
}

interface CRDVersion {
  file: string;
  kind: string;
  version: string;
  index: number;
  schema: JSONSchemaProps;
}

let loaded: CRDVersion[] | undefined;

function crdVersions(): CRDVersion[] {
  if (loaded) return loaded;
  const out: CRDVersion[] = [];
  for (const file of yamlFiles(join(REFERENCE, "crds"))) {
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
      const crd = doc.toJSON() as { kind?: string; spec?: { names: { kind: string }; versions: { name: string; schema?: { openAPIV3Schema?: JSONSchemaProps } }[] } };
      if (crd?.kind !== "CustomResourceDefinition" || !crd.spec) continue;
      crd.spec.versions.forEach((v, index) => {
        if (v.schema?.openAPIV3Schema) out.push({ file, kind: crd.spec!.names.kind, version: v.name, index, schema: v.schema.openAPIV3Schema });
      });
    }
  }
  loaded = out;
  return out;
}

function schemaOf(file: string, version: string): JSONSchemaProps {
  const v = crdVersions().find((c) => c.file.endsWith(file) && c.version === version);
  if (!v) throw new Error(`no ${file} ${version}`);
  return v.schema;
}

/** The decode pipeline of a write: prune, drop nulls, default, validate. */
function admit(obj: Record<string, unknown>, schema: JSONSchemaProps, oldObj?: unknown) {
  const unknown = pruneUnknown(obj, schema, { root: true });
  dropNulls(obj, schema);
  applyDefaults(obj, schema);
  return { unknown, causes: validateValue(obj, schema, { root: true, oldObj }) };
}

describe("schema engine: public API", () => {
  const schema: JSONSchemaProps = {
    type: "object",
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
      spec: {
        type: "object",
        required: ["size"],
        properties: {
          size: { type: "integer", minimum: 1, default: 1 },
          mode: { type: "string", enum: ["fast", "safe"], default: "safe" },
          selector: { type: "object", properties: { matchLabels: { type: "object", additionalProperties: { type: "string" } } } },
        },
        "x-kubernetes-validations": [{ rule: "self.mode == 'safe' || self.size <= 3", message: "fast mode supports at most 3" }],
      },
    },
  };

  it("admits a valid object after pruning, null-dropping and defaulting", () => {
    const obj: Doc = { apiVersion: "x.io/v1", kind: "Thing", metadata: { name: "t" }, spec: { extra: true, selector: { matchLabels: null } } };
    expect(admit(obj, schema)).toEqual({ unknown: ["spec.extra"], causes: [] });
    expect(obj.spec).toEqual({ size: 1, mode: "safe", selector: {} });
  });

  it("rejects invalid objects with kube-apiserver's causes", () => {
    const obj = { apiVersion: "x.io/v1", kind: "Thing", metadata: { name: "t" }, spec: { size: 5, mode: "fast" } };
    expect(admit(obj, schema).causes).toEqual([{ reason: "FieldValueInvalid", field: "spec", message: 'Invalid value: "object": fast mode supports at most 3' }]);
  });

  it("accepts the schema itself", () => {
    expect(checkStructural(schema)).toEqual([]);
    expect(compileRules(schema)).toEqual([]);
  });
});

describe("schema engine: upstream CRDs", () => {
  it.skipIf(!hasReference)("accepts every version's schema of every reference CRD (structure and CEL rules)", () => {
    const versions = crdVersions();
    expect(versions.length).toBeGreaterThan(40);
    const problems: string[] = [];
    for (const v of versions) {
      const path = `spec.versions[${v.index}].schema.openAPIV3Schema`;
      for (const c of [...checkStructural(v.schema, { path }), ...compileRules(v.schema, { path })]) {
        problems.push(`${v.file} ${v.version}: ${c.field}: ${c.message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it.skipIf(!hasReference)("enforces a CAPMOX ProxmoxMachine's schema, defaults and CEL rules", () => {
    const schema = schemaOf("capmox-main/infrastructure.cluster.x-k8s.io_proxmoxmachines.yaml", "v1alpha2");
    const obj: Doc = {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
      kind: "ProxmoxMachine",
      metadata: { name: "m1", namespace: "default" },
      spec: {
        sourceNode: "pve1",
        templateID: 100,
        format: "qcow2",
        full: false,
        foo: 1,
        allowedNodes: ["pve1", "pve1"],
        network: { networkDevices: [{ bridge: "vmbr0", mtu: 100 }] },
      },
    };
    const { unknown, causes } = admit(obj, schema);
    expect(unknown).toEqual(["spec.foo"]);
    expect(obj.spec.network.networkDevices[0]).toEqual({ bridge: "vmbr0", mtu: 100, model: "virtio", name: "net0" });
    expect(causes).toEqual([
      { reason: "FieldValueDuplicate", field: "spec.allowedNodes[1]", message: 'Duplicate value: "pve1"' },
      { reason: "FieldValueInvalid", field: "spec", message: 'Invalid value: "object": Must set full=true when specifying format' },
      { reason: "FieldValueInvalid", field: "spec.network.networkDevices[0].mtu", message: 'Invalid value: "integer": invalid MTU value' },
    ]);
  });

  it.skipIf(!hasReference)("enforces transition rules of the CAPMOX boot volume on update", () => {
    const schema = schemaOf("capmox-main/infrastructure.cluster.x-k8s.io_proxmoxmachines.yaml", "v1alpha2");
    const machine = (sizeGb: number) => ({
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2",
      kind: "ProxmoxMachine",
      metadata: { name: "m1" },
      spec: {
        sourceNode: "pve1",
        templateID: 100,
        disks: { bootVolume: { disk: "scsi0", sizeGb } },
        network: { networkDevices: [{ bridge: "vmbr0" }] },
      },
    });
    expect(admit(machine(20), schema).causes).toEqual([]);
    expect(admit(machine(30), schema, machine(20)).causes).toEqual([
      { reason: "FieldValueInvalid", field: "spec.disks.bootVolume", message: 'Invalid value: "object": Value is immutable' },
    ]);
  });

  it.skipIf(!hasReference)("validates a typical Cluster API object well under a millisecond", () => {
    const schema = schemaOf("capmox-main/infrastructure.cluster.x-k8s.io_proxmoxclusters.yaml", "v1alpha2");
    const file = join(REFERENCE, "examples/capmox-samples/infrastructure_v1alpha2_proxmoxcluster.yaml");
    const sample = parseAllDocuments(readFileSync(file, "utf8"))[0].toJSON() as Record<string, unknown>;
    const run = () => admit(structuredClone(sample), schema);
    expect(run().causes).toEqual([]);
    for (let i = 0; i < 50; i++) run();
    const n = 500;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) run();
    expect((performance.now() - t0) / n).toBeLessThan(1);
  });
});
