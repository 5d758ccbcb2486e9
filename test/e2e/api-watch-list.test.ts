/**
 * LIST, WATCH and DELETE semantics over real HTTPS: paging from one snapshot, historical
 * reads, watch replay and 410, selector transitions, bookmarks, timeouts, preconditions,
 * propagation, deletecollection, and the built-in kinds' own rules.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Api, configMap } from "../harness/api.ts";
import { startTestDaemon, type TestDaemon } from "../harness/daemon.ts";

let d: TestDaemon;
let api: Api;
const NS = "/api/v1/namespaces/lw";
const CM = `${NS}/configmaps`;

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> & { resourceVersion: string; uid: string; name: string } };
type List = { metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number }; items: Obj[] };

beforeAll(async () => {
  // Aggressive compaction so a test can make a revision "too old".
  d = await startTestDaemon({ config: "storage:\n  synchronous: NORMAL\n  compaction: {minRetain: 5, maxRetain: 20, minAgeSeconds: 0}\n  housekeepingIntervalSeconds: 1\n" });
  api = new Api(d);
  expect((await api.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "lw" } })).status).toBe(201);
});

afterAll(async () => {
  await d?.stop();
  d?.cleanup();
});

async function until(what: string, fn: () => Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await Bun.sleep(50);
  }
}

describe("list", () => {
  it("pages with limit/continue from one snapshot even while objects change", async () => {
    for (const n of ["a", "b", "c", "d", "e"]) await api.post(CM, configMap(n, { v: "1" }, { tier: n < "c" ? "front" : "back" }));
    const p1 = await api.get<List>(`${CM}?limit=2`);
    expect(p1.body.items.map((i) => i.metadata.name)).toEqual(["a", "b"]);
    expect(p1.body.metadata.remainingItemCount).toBe(3);
    await api.delete(`${CM}/c`);
    await api.post(CM, configMap("bb"));
    await api.patch(`${CM}/d`, { data: { v: "2" } }, "application/merge-patch+json");
    const p2 = await api.get<List>(`${CM}?limit=2&continue=${p1.body.metadata.continue}`);
    expect(p2.body.items.map((i) => i.metadata.name)).toEqual(["c", "d"]);
    expect(p2.body.items[1]!.data).toEqual({ v: "1" });
    expect(p2.body.metadata.resourceVersion).toBe(p1.body.metadata.resourceVersion);
    const p3 = await api.get<List>(`${CM}?limit=2&continue=${p2.body.metadata.continue}`);
    expect(p3.body.items.map((i) => i.metadata.name)).toEqual(["e"]);
    expect(p3.body.metadata.continue).toBeUndefined();
  });

  it("reads an exact past revision and refuses one in the future", async () => {
    const now = await api.get<List>(CM);
    const rv = now.body.metadata.resourceVersion;
    await api.post(CM, configMap("later"));
    const past = await api.get<List>(`${CM}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
    expect(past.body.items.map((i) => i.metadata.name)).not.toContain("later");
    expect(past.body.metadata.resourceVersion).toBe(rv);
    const future = await api.get(`${CM}?resourceVersion=999999&resourceVersionMatch=NotOlderThan`);
    expect(future.status).toBe(504);
    expect((await api.get(`${CM}?resourceVersionMatch=Exact`)).status).toBe(400);
  });

  it("filters with label and field selectors and refuses unsupported fields", async () => {
    const r = await api.get<List>(`${CM}?labelSelector=${encodeURIComponent("tier in (front),tier!=back")}`);
    expect(r.body.items.map((i) => i.metadata.name)).toEqual(["a", "b"]);
    const f = await api.get<List>(`/api/v1/configmaps?fieldSelector=${encodeURIComponent("metadata.namespace=lw,metadata.name!=a")}&labelSelector=tier`);
    expect(f.body.items.map((i) => i.metadata.name)).toEqual(["b", "d", "e"]);
    const bad = await api.get(`${CM}?fieldSelector=data.v%3D1`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe("field label not supported: data.v");
    expect((await api.get(`${CM}?labelSelector=${encodeURIComponent("a in (")}`)).status).toBe(400);
  });
});

describe("watch", () => {
  it("starts with synthetic ADDED events at resourceVersion 0, then delivers live changes", async () => {
    const w = await api.watch(`${CM}?watch=true&resourceVersion=0&labelSelector=tier%3Dfront`);
    expect(w.status).toBe(200);
    await w.until(2);
    expect(w.events.map((e) => `${e.type} ${e.object.metadata!.name}`)).toEqual(["ADDED a", "ADDED b"]);
    await api.patch(`${CM}/a`, { data: { v: "3" } }, "application/merge-patch+json");
    // Leaving the selector is a DELETED, entering it an ADDED.
    await api.patch(`${CM}/b`, { metadata: { labels: { tier: "back" } } }, "application/merge-patch+json");
    await api.patch(`${CM}/e`, { metadata: { labels: { tier: "front" } } }, "application/merge-patch+json");
    await w.until(5);
    expect(w.events.slice(2).map((e) => `${e.type} ${e.object.metadata!.name}`)).toEqual(["MODIFIED a", "DELETED b", "ADDED e"]);
    w.stop();
  });

  it("replays the change log after a resourceVersion, in order", async () => {
    const start = (await api.get<List>(CM)).body.metadata.resourceVersion;
    await api.post(CM, configMap("r1"));
    await api.patch(`${CM}/r1`, { data: { x: "1" } }, "application/merge-patch+json");
    await api.delete(`${CM}/r1`);
    const w = await api.watch(`${CM}?watch=true&resourceVersion=${start}`);
    await w.until(3);
    expect(w.events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    const rvs = w.events.map((e) => Number(e.object.metadata!.resourceVersion));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    w.stop();
  });

  it("answers a compacted resourceVersion with one ERROR event (410 Expired) on a 200 stream", async () => {
    const old = (await api.get<List>(CM)).body.metadata.resourceVersion;
    for (let i = 0; i < 40; i++) await api.patch(`${CM}/a`, { data: { i: String(i) } }, "application/merge-patch+json");
    await until("compaction", async () => {
      const w = await api.watch(`${CM}?watch=true&resourceVersion=${old}`);
      await Bun.sleep(200);
      w.stop();
      return w.events[0]?.type === "ERROR";
    });
    const w = await api.watch(`${CM}?watch=true&resourceVersion=${old}`);
    expect(w.status).toBe(200);
    await w.done;
    expect(w.events).toHaveLength(1);
    expect(w.events[0]!.object).toMatchObject({ kind: "Status", status: "Failure", reason: "Expired", code: 410 });
    expect(String(w.events[0]!.object.message)).toStartWith(`too old resource version: ${old} (`);
  });

  it("sends bookmarks and the initial-events-end marker for watch-list, and honours timeoutSeconds", async () => {
    const w = await api.watch(`${CM}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion=&timeoutSeconds=1`);
    await w.done;
    const last = w.events.at(-1)!;
    expect(last.type).toBe("BOOKMARK");
    expect(last.object.metadata).toMatchObject({ annotations: { "k8s.io/initial-events-end": "true" } });
    expect(w.events.filter((e) => e.type === "ADDED").length).toBeGreaterThan(3);
  });

  it("streams one-row Tables for kubectl get -w", async () => {
    const w = await api.watch(`${CM}?watch=true&resourceVersion=0&fieldSelector=metadata.name%3Da`, { Accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" });
    await w.until(1);
    const t = w.events[0]!.object as { kind: string; columnDefinitions: unknown[]; rows: { cells: unknown[] }[] };
    expect(t.kind).toBe("Table");
    expect(t.columnDefinitions.length).toBe(3);
    expect(t.rows[0]!.cells[0]).toBe("a");
    await api.patch(`${CM}/a`, { data: { z: "1" } }, "application/merge-patch+json");
    await w.until(2);
    expect((w.events[1]!.object as { columnDefinitions?: unknown }).columnDefinitions).toBeUndefined();
    w.stop();
  });
});

describe("delete", () => {
  it("checks uid and resourceVersion preconditions", async () => {
    const o = (await api.post<Obj>(CM, configMap("pre"))).body;
    const wrongUid = await api.delete(`${CM}/pre`, { preconditions: { uid: "not-it" } });
    expect(wrongUid.status).toBe(409);
    expect(wrongUid.body.message).toContain(`Precondition failed: UID in precondition: not-it, UID in object meta: ${o.metadata.uid}`);
    expect((await api.delete(`${CM}/pre`, { preconditions: { resourceVersion: "1" } })).status).toBe(409);
    const ok = await api.delete(`${CM}/pre`, { preconditions: { uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ kind: "Status", status: "Success", details: { name: "pre", kind: "configmaps", uid: o.metadata.uid } });
  });

  it("does nothing under dryRun=All, in the query or the body", async () => {
    await api.post(CM, configMap("dry"));
    expect((await api.delete(`${CM}/dry?dryRun=All`)).status).toBe(200);
    expect((await api.delete(`${CM}/dry`, { dryRun: ["All"] })).status).toBe(200);
    expect((await api.get(`${CM}/dry`)).status).toBe(200);
    const created = await api.post<Obj>(`${CM}?dryRun=All`, configMap("dry-created"));
    expect(created.status).toBe(201);
    expect(created.body.metadata.uid).toBeDefined();
    expect((await api.get(`${CM}/dry-created`)).status).toBe(404);
  });

  it("deletes a collection by label selector", async () => {
    for (const n of ["dc1", "dc2", "dc3"]) await api.post(CM, configMap(n, {}, { batch: n === "dc3" ? "keep" : "drop" }));
    const r = await api.request<{ items: Obj[] }>("DELETE", `${CM}?labelSelector=batch%3Ddrop`);
    expect(r.status).toBe(200);
    expect(r.body.items.map((i) => i.metadata.name).sort()).toEqual(["dc1", "dc2"]);
    expect((await api.get<List>(`${CM}?labelSelector=batch`)).body.items.map((i) => i.metadata.name)).toEqual(["dc3"]);
  });

  it("refuses a bad propagationPolicy", async () => {
    const r = await api.delete(`${CM}/dc3`, { propagationPolicy: "Sometimes" });
    expect(r.status).toBe(400);
  });
});

describe("built-in kinds", () => {
  it("Secret: stringData folds into base64 data, type defaults to Opaque and is immutable", async () => {
    const r = await api.post<Obj>(`${NS}/secrets`, { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: { user: "admin" } });
    expect(r.body).toMatchObject({ type: "Opaque", data: { user: "YWRtaW4=" } });
    expect(r.body.stringData).toBeUndefined();
    const changed = await api.patch(`${NS}/secrets/s`, { type: "kubernetes.io/tls" }, "application/merge-patch+json");
    expect(changed.status).toBe(422);
    const tls = await api.post(`${NS}/secrets`, { apiVersion: "v1", kind: "Secret", metadata: { name: "t" }, type: "kubernetes.io/tls", data: {} });
    expect(tls.status).toBe(422);
  });

  it("ConfigMap: immutable data stays immutable; strategic merge patch works", async () => {
    await api.post(CM, { ...configMap("imm", { a: "1" }), immutable: true });
    const r = await api.patch(`${CM}/imm`, { data: { a: "2" } }, "application/merge-patch+json");
    expect(r.status).toBe(422);
    expect(r.body.message).toContain("field is immutable when `immutable` is set");
    const smp = await api.patch<Obj>(`${CM}/e`, { data: { added: "x", v: null }, metadata: { finalizers: ["a.example/f"] } }, "application/strategic-merge-patch+json");
    expect(smp.status).toBe(200);
    expect(smp.body.data).toEqual({ added: "x" });
    await api.patch(`${CM}/e`, { metadata: { "$deleteFromPrimitiveList/finalizers": ["a.example/f"] } }, "application/strategic-merge-patch+json");
    expect((await api.get<Obj>(`${CM}/e`)).body.metadata.finalizers).toBeUndefined();
  });

  it("Event: served as core/v1 and events.k8s.io/v1 from one store, with Event field selectors", async () => {
    const ev = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "e1" },
      eventTime: "2026-11-24T01:00:00.000000Z",
      reportingController: "capx/test",
      reportingInstance: "capx-1",
      action: "Testing",
      reason: "Tested",
      note: "a note",
      type: "Warning",
      regarding: { kind: "ConfigMap", name: "a", namespace: "lw" },
    };
    expect((await api.post("/apis/events.k8s.io/v1/namespaces/lw/events", ev)).status).toBe(201);
    const core = await api.get<Obj>(`${NS}/events/e1`);
    expect(core.body).toMatchObject({ apiVersion: "v1", message: "a note", reportingComponent: "capx/test", involvedObject: { kind: "ConfigMap", name: "a" } });
    const sel = await api.get<List>(`${NS}/events?fieldSelector=${encodeURIComponent("involvedObject.kind=ConfigMap,type=Warning,reason=Tested")}`);
    expect(sel.body.items.map((i) => i.metadata.name)).toEqual(["e1"]);
    const missing = await api.post(`${NS}/events`, { apiVersion: "v1", kind: "Event", metadata: { name: "e2" }, eventTime: "2026-11-24T01:00:00.000000Z", involvedObject: { kind: "ConfigMap", name: "a", namespace: "lw" } });
    expect(missing.status).toBe(422);
  });

  it("Lease: created, renewed with PUT without resourceVersion", async () => {
    const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "leader" }, spec: { holderIdentity: "a", leaseDurationSeconds: 15 } };
    expect((await api.post("/apis/coordination.k8s.io/v1/namespaces/lw/leases", lease)).status).toBe(201);
    const r = await api.put<Obj>("/apis/coordination.k8s.io/v1/namespaces/lw/leases/leader", { ...lease, spec: { ...lease.spec, holderIdentity: "b" } });
    expect(r.status).toBe(200);
    expect((r.body.spec as { holderIdentity: string }).holderIdentity).toBe("b");
  });

  it("Namespace: names are DNS labels; objects cannot be created in a missing namespace", async () => {
    const bad = await api.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "Bad_Name" } });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toContain('Namespace "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist of');
    const r = await api.post("/api/v1/namespaces/nowhere/configmaps", configMap("x"));
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('namespaces "nowhere" not found');
  });

  it("generateName makes unique names", async () => {
    const names = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = await api.post<Obj>(CM, { apiVersion: "v1", kind: "ConfigMap", metadata: { generateName: "gen-" } });
      expect(r.status).toBe(201);
      names.add(r.body.metadata.name);
    }
    expect(names.size).toBe(5);
    for (const n of names) expect(n).toMatch(/^gen-[a-z0-9]{5}$/);
  });

  it("no-op updates keep the resourceVersion", async () => {
    const o = (await api.get<Obj>(`${CM}/dc3`)).body;
    const r = await api.put<Obj>(`${CM}/dc3`, o);
    expect(r.body.metadata.resourceVersion).toBe(o.metadata.resourceVersion);
  });
});
