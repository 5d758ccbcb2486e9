/**
 * What a ClusterResourceSet applies (Cluster API `clusterresourceset_helpers.go`): each resource
 * is a ConfigMap or a Secret of type `addons.cluster.x-k8s.io/resource-set` in the CRS namespace;
 * every data value (Secrets: base64-decoded) holds YAML documents or a JSON list of objects. The
 * values, sorted by key, make the resource's hash `sha256:<hex>`; the objects of each value are
 * sorted for creation (Namespaces and CRDs first) as upstream's SortForCreate does.
 * @module
 */
import { createHash } from "node:crypto";
import { parseAllDocuments } from "yaml";
import { isPlainObject, type KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";

export const RESOURCE_SET_SECRET_TYPE = "addons.cluster.x-k8s.io/resource-set";

export interface ResourceRef {
  kind: "ConfigMap" | "Secret";
  name: string;
}

/** A Secret resource whose type is not the resource-set one (upstream ErrSecretTypeNotSupported). */
export class SecretTypeNotSupportedError extends Error {
  constructor() {
    super("unsupported secret type");
  }
}

export class ResourceNotFoundError extends Error {
  constructor(ref: ResourceRef, namespace: string) {
    super(`${ref.kind} ${namespace}/${ref.name} not found`);
  }
}

/** The referenced ConfigMap or Secret; throws ResourceNotFoundError or SecretTypeNotSupportedError. */
export function getResource(client: Client, ref: ResourceRef, namespace: string): KObject {
  const obj = client.get({ apiVersion: "v1", kind: ref.kind, namespace, name: ref.name });
  if (!obj) throw new ResourceNotFoundError(ref, namespace);
  if (ref.kind === "Secret" && obj.type !== RESOURCE_SET_SECRET_TYPE) throw new SecretTypeNotSupportedError();
  return obj;
}

/** The data values sorted by key; a Secret's decoded. */
export function normalizeData(resource: KObject): string[] {
  const data = resource.data as Record<string, string> | undefined;
  if (!data) throw new Error(`failed to get data field from resource ${resource.metadata.namespace}/${resource.metadata.name}`);
  return Object.keys(data)
    .sort()
    .map((k) => (resource.kind === "Secret" ? Buffer.from(data[k]!, "base64").toString() : data[k]!));
}

export function computeHash(values: string[]): string {
  const h = createHash("sha256");
  for (const v of values) h.update(v);
  return `sha256:${h.digest("hex")}`;
}

/** The objects of every value, each value's sorted for creation; the order of values is kept. */
export function objectsFromData(values: string[]): KObject[] {
  return values.flatMap((v) => sortForCreate(objectsOf(v)));
}

function objectsOf(text: string): KObject[] {
  if (text.trimStart().startsWith("[")) {
    const list = JSON.parse(text) as unknown;
    if (!Array.isArray(list)) throw new Error("failed converting data to unstructured objects: not a JSON list");
    return list.filter(isPlainObject) as unknown as KObject[];
  }
  const out: KObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`failed converting data to unstructured objects: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (!isPlainObject(value) || typeof value.kind !== "string") throw new Error("failed converting data to unstructured objects: a document is not an object with a kind");
    out.push(value as unknown as KObject);
  }
  return out;
}

const CREATE_ORDER: Record<string, number> = {
  Namespace: -100,
  CustomResourceDefinition: -99,
  StorageClass: -98,
  PersistentVolume: -97,
  PersistentVolumeClaim: -96,
  Secret: -95,
  ConfigMap: -94,
  ServiceAccount: -93,
  LimitRange: -92,
  Pod: -91,
  ReplicaSet: -90,
  Endpoint: -89,
};

function sortForCreate(objs: KObject[]): KObject[] {
  // Array.prototype.sort is stable, as upstream's sort.SliceStable.
  return [...objs].sort((a, b) => (CREATE_ORDER[a.kind!] ?? 0) - (CREATE_ORDER[b.kind!] ?? 0));
}
