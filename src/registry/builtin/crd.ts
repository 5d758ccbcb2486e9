/**
 * apiextensions.k8s.io/v1 CustomResourceDefinition. A CRD is served the moment it is stored:
 * its NamesAccepted/Established conditions are decided in the same write, so `kubectl apply`
 * of a CRD followed at once by one of its objects works (upstream can lag a moment here).
 * @module
 */
import { badRequest, fieldError, type StatusCause } from "../../lib/api-errors.ts";
import { nowRfc3339, type KObject } from "../../lib/kobject.ts";
import type { CRDCondition, CRDNames, CRDObject, CRDSpec } from "../crd/to-resource.ts";
import { checkSchemaTypes, checkStructural, compileRules } from "../schema/index.ts";
import type { ResourceDefinition } from "../types.ts";
import { builtinKind } from "./define.ts";
import { dns1123Label, dns1123Subdomain } from "../validation/names.ts";
import { bool, listOf, nameColumn, obj, resourceSchema, str, stringList, time } from "./schema-helpers.ts";
import { cloneData } from "../../lib/clone.ts";

export const CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

const namesSchema = obj({
  plural: str(),
  singular: str(),
  kind: str(),
  listKind: str(),
  shortNames: stringList(undefined, { "x-kubernetes-list-type": "atomic" }),
  categories: stringList(undefined, { "x-kubernetes-list-type": "atomic" }),
}, undefined, { required: ["plural", "kind"] });

const schema = resourceSchema(
  "CustomResourceDefinition represents a resource that should be exposed on the API server.",
  {
    spec: obj(
      {
        group: str("The API group of the defined custom resource."),
        names: namesSchema,
        scope: str("Whether the defined custom resource is cluster- or namespace-scoped.", { enum: ["Cluster", "Namespaced"] }),
        versions: listOf(
          obj(
            {
              name: str(),
              served: bool(),
              storage: bool(),
              deprecated: bool(),
              deprecationWarning: str(),
              schema: obj({ openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } }),
              subresources: obj({
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                scale: obj({ specReplicasPath: str(), statusReplicasPath: str(), labelSelectorPath: str() }, undefined, {
                  required: ["specReplicasPath", "statusReplicasPath"],
                }),
              }),
              additionalPrinterColumns: listOf(
                obj({ name: str(), type: str(), format: str(), description: str(), priority: { type: "integer", format: "int32" }, jsonPath: str() }, undefined, {
                  required: ["name", "type", "jsonPath"],
                }),
                undefined,
                { "x-kubernetes-list-type": "atomic" },
              ),
              selectableFields: listOf(obj({ jsonPath: str() }, undefined, { required: ["jsonPath"] }), undefined, { "x-kubernetes-list-type": "atomic" }),
            },
            undefined,
            { required: ["name", "served", "storage"] },
          ),
          "The list of all API versions of the defined custom resource.",
          { "x-kubernetes-list-type": "atomic" },
        ),
        conversion: obj({ strategy: str(undefined, { default: "None" }), webhook: { type: "object", "x-kubernetes-preserve-unknown-fields": true } }),
        preserveUnknownFields: bool(),
      },
      "The specification of this CustomResourceDefinition.",
      { required: ["group", "names", "scope", "versions"] },
    ),
    status: obj({
      conditions: listOf(obj({ type: str(), status: str(), lastTransitionTime: time(), reason: str(), message: str() }), undefined, {
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
      }),
      acceptedNames: namesSchema,
      storedVersions: stringList(undefined, { "x-kubernetes-list-type": "atomic" }),
    }),
  },
  { required: ["spec"] },
);

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function validateNames(names: CRDNames | undefined, causes: StatusCause[]): void {
  const f = "spec.names";
  if (!names || typeof names !== "object") {
    causes.push(fieldError.required(f));
    return;
  }
  const label = (field: string, v: string | undefined, required: boolean) => {
    if (!v) {
      if (required) causes.push(fieldError.required(`${f}.${field}`));
      return;
    }
    if (!DNS1035.test(v) || v.length > 63) {
      causes.push(
        fieldError.invalid(
          `${f}.${field}`,
          v,
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        ),
      );
    }
  };
  label("plural", names.plural, true);
  label("singular", names.singular, false);
  if (!names.kind) causes.push(fieldError.required(`${f}.kind`));
  else if (!/^[A-Za-z][A-Za-z0-9]*$/.test(names.kind)) {
    causes.push(fieldError.invalid(`${f}.kind`, names.kind, "must be a valid kind name (letters and digits, starting with a letter)"));
  }
  if (names.listKind && names.kind && names.listKind === names.kind) {
    causes.push(fieldError.invalid(`${f}.listKind`, names.listKind, "kind and listKind may not be the same"));
  }
  (names.shortNames ?? []).forEach((s, i) => label(`shortNames[${i}]`, s, true));
  (names.categories ?? []).forEach((s, i) => label(`categories[${i}]`, s, true));
}

