import { describe, expect, it } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import type { JSONSchemaProps } from "../schema/types.ts";
import { ALL_VERBS, makeResource, type ResourceVersion } from "../types.ts";
import { toStorageForWrite, toVersion, withStoredDefaults } from "./codec.ts";

const endpoint = (withDefault: boolean): JSONSchemaProps => ({
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        endpoint: { type: "object", properties: { host: { type: "string" }, port: withDefault ? { type: "integer", default: 6443 } : { type: "integer" } } },
      },
    },
  },
});

const version = (name: string, storage: boolean, schema: JSONSchemaProps): ResourceVersion => ({ name, served: true, storage, schema, printerColumns: [], subresources: {} });

function resource(schemaSinceRV?: number) {
  return makeResource({
    group: "example.com",
    plural: "things",
    singular: "thing",
    kind: "Thing",
    listKind: "ThingList",
    namespaced: true,
    shortNames: [],
    categories: [],
    // v1 has no default for the port, the storage version v2 does.
    versions: [version("v1", false, endpoint(false)), version("v2", true, endpoint(true))],
    verbs: ALL_VERBS,
    custom: true,
    schemaSinceRV,
  });
}

const thing = (apiVersion: string, rv: string): KObject => ({ apiVersion, kind: "Thing", metadata: { name: "t", namespace: "d", resourceVersion: rv }, spec: { endpoint: { host: "h" } } });

describe("storage-version defaults", () => {
  it("a write in another version gets the storage version's defaults; the request object is untouched", () => {
    const r = resource();
    const sent = thing("example.com/v1", "");
    const stored = toStorageForWrite(r, sent);
    expect(stored.apiVersion).toBe("example.com/v2");
    expect((stored.spec as { endpoint: unknown }).endpoint).toEqual({ host: "h", port: 6443 });
    expect((sent.spec as { endpoint: unknown }).endpoint).toEqual({ host: "h" });
  });

  it("a write in the storage version is left as admitted", () => {
    const sent = thing("example.com/v2", "");
    expect(toStorageForWrite(resource(), sent)).toBe(sent);
  });

  it("objects written before the CRD last changed are read with its defaults; newer ones as stored", () => {
    const r = resource(100);
    const old = Object.freeze(thing("example.com/v2", "99"));
    const read = toVersion(r, old, "v1");
    expect((read.spec as { endpoint: unknown }).endpoint).toEqual({ host: "h", port: 6443 });
    expect((old.spec as { endpoint: unknown }).endpoint).toEqual({ host: "h" });
    const fresh = thing("example.com/v2", "101");
    expect(withStoredDefaults(r, fresh)).toBe(fresh);
    expect(withStoredDefaults(resource(), old)).toBe(old);
  });
});
