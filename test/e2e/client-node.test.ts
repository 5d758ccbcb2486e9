/**
 * @kubernetes/client-node informers (shared/reference/k8s-api/notes.md §i) against the real
 * daemon over HTTPS, authenticated with the admin client-certificate kubeconfig
 * (`KubeConfig.loadFromFile`):
 *
 * 1. list: the informer's initial LIST fills its cache and fires `add` for every object;
 * 2. watch: creates, updates and deletes reach the informer as add/update/delete with the
 *    objects the API returned, and the cache follows;
 * 3. reconnect: the daemon is restarted on the same port and data dir (the TCP connection really
 *    drops); changes made while the informer was away and after it came back arrive exactly
 *    once, in order, with the watch resumed from the informer's last resourceVersion (no relist);
 * 4. custom resources: an informer on the TestCluster CRD (CustomObjectsApi);
 * 5. 410 → relist: while the informer is away the daemon runs with aggressive change-log
 *    compaction, so its resume revision is compacted; the watch answers 410 Expired, the
 *    informer relists, objects deleted meanwhile produce delete events, and both caches converge
 *    to the server state.
 *
 * Bun quirk: client-node imports `fetch` and `Agent` from "undici" and passes TLS settings (CA,
 * client certificate) as `dispatcher: new Agent({connect})`. Bun resolves "undici" to a built-in
 * shim whose fetch ignores `dispatcher`, so every request fails with "self signed certificate in
 * certificate chain". The test replaces the module: Agent keeps its `connect` options and fetch
 * turns them into Bun's `tls` fetch option. client-node is imported only after that.
 */
