/**
 * OpenAPI documents derived from the registry's schemas: v3 per group-version (what kubectl's
 * field validation check, client-side apply and `explain` read) and one v2 document.
 * Documents are cached per registry generation and addressed by a content hash.
 * @module
 */
import { createHash } from "node:crypto";
import { objectMetaSchema } from "../registry/builtin/schema-helpers.ts";
import type { Registry } from "../registry/registry.ts";
import type { JSONSchemaProps } from "../registry/schema/types.ts";
import type { Resource, ResourceVersion } from "../registry/types.ts";
import { servedGroups } from "./discovery.ts";
import { cloneData } from "../lib/clone.ts";

const META_REF = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META_REF = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const STATUS_REF = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const DELETE_OPTIONS_REF = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
const SCALE_REF = "io.k8s.api.autoscaling.v1.Scale";

const BUILTIN_PREFIX: Record<string, string> = {
  "": "io.k8s.api.core",
  "coordination.k8s.io": "io.k8s.api.coordination",
  "events.k8s.io": "io.k8s.api.events",
  "authorization.k8s.io": "io.k8s.api.authorization",
  "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
};

/** `cluster.x-k8s.io` + v1beta1 + Cluster → `io.x-k8s.cluster.v1beta1.Cluster`. */
export function definitionName(group: string, version: string, kind: string): string {
  const prefix = BUILTIN_PREFIX[group] ?? group.split(".").reverse().join(".");
  return `${prefix}.${version}.${kind}`;
}

const sharedDefinitions: Record<string, JSONSchemaProps | Record<string, unknown>> = {
  [META_REF]: objectMetaSchema,
  [LIST_META_REF]: {
    type: "object",
    description: "ListMeta describes metadata that synthetic resources must have.",
    properties: { resourceVersion: { type: "string" }, continue: { type: "string" }, remainingItemCount: { type: "integer", format: "int64" } },
  },
  [STATUS_REF]: {
    type: "object",
    description: "Status is a return value for calls that don't return other objects.",
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      status: { type: "string" },
      message: { type: "string" },
      reason: { type: "string" },
      code: { type: "integer", format: "int32" },
      details: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
    },
  },
  [DELETE_OPTIONS_REF]: {
    type: "object",
    description: "DeleteOptions may be provided when deleting an API object.",
    properties: {
      gracePeriodSeconds: { type: "integer", format: "int64" },
      preconditions: { type: "object", properties: { uid: { type: "string" }, resourceVersion: { type: "string" } } },
      propagationPolicy: { type: "string" },
      dryRun: { type: "array", items: { type: "string" } },
    },
  },
  [SCALE_REF]: {
    type: "object",
    description: "Scale represents a scaling request for a resource.",
    "x-kubernetes-group-version-kind": [{ group: "autoscaling", version: "v1", kind: "Scale" }],
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { $ref: `#/components/schemas/${META_REF}` },
      spec: { type: "object", properties: { replicas: { type: "integer", format: "int32" } } },
      status: { type: "object", properties: { replicas: { type: "integer", format: "int32" }, selector: { type: "string" } } },
    },
  },
};

function kindSchema(r: Resource, v: ResourceVersion, refPrefix: string): Record<string, unknown> {
  const s = cloneData(v.schema) as Record<string, unknown> & { properties?: Record<string, unknown> };
  const props = (s.properties ??= {});
  props.metadata = { allOf: [{ $ref: `${refPrefix}${META_REF}` }], default: {}, description: "Standard object's metadata." };
  props.apiVersion ??= { type: "string", description: "APIVersion defines the versioned schema of this representation of an object." };
  props.kind ??= { type: "string", description: "Kind is a string value representing the REST resource this object represents." };
  s.type ??= "object";
  s.description ??= `${r.kind} is a resource served by capx-appliance.`;
  s["x-kubernetes-group-version-kind"] = [{ group: r.group, version: v.name, kind: r.kind }];
  return s;
}

function listSchema(r: Resource, v: ResourceVersion, refPrefix: string): Record<string, unknown> {
  return {
    type: "object",
    description: `${r.listKind} is a list of ${r.kind}.`,
    required: ["items"],
    "x-kubernetes-group-version-kind": [{ group: r.group, version: v.name, kind: r.listKind }],
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { allOf: [{ $ref: `${refPrefix}${LIST_META_REF}` }], default: {} },
      items: { type: "array", items: { $ref: `${refPrefix}${definitionName(r.group, v.name, r.kind)}` } },
    },
  };
}

const qp = (name: string, type = "string") => ({ name, in: "query", schema: { type, uniqueItems: true } });
const WRITE_PARAMS = [qp("dryRun"), qp("fieldManager"), qp("fieldValidation")];

function json(ref: string) {
  return { "application/json": { schema: { $ref: ref } }, "application/yaml": { schema: { $ref: ref } } };
}

