/**
 * The structural view of a JSONSchemaProps that field management needs: for every node, whether
 * it is a scalar, a list (atomic, a set, or a map keyed by some fields) or a map (struct-like with
 * declared fields, granular or atomic, with an optional element type). This mirrors how
 * kube-openapi's schemaconv turns an OpenAPI schema into a structured-merge-diff schema:
 *
 * - no `type`: scalar, list and map at once (resolved by the value's shape);
 * - lists: `x-kubernetes-list-type` atomic|set|map (+ list-map-keys); without it, a patch strategy
 *   containing "merge" makes the list associative (keyed by the patch merge key, or a set);
 *   anything else is atomic;
 * - maps: `x-kubernetes-map-type: atomic` makes the map a leaf; the element type is
 *   `additionalProperties`, or "deduced" when unknown fields are preserved (inherited downwards) or
 *   the object has no properties at all;
 * - "deduced" (untyped, preserve-unknown): scalars, granular maps of deduced, atomic lists.
 *
 * The top-level `metadata` is always ObjectMeta (as for custom resources upstream).
 * @module
 */
import type { JSONSchemaProps } from "../schema/types.ts";
import { additionalOf, hasDefault, hasProperties, itemsOf, propertyOf, stringList, stringOf } from "../schema/schema-types.ts";

export type ScalarKind = "numeric" | "string" | "boolean" | "untyped";

export interface ListAtom {
  readonly atomic: boolean;
  /** For associative lists: the key fields (empty array = a set of scalars). */
  readonly keys: readonly string[];
  elem(): Atom;
}

export interface MapAtom {
  readonly atomic: boolean;
  /** Declared field, or undefined. */
  field(name: string): Atom | undefined;
  /** Default value of a declared field (list-map keys may be defaulted). */
  fieldDefault(name: string): unknown;
  /** Element type for undeclared keys; undefined when undeclared keys are not allowed. */
  elem(): Atom | undefined;
}

export interface Atom {
  readonly scalar?: ScalarKind;
  readonly list?: ListAtom;
  readonly map?: MapAtom;
}

export const EMPTY_ATOM: Atom = {};

// --- untyped / deduced, as schemaconv's __untyped_atomic_ and __untyped_deduced_ -------------

const untypedAtomic: { scalar: ScalarKind; list: ListAtom; map: MapAtom } = {
  scalar: "untyped",
  list: { atomic: true, keys: [], elem: () => untypedAtomic },
  map: {
    atomic: true,
    field: () => undefined,
    fieldDefault: () => undefined,
    elem: () => untypedAtomic,
  },
};

const deduced: { scalar: ScalarKind; list: ListAtom; map: MapAtom } = {
  scalar: "untyped",
  list: { atomic: true, keys: [], elem: () => untypedAtomic },
  map: {
    atomic: false,
    field: () => undefined,
    fieldDefault: () => undefined,
    elem: () => deduced,
  },
};

export const UNTYPED_ATOMIC: Atom = untypedAtomic;
export const DEDUCED: Atom = deduced;

// --- conversion ------------------------------------------------------------------------------

const cache = [new WeakMap<JSONSchemaProps, Atom>(), new WeakMap<JSONSchemaProps, Atom>()];

/** The atom of a schema node; `preserveUnknown` is inherited from ancestors. */
export function atomOf(schema: JSONSchemaProps | undefined, preserveUnknown = false): Atom {
  if (!schema) return DEDUCED;
  const preserve = preserveUnknown || schema["x-kubernetes-preserve-unknown-fields"] === true;
  const c = cache[preserve ? 1 : 0];
  const hit = c.get(schema);
  if (hit) return hit;
  const atom = convert(schema, preserve);
  c.set(schema, atom);
  return atom;
}

function convert(s: JSONSchemaProps, preserve: boolean): Atom {
  switch (s.type) {
    case undefined:
      if (s["x-kubernetes-int-or-string"]) return { scalar: "untyped" };
      return { scalar: "untyped", list: listAtom(s, preserve), map: mapAtom(s, preserve) };
    case "object":
      return { map: mapAtom(s, preserve) };
    case "array":
      return { list: listAtom(s, preserve) };
    case "integer":
    case "number":
      return { scalar: "numeric" };
    case "boolean":
      return { scalar: "boolean" };
    case "string":
      return { scalar: s.format === undefined || s.format === "" || s.format === "byte" ? "string" : "untyped" };
    default:
      return { scalar: "untyped" };
  }
}

