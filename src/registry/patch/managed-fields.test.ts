import { describe, expect, test } from "bun:test";
import { ApiError } from "../../lib/api-errors.ts";
import type { KObject, ManagedFieldsEntry } from "../../lib/kobject.ts";
import type { JSONSchemaProps } from "../schema/types.ts";
import { applyJsonPatch } from "./json-patch.ts";
import {
  LAST_APPLIED_ANNOTATION,
  buildLastApplied,
  decodeManagedFields,
  isResetManagedFields,
  managerFromUserAgent,
  serverSideApply,
  updateManagedFields,
  validateManagedFields,
} from "./managed-fields.ts";
import { applyMergePatch } from "./merge-patch.ts";

// --- fixtures --------------------------------------------------------------------------------

const str: JSONSchemaProps = { type: "string" };

const configMapSchema: JSONSchemaProps = {
  type: "object",
  properties: {
    apiVersion: str,
    kind: str,
    metadata: { type: "object" },
    data: { type: "object", additionalProperties: str },
    binaryData: { type: "object", additionalProperties: str },
    immutable: { type: "boolean" },
  },
};

const GV = "cluster.x-k8s.io/v1beta1";

/** A CR with a list-map (spec.conditions keyed by type) and a status. */
const widgetSchema: JSONSchemaProps = {
  type: "object",
  properties: {
    apiVersion: str,
    kind: str,
    metadata: { type: "object" },
    spec: {
      type: "object",
      properties: {
        replicas: { type: "integer" },
        paused: { type: "boolean" },
        conditions: {
          type: "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["type"],
          items: { type: "object", required: ["type"], properties: { type: str, status: str, reason: str } },
        },
      },
    },
    status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
  },
};

const T = (s: number) => `2025-03-01T10:00:${String(s).padStart(2, "0")}Z`;

let uidSeq = 0;

/** What the registry does around the engine on create: compute managedFields, then stamp metadata. */
function create(obj: KObject, manager: string, now: string, schema = configMapSchema, apiVersion = "v1"): KObject {
  const mf = updateManagedFields({ newObj: obj, manager, apiVersion, schema, now });
  const out = structuredClone(obj);
  out.metadata = { ...out.metadata, uid: `uid-${++uidSeq}`, resourceVersion: "1", creationTimestamp: now };
  if (mf.length) out.metadata.managedFields = mf;
  else delete out.metadata.managedFields;
  return out;
}

function update(live: KObject, next: KObject, manager: string, now: string, opts: { schema?: JSONSchemaProps; apiVersion?: string; subresource?: string; resetFields?: string[] } = {}): KObject {
  const mf = updateManagedFields({
    oldObj: live,
    newObj: next,
    manager,
    apiVersion: opts.apiVersion ?? "v1",
    schema: opts.schema ?? configMapSchema,
    now,
    subresource: opts.subresource,
    resetFields: opts.resetFields,
  });
  const out = structuredClone(next);
  if (mf.length) out.metadata.managedFields = mf;
  else delete out.metadata.managedFields;
  return out;
}

function mergePatch(live: KObject, patch: object, manager: string, now: string, opts: Parameters<typeof update>[4] = {}): KObject {
  return update(live, applyMergePatch(live, patch) as KObject, manager, now, opts);
}

function apply(live: KObject | undefined, applied: KObject, manager: string, now: string, opts: { force?: boolean; schema?: JSONSchemaProps; apiVersion?: string } = {}) {
  const r = serverSideApply({
    live,
    applied,
    manager,
    force: opts.force ?? false,
    apiVersion: opts.apiVersion ?? "v1",
    schema: opts.schema ?? configMapSchema,
    now,
  });
  if (!live) r.object.metadata = { ...r.object.metadata, uid: `uid-${++uidSeq}`, resourceVersion: "1", creationTimestamp: now };
  return r;
}

function applyError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("expected an ApiError");
}

const entry = (manager: string, operation: "Apply" | "Update", time: string | undefined, fieldsV1: object, extra: Partial<ManagedFieldsEntry> = {}, apiVersion = "v1"): ManagedFieldsEntry => {
  const e: ManagedFieldsEntry = { manager, operation, apiVersion };
  if (time) e.time = time;
  e.fieldsType = "FieldsV1";
  e.fieldsV1 = fieldsV1 as Record<string, unknown>;
  return { ...e, ...extra };
};

/** A ConfigMap; empty data is left out, as decoding into the typed object does. */
const cm = (data: Record<string, string>, meta: Record<string, unknown> = {}): KObject => {
  const o: KObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "default", ...meta } };
  if (Object.keys(data).length) o.data = data;
  return o;
};

// --- updates (create / update / patch) -------------------------------------------------------

