/** core/v1 ConfigMap. */
import type { ResourceDefinition } from "../types.ts";
import { builtinKind } from "./define.ts";
import { fieldError, type StatusCause } from "../../lib/api-errors.ts";
import type { KObject } from "../../lib/kobject.ts";
import { configMapKey } from "../validation/names.ts";
import { bool, ageColumn, nameColumn, resourceSchema, stringMap } from "./schema-helpers.ts";

const MAX_TOTAL_BYTES = 1024 * 1024;

const schema = resourceSchema("ConfigMap holds configuration data for pods to consume.", {
  data: stringMap("Configuration data; keys must consist of alphanumeric characters, '-', '_' or '.'."),
  binaryData: { type: "object", description: "Binary configuration data, base64 encoded.", additionalProperties: { type: "string", format: "byte" } },
  immutable: bool("If set to true, the data cannot be updated (only object metadata can be modified)."),
});

function dataKeys(o: KObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const data = (o.data ?? {}) as Record<string, string>;
  const binary = (o.binaryData ?? {}) as Record<string, string>;
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const msg of configMapKey(k)) causes.push(fieldError.invalid("data", k, msg));
    total += Buffer.byteLength(String(v));
  }
  for (const [k, v] of Object.entries(binary)) {
    for (const msg of configMapKey(k)) causes.push(fieldError.invalid("binaryData", k, msg));
    if (k in data) causes.push(fieldError.invalid("data", k, "duplicate of key present in binaryData"));
    total += Math.floor((String(v).length * 3) / 4);
  }
  if (total > MAX_TOTAL_BYTES) causes.push({ reason: "FieldValueTooLong", field: "", message: `Too long: must have at most ${MAX_TOTAL_BYTES} bytes` });
  return causes;
}

export const configMapDefinition: ResourceDefinition = builtinKind({
  group: "",
  kind: "ConfigMap",
  plural: "configmaps",
  namespaced: true,
  shortNames: ["cm"],
  schema,
  printerColumns: [
    nameColumn,
    { name: "Data", type: "integer", description: "Number of data keys", cell: (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length },
    ageColumn,
  ],
  hooks: {
    validate(o, old) {
      const causes = dataKeys(o);
      if (old?.immutable === true) {
        if (o.immutable !== true) causes.push(fieldError.forbidden("immutable", "field is immutable when `immutable` is set"));
        const same = JSON.stringify(o.data ?? {}) === JSON.stringify(old.data ?? {}) && JSON.stringify(o.binaryData ?? {}) === JSON.stringify(old.binaryData ?? {});
        if (!same) causes.push(fieldError.forbidden("data", "field is immutable when `immutable` is set"));
      }
      return causes;
    },
    allowUnconditionalUpdate: true,
    omitEmpty: ["data", "binaryData"],
  },
});