function operations(r: Resource, v: ResourceVersion, refPrefix: string) {
  const gvk = { group: r.group, version: v.name, kind: r.kind };
  const objRef = `${refPrefix}${definitionName(r.group, v.name, r.kind)}`;
  const listRef = `${refPrefix}${definitionName(r.group, v.name, r.listKind)}`;
  const base = r.group ? `/apis/${r.group}/${v.name}` : `/api/${v.name}`;
  const ns = r.namespaced ? "/namespaces/{namespace}" : "";
  const pathParams = [
    ...(r.namespaced ? [{ name: "namespace", in: "path", required: true, schema: { type: "string", uniqueItems: true } }] : []),
  ];
  const nameParam = { name: "name", in: "path", required: true, schema: { type: "string", uniqueItems: true } };
  const patchTypes: Record<string, unknown> = {
    "application/json-patch+json": { schema: { type: "array", items: { type: "object" } } },
    "application/merge-patch+json": { schema: { type: "object" } },
    ...(r.custom ? {} : { "application/strategic-merge-patch+json": { schema: { type: "object" } } }),
    "application/apply-patch+yaml": { schema: { type: "object" } },
  };
  const op = (action: string, id: string, extra: Record<string, unknown>) => ({
    operationId: `${id}${r.kind}`,
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk,
    responses: { "200": { description: "OK", content: json(objRef) }, "401": { description: "Unauthorized" } },
    ...extra,
  });
  const paths: Record<string, Record<string, unknown>> = {};
  const has = (verb: string) => r.verbs.includes(verb as never);
  const collection: Record<string, unknown> = { parameters: pathParams };
  if (has("list")) {
    collection.get = op("list", r.namespaced ? "listNamespaced" : "list", {
      parameters: ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "resourceVersionMatch", "timeoutSeconds", "watch", "allowWatchBookmarks"].map((n) =>
        qp(n, n === "limit" || n === "timeoutSeconds" ? "integer" : n === "watch" || n === "allowWatchBookmarks" ? "boolean" : "string"),
      ),
      responses: { "200": { description: "OK", content: json(listRef) } },
    });
  }
  if (has("create")) {
    collection.post = op("post", r.namespaced ? "createNamespaced" : "create", { parameters: WRITE_PARAMS, requestBody: { content: json(objRef), required: true } });
  }
  if (has("deletecollection")) collection.delete = op("deletecollection", r.namespaced ? "deleteCollectionNamespaced" : "deleteCollection", {});
  paths[`${base}${ns}/${r.plural}`] = collection;
  if (r.hooks?.virtualCreate) return paths;
  const item: Record<string, unknown> = { parameters: [...pathParams, nameParam] };
  if (has("get")) item.get = op("get", r.namespaced ? "readNamespaced" : "read", {});
  if (has("update")) item.put = op("put", r.namespaced ? "replaceNamespaced" : "replace", { parameters: WRITE_PARAMS, requestBody: { content: json(objRef), required: true } });
  if (has("patch")) {
    item.patch = op("patch", r.namespaced ? "patchNamespaced" : "patch", { parameters: [...WRITE_PARAMS, qp("force", "boolean")], requestBody: { content: patchTypes, required: true } });
  }
  if (has("delete")) item.delete = op("delete", r.namespaced ? "deleteNamespaced" : "delete", { requestBody: { content: json(`${refPrefix}${DELETE_OPTIONS_REF}`) } });
  paths[`${base}${ns}/${r.plural}/{name}`] = item;
  if (v.subresources.status) {
    paths[`${base}${ns}/${r.plural}/{name}/status`] = {
      parameters: [...pathParams, nameParam],
      get: op("get", r.namespaced ? "readNamespacedStatus" : "readStatus", {}),
      put: op("put", r.namespaced ? "replaceNamespacedStatus" : "replaceStatus", { parameters: WRITE_PARAMS, requestBody: { content: json(objRef), required: true } }),
      patch: op("patch", r.namespaced ? "patchNamespacedStatus" : "patchStatus", { parameters: [...WRITE_PARAMS, qp("force", "boolean")], requestBody: { content: patchTypes, required: true } }),
    };
  }
  if (v.subresources.scale) {
    const scaleRef = `${refPrefix}${SCALE_REF}`;
    const scaleGvk = { group: "autoscaling", version: "v1", kind: "Scale" };
    paths[`${base}${ns}/${r.plural}/{name}/scale`] = {
      parameters: [...pathParams, nameParam],
      get: { operationId: `read${r.kind}Scale`, "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": scaleGvk, responses: { "200": { description: "OK", content: json(scaleRef) } } },
      put: { operationId: `replace${r.kind}Scale`, "x-kubernetes-action": "put", "x-kubernetes-group-version-kind": scaleGvk, parameters: WRITE_PARAMS, requestBody: { content: json(scaleRef) }, responses: { "200": { description: "OK", content: json(scaleRef) } } },
      patch: { operationId: `patch${r.kind}Scale`, "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": scaleGvk, parameters: [...WRITE_PARAMS, qp("force", "boolean")], requestBody: { content: { "application/json-patch+json": { schema: { type: "object" } }, "application/merge-patch+json": { schema: { type: "object" } } } }, responses: { "200": { description: "OK", content: json(scaleRef) } } },
    };
  }
  return paths;
}

