/** core/v1 Namespace. Lifecycle (Terminating, content deletion) lives in lifecycle/namespace.ts. */
import type { ResourceDefinition } from "../types.ts";
import { ALL_VERBS } from "../types.ts";
import { builtinKind } from "./define.ts";
import { fieldError } from "../../lib/api-errors.ts";
import { ageColumn, nameColumn, obj, resourceSchema, str, stringList, listOf, time } from "./schema-helpers.ts";

export const NAMESPACE_FINALIZER = "kubernetes";

const schema = resourceSchema("Namespace provides a scope for Names.", {
  spec: obj({ finalizers: stringList("Finalizers that must be empty before the namespace is removed.", { "x-kubernetes-list-type": "atomic" }) }),
  status: obj({
    phase: str("Phase is the current lifecycle phase of the namespace.", { enum: ["Active", "Terminating"] }),
    conditions: listOf(
      obj({ type: str(), status: str(), lastTransitionTime: time(), reason: str(), message: str() }, undefined, { required: ["type", "status"] }),
      "The latest available observations of the namespace's state.",
      { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"], "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "type" },
    ),
  }),
});

export const namespaceDefinition: ResourceDefinition = builtinKind({
  group: "",
  kind: "Namespace",
  plural: "namespaces",
  namespaced: false,
  shortNames: ["ns"],
  verbs: ALL_VERBS.filter((v) => v !== "deletecollection"),
  status: true,
  schema,
  printerColumns: [nameColumn, { name: "Status", type: "string", description: "The status of the namespace", jsonPath: ".status.phase" }, ageColumn],
  hooks: {
    prepareForCreate(o) {
      const spec = ((o.spec as Record<string, unknown>) ??= {});
      const finalizers = (spec.finalizers as string[] | undefined) ?? [];
      if (!finalizers.includes(NAMESPACE_FINALIZER)) finalizers.push(NAMESPACE_FINALIZER);
      spec.finalizers = finalizers;
      o.status = { phase: "Active" };
    },
    prepareForUpdate(o, old) {
      // spec.finalizers changes only through /finalize; status only through /status.
      o.spec = old.spec ?? {};
      if (old.status === undefined) delete o.status;
      else o.status = old.status;
    },
    validate(o) {
      const fin = (o.spec as { finalizers?: unknown } | undefined)?.finalizers;
      if (fin !== undefined && !Array.isArray(fin)) return [fieldError.invalid("spec.finalizers", fin, "must be a list")];
      return [];
    },
    fieldValue(o, field) {
      if (field === "status.phase") return (o.status as { phase?: string } | undefined)?.phase ?? "";
      return undefined;
    },
    selectableFields: ["status.phase"],
    allowUnconditionalUpdate: true,
    omitEmpty: ["spec.finalizers"],
  },
});
