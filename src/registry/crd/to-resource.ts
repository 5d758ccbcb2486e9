/**
 * Turns a stored CustomResourceDefinition into the ResourceDefinition the registry serves.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { ageColumn } from "../builtin/schema-helpers.ts";
import type { JSONSchemaProps } from "../schema/types.ts";
import { ALL_VERBS, type PrinterColumn, type ResourceDefinition, type ResourceVersion } from "../types.ts";

export interface CRDNames {
  plural: string;
  singular?: string;
  kind: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface CRDVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
  subresources?: {
    status?: Record<string, never>;
    scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  };
  additionalPrinterColumns?: { name: string; type: string; format?: string; description?: string; priority?: number; jsonPath: string }[];
  selectableFields?: { jsonPath: string }[];
}

export interface CRDSpec {
  group: string;
  names: CRDNames;
  scope: "Namespaced" | "Cluster";
  versions: CRDVersion[];
  conversion?: { strategy?: string };
  preserveUnknownFields?: boolean;
}

export interface CRDCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface CRDObject extends KObject {
  spec: CRDSpec;
  status?: { conditions?: CRDCondition[]; acceptedNames?: CRDNames; storedVersions?: string[] };
}


export function crdToResource(crd: CRDObject): ResourceDefinition {
  const { spec } = crd;
  const names = spec.names;
  const versions: ResourceVersion[] = spec.versions.map((v) => {
    const cols: PrinterColumn[] = (v.additionalPrinterColumns ?? []).map((c) => ({
      name: c.name,
      type: (["string", "integer", "number", "boolean", "date"].includes(c.type) ? c.type : "string") as PrinterColumn["type"],
      format: c.format ?? "",
      description: c.description ?? `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
      priority: c.priority ?? 0,
      jsonPath: c.jsonPath,
    }));
    return {
      name: v.name,
      served: v.served,
      storage: v.storage,
      deprecated: v.deprecated,
      deprecationWarning: v.deprecationWarning,
      schema: v.schema?.openAPIV3Schema ?? { type: "object", "x-kubernetes-preserve-unknown-fields": true },
      printerColumns: [
        { name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace.", priority: 0 },
        ...(cols.length ? cols : [ageColumn]),
      ],
      selectableFields: v.selectableFields?.map((f) => f.jsonPath),
      subresources: { status: v.subresources?.status !== undefined, scale: v.subresources?.scale },
    };
  });
  return {
    group: spec.group,
    plural: names.plural,
    singular: names.singular || names.kind.toLowerCase(),
    kind: names.kind,
    listKind: names.listKind || `${names.kind}List`,
    namespaced: spec.scope !== "Cluster",
    shortNames: names.shortNames ?? [],
    categories: names.categories ?? [],
    versions,
    verbs: ALL_VERBS,
    custom: true,
    crdName: crd.metadata.name,
    schemaSinceRV: Number(crd.metadata.resourceVersion) || undefined,
  };
}

export function conditionOf(crd: CRDObject, type: string): CRDCondition | undefined {
  return crd.status?.conditions?.find((c) => c.type === type);
}