function listAtom(s: JSONSchemaProps, preserve: boolean): ListAtom {
  let atomic = true;
  let keys: string[] = [];
  const lt = stringOf(s["x-kubernetes-list-type"]);
  if (lt !== undefined) {
    if (lt === "set") atomic = false;
    else if (lt === "map") {
      atomic = false;
      keys = stringList(s["x-kubernetes-list-map-keys"]);
    }
  } else {
    const strategy = s["x-kubernetes-patch-strategy"];
    if (strategy === "merge" || strategy === "merge,retainKeys") {
      atomic = false;
      const key = stringOf(s["x-kubernetes-patch-merge-key"]);
      if (key) keys = [key];
    }
  }
  const items = itemsOf(s);
  let elemAtom: Atom | undefined;
  return {
    atomic,
    keys,
    elem: () => (elemAtom ??= items ? atomOf(items, preserve) : UNTYPED_ATOMIC),
  };
}

function mapAtom(s: JSONSchemaProps, preserve: boolean): MapAtom {
  const hasProps = hasProperties(s);
  const ap = additionalOf(s);
  let elemAtom: Atom | undefined | null = null;
  const fields = new Map<string, Atom>();
  return {
    atomic: s["x-kubernetes-map-type"] === "atomic",
    field(name) {
      const prop = propertyOf(s, name);
      if (!prop) return undefined;
      let a = fields.get(name);
      if (!a) {
        a = atomOf(prop, preserve);
        fields.set(name, a);
      }
      return a;
    },
    fieldDefault(name) {
      const prop = propertyOf(s, name);
      return prop && hasDefault(prop) ? prop.default : undefined;
    },
    elem() {
      if (elemAtom !== null) return elemAtom;
      if (ap === undefined) elemAtom = preserve || !hasProps ? DEDUCED : undefined;
      else if (typeof ap === "object") elemAtom = atomOf(ap, preserve);
      else elemAtom = ap ? DEDUCED : undefined;
      return elemAtom;
    },
  };
}

// --- ObjectMeta ------------------------------------------------------------------------------

const str: JSONSchemaProps = { type: "string" };
const stringMap: JSONSchemaProps = { type: "object", additionalProperties: { type: "string" } };

/** The structural parts of metav1.ObjectMeta (types and list/map semantics only). */
export const OBJECT_META_SCHEMA: JSONSchemaProps = {
  type: "object",
  properties: {
    name: str,
    generateName: str,
    namespace: str,
    selfLink: str,
    uid: str,
    resourceVersion: str,
    generation: { type: "integer", format: "int64" },
    creationTimestamp: { type: "string", format: "date-time" },
    deletionTimestamp: { type: "string", format: "date-time" },
    deletionGracePeriodSeconds: { type: "integer", format: "int64" },
    labels: stringMap,
    annotations: stringMap,
    ownerReferences: {
      type: "array",
      items: {
        type: "object",
        "x-kubernetes-map-type": "atomic",
        properties: {
          apiVersion: str,
          kind: str,
          name: str,
          uid: str,
          controller: { type: "boolean" },
          blockOwnerDeletion: { type: "boolean" },
        },
      },
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["uid"],
      "x-kubernetes-patch-strategy": "merge",
      "x-kubernetes-patch-merge-key": "uid",
    },
    finalizers: {
      type: "array",
      items: str,
      "x-kubernetes-list-type": "set",
      "x-kubernetes-patch-strategy": "merge",
    },
    managedFields: {
      type: "array",
      "x-kubernetes-list-type": "atomic",
      items: {
        type: "object",
        properties: {
          manager: str,
          operation: str,
          apiVersion: str,
          time: { type: "string", format: "date-time" },
          fieldsType: str,
          fieldsV1: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
          subresource: str,
        },
      },
    },
  },
};

const rootCache = new WeakMap<JSONSchemaProps, Atom>();

/**
 * The atom of a whole object: the kind's schema with `apiVersion`/`kind` strings and `metadata`
 * as ObjectMeta, whatever the schema says about them.
 */
export function rootAtom(schema: JSONSchemaProps): Atom {
  const hit = rootCache.get(schema);
  if (hit) return hit;
  const base = atomOf(schema);
  const inner = base.map;
  const meta = atomOf(OBJECT_META_SCHEMA);
  const strAtom: Atom = { scalar: "string" };
  const root: Atom = {
    map: {
      atomic: false,
      field(name) {
        if (name === "metadata") return meta;
        if (name === "apiVersion" || name === "kind") return strAtom;
        return inner?.field(name);
      },
      fieldDefault: (name) => inner?.fieldDefault(name),
      elem: () => (inner ? inner.elem() : DEDUCED),
    },
  };
  rootCache.set(schema, root);
  return root;
}
