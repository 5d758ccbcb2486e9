import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KObject } from "../lib/kobject.ts";
import { Registry } from "../registry/registry.ts";
import { systemContext } from "../registry/rest/context.ts";
import { create } from "../registry/rest/create.ts";
import type { RestDeps } from "../registry/rest/deps.ts";
import { openDatabase } from "../store/open.ts";
import { Store } from "../store/store.ts";
import { getCondition, setCondition, setV1Beta1Condition } from "./conditions.ts";
import { Controller, TerminalError, requestFor } from "./controller.ts";
import { Manager } from "./manager.ts";
import { mergeDiff, observingOwnSpecWrite, patchObject } from "./patch-helper.ts";
import { WorkQueue, ItemExponentialLimiter, BucketLimiter } from "./workqueue.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function deps(): RestDeps {
  const dir = mkdtempSync(join(tmpdir(), "capx-rt-"));
  dirs.push(dir);
  const store = new Store(openDatabase(join(dir, "s.db"), { synchronous: "NORMAL" }));
  const registry = new Registry(store);
  const d = { store, registry, now: () => new Date() };
  create(d, registry.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: "default" } }, systemContext("t"));
  return d;
}

const cm = (name: string, data: Record<string, string> = {}): KObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" }, data });

describe("WorkQueue", () => {
  it("de-duplicates keys and never hands one key to two workers at once", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("a");
    q.add("b");
    expect(q.length).toBe(2);
    const first = await q.get();
    expect(first).toBe("a");
    q.add("a"); // while processing: held back
    expect(await q.get()).toBe("b");
    let got: string | undefined = "none";
    void q.get().then((k) => (got = k));
    await Bun.sleep(5);
    expect(got).toBe("none");
    q.done("a"); // re-queued now
    await Bun.sleep(1);
    expect(got).toBe("a");
  });

  it("backs off per item exponentially from 5 ms to 1000 s, and forgets", () => {
    const l = new ItemExponentialLimiter();
    expect([l.when("x"), l.when("x"), l.when("x"), l.when("x")]).toEqual([5, 10, 20, 40]);
    for (let i = 0; i < 40; i++) l.when("x");
    expect(l.when("x")).toBe(1_000_000);
    l.forget("x");
    expect(l.when("x")).toBe(5);
  });

  it("limits the overall rate with a token bucket (10/s, burst 100)", () => {
    let t = 0;
    const b = new BucketLimiter(10, 100, () => t);
    for (let i = 0; i < 100; i++) expect(b.when(`k${i}`)).toBe(0);
    expect(b.when("over")).toBeCloseTo(100, 5);
    t += 1000;
    expect(b.when("later")).toBe(0);
  });

  it("keeps the earliest of several addAfter calls", async () => {
    const q = new WorkQueue();
    q.addAfter("k", 200);
    q.addAfter("k", 10);
    const t0 = Date.now();
    expect(await q.get()).toBe("k");
    expect(Date.now() - t0).toBeLessThan(150);
    q.shutdown();
    expect(await q.get()).toBeUndefined();
  });
});