describe("updateManagedFields: client-side workflows on a ConfigMap", () => {
  test("kubectl create: every field set is owned; maps that appear own themselves ('.')", () => {
    const obj = create(cm({ a: "1", b: "2" }, { labels: { app: "x" } }), "kubectl-create", T(1));
    expect(obj.metadata.managedFields).toEqual([
      entry("kubectl-create", "Update", T(1), {
        "f:data": { ".": {}, "f:a": {}, "f:b": {} },
        "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
      }),
    ]);
  });

  test("client-side apply, label, apply again, edit, annotate", () => {
    const la1 = '{"apiVersion":"v1","data":{"a":"1","b":"2"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"c","namespace":"default"}}\n';
    let o = create(cm({ a: "1", b: "2" }, { annotations: { [LAST_APPLIED_ANNOTATION]: la1 } }), "kubectl-client-side-apply", T(1));
    const csa1 = entry("kubectl-client-side-apply", "Update", T(1), {
      "f:data": { ".": {}, "f:a": {}, "f:b": {} },
      "f:metadata": { "f:annotations": { ".": {}, [`f:${LAST_APPLIED_ANNOTATION}`]: {} } },
    });
    expect(o.metadata.managedFields).toEqual([csa1]);

    // kubectl label cm c env=dev
    o = mergePatch(o, { metadata: { labels: { env: "dev" } } }, "kubectl-label", T(2));
    const label = entry("kubectl-label", "Update", T(2), { "f:metadata": { "f:labels": { ".": {}, "f:env": {} } } });
    expect(o.metadata.managedFields).toEqual([csa1, label]);

    // kubectl apply -f (b removed, c added): the strategic merge patch kubectl sends
    o = mergePatch(o, { data: { b: null, c: "3" }, metadata: { annotations: { [LAST_APPLIED_ANNOTATION]: "v2" } } }, "kubectl-client-side-apply", T(3));
    const csa3 = entry("kubectl-client-side-apply", "Update", T(3), {
      "f:data": { ".": {}, "f:a": {}, "f:c": {} },
      "f:metadata": { "f:annotations": { ".": {}, [`f:${LAST_APPLIED_ANNOTATION}`]: {} } },
    });
    expect(o.metadata.managedFields).toEqual([label, csa3]);

    // kubectl edit changes data.a: ownership moves to kubectl-edit
    o = mergePatch(o, { data: { a: "edited" } }, "kubectl-edit", T(4));
    const csa4 = { ...csa3, fieldsV1: { "f:data": { ".": {}, "f:c": {} }, "f:metadata": csa3.fieldsV1!["f:metadata"] } };
    const edit = entry("kubectl-edit", "Update", T(4), { "f:data": { "f:a": {} } });
    expect(o.metadata.managedFields).toEqual([label, csa4, edit]);

    // kubectl annotate
    o = mergePatch(o, { metadata: { annotations: { note: "x" } } }, "kubectl-annotate", T(5));
    expect(o.metadata.managedFields).toEqual([label, csa4, edit, entry("kubectl-annotate", "Update", T(5), { "f:metadata": { "f:annotations": { "f:note": {} } } })]);
  });

  test("an update that changes nothing keeps managedFields and times as they were", () => {
    const o = create(cm({ a: "1" }), "kubectl-create", T(1));
    const again = update(o, structuredClone(o), "someone", T(9));
    expect(again.metadata.managedFields).toEqual(o.metadata.managedFields);
  });

  test("a manager's later updates merge into its entry and move its time", () => {
    let o = create(cm({ a: "1" }), "ctl", T(1));
    o = mergePatch(o, { data: { b: "2" } }, "ctl", T(2));
    expect(o.metadata.managedFields).toEqual([entry("ctl", "Update", T(2), { "f:data": { ".": {}, "f:a": {}, "f:b": {} } })]);
  });

  test("removing a field drops it from every owner, and an owner left with nothing disappears", () => {
    let o = create(cm({ a: "1" }), "creator", T(1));
    o = mergePatch(o, { data: { b: "2" } }, "other", T(2));
    o = mergePatch(o, { data: { b: null } }, "remover", T(3));
    expect(o.metadata.managedFields).toEqual([entry("creator", "Update", T(1), { "f:data": { ".": {}, "f:a": {} } })]);
  });

  test("metadata fields the server owns are never tracked", () => {
    const o = create(cm({}, { generateName: "g-", finalizers: ["f"] }), "c", T(1));
    const next = structuredClone(o);
    next.metadata = { ...next.metadata, resourceVersion: "7", generation: 3, uid: "changed", creationTimestamp: T(5) };
    const after = update(o, next, "x", T(2));
    expect(after.metadata.managedFields).toEqual([entry("c", "Update", T(1), { "f:metadata": { "f:finalizers": { ".": {}, 'v:"f"': {} }, "f:generateName": {} } })]);
  });

  test("Update entries are per apiVersion: the same manager at another version is another entry", () => {
    let o = create({ apiVersion: GV, kind: "Widget", metadata: { name: "w" }, spec: { replicas: 1 } }, "ctl", T(1), widgetSchema, GV);
    o = mergePatch(o, { spec: { paused: true } }, "ctl", T(2), { schema: widgetSchema, apiVersion: "cluster.x-k8s.io/v1alpha4" });
    expect(o.metadata.managedFields!.map((e) => [e.manager, e.apiVersion])).toEqual([
      ["ctl", GV],
      ["ctl", "cluster.x-k8s.io/v1alpha4"],
    ]);
  });
});

describe("updateManagedFields: kube-apiserver TestApplyManagedFields sequence", () => {
  test("apply, then two merge patches by one updater", () => {
    let r = apply(undefined, cm({ key: "value" }, { name: "test-cm", labels: { "test-label": "test" } }), "apply_test", T(1));
    let o = r.object;
    o = mergePatch(o, { data: { "new-key": "value" } }, "updater", T(2));
    o = mergePatch(o, { data: { key: "new value" } }, "updater", T(3));
    expect(o.metadata.managedFields).toEqual([
      entry("apply_test", "Apply", T(1), { "f:metadata": { "f:labels": { "f:test-label": {} } } }),
      entry("updater", "Update", T(3), { "f:data": { "f:key": {}, "f:new-key": {} } }),
    ]);
    expect(o.data).toEqual({ key: "new value", "new-key": "value" });
  });
});