export interface GVDocument {
  body: string;
  hash: string;
}

export class OpenApiCache {
  #generation = -1;
  #docs = new Map<string, GVDocument>();
  #v2?: string;

  constructor(private readonly registry: Registry) {}

  #refresh(): void {
    if (this.#generation === this.registry.generation) return;
    this.#generation = this.registry.generation;
    this.#docs.clear();
    this.#v2 = undefined;
    for (const g of servedGroups(this.registry)) {
      for (const version of g.versions) {
        const key = g.name ? `apis/${g.name}/${version}` : `api/${version}`;
        const body = JSON.stringify(this.#buildV3(g.name, version));
        this.#docs.set(key, { body, hash: createHash("sha256").update(body).digest("hex").slice(0, 32).toUpperCase() });
      }
    }
  }

  #buildV3(group: string, version: string) {
    const refPrefix = "#/components/schemas/";
    const schemas: Record<string, unknown> = { ...cloneData(sharedDefinitions) };
    const paths: Record<string, unknown> = {};
    for (const r of this.registry.all()) {
      if (r.group !== group) continue;
      const v = r.version(version);
      if (!v?.served) continue;
      schemas[definitionName(r.group, v.name, r.kind)] = kindSchema(r, v, refPrefix);
      schemas[definitionName(r.group, v.name, r.listKind)] = listSchema(r, v, refPrefix);
      Object.assign(paths, operations(r, v, refPrefix));
    }
    return { openapi: "3.0.0", info: { title: "capx-appliance", version: "v1.32.0" }, paths, components: { schemas } };
  }

  /** The /openapi/v3 index. */
  index(): string {
    this.#refresh();
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const [key, doc] of this.#docs) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${doc.hash}` };
    return JSON.stringify({ paths });
  }

  document(key: string): GVDocument | undefined {
    this.#refresh();
    return this.#docs.get(key);
  }

  /** One swagger 2.0 document for clients that still read v2 as JSON. */
  v2(): string {
    this.#refresh();
    if (this.#v2) return this.#v2;
    const refPrefix = "#/definitions/";
    const definitions: Record<string, unknown> = {};
    const paths: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(cloneData(sharedDefinitions))) definitions[k] = toSwagger(v);
    for (const r of this.registry.all()) {
      for (const v of r.versions) {
        if (!v.served) continue;
        definitions[definitionName(r.group, v.name, r.kind)] = toSwagger(kindSchema(r, v, refPrefix));
        definitions[definitionName(r.group, v.name, r.listKind)] = toSwagger(listSchema(r, v, refPrefix));
        for (const [p, ops] of Object.entries(operations(r, v, refPrefix))) paths[p] = swaggerOps(ops);
      }
    }
    this.#v2 = JSON.stringify({ swagger: "2.0", info: { title: "capx-appliance", version: "v1.32.0" }, paths, definitions });
    return this.#v2;
  }
}

/** v3 schema → swagger 2.0 schema: `nullable` becomes `x-nullable`, refs move to #/definitions. */
function toSwagger(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toSwagger);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "nullable") out["x-nullable"] = v;
    else if (k === "$ref" && typeof v === "string") out.$ref = v.replace("#/components/schemas/", "#/definitions/");
    else out[k] = toSwagger(v);
  }
  return out;
}

function swaggerOps(ops: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [method, op] of Object.entries(ops)) {
    if (method === "parameters") {
      out.parameters = (op as { name: string; in: string; required?: boolean; schema?: { type?: string } }[]).map((p) => ({ name: p.name, in: p.in, required: p.required, type: p.schema?.type ?? "string" }));
      continue;
    }
    const o = op as Record<string, unknown>;
    const consumes = o.requestBody ? Object.keys(((o.requestBody as { content?: object }).content ?? {}) as object) : undefined;
    out[method] = {
      operationId: o.operationId,
      "x-kubernetes-action": o["x-kubernetes-action"],
      "x-kubernetes-group-version-kind": o["x-kubernetes-group-version-kind"],
      ...(consumes ? { consumes } : {}),
      produces: ["application/json", "application/yaml"],
      parameters: ((o.parameters as { name: string; in: string; schema?: { type?: string } }[] | undefined) ?? []).map((p) => ({ name: p.name, in: p.in, type: p.schema?.type ?? "string", uniqueItems: true })),
      responses: { "200": { description: "OK" } },
    };
  }
  return out;
}
