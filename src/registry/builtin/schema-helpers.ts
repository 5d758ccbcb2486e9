/**
 * Small builders for the hand-written schemas of the built-in kinds, plus ObjectMeta.
 * @module
 */
import type { JSONSchemaProps } from "../schema/types.ts";

export const str = (description?: string, extra: JSONSchemaProps = {}): JSONSchemaProps => ({ type: "string", description, ...extra });
export const int = (description?: string, format: "int32" | "int64" = "int32"): JSONSchemaProps => ({ type: "integer", format, description });
export const bool = (description?: string): JSONSchemaProps => ({ type: "boolean", description });
export const time = (description?: string): JSONSchemaProps => ({ type: "string", format: "date-time", description });
export const stringMap = (description?: string): JSONSchemaProps => ({ type: "object", description, additionalProperties: { type: "string" } });
export const stringList = (description?: string, extra: JSONSchemaProps = {}): JSONSchemaProps => ({
  type: "array",
  description,
  items: { type: "string" },
  ...extra,
});
export const obj = (properties: Record<string, JSONSchemaProps>, description?: string, extra: JSONSchemaProps = {}): JSONSchemaProps => ({
  type: "object",
  description,
  properties,
  ...extra,
});
export const listOf = (items: JSONSchemaProps, description?: string, extra: JSONSchemaProps = {}): JSONSchemaProps => ({
  type: "array",
  description,
  items,
  ...extra,
});

export const ownerReferenceSchema = obj(
  {
    apiVersion: str("API version of the referent."),
    kind: str("Kind of the referent."),
    name: str("Name of the referent."),
    uid: str("UID of the referent."),
    controller: bool("If true, this reference points to the managing controller."),
    blockOwnerDeletion: bool("If true, the owner cannot be deleted from storage until this reference is removed (foreground deletion)."),
  },
  "OwnerReference identifies an owning object.",
  { required: ["apiVersion", "kind", "name", "uid"], "x-kubernetes-map-type": "atomic" },
);

export const objectMetaSchema: JSONSchemaProps = obj(
  {
    name: str("Name must be unique within a namespace."),
    generateName: str("Optional prefix the server uses to generate a unique name when name is empty."),
    namespace: str("Namespace defines the space within which each name must be unique."),
    uid: str("UID is the unique in time and space value for this object, set by the server."),
    resourceVersion: str("An opaque value that represents the internal version of this object."),
    generation: int("A sequence number representing a specific generation of the desired state.", "int64"),
    creationTimestamp: time("Time the server created this object."),
    deletionTimestamp: time("Time after which this object will be deleted; set when deletion is requested."),
    deletionGracePeriodSeconds: int("Seconds allowed for graceful termination.", "int64"),
    labels: stringMap("Map of string keys and values to organize and select objects."),
    annotations: stringMap("Unstructured key value map for arbitrary metadata."),
    ownerReferences: listOf(ownerReferenceSchema, "Objects this object depends on.", {
      "x-kubernetes-patch-strategy": "merge",
      "x-kubernetes-patch-merge-key": "uid",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["uid"],
    }),
    finalizers: stringList("Must be empty before the object is deleted from the registry.", {
      "x-kubernetes-patch-strategy": "merge",
      "x-kubernetes-list-type": "set",
    }),
    managedFields: listOf(
      obj({
        manager: str(),
        operation: str(),
        apiVersion: str(),
        time: time(),
        fieldsType: str(),
        fieldsV1: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        subresource: str(),
      }),
      "Which workflow manages which fields.",
      { "x-kubernetes-list-type": "atomic" },
    ),
  },
  "ObjectMeta is metadata that all persisted resources must have.",
);

/** The envelope every kind's schema shares: apiVersion, kind, metadata. */
export function resourceSchema(description: string, properties: Record<string, JSONSchemaProps>, extra: JSONSchemaProps = {}): JSONSchemaProps {
  return obj(
    {
      apiVersion: str("APIVersion defines the versioned schema of this representation of an object."),
      kind: str("Kind is a string value representing the REST resource this object represents."),
      metadata: objectMetaSchema,
      ...properties,
    },
    description,
    extra,
  );
}

export const nameColumn = { name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace.", priority: 0 } as const;

export const ageColumn = {
  name: "Age",
  type: "date",
  description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
  jsonPath: ".metadata.creationTimestamp",
} as const;