describe("updateManagedFields: subresources and reset fields", () => {
  const widget = () => create({ apiVersion: GV, kind: "Widget", metadata: { name: "w", namespace: "default" }, spec: { replicas: 1 } }, "creator", T(1), widgetSchema, GV);

  test("a status write is its own entry (subresource: status)", () => {
    let o = widget();
    o = mergePatch(o, { status: { phase: "Provisioned" } }, "capi-controller", T(2), { schema: widgetSchema, apiVersion: GV, subresource: "status" });
    expect(o.metadata.managedFields).toEqual([
      entry("creator", "Update", T(1), { "f:spec": { ".": {}, "f:replicas": {} } }, {}, GV),
      entry("capi-controller", "Update", T(2), { "f:status": { ".": {}, "f:phase": {} } }, { subresource: "status" }, GV),
    ]);
    // the same manager on the main resource gets a separate entry
    o = mergePatch(o, { spec: { paused: true } }, "capi-controller", T(3), { schema: widgetSchema, apiVersion: GV });
    expect(o.metadata.managedFields!.map((e) => [e.manager, e.subresource ?? ""])).toEqual([
      ["creator", ""],
      ["capi-controller", "status"],
      ["capi-controller", ""],
    ]);
  });

  test("managedFields written through a subresource are ignored", () => {
    let o = widget();
    const next = applyMergePatch(o, { status: { phase: "x" }, metadata: { managedFields: [] } }) as KObject;
    o = update(o, next, "s", T(2), { schema: widgetSchema, apiVersion: GV, subresource: "status" });
    expect(o.metadata.managedFields!.map((e) => e.manager)).toEqual(["creator", "s"]);
  });

  test("reset fields are neither owned nor compared (status on the main resource)", () => {
    let o = widget();
    o = mergePatch(o, { status: { phase: "x" }, spec: { paused: true } }, "u", T(2), { schema: widgetSchema, apiVersion: GV, resetFields: ["status"] });
    expect(o.metadata.managedFields![1]).toEqual(entry("u", "Update", T(2), { "f:spec": { "f:paused": {} } }, {}, GV));
  });

  test("spec changes sent to the status subresource are not owned", () => {
    let o = widget();
    o = mergePatch(o, { status: { phase: "x" }, spec: { paused: true } }, "u", T(2), { schema: widgetSchema, apiVersion: GV, subresource: "status" });
    expect(o.metadata.managedFields![1].fieldsV1).toEqual({ "f:status": { ".": {}, "f:phase": {} } });
  });
});

describe("updateManagedFields: writes to managedFields", () => {
  test("[] or [{}] resets: nothing unchanged is owned, and the object stays untracked afterwards", () => {
    const o = apply(undefined, cm({ key: "value" }, { labels: { l: "v" } }), "apply_test", T(1)).object;
    for (const reset of [[], [{}]]) {
      expect(isResetManagedFields(reset)).toBe(true);
      const next = structuredClone(o);
      next.metadata.managedFields = reset as ManagedFieldsEntry[];
      const cleared = update(o, next, "updater", T(2));
      expect(cleared.metadata.managedFields).toBeUndefined();
      // TestClearManagedFieldsWithUpdateEmptyList: later updates do not start tracking again
      const later = mergePatch(cleared, { metadata: { labels: { l: "v1" } } }, "other", T(3));
      expect(later.metadata.managedFields).toBeUndefined();
    }
  });

  test("a reset together with a change: the object is no longer tracked at all (skip-non-applied)", () => {
    const o = apply(undefined, cm({ key: "value" }), "apply_test", T(1)).object;
    const next = applyMergePatch(o, { data: { other: "x" } }) as KObject;
    next.metadata.managedFields = [];
    expect(update(o, next, "w", T(2)).metadata.managedFields).toBeUndefined();
  });

  test("the CSA→SSA upgrade JSON patch kubectl sends is kept as written", () => {
    const o = create(cm({ a: "1" }, { annotations: { [LAST_APPLIED_ANNOTATION]: "x" } }), "kubectl-client-side-apply", T(1));
    const upgraded = [entry("kubectl", "Apply", T(1), { "f:data": { ".": {}, "f:a": {} }, "f:metadata": { "f:annotations": { ".": {}, [`f:${LAST_APPLIED_ANNOTATION}`]: {} } } })];
    const next = applyJsonPatch(o, [
      { op: "replace", path: "/metadata/managedFields", value: upgraded },
      { op: "replace", path: "/metadata/resourceVersion", value: "1" },
    ]) as KObject;
    expect(update(o, next, "kubectl", T(2)).metadata.managedFields).toEqual(upgraded);
  });

  test("managedFields written with another manager renamed merge like upstream (last entry wins)", () => {
    let o = apply(undefined, cm({ a: "1" }), "first", T(1)).object;
    o = mergePatch(o, { metadata: { labels: { a: "one" } } }, "one", T(2));
    o = mergePatch(o, { metadata: { labels: { b: "two" } } }, "two", T(3));
    const next = structuredClone(o);
    next.metadata.managedFields = next.metadata.managedFields!.map((e) => ({ ...e, manager: "multi" }));
    const out = update(o, next, "x", T(4));
    expect(out.metadata.managedFields).toEqual([
      entry("multi", "Apply", T(1), { "f:data": { "f:a": {} } }),
      entry("multi", "Update", T(3), { "f:metadata": { "f:labels": { "f:b": {} } } }),
    ]);
  });

  test("invalid managedFields in a create are ignored (tracked from scratch)", () => {
    const obj = cm({ key: "value" });
    obj.metadata.managedFields = [{ manager: "m", operation: "Apply", apiVersion: "v1", time: T(0), fieldsType: "" as "FieldsV1", fieldsV1: {} }];
    expect(create(obj, "apply_test", T(1)).metadata.managedFields).toEqual([entry("apply_test", "Update", T(1), { "f:data": { ".": {}, "f:key": {} } })]);
  });

  test("decodeManagedFields rejects what upstream rejects", () => {
    expect(() => decodeManagedFields([{ operation: "Delete", apiVersion: "v1", fieldsType: "FieldsV1" }])).toThrow("operation must be `Apply` or `Update`");
    expect(() => decodeManagedFields([{ operation: "Apply", fieldsType: "FieldsV1" }])).toThrow("apiVersion must not be empty");
    expect(() => decodeManagedFields([{ operation: "Apply", apiVersion: "v1" }])).toThrow("missing fieldsType in managed fields entry 0");
    expect(() => decodeManagedFields([{ operation: "Apply", apiVersion: "v1", fieldsType: "FieldsV2" }])).toThrow('invalid fieldsType "FieldsV2" in managed fields entry 0');
  });

  test("validateManagedFields (object validation)", () => {
    expect(validateManagedFields([{ manager: "m", operation: "Delete" as "Apply", apiVersion: "v1", fieldsType: "FieldsV2" as "FieldsV1" }])).toEqual([
      { reason: "FieldValueInvalid", field: "metadata.managedFields[0].operation", message: 'Invalid value: "Delete": must be `Apply` or `Update`' },
      { reason: "FieldValueInvalid", field: "metadata.managedFields[0].fieldsType", message: 'Invalid value: "FieldsV2": must be `FieldsV1`' },
    ]);
    expect(validateManagedFields([{ manager: "x".repeat(129), operation: "Apply" }])[0].field).toBe("metadata.managedFields[0].manager");
  });
});