describe("Controller", () => {
  it("reconciles on changes from the informer, retries errors and polls with requeueAfter", async () => {
    const d = deps();
    const m = new Manager(d);
    const seen: string[] = [];
    let failures = 1;
    const c = new Controller("test", async (req) => {
      seen.push(req.name);
      if (req.name === "flaky" && failures-- > 0) throw new Error("transient");
      if (req.name === "terminal") throw new TerminalError("no");
      return req.name === "poll" && seen.filter((n) => n === "poll").length < 3 ? { requeueAfter: 10 } : undefined;
    });
    c.watchFor(m.informers.forKind("v1", "ConfigMap")!);
    m.add(c);
    m.start();
    const client = m.client("test");
    await client.create(cm("flaky"));
    await client.create(cm("terminal"));
    await client.create(cm("poll"));
    await m.idle(50);
    expect(seen.filter((n) => n === "flaky")).toHaveLength(2);
    expect(seen.filter((n) => n === "terminal")).toHaveLength(1);
    expect(seen.filter((n) => n === "poll")).toHaveLength(3);
    expect(c.stats.reconciles).toMatchObject({ error: 1, terminal_error: 1, requeue_after: 2 });
    const text = m.metricsText();
    expect(text).toContain('controller_runtime_reconcile_total{controller="test",result="terminal_error"} 1');
    // controller-runtime's and client-go's names, as dashboards for them expect
    expect(text).toContain('controller_runtime_reconcile_errors_total{controller="test"} 1');
    expect(text).toContain('controller_runtime_terminal_reconcile_errors_total{controller="test"} 1');
    expect(text).toContain('workqueue_retries_total{name="test"} 1');
    // 3 creates + 1 retry + 2 requeues, each an accepted add
    expect(text).toContain('workqueue_adds_total{name="test"} 6');
    expect(text).toContain("# TYPE controller_runtime_reconcile_time_seconds histogram");
    expect(text).toContain('controller_runtime_reconcile_time_seconds_count{controller="test"} 6');
    expect(text).toMatch(/controller_runtime_reconcile_time_seconds_bucket\{controller="test",le="\+Inf"\} 6/);
    expect(text).toContain('workqueue_queue_duration_seconds_count{name="test"} 6');
    expect(text).toContain('workqueue_depth{name="test"} 0');
    await m.stop();
  });

  it("maps changes of owned objects to their controller owner", async () => {
    const d = deps();
    const m = new Manager(d);
    const reconciled: string[] = [];
    const c = new Controller("owner", async (req) => void reconciled.push(req.name));
    c.watchOwned(m.informers.forKind("v1", "Secret")!, { group: "", kind: "ConfigMap" });
    m.add(c);
    m.start();
    const client = m.client("t");
    const owner = await client.create(cm("owner"));
    await client.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s", namespace: "default", ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata.uid!, controller: true }] },
    });
    await m.idle();
    expect(reconciled).toEqual(["owner"]);
    await m.stop();
  });
});