let trustedDepth = 0;

/**
 * Runs `fn` (synchronously) with the CEL rules of the CRDs it writes left uncompiled: for the
 * CRDs bundled in the binary, whose rules the kinds' tests compile, so a first start does not
 * load the CEL runtime (about 200 ms). Their rules compile on the first object that needs them.
 */
export function withTrustedCRDRules<T>(fn: () => T): T {
  trustedDepth++;
  try {
    return fn();
  } finally {
    trustedDepth--;
  }
}

export function validateCRD(crd: CRDObject, old?: CRDObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = crd.spec as CRDSpec | undefined;
  if (!spec || typeof spec !== "object") return [fieldError.required("spec")];
  if (!spec.group) causes.push(fieldError.required("spec.group"));
  else {
    for (const msg of dns1123Subdomain(spec.group)) causes.push(fieldError.invalid("spec.group", spec.group, msg));
    if (!spec.group.includes(".")) causes.push(fieldError.invalid("spec.group", spec.group, "should be a domain with at least one dot"));
  }
  validateNames(spec.names, causes);
  if (spec.names?.plural && spec.group && crd.metadata.name !== `${spec.names.plural}.${spec.group}`) {
    causes.push(fieldError.invalid("metadata.name", crd.metadata.name ?? "", 'must be spec.names.plural+"."+spec.group'));
  }
  if (spec.scope !== "Namespaced" && spec.scope !== "Cluster") causes.push(fieldError.notSupported("spec.scope", spec.scope ?? "", ["Cluster", "Namespaced"]));
  const strategy = spec.conversion?.strategy ?? "None";
  if (strategy !== "None") {
    causes.push(
      fieldError.notSupported("spec.conversion.strategy", strategy, ["None"]),
    );
  }
  if (spec.preserveUnknownFields === true) {
    causes.push(fieldError.invalid("spec.preserveUnknownFields", true, "must be false in order to use defaults in the schema"));
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) causes.push(fieldError.required("spec.versions", "must have exactly one version marked as storage version"));
  const seen = new Set<string>();
  let storage = 0;
  versions.forEach((v, i) => {
    const f = `spec.versions[${i}]`;
    if (!v.name) causes.push(fieldError.required(`${f}.name`));
    else {
      for (const msg of dns1123Label(v.name)) causes.push(fieldError.invalid(`${f}.name`, v.name, msg));
      if (seen.has(v.name)) causes.push(fieldError.duplicate(`${f}.name`, v.name));
      seen.add(v.name);
    }
    if (v.storage) storage++;
    const s = v.schema?.openAPIV3Schema;
    if (!s) causes.push(fieldError.required(`${f}.schema.openAPIV3Schema`, "schemas are required"));
    else {
      const path = `${f}.schema.openAPIV3Schema`;
      causes.push(...checkStructural(s, { path }), ...(trustedDepth ? [] : compileRules(s, { path })));
    }
    const scale = v.subresources?.scale;
    if (scale) {
      if (!scale.specReplicasPath?.startsWith(".spec.")) causes.push(fieldError.invalid(`${f}.subresources.scale.specReplicasPath`, scale.specReplicasPath ?? "", "should be a json path under .spec"));
      if (!scale.statusReplicasPath?.startsWith(".status.")) causes.push(fieldError.invalid(`${f}.subresources.scale.statusReplicasPath`, scale.statusReplicasPath ?? "", "should be a json path under .status"));
      if (scale.labelSelectorPath && !/^\.(spec|status)\./.test(scale.labelSelectorPath)) {
        causes.push(fieldError.invalid(`${f}.subresources.scale.labelSelectorPath`, scale.labelSelectorPath, "should be a json path under either .spec or .status"));
      }
    }
    (v.additionalPrinterColumns ?? []).forEach((c, j) => {
      if (!["integer", "number", "string", "boolean", "date"].includes(c.type)) {
        causes.push(fieldError.notSupported(`${f}.additionalPrinterColumns[${j}].type`, c.type, ["integer", "number", "string", "boolean", "date"]));
      }
      if (!c.jsonPath?.startsWith(".")) causes.push(fieldError.invalid(`${f}.additionalPrinterColumns[${j}].jsonPath`, c.jsonPath ?? "", "must be a simple json path starting with ."));
    });
  });
  if (versions.length > 0 && storage !== 1) {
    causes.push(fieldError.invalid("spec.versions", versions.map((v) => v.name), "must have exactly one version marked as storage version"));
  }
  if (old) {
    if (old.spec.group !== spec.group) causes.push(fieldError.invalid("spec.group", spec.group, "field is immutable"));
    if (old.spec.names.plural !== spec.names?.plural) causes.push(fieldError.invalid("spec.names.plural", spec.names?.plural ?? "", "field is immutable"));
    if (old.spec.scope !== spec.scope) causes.push(fieldError.invalid("spec.scope", spec.scope, "field is immutable"));
    (old.status?.storedVersions ?? []).forEach((sv, i) => {
      if (!versions.some((v) => v.name === sv)) causes.push(fieldError.invalid(`status.storedVersions[${i}]`, sv, "must appear in spec.versions"));
    });
  }
  return causes;
}

