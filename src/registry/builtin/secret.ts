/** core/v1 Secret: stringData folds into data, type defaults to Opaque and is immutable. */
import type { ResourceDefinition } from "../types.ts";
import { builtinKind } from "./define.ts";
import { fieldError, type StatusCause } from "../../lib/api-errors.ts";
import type { KObject } from "../../lib/kobject.ts";
import { configMapKey } from "../validation/names.ts";
import { bool, ageColumn, nameColumn, resourceSchema, str, stringMap } from "./schema-helpers.ts";

const MAX_TOTAL_BYTES = 1024 * 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const schema = resourceSchema("Secret holds secret data of a certain type.", {
  data: { type: "object", description: "Secret data, base64 encoded.", additionalProperties: { type: "string", format: "byte" } },
  stringData: stringMap("Write-only convenience: non-binary data merged into data on write."),
  type: str("Used to facilitate programmatic handling of secret data."),
  immutable: bool("If set to true, the data cannot be updated (only object metadata can be modified)."),
});

/** Keys each well-known type requires in data. */
const REQUIRED_KEYS: Record<string, string[]> = {
  "kubernetes.io/dockercfg": [".dockercfg"],
  "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
  "kubernetes.io/tls": ["tls.crt", "tls.key"],
  "kubernetes.io/ssh-auth": ["ssh-privatekey"],
};

function foldStringData(o: KObject): void {
  const stringData = o.stringData as Record<string, unknown> | undefined;
  if (stringData && typeof stringData === "object") {
    const data = ((o.data as Record<string, string> | undefined) ??= {});
    for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v)).toString("base64");
  }
  delete o.stringData;
  if (!o.type) o.type = "Opaque";
}

function validateSecret(o: KObject, old?: KObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const data = (o.data ?? {}) as Record<string, unknown>;
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const msg of configMapKey(k)) causes.push(fieldError.invalid("data", k, msg));
    if (typeof v !== "string" || !BASE64.test(v)) causes.push(fieldError.invalid(`data[${k}]`, "<secret contents redacted>", "must be base64 encoded"));
    else total += Math.floor((v.length * 3) / 4);
  }
  if (total > MAX_TOTAL_BYTES) causes.push({ reason: "FieldValueTooLong", field: "data", message: `Too long: must have at most ${MAX_TOTAL_BYTES} bytes` });
  const type = String(o.type ?? "Opaque");
  for (const key of REQUIRED_KEYS[type] ?? []) if (!(key in data)) causes.push(fieldError.required(`data[${key}]`));
  if (type === "kubernetes.io/basic-auth" && !("username" in data) && !("password" in data)) {
    causes.push(fieldError.required("data[username]"));
  }
  if (type === "kubernetes.io/service-account-token" && !o.metadata.annotations?.["kubernetes.io/service-account.name"]) {
    causes.push(fieldError.required("metadata.annotations[kubernetes.io/service-account.name]"));
  }
  if (old) {
    if ((old.type ?? "Opaque") !== type) causes.push(fieldError.invalid("type", type, "field is immutable"));
    if (old.immutable === true) {
      if (o.immutable !== true) causes.push(fieldError.forbidden("immutable", "field is immutable when `immutable` is set"));
      if (JSON.stringify(o.data ?? {}) !== JSON.stringify(old.data ?? {})) causes.push(fieldError.forbidden("data", "field is immutable when `immutable` is set"));
    }
  }
  return causes;
}

export const secretDefinition: ResourceDefinition = builtinKind({
  group: "",
  kind: "Secret",
  plural: "secrets",
  namespaced: true,
  schema,
  printerColumns: [
    nameColumn,
    { name: "Type", type: "string", description: "The type of the secret", jsonPath: ".type" },
    { name: "Data", type: "integer", description: "Number of data keys", cell: (o) => Object.keys(o.data ?? {}).length },
    ageColumn,
  ],
  hooks: {
    prepareForCreate: foldStringData,
    prepareForUpdate: foldStringData,
    validate: validateSecret,
    fieldValue(o, field) {
      if (field === "type") return String(o.type ?? "");
      return undefined;
    },
    selectableFields: ["type"],
    allowUnconditionalUpdate: true,
    omitEmpty: ["data"],
  },
});