describe("Informer", () => {
  it("serves the cache, indexes and ordered events", async () => {
    const d = deps();
    const m = new Manager(d);
    const inf = m.informers.forKind("v1", "ConfigMap")!;
    inf.addIndex("tier", (o) => (o.metadata.labels?.tier ? [o.metadata.labels.tier] : []));
    const events: string[] = [];
    inf.addHandler((t, o) => events.push(`${t} ${o.metadata.name}`));
    const client = m.client("t");
    await client.create({ ...cm("a"), metadata: { name: "a", namespace: "default", labels: { tier: "x" } } });
    await client.patch({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "a" }, "merge", { data: { k: "v" } });
    await client.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "a" });
    expect(events).toEqual(["ADDED a", "MODIFIED a", "DELETED a"]);
    expect(inf.byIndex("tier", "x")).toEqual([]);
    await client.create({ ...cm("b"), metadata: { name: "b", namespace: "default", labels: { tier: "x" } } });
    expect(inf.byIndex("tier", "x").map((o) => o.metadata.name)).toEqual(["b"]);
    expect(inf.get("default", "b")?.metadata.name).toBe("b");
  });

  it("answers a cached list with an equality label selector from a label index, kept current", async () => {
    const d = deps();
    create(d, d.registry.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: "other" } }, systemContext("t"));
    const m = new Manager(d);
    m.informers.forKind("v1", "ConfigMap");
    const client = m.client("t");
    const labelled = (name: string, namespace: string, labels: Record<string, string>): KObject => ({ ...cm(name), metadata: { name, namespace, labels } });
    await client.create(labelled("c", "default", { cluster: "one", role: "cp" }));
    await client.create(labelled("a", "default", { cluster: "one" }));
    await client.create(labelled("b", "default", { cluster: "two", role: "cp" }));
    await client.create(labelled("z", "other", { cluster: "one", role: "cp" }));
    const names = (sel: string, ns?: string) => client.listShared("v1", "ConfigMap", ns, { labelSelector: sel }).map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    expect(names("cluster=one", "default")).toEqual(["default/a", "default/c"]);
    expect(names("cluster in (one),role", "default")).toEqual(["default/c"]);
    expect(names("cluster==one")).toEqual(["default/a", "default/c", "other/z"]);
    expect(names("cluster=one,role!=cp")).toEqual(["default/a"]);
    expect(names("cluster in (one,two),role=cp", "default")).toEqual(["default/b", "default/c"]);
    await client.patch({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "a" }, "merge", { metadata: { labels: { cluster: "two" } } });
    await client.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "c" });
    expect(names("cluster=one", "default")).toEqual([]);
    expect(names("cluster=two", "default")).toEqual(["default/a", "default/b"]);
  });

  it("caches objects without managedFields, and a write of a cached object keeps the stored ones", async () => {
    const d = deps();
    const m = new Manager(d);
    const inf = m.informers.forKind("v1", "ConfigMap")!;
    const client = m.client("writer");
    await client.create(cm("a", { k: "v" }));
    const stored = () => d.store.get("configmaps", "default", "a");
    expect(JSON.parse(stored()!.body).metadata.managedFields).toEqual([expect.objectContaining({ manager: "writer", operation: "Update" })]);
    const cached = inf.get("default", "a")!;
    expect(cached.metadata.managedFields).toBeUndefined();
    expect(Object.isFrozen(cached)).toBe(true);
    const events: KObject[] = [];
    inf.addHandler((t, o) => t === "MODIFIED" && events.push(o));
    await client.update({ ...cached, data: { k: "w" } });
    expect(events.map((o) => [o.data, o.metadata.managedFields])).toEqual([[{ k: "w" }, undefined]]);
    expect(JSON.parse(stored()!.body).metadata.managedFields).toEqual([expect.objectContaining({ manager: "writer", operation: "Update" })]);
  });
  it("keeps Secrets without their data (metadata and type only); the client reads the data from the store", async () => {
    const d = deps();
    const m = new Manager(d);
    const inf = m.informers.forKind("v1", "Secret")!;
    const client = m.client("t");
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const secret = (name: string, cluster: string, value: string): KObject => ({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: "default", labels: { cluster } }, type: "Opaque", data: { k: b64(value) } });
    await client.create(secret("a", "one", "v"));
    await client.create(secret("b", "two", "w"));
    expect(inf.get("default", "a")).toMatchObject({ type: "Opaque", metadata: { name: "a", labels: { cluster: "one" } } });
    expect(inf.get("default", "a")!.data).toBeUndefined();
    const ref = { apiVersion: "v1", kind: "Secret", namespace: "default", name: "a" };
    expect(client.getCachedMetadata(ref)?.data).toBeUndefined();
    for (const got of [client.get(ref), client.getShared(ref)]) {
      expect(got?.data).toEqual({ k: b64("v") });
      expect(got?.metadata.managedFields).toBeUndefined();
    }
    expect(client.listShared("v1", "Secret", "default", { labelSelector: "cluster=two" }).map((o) => o.data)).toEqual([{ k: b64("w") }]);
    expect(client.list("v1", "Secret", "default", { fieldSelector: "type=Opaque" }).map((o) => (o.data as Record<string, string> | undefined)?.k)).toEqual([b64("v"), b64("w")]);
    await client.patch(ref, "merge", { data: { k: b64("x") } });
    expect(client.get(ref)?.data).toEqual({ k: b64("x") });
    await client.delete(ref);
    expect(client.get(ref)).toBeUndefined();
    expect(client.getShared(ref)).toBeUndefined();
    // other kinds stay whole in the cache
    await client.create(cm("c", { k: "v" }));
    expect(m.informers.forKind("v1", "ConfigMap")!.get("default", "c")?.data).toEqual({ k: "v" });
  });
});