describe("updateManagedFields: caps Update entries at 10", () => {
  test("the oldest merge into ancient-changes", () => {
    let o = create(cm({}, { labels: { l0: "v" } }), "m0", T(0));
    for (let i = 1; i <= 11; i++) o = mergePatch(o, { metadata: { labels: { [`l${i}`]: "v" } } }, `m${i}`, T(i));
    const mf = o.metadata.managedFields!;
    expect(mf.length).toBe(10);
    expect(mf[0]).toEqual(entry("ancient-changes", "Update", T(2), { "f:metadata": { "f:labels": { ".": {}, "f:l0": {}, "f:l1": {}, "f:l2": {} } } }));
    expect(mf.slice(1).map((e) => e.manager)).toEqual(["m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10", "m11"]);
  });
});

// --- server-side apply -----------------------------------------------------------------------

describe("serverSideApply: kubectl apply --server-side on a ConfigMap", () => {
  const applied0 = () => cm({ a: "1", b: "2" }, { labels: { app: "x" } });
  const kubectlEntry = (time: string, fields: object) => entry("kubectl", "Apply", time, fields);

  test("create (the 201 path): the applier owns what it applied", () => {
    const r = apply(undefined, applied0(), "kubectl", T(1));
    expect(r.changed).toBe(true);
    expect(r.object.data).toEqual({ a: "1", b: "2" });
    expect(r.managedFields).toEqual([kubectlEntry(T(1), { "f:data": { "f:a": {}, "f:b": {} }, "f:metadata": { "f:labels": { "f:app": {} } } })]);
    expect(r.object.metadata.managedFields).toEqual(r.managedFields);
  });

  test("re-applying the same configuration changes nothing", () => {
    const o = apply(undefined, applied0(), "kubectl", T(1)).object;
    const r = apply(o, applied0(), "kubectl", T(2));
    expect(r.changed).toBe(false);
    expect(r.object).toEqual(o);
  });

  test("a second manager changing an owned field conflicts (Apply owner: no 'using')", () => {
    const o = apply(undefined, applied0(), "kubectl", T(1)).object;
    const e = applyError(() => apply(o, cm({ a: "9" }), "other", T(2)));
    expect(e.code).toBe(409);
    expect(e.toStatus()).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'Apply failed with 1 conflict: conflict with "kubectl": .data.a',
      reason: "Conflict",
      details: { causes: [{ reason: "FieldManagerConflict", message: 'conflict with "kubectl"', field: ".data.a" }] },
      code: 409,
    });
  });

  test("a conflict with an Update owner names its apiVersion", () => {
    let o = apply(undefined, applied0(), "kubectl", T(1)).object;
    o = mergePatch(o, { data: { a: "edited" } }, "kubectl-edit", T(2));
    const e = applyError(() => apply(o, applied0(), "kubectl", T(3)));
    expect(e.message).toBe('Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.a');
    expect(e.details?.causes).toEqual([{ reason: "FieldManagerConflict", message: 'conflict with "kubectl-edit" using v1', field: ".data.a" }]);
  });

  test("several conflicts are grouped by manager", () => {
    let o = create(cm({ a: "1", b: "2" }), "m1", T(1));
    o = apply(o, cm({ c: "3" }), "m2", T(2)).object;
    const e = applyError(() => apply(o, cm({ a: "x", b: "y", c: "z" }), "m3", T(3)));
    expect(e.message).toBe('Apply failed with 3 conflicts: conflicts with "m1" using v1:\n- .data.a\n- .data.b\nconflicts with "m2":\n- .data.c');
    expect(e.details?.causes?.map((c) => [c.message, c.field])).toEqual([
      ['conflict with "m1" using v1', ".data.a"],
      ['conflict with "m1" using v1', ".data.b"],
      ['conflict with "m2"', ".data.c"],
    ]);
  });

  test("equal values are co-owned without conflict (the new entry has no time: the object did not change)", () => {
    const o = apply(undefined, applied0(), "kubectl", T(1)).object;
    const r = apply(o, cm({ a: "1" }), "other", T(2));
    expect(r.changed).toBe(true);
    expect(r.managedFields).toEqual([
      { manager: "other", operation: "Apply", apiVersion: "v1", fieldsType: "FieldsV1", fieldsV1: { "f:data": { "f:a": {} } } },
      kubectlEntry(T(1), { "f:data": { "f:a": {}, "f:b": {} }, "f:metadata": { "f:labels": { "f:app": {} } } }),
    ]);
  });

  test("--force-conflicts moves ownership; the previous owner's re-apply then conflicts", () => {
    let o = apply(undefined, applied0(), "kubectl", T(1)).object;
    const r = apply(o, cm({ a: "9" }), "other", T(2), { force: true });
    o = r.object;
    expect(o.data).toEqual({ a: "9", b: "2" });
    expect(r.managedFields).toEqual([
      kubectlEntry(T(1), { "f:data": { "f:b": {} }, "f:metadata": { "f:labels": { "f:app": {} } } }),
      entry("other", "Apply", T(2), { "f:data": { "f:a": {} } }),
    ]);
    const e = applyError(() => apply(o, applied0(), "kubectl", T(3)));
    expect(e.message).toBe('Apply failed with 1 conflict: conflict with "other": .data.a');
  });

  test("fields the applier stops applying are removed unless someone else owns them", () => {
    let o = apply(undefined, applied0(), "kubectl", T(1)).object;
    o = apply(o, cm({ a: "9" }), "other", T(2), { force: true }).object;
    const r = apply(o, cm({}, { labels: { app: "x" } }), "kubectl", T(3));
    expect(r.object.data).toEqual({ a: "9" });
    expect(r.managedFields).toEqual([entry("other", "Apply", T(2), { "f:data": { "f:a": {} } }), kubectlEntry(T(3), { "f:metadata": { "f:labels": { "f:app": {} } } })]);
  });

  test("a field co-owned by two appliers survives when one of them drops it", () => {
    let o = apply(undefined, applied0(), "owner1", T(1)).object;
    o = apply(o, applied0(), "owner2", T(2)).object;
    const r = apply(o, cm({ a: "1" }, { labels: { app: "x" } }), "owner1", T(3));
    expect(r.object.data).toEqual({ a: "1", b: "2" });
  });

  test("an apply that leaves nothing owned stores no managedFields", () => {
    const r = apply(undefined, cm({}), "apply_test", T(1));
    expect(r.managedFields).toEqual([]);
    expect("managedFields" in r.object.metadata).toBe(false);
  });

  test("an object created without tracking: existing fields belong to before-first-apply", () => {
    const live = cm({ a: "1" }, { uid: "u", resourceVersion: "5" });
    const e = applyError(() => apply(live, cm({ a: "2" }), "m", T(2)));
    expect(e.message).toBe('Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .data.a');
    const r = apply(live, cm({ b: "2" }), "m", T(2));
    expect(r.managedFields).toEqual([
      entry("m", "Apply", T(2), { "f:data": { "f:b": {} } }),
      entry("before-first-apply", "Update", T(2), { "f:data": { ".": {}, "f:a": {} } }),
    ]);
  });

  test("the inputs are never mutated", () => {
    const live = apply(undefined, applied0(), "kubectl", T(1)).object;
    const liveCopy = structuredClone(live);
    const applied = cm({ a: "9" });
    const appliedCopy = structuredClone(applied);
    apply(live, applied, "other", T(2), { force: true });
    expect(live).toEqual(liveCopy);
    expect(applied).toEqual(appliedCopy);
  });
});

