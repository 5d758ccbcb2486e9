import { describe, expect, it } from "bun:test";
import { join } from "node:path";
import { getOwn, hasOwn, setOwn } from "./own.ts";

describe("own-key helpers", () => {
  it("read own properties only", () => {
    const o = JSON.parse('{"__proto__":1,"a":2}');
    expect(getOwn(o, "__proto__")).toBe(1);
    expect(getOwn({}, "__proto__")).toBeUndefined();
    expect(getOwn({}, "constructor")).toBeUndefined();
    expect(getOwn({}, "toString")).toBeUndefined();
    expect(hasOwn({}, "hasOwnProperty")).toBe(false);
    expect(hasOwn(JSON.parse('{"hasOwnProperty":1}'), "hasOwnProperty")).toBe(true);
  });

  it("write own enumerable data properties, never a prototype", () => {
    const o: Record<string, unknown> = {};
    setOwn(o, "__proto__", { polluted: "yes" });
    setOwn(o, "constructor", "c");
    setOwn(o, "toString", "t");
    setOwn(o, "a", 1);
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(o)).toBe('{"__proto__":{"polluted":"yes"},"constructor":"c","toString":"t","a":1}');
    setOwn(o, "__proto__", 2);
    expect(getOwn(o, "__proto__")).toBe(2);
  });
});

/**
 * The daemon freezes Object.prototype (src/cli/serve.ts); then assigning `o.constructor = v` to
 * an object without an own `constructor` throws. This runs every engine in a process with a
 * frozen Object.prototype, writing such keys.
 */
describe("with Object.prototype frozen, as in the daemon", () => {
  it("every engine writes keys named like Object.prototype members", () => {
    const patchDir = join(import.meta.dir, "../patch");
    const script = `
      Object.freeze(Object.prototype);
      const { applyMergePatch, applyStrategicMergePatch, applyJsonPatch, serverSideApply, updateManagedFields } = await import(${JSON.stringify(join(patchDir, "index.ts"))});
      const { applyDefaults, cloneJSON, dropNulls, pruneUnknown, validateValue } = await import(${JSON.stringify(join(import.meta.dir, "index.ts"))});
      const keys = '{"__proto__":"p","constructor":"c","toString":"t","hasOwnProperty":"h","valueOf":"v"}';
      const data = () => JSON.parse(keys);
      const str = { type: "string" };
      const schema = { type: "object", properties: { apiVersion: str, kind: str, metadata: { type: "object" },
        data: { type: "object", additionalProperties: str }, spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } };
      const out = {};
      out.merge = applyMergePatch({ data: {} }, { data: data() }).data;
      out.smp = applyStrategicMergePatch({ data: {} }, { data: data() }, schema).data;
      out.json = applyJsonPatch({ data: {} }, Object.entries(data()).map(([k, value]) => ({ op: "add", path: "/data/" + k, value }))).data;
      const applied = { apiVersion: "v1", kind: "X", metadata: { name: "n" }, data: data(), spec: data() };
      const r = serverSideApply({ applied, manager: "m", force: false, apiVersion: "v1", schema, now: "2025-01-01T00:00:00Z" });
      out.ssa = r.object.data;
      out.ssaFields = Object.keys(r.managedFields[0].fieldsV1["f:data"]);
      const live = { ...r.object, metadata: { ...r.object.metadata, uid: "u" } };
      const next = { ...live, data: { ...data(), isPrototypeOf: "i" } };
      out.update = Object.keys(updateManagedFields({ oldObj: live, newObj: next, manager: "u", apiVersion: "v1", schema, now: "2025-01-01T00:00:01Z" })
        .find((e) => e.manager === "u").fieldsV1["f:data"]);
      const ds = JSON.parse('{"type":"object","properties":{"constructor":{"type":"string","default":"c"},"toString":{"type":"string","default":"t"}}}');
      const d = {};
      applyDefaults(d, ds);
      out.defaults = d;
      out.clone = cloneJSON(data());
      const n = JSON.parse('{"constructor":null,"a":1}');
      dropNulls(n, JSON.parse('{"type":"object","properties":{"constructor":{"type":"string"}}}'));
      out.dropNulls = n;
      const pr = { spec: data(), x: 1 };
      out.prune = pruneUnknown(pr, schema, { root: true });
      out.validate = validateValue({ data: data() }, schema, { root: true });
      console.log(JSON.stringify(out));
    `;
    const res = Bun.spawnSync([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    const stderr = res.stderr.toString();
    expect(stderr).toBe("");
    expect(res.exitCode).toBe(0);
    const out = JSON.parse(res.stdout.toString());
    const expected = JSON.parse('{"__proto__":"p","constructor":"c","toString":"t","hasOwnProperty":"h","valueOf":"v"}');
    expect(out.merge).toEqual(expected);
    expect(out.smp).toEqual(expected);
    expect(out.json).toEqual(expected);
    expect(out.ssa).toEqual(expected);
    expect(out.ssaFields).toEqual(["f:__proto__", "f:constructor", "f:hasOwnProperty", "f:toString", "f:valueOf"]);
    expect(out.update).toEqual(["f:isPrototypeOf"]);
    expect(out.defaults).toEqual({ constructor: "c", toString: "t" });
    expect(out.clone).toEqual(expected);
    expect(JSON.stringify(out.dropNulls)).toBe('{"a":1}');
    expect(out.prune).toEqual(["x"]);
    expect(out.validate).toEqual([]);
  });
});