describe("patch helper and conditions", () => {
  it("writes only what changed, status through the status subresource", async () => {
    const d = deps();
    const m = new Manager(d);
    const client = m.client("t");
    const ns = await client.get({ apiVersion: "v1", kind: "Namespace", name: "default" })!;
    const after = structuredClone(ns);
    after.metadata.labels = { env: "lab" };
    setCondition(after, { type: "Ready", status: "True", reason: "Ok" });
    const { object, changed } = await patchObject(client, ns, after);
    expect(changed).toBe(true);
    expect(object.metadata.labels).toEqual({ env: "lab" });
    expect(getCondition(object, "Ready")).toMatchObject({ status: "True", reason: "Ok" });
    expect((await patchObject(client, object, structuredClone(object))).changed).toBe(false);
  });

  it("keeps lastTransitionTime while a condition's status stays the same", () => {
    const o: KObject = { metadata: { generation: 3 } };
    setCondition(o, { type: "Ready", status: "False", reason: "A" }, new Date("2026-01-01T00:00:00Z"));
    setCondition(o, { type: "Ready", status: "False", reason: "B" }, new Date("2026-01-02T00:00:00Z"));
    expect(getCondition(o, "Ready")).toEqual({ type: "Ready", status: "False", reason: "B", message: "", observedGeneration: 3, lastTransitionTime: "2026-01-01T00:00:00Z" });
    setV1Beta1Condition(o, { type: "Ready", status: "False", severity: "Warning", reason: "B" });
    expect((o.status as { deprecated: { v1beta1: { conditions: unknown[] } } }).deprecated.v1beta1.conditions).toHaveLength(1);
    // empty optional strings are left out: the v1beta1 schema rejects an empty message or reason
    setV1Beta1Condition(o, { type: "Ready", status: "False", severity: "Info", reason: "Waiting", message: "" });
    expect((o.status as { deprecated: { v1beta1: { conditions: Record<string, unknown>[] } } }).deprecated.v1beta1.conditions[0]).not.toHaveProperty("message");
  });

  it("a status computed with the reconcile's own spec write observes the generation that write made (one status write, not two)", async () => {
    const stored: KObject = { apiVersion: "x/v1", kind: "Thing", metadata: { name: "t", generation: 4 }, spec: { a: 1 }, status: { observedGeneration: 4, conditions: [{ type: "Ready", status: "False", observedGeneration: 4 }] } };
    const writes: unknown[] = [];
    const fake = {
      async patch(_ref: unknown, _type: string, patch: Record<string, unknown>, opts?: { subresource?: string }) {
        writes.push(patch);
        if (opts?.subresource === "status") stored.status = { ...(stored.status as object), ...(patch.status as object) };
        else {
          stored.spec = { ...(stored.spec as object), ...(patch.spec as object) };
          stored.metadata = { ...stored.metadata, generation: stored.metadata.generation! + 1 };
        }
        return structuredClone(stored);
      },
    } as unknown as Parameters<typeof patchObject>[0];
    const before = structuredClone(stored);
    const after = structuredClone(stored);
    after.spec = { a: 2 };
    setCondition(after, { type: "Ready", status: "True", reason: "Done" });
    (after.status as { other?: { observedGeneration: number } }).other = { observedGeneration: 4 };
    await patchObject(fake, before, after);
    expect(writes).toHaveLength(2);
    expect(stored.status).toMatchObject({ observedGeneration: 5, conditions: [{ type: "Ready", status: "True", observedGeneration: 5 }], other: { observedGeneration: 4 } });
    // nothing to move when the spec did not change
    expect(observingOwnSpecWrite(after.status, stored, stored)).toBe(after.status);
  });

  it("computes merge patches", () => {
    expect(mergeDiff({ a: 1, b: { c: 1, d: 2 }, e: [1] }, { a: 1, b: { c: 2 }, e: [2] })).toEqual({ b: { c: 2, d: null }, e: [2] });
  });
});

describe("EventRecorder", () => {
  it("aggregates repeats into one Event with a count", async () => {
    const d = deps();
    const m = new Manager(d);
    const client = m.client("t");
    const obj = await client.create(cm("subject"));
    const rec = m.recorder("test-controller");
    rec.warning(obj, "Failed", "it broke");
    await Bun.sleep(20);
    rec.warning(obj, "Failed", "it broke");
    await Bun.sleep(20);
    await d.store.durable();
    const events = client.list("v1", "Event", "default");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ reason: "Failed", count: 2, type: "Warning", source: { component: "test-controller" } });
    expect(requestFor(obj)).toEqual({ namespace: "default", name: "subject" });
  });
});