describe("serverSideApply: client-side apply interplay (manager kubectl)", () => {
  const applied = () => cm({ a: "2" });

  test("conflicts on fields still matching last-applied are allowed, and the annotation follows the apply", () => {
    const la = buildLastApplied(cm({ a: "1" }));
    const o = create(cm({ a: "1" }, { annotations: { [LAST_APPLIED_ANNOTATION]: la } }), "kubectl-client-side-apply", T(1));
    // another manager would conflict
    expect(applyError(() => apply(o, applied(), "someone", T(2))).code).toBe(409);
    const r = apply(o, applied(), "kubectl", T(2));
    expect(r.object.data).toEqual({ a: "2" });
    expect(r.object.metadata.annotations![LAST_APPLIED_ANNOTATION]).toBe(
      '{"apiVersion":"v1","data":{"a":"2"},"kind":"ConfigMap","metadata":{"name":"c","namespace":"default"}}\n',
    );
    expect(r.managedFields).toEqual([
      entry("kubectl", "Apply", T(2), { "f:data": { "f:a": {} } }),
      entry("kubectl-client-side-apply", "Update", T(1), { "f:data": {}, "f:metadata": { "f:annotations": { ".": {}, [`f:${LAST_APPLIED_ANNOTATION}`]: {} } } }),
    ]);
  });

  test("after kubectl's managedFields upgrade, the next apply drops the last-applied annotation it no longer sends", () => {
    const o = create(cm({ a: "1" }, { annotations: { [LAST_APPLIED_ANNOTATION]: buildLastApplied(cm({ a: "1" })) } }), "kubectl-client-side-apply", T(1));
    const upgraded = [entry("kubectl", "Apply", T(1), o.metadata.managedFields![0].fieldsV1!)];
    const next = applyJsonPatch(o, [{ op: "replace", path: "/metadata/managedFields", value: upgraded }]) as KObject;
    const migrated = update(o, next, "kubectl", T(2));
    const r = apply(migrated, cm({ a: "1" }), "kubectl", T(3));
    expect(r.object.metadata.annotations).toBeUndefined();
    expect(r.managedFields).toEqual([entry("kubectl", "Apply", T(3), { "f:data": { "f:a": {} } })]);
  });

  test("conflicts outside last-applied still fail for kubectl", () => {
    let o = create(cm({ a: "1" }, { annotations: { [LAST_APPLIED_ANNOTATION]: buildLastApplied(cm({ a: "1" })) } }), "kubectl-client-side-apply", T(1));
    o = mergePatch(o, { data: { a: "edited" } }, "kubectl-edit", T(2));
    expect(applyError(() => apply(o, applied(), "kubectl", T(3))).message).toBe('Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.a');
  });
});