function setCondition(conds: CRDCondition[], next: CRDCondition): void {
  const i = conds.findIndex((c) => c.type === next.type);
  const prev = conds[i];
  if (prev && prev.status === next.status) {
    prev.reason = next.reason;
    prev.message = next.message;
    return;
  }
  const c = { ...next, lastTransitionTime: nowRfc3339() };
  if (i >= 0) conds[i] = c;
  else conds.push(c);
}

/** Finds a name already used by another resource of the same group; undefined when free. */
export type NameConflictCheck = (crd: CRDObject) => string | undefined;

function decideStatus(crd: CRDObject, old: CRDObject | undefined, conflict: NameConflictCheck): void {
  const status = (crd.status = cloneData(old?.status ?? {}));
  const conds = (status.conditions ??= []);
  const problem = conflict(crd);
  if (problem) {
    setCondition(conds, { type: "NamesAccepted", status: "False", reason: "NameConflict", message: problem });
    if (!conds.some((c) => c.type === "Established")) {
      setCondition(conds, { type: "Established", status: "False", reason: "NotAccepted", message: "not all names are accepted" });
    }
  } else {
    const names = crd.spec.names;
    status.acceptedNames = {
      plural: names.plural,
      singular: names.singular || names.kind.toLowerCase(),
      kind: names.kind,
      listKind: names.listKind || `${names.kind}List`,
      ...(names.shortNames?.length ? { shortNames: names.shortNames } : {}),
      ...(names.categories?.length ? { categories: names.categories } : {}),
    };
    setCondition(conds, { type: "NamesAccepted", status: "True", reason: "NoConflicts", message: "no conflicts found" });
    setCondition(conds, { type: "Established", status: "True", reason: "InitialNamesAccepted", message: "the initial names have been accepted" });
  }
  const storage = crd.spec.versions.find((v) => v.storage)?.name;
  const stored = (status.storedVersions ??= []);
  if (storage && !stored.includes(storage)) stored.push(storage);
}

/**
 * openAPIV3Schema is a typed JSONSchemaProps upstream: a wrongly typed keyword is a decoding
 * error (400), found before any other validation.
 */
function checkDecodable(crd: CRDObject): void {
  const versions = Array.isArray(crd.spec?.versions) ? crd.spec.versions : [];
  versions.forEach((v, i) => {
    const s = v?.schema?.openAPIV3Schema;
    if (s === undefined) return;
    const problem = checkSchemaTypes(s, `spec.versions[${i}].schema.openAPIV3Schema`);
    if (problem) throw badRequest(`CustomResourceDefinition in version "v1" cannot be handled as a CustomResourceDefinition: ${problem}`);
  });
}

function defaultNames(crd: CRDObject): void {
  const names = crd.spec?.names;
  if (!names || typeof names !== "object") return;
  if (!names.singular && names.kind) names.singular = names.kind.toLowerCase();
  if (!names.listKind && names.kind) names.listKind = `${names.kind}List`;
  crd.spec.conversion ??= { strategy: "None" };
}

export function crdDefinition(conflict: NameConflictCheck): ResourceDefinition {
  return builtinKind({
    group: "apiextensions.k8s.io",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    namespaced: false,
    shortNames: ["crd", "crds"],
    categories: ["api-extensions"],
    tracksGeneration: true,
    status: true,
    schema,
    printerColumns: [nameColumn, { name: "Created At", type: "date", description: "Creation time", cell: (o: KObject) => o.metadata.creationTimestamp ?? "" }],
    hooks: {
      prepareForCreate(o) {
        const crd = o as CRDObject;
        checkDecodable(crd);
        defaultNames(crd);
        if (validateCRD(crd).length === 0) decideStatus(crd, undefined, conflict);
        else delete crd.status;
      },
      prepareForUpdate(o, old) {
        const crd = o as CRDObject;
        checkDecodable(crd);
        defaultNames(crd);
        if (validateCRD(crd, old as CRDObject).length === 0) decideStatus(crd, old as CRDObject, conflict);
        else crd.status = (old as CRDObject).status;
      },
      validate: (o, old) => validateCRD(o as CRDObject, old as CRDObject | undefined),
      prepareForDelete(o) {
        const crd = o as CRDObject;
        const fin = (crd.metadata.finalizers ??= []);
        if (fin.includes(CRD_CLEANUP_FINALIZER)) return false;
        fin.push(CRD_CLEANUP_FINALIZER);
        const conds = ((crd.status ??= {}).conditions ??= []);
        setCondition(conds, { type: "Terminating", status: "True", reason: "InstanceDeletionPending", message: "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon" });
        return true;
      },
    },
  });
}
