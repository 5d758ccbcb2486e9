/**
 * The shape shared by the built-in kinds: one served version, standard names and verbs.
 * @module
 */
import type { JSONSchemaProps } from "../schema/types.ts";
import { ALL_VERBS, type KindHooks, type PrinterColumn, type ResourceDefinition, type Verb } from "../types.ts";

export interface BuiltinKind {
  group: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  schema: JSONSchemaProps;
  printerColumns: PrinterColumn[];
  version?: string;
  shortNames?: string[];
  categories?: string[];
  verbs?: Verb[];
  status?: boolean;
  tracksGeneration?: boolean;
  storage?: ResourceDefinition["storage"];
  postSubresources?: ResourceDefinition["postSubresources"];
  hooks?: KindHooks;
}

export function builtinKind(k: BuiltinKind): ResourceDefinition {
  return {
    group: k.group,
    plural: k.plural,
    singular: k.kind.toLowerCase(),
    kind: k.kind,
    listKind: `${k.kind}List`,
    namespaced: k.namespaced,
    shortNames: k.shortNames ?? [],
    categories: k.categories ?? [],
    verbs: k.verbs ?? ALL_VERBS,
    custom: false,
    tracksGeneration: k.tracksGeneration,
    storage: k.storage,
    postSubresources: k.postSubresources,
    versions: [
      {
        name: k.version ?? "v1",
        served: true,
        storage: true,
        schema: k.schema,
        subresources: k.status ? { status: true } : {},
        printerColumns: k.printerColumns,
      },
    ],
    hooks: k.hooks,
  };
}