describe("serverSideApply: a custom resource with a list-map (spec.conditions keyed by type)", () => {
  const w = (spec: object, meta: object = {}): KObject => ({ apiVersion: GV, kind: "Widget", metadata: { name: "w", namespace: "default", ...meta }, spec });
  const opts = { schema: widgetSchema, apiVersion: GV };

  test("apply, a second applier adds a condition, conflicts, controller ownership, prune", () => {
    const r1 = apply(undefined, w({ replicas: 1, conditions: [{ type: "Ready", status: "True" }] }), "mgr-a", T(1), opts);
    let o = r1.object;
    const a1 = entry("mgr-a", "Apply", T(1), { "f:spec": { "f:conditions": { 'k:{"type":"Ready"}': { ".": {}, "f:status": {}, "f:type": {} } }, "f:replicas": {} } }, {}, GV);
    expect(r1.managedFields).toEqual([a1]);

    const r2 = apply(o, w({ conditions: [{ type: "Synced", status: "False" }] }), "mgr-b", T(2), opts);
    o = r2.object;
    expect((o.spec as any).conditions).toEqual([
      { type: "Ready", status: "True" },
      { type: "Synced", status: "False" },
    ]);
    const b2 = entry("mgr-b", "Apply", T(2), { "f:spec": { "f:conditions": { 'k:{"type":"Synced"}': { ".": {}, "f:status": {}, "f:type": {} } } } }, {}, GV);
    expect(r2.managedFields).toEqual([a1, b2]);

    const e = applyError(() =>
      apply(o, w({ conditions: [{ type: "Synced", status: "False" }, { type: "Ready", status: "False" }] }), "mgr-b", T(3), opts),
    );
    expect(e.message).toBe('Apply failed with 1 conflict: conflict with "mgr-a": .spec.conditions[type="Ready"].status');

    // a controller scales with a merge patch: it takes spec.replicas
    o = mergePatch(o, { spec: { replicas: 3 } }, "capi-controller", T(4), opts);
    expect(o.metadata.managedFields).toEqual([
      entry("mgr-a", "Apply", T(1), { "f:spec": { "f:conditions": { 'k:{"type":"Ready"}': { ".": {}, "f:status": {}, "f:type": {} } } } }, {}, GV),
      b2,
      entry("capi-controller", "Update", T(4), { "f:spec": { "f:replicas": {} } }, {}, GV),
    ]);
    const e2 = applyError(() => apply(o, w({ replicas: 1, conditions: [{ type: "Ready", status: "True" }] }), "mgr-a", T(5), opts));
    expect(e2.message).toBe('Apply failed with 1 conflict: conflict with "capi-controller" using cluster.x-k8s.io/v1beta1: .spec.replicas');

    // mgr-a stops applying its condition: the item goes, mgr-b's stays
    const r6 = apply(o, w({ paused: false }), "mgr-a", T(6), opts);
    expect(r6.object.spec).toEqual({ replicas: 3, conditions: [{ type: "Synced", status: "False" }], paused: false });
    expect(r6.managedFields.find((e) => e.manager === "mgr-a")).toEqual(entry("mgr-a", "Apply", T(6), { "f:spec": { "f:paused": {} } }, {}, GV));
  });

  test("list-map merge order follows structured-merge-diff (live order, applied items placed by the applied order)", () => {
    const live = apply(
      undefined,
      w({ conditions: [{ type: "A", status: "1" }, { type: "B", status: "1" }, { type: "C", status: "1" }] }),
      "mgr-a",
      T(1),
      opts,
    ).object;
    const r = apply(live, w({ conditions: [{ type: "C", status: "1" }, { type: "X", status: "1" }, { type: "A", status: "1" }] }), "mgr-b", T(2), opts);
    expect((r.object.spec as any).conditions.map((c: any) => c.type)).toEqual(["B", "C", "X", "A"]);
  });

  test("apply to the status subresource is its own entry and ignores spec", () => {
    const live = apply(undefined, w({ replicas: 1 }), "mgr-a", T(1), opts).object;
    const r = serverSideApply({
      live,
      applied: { ...w({ replicas: 5 }), status: { phase: "Ready" } },
      manager: "capi-controller",
      force: false,
      apiVersion: GV,
      subresource: "status",
      schema: widgetSchema,
      now: T(2),
    });
    expect(r.managedFields[1]).toEqual(entry("capi-controller", "Apply", T(2), { "f:status": { "f:phase": {} } }, { subresource: "status" }, GV));
  });

  test("client-side apply create of a CR: new maps and lists own themselves", () => {
    const o = create(
      w({ replicas: 1, conditions: [{ type: "Ready", status: "True" }] }, { annotations: { [LAST_APPLIED_ANNOTATION]: "{}" } }),
      "kubectl-client-side-apply",
      T(1),
      widgetSchema,
      GV,
    );
    expect(o.metadata.managedFields).toEqual([
      entry(
        "kubectl-client-side-apply",
        "Update",
        T(1),
        {
          "f:metadata": { "f:annotations": { ".": {}, [`f:${LAST_APPLIED_ANNOTATION}`]: {} } },
          "f:spec": { ".": {}, "f:conditions": { ".": {}, 'k:{"type":"Ready"}': { ".": {}, "f:status": {}, "f:type": {} } }, "f:replicas": {} },
        },
        {},
        GV,
      ),
    ]);
  });

  test("an update adding a list-map item owns the item", () => {
    let o = apply(undefined, w({ conditions: [{ type: "Ready", status: "True" }] }), "mgr-a", T(1), opts).object;
    const next = structuredClone(o);
    (next.spec as any).conditions.push({ type: "Synced", status: "True" });
    o = update(o, next, "ctl", T(2), opts);
    expect(o.metadata.managedFields![1]).toEqual(
      entry("ctl", "Update", T(2), { "f:spec": { "f:conditions": { 'k:{"type":"Synced"}': { ".": {}, "f:status": {}, "f:type": {} } } } }, {}, GV),
    );
  });
});