import { afterAll, beforeAll, describe, expect, it, mock } from "bun:test";
import * as undici from "undici";
import type * as K8s from "@kubernetes/client-node";
import { adminFetch, startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";
import { TEST_CRDS } from "./fixtures.ts";

interface ConnectOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

class BunAgent {
  readonly connect: ConnectOptions | undefined;
  constructor(opts?: { connect?: ConnectOptions }) {
    this.connect = opts?.connect;
  }
}

mock.module("undici", () => ({
  ...undici,
  Agent: BunAgent,
  fetch: (url: string | URL, init: RequestInit & { dispatcher?: unknown } = {}) => {
    const { dispatcher, ...rest } = init;
    const c = dispatcher instanceof BunAgent ? dispatcher.connect : undefined;
    if (!c) return fetch(url, rest);
    const tls = { ca: c.ca, cert: c.cert, key: c.key, rejectUnauthorized: c.rejectUnauthorized, serverName: c.servername };
    return fetch(url, { ...rest, tls } as RequestInit);
  },
}));

const k8s: typeof K8s = await import("@kubernetes/client-node");

type Obj = K8s.KubernetesObject & { data?: Record<string, string>; spec?: Record<string, unknown> };
/** What makeInformer really returns (a ListWatch): its resume revision is public. */
type Informer = K8s.Informer<Obj> & K8s.ObjectCache<Obj> & Pick<K8s.ListWatch<Obj>, "latestResourceVersion">;

interface Ev {
  type: "add" | "update" | "delete";
  name: string;
  rv: string;
  obj: Obj;
}

const NS = "informer";
const CR_GROUP = "e2e.capx.dev";
const CR_VERSION = "v1beta2";
const CR_PLURAL = "testclusters";

/** The retention used while the informers are away in test 5: the log keeps ~2 revisions. */
const AGGRESSIVE = `storage:
  synchronous: NORMAL
  compaction: {minRetain: 2, maxRetain: 4, minAgeSeconds: 0}
  housekeepingIntervalSeconds: 1
`;
const NORMAL = "storage:\n  synchronous: NORMAL\n";

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ""}`);
    await Bun.sleep(100);
  }
}

function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/**
 * Wraps an informer: records its events, LISTs, watch requests (with the resourceVersion they
 * resume from), ERROR events and HTTP errors seen by its Watch; after an error (connection lost)
 * it restarts the informer, as client-node's docs advise, but only while `reconnect` is true.
 */
class Recorder {
  events: Ev[] = [];
  errors: unknown[] = [];
  watchErrors: K8s.V1Status[] = [];
  httpStatuses: number[] = [];
  watchRVs: string[] = [];
  lists = 0;
  reconnect = true;
  #stopped = false;
  #retrying = false;
  readonly inf: Informer;

  constructor(kc: K8s.KubeConfig, path: string, list: () => Promise<K8s.KubernetesListObject<Obj>>) {
    this.inf = k8s.makeInformer<Obj>(kc, path, () => {
      this.lists++;
      return list();
    }) as Informer;
    // Observe the informer's Watch (a plain client-node Watch that makeInformer created).
    const w = (this.inf as unknown as { watch: K8s.Watch }).watch;
    const watch = w.watch.bind(w);
    w.watch = (p, query, cb, done) => {
      this.watchRVs.push(String(query.resourceVersion ?? ""));
      return watch(
        p,
        query,
        (type, obj, raw) => {
          if (type === "ERROR") this.watchErrors.push(obj as K8s.V1Status);
          cb(type, obj, raw);
        },
        (err) => {
          const code = (err as { statusCode?: number } | null)?.statusCode;
          if (code) this.httpStatuses.push(code);
          done(err);
        },
      );
    };
    for (const type of ["add", "update", "delete"] as const) {
      this.inf.on(type, (obj) => this.events.push({ type, name: obj.metadata!.name!, rv: obj.metadata!.resourceVersion!, obj }));
    }
    this.inf.on("error", (e) => {
      if (this.#stopped) return;
      this.errors.push(e);
      this.#retry();
    });
  }

  start(): Promise<void> {
    return this.inf.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.inf.stop();
  }

  #retry(): void {
    if (this.#retrying) return;
    this.#retrying = true;
    const tick = () => {
      if (this.#stopped) return;
      if (!this.reconnect) {
        setTimeout(tick, 100);
        return;
      }
      this.#retrying = false;
      this.inf.start().catch((e) => {
        this.errors.push(e);
        this.#retry();
      });
    };
    setTimeout(tick, 200);
  }

  since(mark: number): { type: string; name: string }[] {
    return this.events.slice(mark).map((e) => ({ type: e.type, name: e.name }));
  }

  last(type: Ev["type"], name: string): Ev | undefined {
    return this.events.findLast((e) => e.type === type && e.name === name);
  }

  cache(ns: string): Record<string, string> {
    return Object.fromEntries(this.inf.list(ns).map((o) => [o.metadata!.name!, o.metadata!.resourceVersion!]));
  }
}

function byName(items: Obj[]): Record<string, string> {
  return Object.fromEntries(items.map((o) => [o.metadata!.name!, o.metadata!.resourceVersion!]));
}

/** Reads the first event of a raw watch (admin client certificate), then hangs up. */
async function firstWatchEvent(d: TestDaemon, path: string): Promise<{ type: string; object: K8s.V1Status }> {
  const ac = new AbortController();
  const res = await adminFetch(d, path, { signal: ac.signal });
  if (res.status !== 200) {
    ac.abort();
    return { type: "HTTP", object: { code: res.status } as K8s.V1Status };
  }
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = "";
  const timer = setTimeout(() => ac.abort(), 5_000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("watch ended without an event");
      buf += dec.decode(value, { stream: true });
      for (const line of buf.split("\n").slice(0, -1)) if (line.trim()) return JSON.parse(line);
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

describe("@kubernetes/client-node informers (notes §i)", () => {
  const dataDir = `${tempDir("capx-e2e-cn-")}/data`;
  const port = freePort();
  const daemons: TestDaemon[] = [];
  let d: TestDaemon;
  let kc: K8s.KubeConfig;
  let core: K8s.CoreV1Api;
  let custom: K8s.CustomObjectsApi;
  let cms: Recorder;
  let tcs: Recorder | undefined;

  async function start(config: string): Promise<void> {
    d = await startTestDaemon({ dataDir, config, extraArgs: ["--listen", `127.0.0.1:${port}`] });
    daemons.push(d);
    expect(d.port).toBe(port);
  }

  /** Stops the daemon with the informers held back, and waits until each has lost its watch. */
  async function takeDown(recs: Recorder[]): Promise<void> {
    const before = recs.map((r) => r.errors.length);
    for (const r of recs) r.reconnect = false;
    expect(await d.stop()).toBe(0); // a clean shutdown, open watches notwithstanding
    await until("the informers to notice the lost connection", () => recs.every((r, i) => r.errors.length > before[i]!));
  }

  const cm = (name: string, x: string) => ({ metadata: { name, namespace: NS }, data: { x } });
  const create = (name: string, x: string) => core.createNamespacedConfigMap({ namespace: NS, body: cm(name, x) });
  const update = (name: string, x: string) =>
    core.patchNamespacedConfigMap({ name, namespace: NS, body: [{ op: "replace", path: "/data/x", value: x }] });
  const remove = (name: string) => core.deleteNamespacedConfigMap({ name, namespace: NS });
  const serverCMs = async () => byName((await core.listNamespacedConfigMap({ namespace: NS })).items as Obj[]);

  beforeAll(async () => {
    await start(NORMAL);
    kc = new k8s.KubeConfig();
    kc.loadFromFile(d.kubeconfig);
    expect(kc.getCurrentUser()?.certData ?? kc.getCurrentUser()?.certFile).toBeTruthy();
    core = kc.makeApiClient(k8s.CoreV1Api);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: NS } } });
  });

  afterAll(async () => {
    await cms?.stop();
    await tcs?.stop();
    await d?.stop();
    for (const x of daemons) x.cleanup();
  });

  it("1. list: the initial LIST fills the cache and fires add", async () => {
    const made = await Promise.all(["a", "b", "c"].map((n) => create(n, "0")));
    cms = new Recorder(kc, `/api/v1/namespaces/${NS}/configmaps`, () => core.listNamespacedConfigMap({ namespace: NS }) as Promise<K8s.KubernetesListObject<Obj>>);
    await cms.start();
    await until("three add events", () => cms.events.length >= 3);
    expect(cms.events.map((e) => `${e.type} ${e.name}`).sort()).toEqual(["add a", "add b", "add c"]);
    expect(cms.cache(NS)).toEqual(byName(made as Obj[]));
    expect(cms.inf.get("a", NS)?.data).toEqual({ x: "0" });
    expect(cms.lists).toBe(1);
    expect(cms.errors).toEqual([]);
    // The watch started from the LIST's resourceVersion.
    await until("the watch to start", () => cms.watchRVs.length === 1);
    expect(Number(cms.watchRVs[0])).toBeGreaterThanOrEqual(Math.max(...made.map((m) => Number(m.metadata!.resourceVersion))));
  });

  it("2. watch: create, update and delete arrive with the right objects", async () => {
    const mark = cms.events.length;
    const d1 = await create("d", "1");
    await until("add d", () => cms.last("add", "d"));
    expect(cms.last("add", "d")!.obj.data).toEqual({ x: "1" });
    expect(cms.last("add", "d")!.rv).toBe(d1.metadata!.resourceVersion!);

    const a1 = await update("a", "1");
    await until("update a", () => cms.last("update", "a"));
    expect(cms.last("update", "a")!.obj.data).toEqual({ x: "1" });
    expect(cms.last("update", "a")!.rv).toBe(a1.metadata!.resourceVersion!);
    expect(cms.inf.get("a", NS)?.data).toEqual({ x: "1" });

    await remove("b");
    await until("delete b", () => cms.last("delete", "b"));
    expect(cms.inf.get("b", NS)).toBeUndefined();

    expect(cms.since(mark)).toEqual([
      { type: "add", name: "d" },
      { type: "update", name: "a" },
      { type: "delete", name: "b" },
    ]);
    expect(cms.cache(NS)).toEqual(await serverCMs());
    expect(cms.lists).toBe(1);
  });

  it("3. reconnect: after the connection drops, the informer resumes and misses nothing", async () => {
    const mark = cms.events.length;
    const lists = cms.lists;
    const resumeRV = cms.inf.latestResourceVersion();
    const watches = cms.watchRVs.length;
    await takeDown([cms]);
    await start(NORMAL);

    // While the informer is away.
    await create("e", "1");
    await update("c", "1");
    await remove("d");
    cms.reconnect = true;
    await until("the changes made while away", () => cms.events.length >= mark + 3);
    // And after it came back.
    await update("e", "2");
    await create("f", "1");
    await remove("a");
    await until("the changes made after the reconnect", () => cms.events.length >= mark + 6);
    await Bun.sleep(500); // room for duplicates to show up

    expect(cms.since(mark)).toEqual([
      { type: "add", name: "e" },
      { type: "update", name: "c" },
      { type: "delete", name: "d" },
      { type: "update", name: "e" },
      { type: "add", name: "f" },
      { type: "delete", name: "a" },
    ]);
    expect(cms.last("update", "c")!.obj.data).toEqual({ x: "1" });
    expect(cms.last("update", "e")!.obj.data).toEqual({ x: "2" });
    expect(cms.lists).toBe(lists); // resumed, not relisted
    expect(cms.watchRVs.slice(watches)).toContain(resumeRV);
    expect(cms.watchErrors).toEqual([]);
    expect(cms.cache(NS)).toEqual(await serverCMs());
  });

  it("4. custom resources: a TestCluster informer via CustomObjectsApi", async () => {
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    for (const crd of k8s.loadAllYaml(TEST_CRDS) as K8s.V1CustomResourceDefinition[]) {
      await ext.createCustomResourceDefinition({ body: crd });
    }
    await until("the TestCluster CRD to be Established", async () => {
      const crd = await ext.readCustomResourceDefinition({ name: `${CR_PLURAL}.${CR_GROUP}` });
      return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    });
    const crList = () =>
      custom.listNamespacedCustomObject({ group: CR_GROUP, version: CR_VERSION, namespace: NS, plural: CR_PLURAL }) as Promise<K8s.KubernetesListObject<Obj>>;
    await until("the TestCluster list to be served", crList);
    const tc = (name: string, host: string) => ({
      apiVersion: `${CR_GROUP}/${CR_VERSION}`,
      kind: "TestCluster",
      metadata: { name, namespace: NS },
      spec: { controlPlaneEndpoint: { host, port: 6443 } },
    });
    const createTC = (name: string, host: string) =>
      custom.createNamespacedCustomObject({ group: CR_GROUP, version: CR_VERSION, namespace: NS, plural: CR_PLURAL, body: tc(name, host) }) as Promise<Obj>;
    await createTC("t1", "10.0.0.1");
    await createTC("t2", "10.0.0.2");

    tcs = new Recorder(kc, `/apis/${CR_GROUP}/${CR_VERSION}/namespaces/${NS}/${CR_PLURAL}`, crList);
    await tcs.start();
    await until("two TestCluster add events", () => tcs!.events.length >= 2);
    expect(tcs.events.map((e) => `${e.type} ${e.name}`).sort()).toEqual(["add t1", "add t2"]);

    const t3 = await createTC("t3", "10.0.0.3");
    await until("add t3", () => tcs!.last("add", "t3"));
    expect(tcs.last("add", "t3")!.rv).toBe(t3.metadata!.resourceVersion!);
    // Defaulting from the schema is visible in the watched object.
    expect(tcs.last("add", "t3")!.obj.spec).toEqual({ controlPlaneEndpoint: { host: "10.0.0.3", port: 6443 } });

    const t1 = (await custom.patchNamespacedCustomObject(
      { group: CR_GROUP, version: CR_VERSION, namespace: NS, plural: CR_PLURAL, name: "t1", body: { spec: { paused: true } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    )) as Obj;
    await until("update t1", () => tcs!.last("update", "t1"));
    expect(tcs.last("update", "t1")!.rv).toBe(t1.metadata!.resourceVersion!);
    expect(tcs.last("update", "t1")!.obj.spec?.paused).toBe(true);

    await custom.deleteNamespacedCustomObject({ group: CR_GROUP, version: CR_VERSION, namespace: NS, plural: CR_PLURAL, name: "t2" });
    await until("delete t2", () => tcs!.last("delete", "t2"));
    expect(tcs.since(2)).toEqual([
      { type: "add", name: "t3" },
      { type: "update", name: "t1" },
      { type: "delete", name: "t2" },
    ]);
    expect(tcs.cache(NS)).toEqual(byName((await crList()).items));
    expect(tcs.errors).toEqual([]);
  });

  it("5. 410: a compacted resume revision makes the informers relist and converge", async () => {
    const recs = [cms, tcs!];
    const marks = recs.map((r) => r.events.length);
    const lists = recs.map((r) => r.lists);
    await takeDown(recs);
    await start(AGGRESSIVE);

    // While away: deletes of cached objects, updates, creates, then churn so compaction
    // passes the informers' resume revisions.
    await remove("c");
    await update("e", "3");
    await create("g", "1");
    await custom.deleteNamespacedCustomObject({ group: CR_GROUP, version: CR_VERSION, namespace: NS, plural: CR_PLURAL, name: "t3" });
    await core.createNamespace({ body: { metadata: { name: `${NS}-churn` } } });
    await core.createNamespacedConfigMap({ namespace: `${NS}-churn`, body: { metadata: { name: "churn" }, data: { n: "0" } } });
    for (let i = 1; i <= 20; i++) {
      await core.patchNamespacedConfigMap({ name: "churn", namespace: `${NS}-churn`, body: [{ op: "replace", path: "/data/n", value: String(i) }] });
    }
    // The server itself must now refuse both informers' resume revisions.
    const paths = [`/api/v1/namespaces/${NS}/configmaps`, `/apis/${CR_GROUP}/${CR_VERSION}/namespaces/${NS}/${CR_PLURAL}`];
    for (const [i, r] of recs.entries()) {
      const expired = await until(
        `the change log to be compacted past resourceVersion ${r.inf.latestResourceVersion()} (${paths[i]})`,
        async () => {
          const ev = await firstWatchEvent(d, `${paths[i]}?watch=true&resourceVersion=${r.inf.latestResourceVersion()}`);
          return ev.object.code === 410 ? ev : false;
        },
      );
      expect(expired.type).toBe("ERROR");
      expect(expired.object).toMatchObject({ kind: "Status", status: "Failure", reason: "Expired", code: 410 });
    }

    for (const r of recs) r.reconnect = true;
    await until("the informers to relist", () => recs.every((r, i) => r.lists > lists[i]!));
    await until("the ConfigMap cache to converge", async () => Bun.deepEquals(cms.cache(NS), await serverCMs()));
    const crNow = async () =>
      byName(((await custom.listNamespacedCustomObject({ group: CR_GROUP, version: CR_VERSION, namespace: NS, plural: CR_PLURAL })) as K8s.KubernetesListObject<Obj>).items);
    await until("the TestCluster cache to converge", async () => Bun.deepEquals(tcs!.cache(NS), await crNow()));

    for (const r of recs) {
      // The 410 reached the informer, as an ERROR event or an HTTP status.
      expect([...r.watchErrors.map((s) => s.code), ...r.httpStatuses]).toContain(410);
    }
    // Objects deleted while away produce delete events; changed and new ones update/add.
    // Each exactly once; unchanged objects (f, t1) produce no event.
    expect(cms.since(marks[0]!).map((e) => `${e.type} ${e.name}`).sort()).toEqual(["add g", "delete c", "update e"]);
    expect(cms.inf.get("e", NS)?.data).toEqual({ x: "3" });
    expect(cms.inf.get("c", NS)).toBeUndefined();
    expect(tcs!.since(marks[1]!)).toEqual([{ type: "delete", name: "t3" }]);
    expect(cms.inf.list(`${NS}-churn`)).toEqual([]);

    // And the informers watch again after the relist.
    await create("h", "1");
    await until("add h after the relist", () => cms.last("add", "h"));
    expect(cms.cache(NS)).toEqual(await serverCMs());
  });
});