describe("serverSideApply: structured-merge-diff set and list-map cases", () => {
  const schema: JSONSchemaProps = structuredClone(widgetSchema);
  schema.properties!.spec.properties!.tags = { type: "array", "x-kubernetes-list-type": "set", items: str };
  const opts = { schema, apiVersion: GV };
  const w = (spec: object): KObject => ({ apiVersion: GV, kind: "Widget", metadata: { name: "w", namespace: "default" }, spec });
  const tagSet = (...tags: string[]) => ({ "f:spec": { "f:tags": Object.fromEntries(tags.map((t) => [`v:"${t}"`, {}])) } });

  test("apply, update, apply without overlap (set items interleave)", () => {
    let o = apply(undefined, w({ tags: ["a", "c"] }), "default", T(1), opts).object;
    const next = structuredClone(o);
    (next.spec as any).tags = ["a", "b", "c", "d"];
    o = update(o, next, "controller", T(2), opts);
    const r = apply(o, w({ tags: ["a", "aprime", "c", "cprime"] }), "default", T(3), opts);
    expect((r.object.spec as any).tags).toEqual(["a", "b", "aprime", "c", "d", "cprime"]);
    expect(r.managedFields).toEqual([
      entry("default", "Apply", T(3), tagSet("a", "aprime", "c", "cprime"), {}, GV),
      entry("controller", "Update", T(2), tagSet("b", "d"), {}, GV),
    ]);
  });

  test("an update that only reorders a set owns nothing; re-applying restores the applied order", () => {
    let o = apply(undefined, w({ tags: ["a", "b", "c", "d"] }), "default", T(1), opts).object;
    const next = structuredClone(o);
    (next.spec as any).tags = ["a", "d", "c", "b"];
    o = update(o, next, "controller", T(2), opts);
    expect(o.metadata.managedFields!.map((e) => e.manager)).toEqual(["default"]);
    const r = apply(o, w({ tags: ["a", "b", "c", "d"] }), "default", T(3), opts);
    expect((r.object.spec as any).tags).toEqual(["a", "b", "c", "d"]);
  });

  test("applying a different list-map item removes the one applied before", () => {
    let o = apply(undefined, w({ conditions: [{ type: "A", status: "1" }] }), "default", T(1), opts).object;
    const r = apply(o, w({ conditions: [{ type: "B", status: "2" }] }), "default", T(2), opts);
    expect((r.object.spec as any).conditions).toEqual([{ type: "B", status: "2" }]);
    expect(r.managedFields).toEqual([
      entry("default", "Apply", T(2), { "f:spec": { "f:conditions": { 'k:{"type":"B"}': { ".": {}, "f:status": {}, "f:type": {} } } } }, {}, GV),
    ]);
  });

  test("an item its applier drops goes, even when a controller set a field inside it", () => {
    let o = apply(undefined, w({ conditions: [{ type: "A", status: "1" }] }), "applier", T(1), opts).object;
    o = mergePatch(o, { spec: { conditions: [{ type: "A", status: "1", reason: "r" }] } }, "controller", T(2), opts);
    const r = apply(o, w({ conditions: [{ type: "Other", status: "1" }] }), "applier", T(3), opts);
    expect((r.object.spec as any).conditions).toEqual([{ type: "Other", status: "1" }]);
  });
});

describe("serverSideApply: rejected requests", () => {
  test("managedFields in the applied object: 400", () => {
    const applied = cm({ a: "1" }, { managedFields: [] });
    const e = applyError(() => apply(undefined, applied, "m", T(1)));
    expect(e.code).toBe(400);
    expect(e.message).toBe("metadata.managedFields must be nil");
  });

  test("another apiVersion or kind: 400 invalid object type", () => {
    const e = applyError(() => apply(undefined, { ...cm({}), apiVersion: "apps/v1" }, "m", T(1)));
    expect(e.code).toBe(400);
    expect(e.reason).toBe("BadRequest");
    expect(e.message).toBe("invalid object type: apps/v1, Kind=ConfigMap");
    const live = apply(undefined, cm({}), "m", T(1)).object;
    expect(applyError(() => apply(live, { ...cm({}), kind: "Secret" }, "m", T(1))).message).toBe("invalid object type: /v1, Kind=Secret");
  });

  test("a field the schema does not declare: 400 with upstream's message (upstream: 500)", () => {
    const applied: KObject = { apiVersion: GV, kind: "Widget", metadata: { name: "w", namespace: "default" }, spec: { foo: 1 } };
    const e = applyError(() => apply(undefined, applied, "m", T(1), { schema: widgetSchema, apiVersion: GV }));
    expect(e.code).toBe(400);
    expect(e.reason).toBe("BadRequest");
    expect(e.message).toBe("failed to create typed patch object (default/w; cluster.x-k8s.io/v1beta1, Kind=Widget): .spec.foo: field not declared in schema");
  });

  test("duplicate list-map keys in the applied object", () => {
    const applied: KObject = {
      apiVersion: GV,
      kind: "Widget",
      metadata: { name: "w", namespace: "default" },
      spec: { conditions: [{ type: "A" }, { type: "A" }] },
    };
    const e = applyError(() => apply(undefined, applied, "m", T(1), { schema: widgetSchema, apiVersion: GV }));
    expect(e.code).toBe(400);
    expect(e.reason).toBe("BadRequest");
    expect(e.message).toBe(
      'failed to create typed patch object (default/w; cluster.x-k8s.io/v1beta1, Kind=Widget): .spec.conditions: duplicate entries for key [type="A"]',
    );
  });

  test("a wrongly typed value", () => {
    const applied: KObject = { apiVersion: GV, kind: "Widget", metadata: { name: "w" }, spec: { replicas: "3" } };
    const e = applyError(() => apply(undefined, applied, "m", T(1), { schema: widgetSchema, apiVersion: GV }));
    expect(e.code).toBe(400);
    expect(e.reason).toBe("BadRequest");
    expect(e.message).toBe("failed to create typed patch object (/w; cluster.x-k8s.io/v1beta1, Kind=Widget): .spec.replicas: expected numeric (int or float), got string");
  });
});

describe("helpers", () => {
  test("managerFromUserAgent takes the part before the first slash", () => {
    expect(managerFromUserAgent("kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07")).toBe("kubectl");
    expect(managerFromUserAgent("x".repeat(200)).length).toBe(128);
  });
});

describe("performance", () => {
  test("managed fields of a typical update on a 5 KB object take well under 1 ms", () => {
    const conditions = Array.from({ length: 12 }, (_, i) => ({ type: `Cond${i}`, status: "True", reason: `Reason${i}` }));
    const labels = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`example.com/label-${i}`, `value-${i}`]));
    const schema: JSONSchemaProps = structuredClone(widgetSchema);
    schema.properties!.spec.properties!.extra = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
    const extra = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`setting${i}`, { enabled: i % 2 === 0, value: `v${i}`, n: i }]));
    let o = create(
      { apiVersion: GV, kind: "Widget", metadata: { name: "w", namespace: "default", labels }, spec: { replicas: 1, conditions, extra } },
      "creator",
      T(1),
      schema,
      GV,
    );
    o = mergePatch(o, { spec: { paused: true } }, "ctl", T(2), { schema, apiVersion: GV });
    o = mergePatch(o, { status: { phase: "x" } }, "ctl", T(3), { schema, apiVersion: GV, subresource: "status" });
    expect(JSON.stringify(o).length).toBeGreaterThan(5000);
    const next = structuredClone(o);
    (next.spec as any).replicas = 2;
    (next.spec as any).conditions[3].status = "False";
    const run = () => updateManagedFields({ oldObj: o, newObj: next, manager: "ctl", apiVersion: GV, schema, now: T(4) });
    for (let i = 0; i < 50; i++) run();
    // best of several batches, so that a busy machine does not make the test flaky
    let avg = Number.POSITIVE_INFINITY;
    for (let batch = 0; batch < 5; batch++) {
      const n = 60;
      const start = performance.now();
      for (let i = 0; i < n; i++) run();
      avg = Math.min(avg, (performance.now() - start) / n);
    }
    expect(avg).toBeLessThan(1);
  });
});

// --- keys named like Object.prototype members, deep values ----------------------------------

/** The own value of `k` (never an inherited one). */
const own = (o: unknown, k: string): unknown => Object.getOwnPropertyDescriptor(o as object, k)?.value;

function expectCleanPrototype(): void {
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("polluted");
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

describe("keys are data, as in Go maps", () => {
  test("server-side apply merges, owns and prunes __proto__, constructor and toString keys", () => {
    const applied = JSON.parse(
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"default","labels":{"__proto__":"l"}},' +
        '"data":{"__proto__":"p","constructor":"c","toString":"t"}}',
    ) as KObject;
    const r = apply(undefined, applied, "m", T(1));
    expectCleanPrototype();
    expect(Object.getPrototypeOf(r.object.data)).toBe(Object.prototype);
    expect(own(r.object.data, "__proto__")).toBe("p");
    expect(own(r.object.data, "constructor")).toBe("c");
    expect(own(r.object.data, "toString")).toBe("t");
    expect(own(r.object.metadata.labels, "__proto__")).toBe("l");
    expect(r.managedFields[0].fieldsV1).toEqual({
      "f:data": { "f:__proto__": {}, "f:constructor": {}, "f:toString": {} },
      "f:metadata": { "f:labels": { "f:__proto__": {} } },
    });

    // Another manager changing a __proto__ key conflicts like for any key.
    const other = JSON.parse('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"default"},"data":{"__proto__":"x"}}') as KObject;
    const e = applyError(() => apply(r.object, other, "other", T(2)));
    expect(e.code).toBe(409);
    expect(e.message).toBe('Apply failed with 1 conflict: conflict with "m": .data.__proto__');

    // Applying again without constructor/toString prunes them; __proto__ stays data.
    const again = JSON.parse('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"default"},"data":{"__proto__":"p2"}}') as KObject;
    const r2 = apply(r.object, again, "m", T(3));
    expect(JSON.stringify(r2.object.data)).toBe('{"__proto__":"p2"}');
    expect(r2.object.metadata.labels).toBeUndefined();
    expectCleanPrototype();
  });

  test("an applied __proto__ object does not leak into typed conversion or merging", () => {
    const applied = JSON.parse(
      '{"apiVersion":"cluster.x-k8s.io/v1beta1","kind":"Widget","metadata":{"name":"w"},"spec":{"replicas":1},"status":{"__proto__":{"polluted":"yes"}}}',
    ) as KObject;
    const r = apply(undefined, applied, "m", T(1), { schema: widgetSchema, apiVersion: GV });
    expectCleanPrototype();
    expect(own(r.object.status, "__proto__")).toEqual({ polluted: "yes" });
    // An undeclared field named like an Object.prototype member is still undeclared.
    const bad = JSON.parse('{"apiVersion":"cluster.x-k8s.io/v1beta1","kind":"Widget","metadata":{"name":"w"},"spec":{"constructor":1}}') as KObject;
    const e = applyError(() => apply(undefined, bad, "m", T(1), { schema: widgetSchema, apiVersion: GV }));
    expect(e.code).toBe(400);
    expect(e.message).toContain(".spec.constructor: field not declared in schema");
  });

  test("updates track __proto__ keys", () => {
    const live = create(cm({ a: "1" }), "creator", T(1));
    const next = mergePatch(live, JSON.parse('{"data":{"__proto__":"p","hasOwnProperty":"h"}}'), "editor", T(2));
    expectCleanPrototype();
    expect(own(next.data, "__proto__")).toBe("p");
    const editor = next.metadata.managedFields!.find((m) => m.manager === "editor")!;
    expect(editor.fieldsV1).toEqual({ "f:data": { "f:__proto__": {}, "f:hasOwnProperty": {} } });
  });
});

describe("values nested 1000 deep", () => {
  test("server-side apply and updates of a 1000-deep preserve-unknown-fields value", () => {
    const schema: JSONSchemaProps = {
      type: "object",
      properties: { apiVersion: str, kind: str, metadata: { type: "object" }, spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
    };
    // maps all the way down (their fields are owned one by one), with a nested list at the bottom
    const deep = (leaf: unknown): unknown => {
      let v: unknown = [[[leaf]]];
      for (let i = 0; i < 994; i++) v = { a: v, b: i };
      return v;
    };
    const obj = (leaf: unknown): KObject => ({ apiVersion: GV, kind: "Widget", metadata: { name: "w" }, spec: deep(leaf) as Record<string, unknown> });
    const r = apply(undefined, obj(1), "m", T(1), { schema, apiVersion: GV });
    expect(r.object.spec).toEqual(deep(1));
    const r2 = apply(r.object, obj(2), "m", T(2), { schema, apiVersion: GV });
    expect(r2.object.spec).toEqual(deep(2));
    const e = applyError(() => apply(r2.object, obj(3), "other", T(3), { schema, apiVersion: GV }));
    expect(e.code).toBe(409);
    const r3 = apply(r2.object, obj(3), "other", T(3), { schema, apiVersion: GV, force: true });
    expect(r3.object.spec).toEqual(deep(3));
    const updated = update(r3.object, { ...r3.object, spec: deep(4) as Record<string, unknown> }, "editor", T(4), { schema, apiVersion: GV });
    // "other" applied every field too (shared with "m"); the list at the bottom moved to "editor".
    expect(updated.metadata.managedFields!.map((m) => m.manager).sort()).toEqual(["editor", "m", "other"]);
  });
});
