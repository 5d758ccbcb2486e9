/**
 * A seeded fuzz run against one daemon: well over a thousand malformed or mutated requests (bad
 * and truncated JSON, bad YAML, mutated protobuf, invalid names and metadata, bad patches of every
 * type, unknown paths, wrong content types, oversized bodies, bad query parameters, mutated
 * objects of every stored kind, bad CRDs), then the acceptance criteria: no 5xx, every error a
 * `Status`, nothing stored half-way, every stored object still valid.
 *
 * The seed is printed first; `FUZZ_SEED=<n>` replays a run, `FUZZ_REQUESTS=<n>` changes its length.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { adminTls, startTestDaemon, type TestDaemon } from "../harness/daemon.ts";
import { TEST_CRDS } from "./fixtures.ts";

/** Fuzz bodies are arbitrary JSON; `any` keeps the generators readable. */
// biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON
type J = any;

const SEED = (() => {
  const env = process.env.FUZZ_SEED;
  if (env !== undefined && env !== "") {
    const n = Number(env);
    if (!Number.isInteger(n)) throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(env)}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
})();
/** At least 1,000 unless FUZZ_REQUESTS asks otherwise (to replay a short run). */
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1200);
console.log(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED}), ${REQUESTS} requests`);

const MiB = 1024 * 1024;
const BODY_LIMIT = 3 * MiB;
const FUZZ_NS = "fuzz";

// ---------------------------------------------------------------------------------------------
// Deterministic PRNG (mulberry32).
// ---------------------------------------------------------------------------------------------

class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  str(n: number, alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-"): string {
    let s = "";
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

// ---------------------------------------------------------------------------------------------
// Requests, responses and the checks every response must pass.
// ---------------------------------------------------------------------------------------------

interface Req {
  cat: string;
  method: string;
  path: string;
  ct?: string;
  accept?: string;
  /** A string or bytes, or `{ stream: n }`: a chunked body of n bytes with no Content-Length. */
  body?: string | Uint8Array | { stream: number };
  /** The only statuses that are right for this request, where they are certain. */
  expect?: number[];
  /** The body does not change anything (dryRun in a DeleteOptions body). */
  dryRun?: boolean;
  /** The object sent is invalid whatever else happens: any 2xx is wrong. */
  reject?: string;
}

interface Outcome {
  status: number;
  ct: string;
  text: string;
  error?: string;
}

const enc = new TextEncoder();

function bodyBytes(b: Req["body"]): number {
  if (b === undefined) return 0;
  if (typeof b === "string") return enc.encode(b).byteLength;
  if (b instanceof Uint8Array) return b.byteLength;
  return b.stream;
}

function describeReq(r: Req): string {
  let prefix = "";
  if (typeof r.body === "string") prefix = JSON.stringify(r.body.slice(0, 160));
  else if (r.body instanceof Uint8Array) prefix = `hex:${Buffer.from(r.body.subarray(0, 80)).toString("hex")}`;
  else if (r.body) prefix = `<chunked stream of ${r.body.stream} bytes>`;
  const path = r.path.length > 300 ? `${r.path.slice(0, 300)}…(${r.path.length} chars)` : r.path;
  return `[${r.cat}] ${r.method} ${path} content-type=${r.ct ?? "(none)"}${r.accept ? ` accept=${r.accept}` : ""} body(${bodyBytes(r.body)} bytes)=${prefix}`;
}

function isWatch(r: Req): boolean {
  const q = new URL(r.path, "https://x").searchParams.get("watch");
  return q !== null && q !== "false" && q !== "0";
}

function streamOf(size: number): ReadableStream<Uint8Array> {
  const head = enc.encode(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fz-stream"},"data":{"x":"`);
  const tail = enc.encode(`"}}`);
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  let sent = 0;
  const fill = size - head.byteLength - tail.byteLength;
  let phase = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (phase === 0) {
        c.enqueue(head);
        phase = 1;
      } else if (phase === 1) {
        const n = Math.min(chunk.byteLength, fill - sent);
        if (n <= 0) phase = 2;
        else {
          c.enqueue(chunk.subarray(0, n));
          sent += n;
        }
      } else {
        c.enqueue(tail);
        c.close();
      }
    },
  });
}

let d: TestDaemon;
let tls: { ca: string; cert: string; key: string };

async function send(r: Req): Promise<Outcome> {
  const headers: Record<string, string> = {};
  if (r.ct !== undefined) headers["Content-Type"] = r.ct;
  if (r.accept !== undefined) headers.Accept = r.accept;
  let body: Uint8Array | ReadableStream<Uint8Array> | undefined;
  // Bytes, never a string: fetch would add text/plain to a string body without a Content-Type.
  if (typeof r.body === "string") body = enc.encode(r.body);
  else if (r.body instanceof Uint8Array) body = r.body;
  else if (r.body) body = streamOf(r.body.stream);
  try {
    const res = await fetch(`${d.url}${r.path}`, {
      method: r.method,
      headers,
      body,
      tls,
      signal: AbortSignal.timeout(20_000),
      ...(r.body && typeof r.body === "object" && !(r.body instanceof Uint8Array) ? { duplex: "half" } : {}),
    } as RequestInit);
    let text = "";
    if (res.status === 200 && isWatch(r)) await res.body?.cancel();
    else text = await res.text();
    return { status: res.status, ct: res.headers.get("content-type") ?? "", text };
  } catch (e) {
    return { status: 0, ct: "", text: "", error: String((e as Error)?.message ?? e) };
  }
}

/** What is wrong with a response, or undefined. */
function problemWith(r: Req, o: Outcome): string | undefined {
  if (o.error) return `no response: ${o.error}`;
  // A resourceVersion newer than the store is upstream's 504 Timeout ("Too large resource
  // version", cause ResourceVersionTooLarge) — client-go relists on it; it is not a failure.
  if (o.status === 504 && o.text.includes('"ResourceVersionTooLarge"')) return undefined;
  if (o.status >= 500) return `server error ${o.status}`;
  if (r.expect && !r.expect.includes(o.status)) return `expected ${r.expect.join(" or ")}, got ${o.status}`;
  const noBody = r.method === "HEAD";
  if (r.reject && o.status >= 200 && o.status < 300) return `${o.status}: accepted an invalid object (${r.reject})`;
  if (o.status >= 200 && o.status < 300) {
    if (noBody || isWatch(r)) return undefined;
    let b: J;
    try {
      b = JSON.parse(o.text);
    } catch {
      return `${o.status} with a body that is not JSON`;
    }
    if (!b || typeof b !== "object" || Array.isArray(b) || typeof b.kind !== "string") return `${o.status} with a body that is not an object with a kind`;
    return undefined;
  }
  if (o.status < 400) return `unexpected status ${o.status}`;
  if (noBody) return undefined;
  let s: J;
  try {
    s = JSON.parse(o.text);
  } catch {
    return `${o.status} with a body that is not JSON (content-type ${o.ct})`;
  }
  if (!s || s.kind !== "Status" || s.apiVersion !== "v1") return `${o.status} body is not a v1 Status`;
  if (s.code !== o.status) return `Status code ${s.code} differs from HTTP status ${o.status}`;
  if (s.status !== "Failure") return `error Status has status ${JSON.stringify(s.status)}`;
  if (typeof s.reason !== "string" || s.reason === "") return `error Status without a reason`;
  if (typeof s.message !== "string") return `error Status without a message`;
  if (!/^application\/json\b/.test(o.ct)) return `error Status with content-type ${o.ct}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The model: what the 2xx responses say is stored, per resource.
// ---------------------------------------------------------------------------------------------

interface ApiPathInfo {
  group: string;
  version: string;
  namespace?: string;
  plural: string;
  name?: string;
  sub?: string;
  query: URLSearchParams;
}

function parsePath(p: string): ApiPathInfo | undefined {
  const u = new URL(p, "https://x");
  const parts = u.pathname
    .split("/")
    .filter((s) => s.length > 0)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) {
    group = "";
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3 && !(group === "" && (rest[2] === "status" || rest[2] === "finalize") && rest.length === 3)) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, sub, ...extra] = rest;
  if (!plural || extra.length) return undefined;
  return { group, version, namespace, plural, name, sub, query: u.searchParams };
}

/** One key per stored resource: Events are one resource served in two groups. */
function resKey(group: string, plural: string): string {
  if (group === "events.k8s.io" && plural === "events") return "events";
  return group ? `${plural}.${group}` : plural;
}

const UNTRACKED = new Set(["selfsubjectaccessreviews.authorization.k8s.io"]);
/** Resources whose terminating objects controllers finish deleting on their own. */
const CONTROLLER_FINISHED = new Set(["namespaces", "customresourcedefinitions.apiextensions.k8s.io"]);

interface Entry {
  state: "present" | "maybe";
  obj?: J;
}

class Model {
  readonly byRes = new Map<string, Map<string, Entry>>();
  /** Things the responses themselves contradict (e.g. an update of an object never created). */
  readonly anomalies: string[] = [];

  of(res: string): Map<string, Entry> {
    let m = this.byRes.get(res);
    if (!m) this.byRes.set(res, (m = new Map()));
    return m;
  }
  static key(ns: string | undefined, name: string): string {
    return ns ? `${ns}/${name}` : name;
  }
  get(res: string, ns: string | undefined, name: string): Entry | undefined {
    return this.byRes.get(res)?.get(Model.key(ns, name));
  }
  present(res: string, filter: (k: string, e: Entry) => boolean = () => true): [string, Entry][] {
    return [...this.of(res)].filter(([k, e]) => e.state === "present" && filter(k, e));
  }

  /** Folds one response into the model. */
  observe(r: Req, o: Outcome): void {
    if (o.status < 200 || o.status >= 300 || r.dryRun) return;
    if (!["POST", "PUT", "PATCH", "DELETE"].includes(r.method)) return;
    const p = parsePath(r.path);
    if (!p || p.query.has("dryRun")) return;
    const res = resKey(p.group, p.plural);
    if (UNTRACKED.has(res) || p.sub === "scale") return;
    let body: J;
    try {
      body = JSON.parse(o.text);
    } catch {
      return;
    }
    const m = this.of(res);
    if (r.method === "DELETE") {
      if (p.name === undefined) {
        for (const item of body.items ?? []) {
          const k = Model.key(item.metadata?.namespace, item.metadata?.name);
          if (item.metadata?.deletionTimestamp) m.set(k, { state: "maybe", obj: item });
          else m.delete(k);
        }
        return;
      }
      const k = Model.key(p.namespace, p.name);
      if (body.kind === "Status") m.delete(k);
      else {
        m.set(k, { state: "maybe", obj: body });
        if (res === "customresourcedefinitions.apiextensions.k8s.io") {
          // The CRD's objects go with it.
          const crRes = resKey(body.spec?.group ?? "", body.spec?.names?.plural ?? "");
          for (const e of this.of(crRes).values()) e.state = "maybe";
        }
      }
      return;
    }
    const meta = body.metadata;
    if (!meta || typeof meta.name !== "string") return;
    const k = Model.key(meta.namespace, meta.name);
    const before = m.get(k);
    if (o.status === 201) {
      m.set(k, { state: "present", obj: body });
      return;
    }
    if (!before) this.anomalies.push(`${r.method} ${r.path} answered ${o.status} for ${res} ${k}, which no 2xx create made`);
    if (meta.deletionTimestamp) {
      if (!CONTROLLER_FINISHED.has(res) && !(meta.finalizers?.length > 0)) m.delete(k);
      else m.set(k, { state: "maybe", obj: body });
    } else m.set(k, { state: before?.state ?? "present", obj: body });
  }
}

// ---------------------------------------------------------------------------------------------
// Kinds: valid templates and their own ways of being wrong.
// ---------------------------------------------------------------------------------------------

type Mutator = (o: J, rng: Rng) => void;

interface Kind {
  id: string;
  res: string;
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
  custom: boolean;
  names: string[];
  make(name: string, ns: string): J;
  specific: Mutator[];
  status?: boolean;
  scale?: boolean;
}

const TIME = "2026-01-01T00:00:00Z";
const MICRO = "2026-01-01T00:00:00.000000Z";
const pool = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

function collPath(k: { group: string; version: string; plural: string; namespaced: boolean }, ns: string): string {
  const base = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
  return k.namespaced ? `${base}/namespaces/${enc1(ns)}/${k.plural}` : `${base}/${k.plural}`;
}
/** encodeURIComponent, but lone surrogates (which it refuses) become U+FFFD first. */
function enc1(s: string): string {
  return encodeURIComponent(s.toWellFormed());
}
function objPath(k: Kind, ns: string, name: string, sub?: string): string {
  return `${collPath(k, ns)}/${enc1(name)}${sub ? `/${sub}` : ""}`;
}

const set = (path: string[], v: J): Mutator => (o) => {
  let cur = o;
  for (const p of path.slice(0, -1)) {
    if (cur[p] === null || typeof cur[p] !== "object") cur[p] = {};
    cur = cur[p];
  }
  cur[path[path.length - 1]!] = v;
};

/** Mutations that make an object invalid however it is sent (as upstream decodes and validates it). */
const INVALID = new WeakMap<Mutator, string>();
function bad(m: Mutator, why: string): Mutator {
  INVALID.set(m, why);
  return m;
}

const KINDS: Kind[] = [
  {
    id: "configmap",
    res: "configmaps",
    group: "",
    version: "v1",
    plural: "configmaps",
    namespaced: true,
    custom: false,
    names: pool("fz-cm-", 12),
    make: (name, ns) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns, labels: { app: "fuzz" } }, data: { a: "1", "b.txt": "hello" } }),
    specific: [
      bad(set(["data", "a"], 1), "data value not a string"),
      bad(set(["data", "a/b"], "x"), "invalid data key"),
      bad(set(["data", ".."], "x"), "invalid data key"),
      bad(set(["data", ""], "x"), "empty data key"),
      bad(set(["binaryData", "bin"], "!!not base64!!"), "binaryData not base64"),
      bad(set(["binaryData", "a"], "AAE="), "key in both data and binaryData"),
      bad(set(["immutable"], "yes"), "immutable not a boolean"),
      bad(set(["data"], "flat"), "data not a map"),
      bad(set(["data", "big"], "x".repeat(MiB + 10)), "data over 1 MiB"),
      bad((o) => Object.assign(o, { data: "flat", binaryData: { b: "AAE=" } }), "data not a map"),
    ],
  },
  {
    id: "secret",
    res: "secrets",
    group: "",
    version: "v1",
    plural: "secrets",
    namespaced: true,
    custom: false,
    names: pool("fz-secret-", 12),
    make: (name, ns) => ({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: ns }, type: "Opaque", data: { user: "YWRtaW4=" } }),
    specific: [
      bad(set(["data", "user"], "not base64!"), "data not base64"),
      bad(set(["data", "user"], 42), "data value not a string"),
      bad(set(["stringData", "pw"], 42), "stringData value not a string"),
      bad(set(["stringData", "a/b"], "x"), "invalid stringData key"),
      set(["type"], ""),
      bad(set(["type"], "kubernetes.io/tls"), "tls Secret without tls.crt/tls.key (or a changed type)"),
      bad(set(["type"], 7), "type not a string"),
      bad(set(["immutable"], "true"), "immutable not a boolean"),
      bad(set(["data"], "flat"), "data not a map"),
      bad(set(["stringData"], "xy"), "stringData not a map"),
      bad(set(["stringData"], ["a"]), "stringData not a map"),
      bad((o) => Object.assign(o, { data: "flat", stringData: { a: "b" } }), "data not a map"),
    ],
  },
  {
    id: "namespace",
    res: "namespaces",
    group: "",
    version: "v1",
    plural: "namespaces",
    namespaced: false,
    custom: false,
    status: true,
    names: pool("fz-ns-", 8),
    make: (name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { app: "fuzz" } }, spec: {} }),
    specific: [
      bad(set(["spec", "finalizers"], "kubernetes"), "spec.finalizers not a list"),
      bad(set(["spec", "finalizers"], [1]), "spec.finalizers not strings"),
      set(["spec", "finalizers"], ["bad finalizer!"]),
      set(["status", "phase"], "Bogus"),
      bad(set(["metadata", "name"], "has.dots"), "namespace name with dots"),
      bad(set(["metadata", "name"], "a".repeat(64)), "namespace name over 63 characters"),
    ],
  },
  {
    id: "lease",
    res: "leases.coordination.k8s.io",
    group: "coordination.k8s.io",
    version: "v1",
    plural: "leases",
    namespaced: true,
    custom: false,
    names: pool("fz-lease-", 10),
    make: (name, ns) => ({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, namespace: ns },
      spec: { holderIdentity: "fuzz", leaseDurationSeconds: 15, acquireTime: MICRO, renewTime: MICRO, leaseTransitions: 0 },
    }),
    specific: [
      bad(set(["spec", "leaseDurationSeconds"], 0), "leaseDurationSeconds not positive"),
      bad(set(["spec", "leaseDurationSeconds"], -5), "leaseDurationSeconds not positive"),
      bad(set(["spec", "leaseDurationSeconds"], "15"), "leaseDurationSeconds not an integer"),
      bad(set(["spec", "leaseDurationSeconds"], 1.5), "leaseDurationSeconds not an integer"),
      set(["spec", "leaseDurationSeconds"], 2 ** 40),
      bad(set(["spec", "renewTime"], "yesterday"), "renewTime not a time"),
      bad(set(["spec", "renewTime"], 123), "renewTime not a string"),
      bad(set(["spec", "leaseTransitions"], -1), "leaseTransitions negative"),
      bad(set(["spec", "strategy"], 5), "strategy not a string"),
    ],
  },
  {
    id: "event",
    res: "events",
    group: "",
    version: "v1",
    plural: "events",
    namespaced: true,
    custom: false,
    names: pool("fz-ev-", 10),
    make: (name, ns) => ({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: ns },
      involvedObject: { kind: "ConfigMap", namespace: ns, name: "fz-cm-0", apiVersion: "v1" },
      reason: "Fuzzed",
      message: "a fuzzed event",
      type: "Normal",
      source: { component: "fuzz" },
      firstTimestamp: TIME,
      lastTimestamp: TIME,
      count: 1,
    }),
    specific: [
      bad(set(["involvedObject", "namespace"], "elsewhere"), "involvedObject.namespace differs from the Event's"),
      bad(set(["involvedObject"], "x"), "involvedObject not an object"),
      bad(set(["eventTime"], "not a time"), "eventTime not a time"),
      set(["eventTime"], MICRO),
      bad(set(["count"], "x"), "count not an integer"),
      set(["count"], -1),
      bad(set(["series", "count"], "many"), "series.count not an integer"),
      bad(set(["firstTimestamp"], 5), "firstTimestamp not a time"),
    ],
  },
  {
    id: "event-v1",
    res: "events",
    group: "events.k8s.io",
    version: "v1",
    plural: "events",
    namespaced: true,
    custom: false,
    names: pool("fz-ev-", 10),
    make: (name, ns) => ({
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name, namespace: ns },
      eventTime: MICRO,
      reportingController: "fuzz",
      reportingInstance: "fuzz-1",
      action: "Fuzz",
      reason: "Fuzzed",
      type: "Normal",
      regarding: { kind: "ConfigMap", namespace: ns, name: "fz-cm-0" },
      note: "a fuzzed event",
    }),
    specific: [
      bad(set(["type"], "Bogus"), "type neither Normal nor Warning"),
      bad(set(["eventTime"], "soon"), "eventTime not a time"),
      bad(set(["reportingController"], ""), "reportingController required"),
      bad(set(["action"], 7), "action not a string"),
      bad(set(["regarding", "namespace"], 5), "regarding.namespace not a string"),
      bad(set(["series"], { count: 2, lastObservedTime: "never" }), "series.lastObservedTime not a time"),
      bad(set(["deprecatedCount"], "x"), "deprecatedCount not an integer"),
    ],
  },
  {
    id: "testcluster",
    res: "testclusters.e2e.capx.dev",
    group: "e2e.capx.dev",
    version: "v1beta2",
    plural: "testclusters",
    namespaced: true,
    custom: true,
    status: true,
    names: pool("fz-tcl-", 12),
    make: (name, ns) => ({
      apiVersion: "e2e.capx.dev/v1beta2",
      kind: "TestCluster",
      metadata: { name, namespace: ns, labels: { app: "fuzz" } },
      spec: { paused: false, controlPlaneEndpoint: { host: "10.0.0.1", port: 6443 }, topologyVersion: "v1.32.0" },
    }),
    specific: [
      bad(set(["spec", "controlPlaneEndpoint", "port"], 0), "CEL: port must be positive"),
      bad(set(["spec", "controlPlaneEndpoint", "port"], -1), "CEL: port must be positive"),
      bad(set(["spec", "controlPlaneEndpoint", "port"], "6443"), "port not an integer"),
      set(["spec", "controlPlaneEndpoint", "port"], 2 ** 31),
      bad(set(["spec", "controlPlaneEndpoint", "port"], 1.5), "port not an integer"),
      bad(set(["spec", "topologyVersion"], "1.2"), "topologyVersion does not match its pattern"),
      bad(set(["spec", "topologyVersion"], "v1.2.3.4"), "topologyVersion does not match its pattern"),
      bad(set(["spec", "topologyVersion"], 5), "topologyVersion not a string"),
      bad(set(["spec", "paused"], "yes"), "paused not a boolean"),
      set(["spec", "unknownField"], { a: 1 }),
      set(["status"], { phase: 5, conditions: [{ status: "True" }] }),
      set(["status", "conditions"], [{ type: "Ready", status: "True" }, { type: "Ready", status: "False" }]),
    ],
  },
  {
    id: "testcluster-v1beta1",
    res: "testclusters.e2e.capx.dev",
    group: "e2e.capx.dev",
    version: "v1beta1",
    plural: "testclusters",
    namespaced: true,
    custom: true,
    status: true,
    names: pool("fz-tcl-", 12),
    make: (name, ns) => ({
      apiVersion: "e2e.capx.dev/v1beta1",
      kind: "TestCluster",
      metadata: { name, namespace: ns },
      spec: { paused: true, controlPlaneEndpoint: { host: "10.0.0.2", port: 6443 } },
    }),
    specific: [
      set(["spec", "controlPlaneEndpoint", "port"], 0),
      bad(set(["spec", "controlPlaneEndpoint", "port"], "x"), "port not an integer"),
      set(["spec", "topologyVersion"], "v1.2.3"),
      set(["status", "conditions"], [{ type: 1 }]),
    ],
  },
  {
    id: "testmachinedeployment",
    res: "testmachinedeployments.e2e.capx.dev",
    group: "e2e.capx.dev",
    version: "v1beta2",
    plural: "testmachinedeployments",
    namespaced: true,
    custom: true,
    status: true,
    scale: true,
    names: pool("fz-tmd-", 12),
    make: (name, ns) => ({
      apiVersion: "e2e.capx.dev/v1beta2",
      kind: "TestMachineDeployment",
      metadata: { name, namespace: ns },
      spec: { clusterName: "fz-tcl-0", replicas: 2, maxSurge: 1, labels: { a: "b" } },
    }),
    specific: [
      bad(set(["spec", "clusterName"], ""), "clusterName shorter than minLength 1"),
      bad(set(["spec", "clusterName"], null), "clusterName required"),
      bad(set(["spec", "replicas"], -1), "replicas below minimum 0"),
      bad(set(["spec", "replicas"], "2"), "replicas not an integer"),
      bad(set(["spec", "replicas"], 1.5), "replicas not an integer"),
      set(["spec", "replicas"], 2 ** 31),
      bad(set(["spec", "maxSurge"], {}), "maxSurge neither integer nor string"),
      bad(set(["spec", "maxSurge"], true), "maxSurge neither integer nor string"),
      set(["spec", "maxSurge"], "25%"),
      bad(set(["spec", "labels"], { a: 1 }), "labels value not a string"),
      set(["status", "replicas"], "x"),
      set(["status", "selector"], 5),
    ],
  },
];

const FUZZ_GROUP = "fuzz.capx.dev";
const CRD_KIND: Kind = {
  id: "crd",
  res: "customresourcedefinitions.apiextensions.k8s.io",
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  namespaced: false,
  custom: false,
  status: true,
  names: pool("fz", 6).map((p) => `${p}s.${FUZZ_GROUP}`),
  make: (name) => fuzzCrd(name.split(".")[0]!),
  specific: [],
};

function fuzzCrd(plural: string, group = FUZZ_GROUP): J {
  const singular = plural.replace(/s$/, "");
  const kind = `Fz${singular.slice(2)}x`;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      names: { plural, singular, kind, listKind: `${kind}List` },
      scope: "Namespaced",
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  "x-kubernetes-validations": [{ rule: "!has(self.size) || self.size < 100", message: "size must be below 100" }],
                  properties: {
                    size: { type: "integer", minimum: 0 },
                    mode: { type: "string", enum: ["a", "b"] },
                    tags: { type: "array", items: { type: "string", maxLength: 20 }, maxItems: 10 },
                  },
                },
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              },
            },
          },
        },
      ],
    },
  };
}

/** The kind a stored, established fuzz CRD serves, for creating its objects. */
function fuzzCrKind(crd: J): Kind | undefined {
  const spec = crd?.spec;
  const established = (crd?.status?.conditions ?? []).some((c: J) => c.type === "Established" && c.status === "True");
  const v = (spec?.versions ?? []).find((x: J) => x?.served);
  if (!established || !v || typeof spec.names?.plural !== "string" || typeof spec.group !== "string") return undefined;
  const namespaced = spec.scope !== "Cluster";
  return {
    id: `cr:${spec.names.plural}`,
    res: resKey(spec.group, spec.names.plural),
    group: spec.group,
    version: v.name,
    plural: spec.names.plural,
    namespaced,
    custom: true,
    status: Boolean(v.subresources?.status),
    names: pool("fz-cr-", 6),
    make: (name, ns) => ({ apiVersion: `${spec.group}/${v.name}`, kind: spec.names.kind, metadata: { name, ...(namespaced ? { namespace: ns } : {}) }, spec: { size: 5, mode: "a", tags: ["x"] } }),
    specific: [set(["spec", "size"], 500), set(["spec", "size"], -1), set(["spec", "mode"], "c"), set(["spec", "tags"], Array(20).fill("t")), set(["spec", "tags"], ["x".repeat(50)])],
  };
}

// ---------------------------------------------------------------------------------------------
// Generic mutations.
// ---------------------------------------------------------------------------------------------

/** Deeply nested values are spliced in as text, so neither side's JSON.stringify recurses on them. */
const DEEP_TOKEN = "__fuzz_deep_nesting__";
function deepText(depth: number, kind: "obj" | "arr"): string {
  return kind === "arr" ? `${"[".repeat(depth)}1${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

function junk(rng: Rng): J {
  return rng.pick<() => J>([
    () => 0,
    () => -1,
    () => 1.5,
    () => 2 ** 53 + 2,
    () => 1e308,
    () => true,
    () => false,
    () => null,
    () => "",
    () => "x",
    () => "UPPER case",
    () => "\u0000",
    () => "\ud800",
    () => "é✓",
    () => [],
    () => [1, "a", null],
    () => ({}),
    () => ({ a: { b: [] } }),
    () => "a".repeat(10_000),
    () => `${DEEP_TOKEN}${rng.pick([50, 500, 5000, 50_000])}${rng.pick(["obj", "arr"])}`,
  ])();
}

function nodes(o: J, path: (string | number)[] = [], out: { path: (string | number)[]; value: J }[] = [], depth = 0): typeof out {
  out.push({ path, value: o });
  if (depth > 8 || o === null || typeof o !== "object") return out;
  if (Array.isArray(o)) o.forEach((v, i) => nodes(v, [...path, i], out, depth + 1));
  else for (const k of Object.keys(o)) nodes(o[k], [...path, k], out, depth + 1);
  return out;
}

function parentOf(o: J, path: (string | number)[]): J {
  let cur = o;
  for (const p of path.slice(0, -1)) cur = cur[p];
  return cur;
}

const META_MUTATIONS: Mutator[] = [
  bad(set(["metadata", "name"], 5), "name not a string"),
  set(["metadata", "name"], null),
  set(["metadata", "name"], ""),
  bad(set(["metadata", "name"], "UPPER"), "name not a DNS-1123 subdomain"),
  bad(set(["metadata", "name"], "a".repeat(254)), "name over 253 characters"),
  bad(set(["metadata", "name"], "a..b"), "name not a DNS-1123 subdomain"),
  bad(set(["metadata", "name"], "-lead"), "name not a DNS-1123 subdomain"),
  bad(set(["metadata", "name"], "has/slash"), "name with a slash"),
  bad(set(["metadata", "name"], ".."), "name '..'"),
  set(["metadata", "generateName"], "fz-gen-"),
  set(["metadata", "generateName"], "BAD_GEN-"),
  bad(set(["metadata", "labels"], ["a", "b"]), "labels not a map"),
  bad(set(["metadata", "labels"], "a=b"), "labels not a map"),
  bad(set(["metadata", "labels"], { a: 1 }), "label value not a string"),
  bad(set(["metadata", "labels"], { "bad key!": "v" }), "invalid label key"),
  bad(set(["metadata", "labels"], { a: "bad value" }), "invalid label value"),
  bad(set(["metadata", "labels"], { ["x".repeat(64)]: "v" }), "label key over 63 characters"),
  bad(set(["metadata", "labels"], { "a/b/c": "v" }), "invalid label key"),
  bad(set(["metadata", "labels"], { "/x": "v" }), "label key with an empty prefix"),
  bad(set(["metadata", "labels"], { a: "v".repeat(64) }), "label value over 63 characters"),
  set(["metadata", "labels"], { __proto__x: "v", constructor: "v" }),
  bad(set(["metadata", "annotations"], { a: 5 }), "annotation value not a string"),
  bad(set(["metadata", "annotations"], ["x"]), "annotations not a map"),
  bad(set(["metadata", "annotations"], { big: "x".repeat(256 * 1024) }), "annotations over 256 KiB"),
  bad(set(["metadata", "annotations"], { "Bad Key": "v" }), "invalid annotation key"),
  set(["metadata", "resourceVersion"], "abc"),
  set(["metadata", "resourceVersion"], "-1"),
  bad(set(["metadata", "resourceVersion"], 7), "resourceVersion not a string"),
  set(["metadata", "uid"], "not-a-uid"),
  bad(set(["metadata", "uid"], 7), "uid not a string"),
  set(["metadata", "creationTimestamp"], "yesterday"),
  bad(set(["metadata", "creationTimestamp"], 7), "creationTimestamp not a string"),
  set(["metadata", "deletionTimestamp"], TIME),
  set(["metadata", "deletionGracePeriodSeconds"], -5),
  set(["metadata", "generation"], -1),
  bad(set(["metadata", "generation"], "one"), "generation not an integer"),
  bad(set(["metadata", "generation"], 1.5), "generation not an integer"),
  bad(set(["metadata", "finalizers"], "x"), "finalizers not a list"),
  bad(set(["metadata", "finalizers"], [1]), "finalizer not a string"),
  bad(set(["metadata", "finalizers"], ["no spaces allowed"]), "finalizer not a qualified name"),
  set(["metadata", "finalizers"], ["fuzz.capx.dev/hold"]),
  bad(set(["metadata", "ownerReferences"], "x"), "ownerReferences not a list"),
  bad(set(["metadata", "ownerReferences"], [1]), "ownerReference not an object"),
  bad(set(["metadata", "ownerReferences"], [{}]), "ownerReference without apiVersion, kind, name, uid"),
  bad(set(["metadata", "managedFields"], "x"), "managedFields not a list"),
  bad(set(["metadata", "managedFields"], [{ manager: 5 }]), "managedFields entry with a numeric manager"),
  set(["metadata", "managedFields"], [{ manager: "m", operation: "Bogus", fieldsType: "FieldsV1", fieldsV1: { "f:x": 5 } }]),
  set(["metadata", "namespace"], "elsewhere"),
  bad(set(["metadata", "namespace"], 5), "namespace not a string"),
  set(["metadata", "selfLink"], "/x"),
  set(["metadata", "unknownMeta"], "x"),
  bad(set(["metadata"], []), "metadata not an object"),
  bad(set(["metadata"], "x"), "metadata not an object"),
  set(["metadata"], null),
  bad(set(["apiVersion"], 1), "apiVersion not a string"),
  bad(set(["apiVersion"], "v2"), "wrong apiVersion"),
  bad(set(["apiVersion"], "nope.example.com/v1"), "wrong apiVersion"),
  bad(set(["kind"], []), "kind not a string"),
  bad(set(["kind"], "Wrong"), "wrong kind"),
  bad(set(["kind"], "configmap"), "wrong kind"),
];

const GENERIC: Mutator[] = [
  // delete a random field
  (o, rng) => {
    const ns = nodes(o).filter((n) => n.path.length > 0);
    if (!ns.length) return;
    const n = rng.pick(ns);
    const parent = parentOf(o, n.path);
    const last = n.path[n.path.length - 1]!;
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  },
  // flip a random field's type
  (o, rng) => {
    const ns = nodes(o).filter((n) => n.path.length > 0);
    if (!ns.length) return;
    const n = rng.pick(ns);
    parentOf(o, n.path)[n.path[n.path.length - 1]!] = junk(rng);
  },
  // deep nesting somewhere
  (o, rng) => {
    const objs = nodes(o).filter((n) => n.value && typeof n.value === "object" && !Array.isArray(n.value));
    const n = rng.pick(objs);
    n.value[rng.pick(["nested", "data", "spec", "x"])] = `${DEEP_TOKEN}${rng.pick([100, 1000, 10_000, 100_000])}${rng.pick(["obj", "arr"])}`;
  },
  // an unknown or odd key
  (o, rng) => {
    const objs = nodes(o).filter((n) => n.value && typeof n.value === "object" && !Array.isArray(n.value));
    const n = rng.pick(objs);
    n.value[rng.pick(["unknownField", "", "a.b", "$patch", "constructor", "toString", "hasOwnProperty", "✓", "\u0000"])] = junk(rng);
  },
  (o, rng) => rng.pick(META_MUTATIONS)(o, rng),
  (o, rng) => rng.pick(META_MUTATIONS)(o, rng),
];

/** JSON text of a (mutated) object, with the deep-nesting placeholders expanded. */
function toJson(o: J): string {
  return JSON.stringify(o).replace(new RegExp(`"${DEEP_TOKEN}(\\d+)(obj|arr)"`, "g"), (_, n, k) => deepText(Number(n), k));
}

/** Puts a `"__proto__"` key (which object literals cannot hold) into a JSON text. */
function withProtoKey(text: string, where: "top" | "metadata" | "labels" | "data"): string {
  const inject = `"__proto__":{"polluted":"yes"},`;
  if (where === "top") return text.replace(/^\{/, `{${inject}`);
  if (where === "metadata") return text.replace('"metadata":{', `"metadata":{${inject}`);
  if (where === "labels") return text.replace('"metadata":{', `"metadata":{"labels":{"__proto__":"x","ok":"y"},`);
  return text.replace(/\}$/, `,"data":{"__proto__":"x"}}`);
}

// ---------------------------------------------------------------------------------------------
// Protobuf bodies kubectl 1.32 sent (from src/api/protobuf.test.ts), and ways to break them.
// ---------------------------------------------------------------------------------------------

const PROTOBUF: { path: string; hex: string }[] = [
  {
    path: "/api/v1/namespaces",
    hex: "6b3873000a0f0a02763112094e616d657370616365121e0a160a06646f6f6d656412001a0022002a0032003800420012001a020a001a002200",
  },
  {
    path: `/api/v1/namespaces/${FUZZ_NS}/secrets`,
    hex: "6b3873000a0c0a027631120653656372657412250a120a02733112001a0022002a00320038004200120d0a0475736572120561646d696e1a001a002200",
  },
  {
    path: `/api/v1/namespaces/${FUZZ_NS}/secrets`,
    hex: "6b3873000a0c0a027631120653656372657412520a120a02733212001a0022002a00320038004200120f0a04626c6f6212070001fffe62696e12090a05656d7074791200120d0a0475736572120561646d696e1a116578616d706c652e636f6d2f7468696e671a002200",
  },
  {
    path: `/api/v1/namespaces/${FUZZ_NS}/configmaps`,
    hex: "6b3873000a0f0a0276311209436f6e6669674d6170121d0a130a03636d3212001a0022002a0032003800420012060a016b1201761a002200",
  },
  {
    path: `/api/v1/namespaces/${FUZZ_NS}/configmaps`,
    hex: "6b3873000a0f0a0276311209436f6e6669674d617012430a130a03636d3312001a0022002a0032003800420012060a016112013112050a01651200120d0a03747874120668656c6c6f0a1a0e0a0362696e12070001fffe62696e1a002200",
  },
  {
    path: `/api/v1/namespaces/${FUZZ_NS}/configmaps`,
    hex: "6b3873000a0f0a0276311209436f6e6669674d617012190a170a017812001a06646f6f6d656422002a003200380042001a002200",
  },
  {
    path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    hex: "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a65637441636365737352657669657712530a100a0012001a0022002a0032003800420012350a330a0764656661756c7412066372656174651a10636c75737465722e782d6b38732e696f22002a08636c75737465727332003a001a08080012001a0020001a002200",
  },
];

function hexBytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, "hex"));
}
function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

const PB_MUTATIONS: ((b: Uint8Array, rng: Rng) => Uint8Array)[] = [
  (b, rng) => b.slice(0, rng.int(b.length)),
  (b, rng) => b.slice(0, 4 + rng.int(b.length - 4)),
  (b, rng) => {
    const c = b.slice();
    for (let i = 0, n = 1 + rng.int(4); i < n; i++) c[4 + rng.int(c.length - 4)] = rng.int(256);
    return c;
  },
  (b, rng) => {
    const at = 4 + rng.int(b.length - 4);
    return concat(b.slice(0, at), rng.bytes(1 + rng.int(8)), b.slice(at));
  },
  (b, rng) => {
    const at = 4 + rng.int(b.length - 4);
    return concat(b.slice(0, at), b.slice(at + 1 + rng.int(6)));
  },
  // a length varint made huge
  (b, rng) => {
    const at = 5 + rng.int(b.length - 6);
    return concat(b.slice(0, at), new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), b.slice(at + 1));
  },
  // a 10-byte varint that overflows 64 bits
  (b, rng) => {
    const at = 5 + rng.int(b.length - 6);
    return concat(b.slice(0, at), new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), b.slice(at + 1));
  },
  // wire types 3, 4, 6, 7 (groups, invalid)
  (b, rng) => {
    const at = 4 + rng.int(b.length - 4);
    return concat(b.slice(0, at), new Uint8Array([rng.pick([0x0b, 0x0c, 0x0e, 0x0f, 0x13, 0x1c, 0x00])]), b.slice(at));
  },
  (b) => concat(new Uint8Array([0x6b, 0x38, 0x73, 0x01]), b.slice(4)),
  (b) => b.slice(4),
  () => new Uint8Array([0x6b, 0x38, 0x73, 0x00]),
  () => new Uint8Array(),
  (b) => concat(b, b.slice(4)),
  (_, rng) => concat(new Uint8Array([0x6b, 0x38, 0x73, 0x00]), rng.bytes(1 + rng.int(200))),
  // the outer Unknown message repeated, with a different kind
  (b) => {
    const s = Buffer.from(b).toString("latin1").replace("ConfigMap", "ConfigMaq").replace("Secret", "Secres").replace("Namespace", "Namespacf");
    return new Uint8Array(Buffer.from(s, "latin1"));
  },
  (b) => {
    const s = Buffer.from(b).toString("latin1").replace("\x02v1", "\x02v2");
    return new Uint8Array(Buffer.from(s, "latin1"));
  },
];

// ---------------------------------------------------------------------------------------------
// The generators, one per category.
// ---------------------------------------------------------------------------------------------

interface Gen {
  rng: Rng;
  model: Model;
}

const NAMESPACED = KINDS.filter((k) => k.namespaced);

function fuzzCrKinds(model: Model): Kind[] {
  return model
    .present(CRD_KIND.res, (k) => k.endsWith(`.${FUZZ_GROUP}`))
    .map(([, e]) => fuzzCrKind(e.obj))
    .filter((k): k is Kind => k !== undefined);
}

function pickNs(g: Gen, k: Kind): string {
  return k.namespaced ? g.rng.pick([FUZZ_NS, FUZZ_NS, FUZZ_NS, "default"]) : "";
}

/** An object of this kind the model holds, or a random pool name. */
function target(g: Gen, k: Kind): { ns: string; name: string; entry?: Entry } {
  const present = g.model.present(k.res, (key) => (k.namespaced ? key.includes("/") : true) && (k.res !== "namespaces" || key.startsWith("fz-ns-")));
  if (present.length && g.rng.chance(0.75)) {
    const [key, entry] = g.rng.pick(present);
    const [ns, name] = k.namespaced ? (key.split("/") as [string, string]) : ["", key];
    return { ns, name, entry };
  }
  const ns = pickNs(g, k);
  const name = g.rng.pick(k.names);
  const entry = g.model.get(k.res, k.namespaced ? ns : undefined, name);
  return { ns, name, entry: entry?.state === "present" ? entry : undefined };
}

const FIELD_VALIDATION = ["", "", "", "?fieldValidation=Strict", "?fieldValidation=Warn", "?fieldValidation=Ignore", "?dryRun=All", "?fieldManager=fuzzer"];

function genBadJson(g: Gen): Req {
  const { rng } = g;
  const k = rng.pick(KINDS);
  const ns = pickNs(g, k);
  const name = rng.pick(k.names);
  const obj = k.make(name, ns);
  const base = JSON.stringify(obj);
  let body: string | Uint8Array;
  let q = "";
  switch (rng.int(13)) {
    case 0:
      body = base.slice(0, rng.int(base.length));
      break;
    case 1: {
      const chars = base.split("");
      for (let i = 0, n = 1 + rng.int(3); i < n; i++) chars[rng.int(chars.length)] = rng.pick(["{", "}", "[", "]", '"', ":", ",", "\\", " ", "\u0000", "x", "1"]);
      body = chars.join("");
      break;
    }
    case 2:
      body = rng.bytes(1 + rng.int(300));
      break;
    case 3: {
      const b = enc.encode(base);
      for (let i = 0, n = 1 + rng.int(3); i < n; i++) b[rng.int(b.length)] = rng.pick([0xff, 0xfe, 0xc0, 0x80, 0xed]);
      body = b;
      break;
    }
    case 4:
      body = rng.pick([`\ufeff${base}`, `${base}{}`, `${base}garbage`, `/*c*/${base}`, `${base},`, `[${base}]`, `{"a":1}${base}`, base.replace(/"/g, "'")]);
      break;
    case 5: {
      const o = k.make(name, ns);
      rng.pick(META_MUTATIONS)(o, rng);
      body = toJson(o);
      break;
    }
    case 6:
      body = rng.pick(["[]", "5", '"s"', "null", "true", "{}", '{"kind":"ConfigMap"}', '{"apiVersion":"v1"}', "NaN", "-", "1e999", '{"metadata":{}}']);
      break;
    case 7: {
      // duplicate keys, under each fieldValidation
      const dupe = rng.pick([
        base.replace('"metadata":{', `"metadata":{"name":"fz-dup-0",`),
        base.replace(/^\{/, `{"kind":"Nope",`),
        base.replace('"metadata":{', '"metadata":{"labels":{"a":"1"},"labels":{"a":"2"},'),
      ]);
      body = dupe;
      q = rng.pick(["?fieldValidation=Strict", "?fieldValidation=Warn", ""]);
      break;
    }
    case 8:
      body = withProtoKey(base, rng.pick(["top", "metadata", "labels", "data"] as const));
      break;
    case 9:
      body = base
        .replace(/"port":6443/, `"port":${rng.pick(["1e400", "-0", "1e-400", "9007199254740993", "6443.0", "0x1bb"])}`)
        .replace(/"replicas":2/, `"replicas":${rng.pick(["1e400", "-0", "2.0000000001", "99999999999999999999"])}`)
        .replace(/"leaseDurationSeconds":15/, `"leaseDurationSeconds":${rng.pick(["1e400", "15.5", "-1e400"])}`)
        .replace(/"count":1/, `"count":${rng.pick(["1e400", "1.5"])}`)
        .replace(/"a":"1"/, `"a":${rng.pick(["1e400", "true", "[1]"])}`);
      break;
    case 10:
      // lone surrogates and escapes in names, labels and values
      body = base.replace(`"${name}"`, JSON.stringify(name).replace(/"$/, rng.pick(["\\ud800\"", "\\u0000\"", "\\udfff\\ud800\"", "\\u00e9\""])));
      break;
    case 11: {
      const depth = rng.pick([1000, 10_000, 100_000, 500_000]);
      body = base.replace(/\}$/, `,"deep":${deepText(depth, rng.pick(["obj", "arr"]))}}`);
      break;
    }
    default: {
      const o = k.make(name, ns);
      rng.pick(GENERIC)(o, rng);
      body = toJson(o);
    }
  }
  const m = rng.int(10);
  if (m < 6) return { cat: "bad-json", method: "POST", path: collPath(k, ns) + q, ct: "application/json", body };
  if (m < 8) return { cat: "bad-json", method: "PUT", path: objPath(k, ns, name) + q, ct: "application/json", body };
  return { cat: "bad-json", method: "PATCH", path: objPath(k, ns, name) + q, ct: "application/merge-patch+json", body };
}

function genBadYaml(g: Gen): Req {
  const { rng } = g;
  const k = rng.pick(KINDS);
  const ns = pickNs(g, k);
  const name = rng.pick(k.names);
  const valid = toYaml(k.make(name, ns));
  const bomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n";
  const head = `apiVersion: ${k.group ? `${k.group}/${k.version}` : k.version}\nkind: ${k.make(name, ns).kind}\n`;
  const variants: (() => string | Uint8Array)[] = [
    () => valid.slice(0, rng.int(valid.length)),
    () => rng.pick(["::", "{", "[", "key: [unclosed", "a: 'unterminated", "\tkey: tab", "- a\nb: c", "a:\n  - b\n c: d", "? ", "&", "*nope", "%YAML 9.9\n---\na: b", "!!", "|\n bad"]),
    () => `${head}apiVersion: v1\nmetadata:\n  name: ${name}\n`,
    () => `${valid}\n---\n${valid}`,
    () => `${valid}---\n`,
    () => bomb,
    () => `${head}metadata:\n  name: ${name}\n  namespace: ${ns}\ndata:\n  a: !!binary aGVsbG8=\n`,
    () => `${head}metadata: !!python/object/apply:os.system ['true']\n`,
    () => `${head}metadata:\n  name: ${name}\n  labels: !!set {a, b}\n`,
    () => `${head}metadata:\n  name: ${name}\n  labels:\n    ? [a, b]\n    : c\n`,
    () => `${head}base: &base {name: ${name}, namespace: ${ns}}\nmetadata:\n  <<: *base\n`,
    () => `${head}metadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  replicas: ${rng.pick([".nan", ".inf", "-.inf", "0x1F", "1_000", "0o17", "1e400", "~", "2001-12-14"])}\n  controlPlaneEndpoint: {host: h, port: ${rng.pick([".nan", ".inf", "0x1F", "1e400", "null", "[1]"])}}\n  clusterName: c\n`,
    () => `${head}metadata:\n  name: ${rng.pick(["123", "true", "null", "2001-12-14", "[a]", "{a: b}", "0x10"])}\n  namespace: ${ns}\n`,
    () => `${head}metadata:\n  name: ${name}\n  labels: [a, b]\n`,
    () => `\ufeff${valid.replace(/\n/g, "\r\n")}`,
    () => `${head}metadata:\n  name: ${name}\ndeep: ${"[".repeat(rng.pick([100, 1000, 20_000]))}${"]".repeat(rng.pick([100, 1000, 20_000]))}\n`,
    () => `${head}metadata:\n  name: ${name}\ndeep:\n${Array.from({ length: rng.pick([100, 1000]) }, (_, i) => `${" ".repeat(i + 1)}a:`).join("\n")} 1\n`,
    () => rng.bytes(1 + rng.int(200)),
    () => rng.pick(["just a string", "42", "null", "", "---", "...", "[]", "- a\n- b"]),
    () => `${head}metadata:\n  name: ${name}\n  ${"k".repeat(100_000)}: v\n`,
    () => `${head}metadata:\n  name: ${name}\n  annotations:\n    a: |\n${"    line\n".repeat(40_000)}`,
  ];
  const body = rng.pick(variants)();
  const ct = rng.pick(["application/yaml", "application/yaml", "text/yaml", "application/x-yaml"]);
  const m = rng.int(10);
  if (m < 6) return { cat: "bad-yaml", method: "POST", path: collPath(k, ns), ct, body };
  if (m < 8) return { cat: "bad-yaml", method: "PUT", path: objPath(k, ns, name), ct, body };
  return { cat: "bad-yaml", method: "PATCH", path: `${objPath(k, ns, name)}?fieldManager=fuzz`, ct: "application/apply-patch+yaml", body };
}

function genProtobuf(g: Gen): Req {
  const { rng } = g;
  const src = rng.pick(PROTOBUF);
  let body = hexBytes(src.hex);
  for (let i = 0, n = 1 + rng.int(2); i < n; i++) body = rng.pick(PB_MUTATIONS)(body, rng);
  const ct = rng.pick(["application/vnd.kubernetes.protobuf", "application/vnd.kubernetes.protobuf", "application/vnd.kubernetes.protobuf", undefined, "application/json", "application/vnd.kubernetes.protobuf;stream=watch"]);
  const m = rng.int(10);
  if (m < 7) return { cat: "protobuf", method: "POST", path: src.path, ct, body };
  if (m === 7) {
    // protobuf where the kind has no protobuf decoder, or to an object path
    const k = rng.pick(KINDS.filter((x) => x.custom || x.id === "lease"));
    return { cat: "protobuf", method: "POST", path: collPath(k, FUZZ_NS), ct: "application/vnd.kubernetes.protobuf", body };
  }
  if (m === 8) return { cat: "protobuf", method: "PUT", path: `${src.path}/${rng.pick(["cm2", "s1", "doomed", "x"])}`, ct, body };
  return { cat: "protobuf", method: "DELETE", path: `${src.path}/${rng.pick(["fz-none", "nothing-here"])}`, ct: "application/vnd.kubernetes.protobuf", body };
}

function genNames(g: Gen): Req {
  const { rng } = g;
  const k = rng.pick([...KINDS, CRD_KIND]);
  const ns = pickNs(g, k);
  const obj = k.make(rng.pick(k.names), ns);
  let expect: number[] | undefined;
  let urlName: string | undefined;
  switch (rng.int(4)) {
    case 0: {
      const bad = rng.pick(["UPPER", "a".repeat(254), "-lead", "trail-", "a..b", "a_b", "a b", "ü", ".", "..", "a/b", "%", "a\u0000b", "\ud800"]);
      obj.metadata.name = bad;
      urlName = bad;
      expect = [400, 404, 405, 422];
      break;
    }
    case 1: {
      const key = rng.pick(["a/b/c", "-a", "a".repeat(64), "prefix.example.com/", "UPPER_.com/x", "/x", "a b", "", `${"p".repeat(254)}/x`, "ok"]);
      const value = rng.pick(["a".repeat(64), "bad value", "-x", "x-", "ok", "", "ü"]);
      obj.metadata.labels = { [key]: value };
      break;
    }
    case 2: {
      const size = rng.pick([256 * 1024 + 1, 256 * 1024 - 10, 300 * 1024, 1024]);
      const annotations: Record<string, string> = {};
      const keys = rng.pick([1, 4, 64]);
      for (let i = 0; i < keys; i++) annotations[`k${i}`] = "v".repeat(Math.floor(size / keys));
      if (rng.chance(0.3)) annotations[rng.pick(["Bad Key", "a/b/c", "-x", "example.com/ok"])] = "v";
      obj.metadata.annotations = annotations;
      if (size > 256 * 1024 && k.id !== "crd") expect = [400, 404, 409, 422];
      break;
    }
    default: {
      const gen = rng.pick(["fz-gen-", "BAD-", "a".repeat(300), "x.", "-", ""]);
      delete obj.metadata.name;
      obj.metadata.generateName = gen;
      break;
    }
  }
  const m = rng.int(10);
  if (m < 7 || urlName === "" || urlName === "." || urlName === "..") {
    return { cat: "names", method: "POST", path: collPath(k, ns), ct: "application/json", body: toJson(obj), expect };
  }
  const name = urlName ?? obj.metadata.name ?? rng.pick(k.names);
  return { cat: "names", method: "PUT", path: objPath(k, ns, name), ct: "application/json", body: toJson(obj) };
}

function genBadPatch(g: Gen): Req {
  const { rng, model } = g;
  const kinds = [...KINDS, ...fuzzCrKinds(model)];
  const k = rng.pick(kinds);
  const { ns, name, entry } = target(g, k);
  const path = objPath(k, ns, name);
  const exists = entry !== undefined;
  const rv = entry?.obj?.metadata?.resourceVersion;
  const type = rng.int(5);
  if (type === 0) {
    const ops: J[] = [
      [{ op: "bogus", path: "/metadata/labels" }],
      [{ op: "add" }],
      [{ op: "add", path: "metadata/labels", value: {} }],
      [{ op: "add", path: "/metadata/labels/x~2y", value: "1" }],
      [{ op: "remove", path: "/nonexistent/deep" }],
      [{ op: "move", from: "/metadata", path: "/metadata/x" }],
      [{ op: "copy", from: "/nope", path: "/x" }],
      [{ op: "test", path: "/metadata/name", value: "other" }],
      [{ op: "replace", path: "/metadata/name", value: "renamed" }],
      [{ op: "replace", path: "/metadata/namespace", value: "elsewhere" }],
      [{ op: "add", path: "/data/-", value: 1 }],
      [{ op: "add", path: "/spec/controlPlaneEndpoint/port", value: -1 }],
      [{ op: "replace", path: "/spec/replicas", value: "many" }],
      [{ op: "add", path: "/metadata/labels", value: { "bad key!": "v" } }],
      [{ op: "add", path: "/metadata/finalizers/99999999999", value: "x" }],
      [{ op: "add", path: "/metadata/labels/__proto__", value: "x" }],
      [{ op: "add", path: "/metadata/managedFields", value: "junk" }],
      [{ op: "replace", path: "", value: {} }],
      [{ op: "replace", path: "", value: [] }],
      [{ op: "remove", path: "" }],
      [{ op: "remove", path: "/metadata" }],
      [{ op: "add", path: "/kind", value: "Other" }],
      [{ op: "replace", path: "/apiVersion", value: "v9" }],
      [{ op: "add", path: "/metadata/resourceVersion", value: "1" }],
      [{ op: "add", path: "/metadata/uid", value: "0000" }],
      [{ op: "add", path: "/status", value: { phase: 5 } }],
      [{ op: "add", path: "/deep", value: DEEP_TOKEN + "20000arr" }],
      [{ op: "add", path: "/metadata/annotations", value: { big: "x".repeat(300 * 1024) } }],
      [{ op: "add", path: "/metadata/finalizers", value: ["fuzz.capx.dev/hold"] }],
      [{ op: "remove", path: "/metadata/finalizers" }],
      [{ op: "add", path: "/metadata/labels/fuzzed", value: "yes" }],
      [null],
      [1],
      {},
      "string",
      [],
    ];
    const patch = rng.pick(ops);
    const text = toJson(patch);
    const sub = k.status && rng.chance(0.2) ? "/status" : "";
    return { cat: "bad-patch", method: "PATCH", path: `${path}${sub}${rng.pick(FIELD_VALIDATION)}`, ct: "application/json-patch+json", body: text, expect: exists ? undefined : [400, 404, 422] };
  }
  if (type === 1) {
    const patches: J[] = [
      [],
      1,
      null,
      "s",
      { metadata: null },
      { metadata: { labels: [] } },
      { metadata: { name: "other" } },
      { metadata: { namespace: "elsewhere" } },
      { kind: "Secret" },
      { apiVersion: "v9" },
      { spec: { controlPlaneEndpoint: { port: 0 } } },
      { spec: { replicas: -3 } },
      { spec: null },
      { data: { a: null, b: 1 } },
      { metadata: { resourceVersion: "1" } },
      { metadata: { resourceVersion: rv ?? "1" }, data: { c: "3" } },
      { metadata: { uid: "x" } },
      { metadata: { creationTimestamp: "2000-01-01T00:00:00Z" } },
      { metadata: { finalizers: null } },
      { metadata: { finalizers: ["fuzz.capx.dev/hold"] } },
      { metadata: { labels: { fuzzed: "yes" } } },
      { metadata: { labels: { fuzzed: null } } },
      { status: { phase: 1 } },
      { spec: { leaseDurationSeconds: 0 } },
      { deep: `${DEEP_TOKEN}50000obj` },
    ];
    const sub = k.status && rng.chance(0.25) ? "/status" : "";
    return { cat: "bad-patch", method: "PATCH", path: `${path}${sub}${rng.pick(FIELD_VALIDATION)}`, ct: "application/merge-patch+json", body: toJson(rng.pick(patches)) };
  }
  if (type === 2) {
    const patches: J[] = [
      { $patch: "replace" },
      { $patch: "delete" },
      { metadata: { $patch: "bogus" } },
      { "$setElementOrder/data": [1] },
      { $retainKeys: "x" },
      { metadata: { finalizers: { $patch: "replace" } } },
      { metadata: { "$deleteFromPrimitiveList/finalizers": "x" } },
      { metadata: { "$setElementOrder/finalizers": [{ a: 1 }] } },
      { status: { conditions: [{ type: 1 }] } },
      { status: { conditions: [{ $patch: "delete" }] } },
      { status: { conditions: [{ type: "Ready", $patch: "bogus" }] } },
      { spec: { finalizers: [{ $patch: "replace" }] } },
      { metadata: { labels: { $patch: "delete" } } },
      { metadata: { ownerReferences: [{ $patch: "delete", uid: 5 }] } },
      { data: { $patch: "replace", a: "1" } },
      { involvedObject: { $patch: "delete" } },
      [],
      "x",
    ];
    const sub = k.status && rng.chance(0.25) ? "/status" : "";
    return {
      cat: "bad-patch",
      method: "PATCH",
      path: `${path}${sub}${rng.pick(FIELD_VALIDATION)}`,
      ct: "application/strategic-merge-patch+json",
      body: toJson(rng.pick(patches)),
      expect: k.custom ? [415] : undefined,
    };
  }
  if (type === 3) {
    const obj = k.make(name, ns);
    let expect: number[] | undefined;
    switch (rng.int(9)) {
      case 0:
        obj.metadata.managedFields = [{ manager: "x", operation: "Apply", apiVersion: "v1", fieldsType: "FieldsV1", fieldsV1: {} }];
        expect = [400];
        break;
      case 1:
        obj.kind = rng.pick(["Secret", "Nope", "ConfigMapList"]);
        if (obj.kind === k.make(name, ns).kind) obj.kind = "Nope";
        expect = [400];
        break;
      case 2:
        obj.apiVersion = rng.pick(["v2", "nope.example.com/v1", "e2e.capx.dev/v1alpha9"]);
        expect = [400];
        break;
      case 3:
        delete obj.apiVersion;
        delete obj.kind;
        expect = [400];
        break;
      case 4:
        obj.metadata.name = "other-name";
        expect = [400];
        break;
      case 5:
        rng.pick(GENERIC)(obj, rng);
        break;
      case 6:
        rng.pick(k.specific.length ? k.specific : GENERIC)(obj, rng);
        break;
      case 7: {
        const body = rng.pick(["- a\n- b", "just text", "null", "{", toYaml(obj).slice(0, 20)]);
        return { cat: "bad-patch", method: "PATCH", path: `${path}?fieldManager=fuzz`, ct: "application/apply-patch+yaml", body, expect: [400, 422] };
      }
      default:
        return { cat: "bad-patch", method: "PATCH", path: `${path}?fieldManager=fuzz`, ct: "application/apply-patch+cbor", body: toJson(obj), expect: [415] };
    }
    const q = rng.pick(["?fieldManager=fuzz", "?fieldManager=fuzz&force=true", "?fieldManager=other", "?fieldManager=fuzz&fieldValidation=Strict", "?fieldManager=fuzz&force=maybe", "?dryRun=All&fieldManager=fuzz"]);
    if (q.includes("force=maybe")) expect = [400];
    const sub = k.status && rng.chance(0.15) ? "/status" : "";
    if (sub && expect) expect = [...expect, 404];
    return { cat: "bad-patch", method: "PATCH", path: `${path}${sub}${q}`, ct: "application/apply-patch+yaml", body: rng.chance(0.5) ? toJson(obj) : toYaml(obj), expect };
  }
  // wrong patch content types, force on non-apply, PATCH on a collection
  const c = rng.int(4);
  if (c === 0) return { cat: "bad-patch", method: "PATCH", path, ct: rng.pick(["application/json", "text/plain", "application/yaml", "application/patch+json", "application/json-patch+yaml"]), body: "{}", expect: [415] };
  if (c === 1) return { cat: "bad-patch", method: "PATCH", path, body: "{}", expect: [415] };
  if (c === 2) return { cat: "bad-patch", method: "PATCH", path: `${path}?force=true`, ct: "application/merge-patch+json", body: "{}", expect: [400] };
  return { cat: "bad-patch", method: "PATCH", path: collPath(k, ns), ct: "application/merge-patch+json", body: "{}", expect: [405] };
}

function genUnknownPath(g: Gen): Req {
  const { rng } = g;
  const NF = [404];
  const cases: (() => Req)[] = [
    () => ({ cat: "unknown-path", method: rng.pick(["GET", "POST", "PUT", "DELETE"]), path: `/apis/nope.example.com/v1/namespaces/${FUZZ_NS}/widgets`, ct: "application/json", body: undefined, expect: NF }),
    () => ({ cat: "unknown-path", method: "GET", path: `/apis/e2e.capx.dev/${rng.pick(["v9", "v1", "V1beta2", ""])}/namespaces/${FUZZ_NS}/testclusters`, expect: NF }),
    () => ({ cat: "unknown-path", method: "POST", path: `/apis/e2e.capx.dev/v9/namespaces/${FUZZ_NS}/testclusters`, ct: "application/json", body: toJson(KINDS[6]!.make("fz-tcl-0", FUZZ_NS)), expect: NF }),
    () => ({ cat: "unknown-path", method: "GET", path: `/api/${rng.pick(["v2", "v0", "V1"])}/namespaces/${FUZZ_NS}/configmaps`, expect: NF }),
    () => ({ cat: "unknown-path", method: rng.pick(["GET", "POST"]), path: `/api/v1/namespaces/${FUZZ_NS}/${rng.pick(["widgets", "pods", "deployments", "ConfigMaps", "configmap", "cm"])}`, ct: "application/json", body: "{}", expect: NF }),
    () => ({ cat: "unknown-path", method: "GET", path: `/apis/e2e.capx.dev/v1beta2/namespaces/${FUZZ_NS}/testclusters/fz-tcl-0/scale`, expect: NF }),
    () => ({ cat: "unknown-path", method: rng.pick(["GET", "PUT"]), path: `/api/v1/namespaces/${FUZZ_NS}/configmaps/fz-cm-0/${rng.pick(["status", "scale", "finalize", "log", "exec"])}`, ct: "application/json", body: "{}", expect: NF }),
    () => ({ cat: "unknown-path", method: "GET", path: `/api/v1/namespaces/${FUZZ_NS}/configmaps/fz-cm-0/status/extra`, expect: NF }),
    () => ({ cat: "unknown-path", method: "GET", path: "/api/v1/configmaps/fz-cm-0", expect: NF }),
    () => ({ cat: "unknown-path", method: "GET", path: `/api/v1/namespaces/${FUZZ_NS}/namespaces/x`, expect: NF }),
    () => ({ cat: "unknown-path", method: "GET", path: `/apis/apiextensions.k8s.io/v1/namespaces/${FUZZ_NS}/customresourcedefinitions`, expect: NF }),
    () => ({ cat: "unknown-path", method: rng.pick(["POST", "PUT", "DELETE", "PATCH"]), path: rng.pick(["/apis/apiextensions.k8s.io", "/apis", "/api", "/api/v1", "/version", "/openapi/v3"]), ct: "application/json", body: "{}", expect: [404, 405] }),
    () => ({ cat: "unknown-path", method: "GET", path: rng.pick(["/foo", "/apis/nope.example.com", "/apis/nope.example.com/v1", "/api/v2", "/openapi/v3/apis/nope/v1", "/livez/nope", "/readyz/nope", "/healthz/nope", "/apis/e2e.capx.dev/v7"]), expect: NF }),
    () => ({ cat: "unknown-path", method: "GET", path: rng.pick(["/%zz", "/api/v1/namespaces/%00/configmaps", `/api/v1/namespaces/${FUZZ_NS}/configmaps/%2e%2e`, "/api/v1/namespaces/f%C3%BCzz/configmaps", "/api/v1/namespaces/%ff/configmaps", `/api/v1/namespaces/${FUZZ_NS}/configmaps/%25`]) }),
    () => ({ cat: "unknown-path", method: rng.pick(["GET", "DELETE"]), path: `/api/v1/namespaces/${FUZZ_NS}/configmaps/${"n".repeat(rng.pick([300, 4000, 7000]))}`, expect: [404] }),
    () => ({ cat: "unknown-path", method: "OPTIONS", path: `/api/v1/namespaces/${FUZZ_NS}/configmaps` }),
    () => ({ cat: "unknown-path", method: "HEAD", path: `/apis/nope.example.com/v1/widgets`, expect: NF }),
    () => ({ cat: "unknown-path", method: "PUT", path: `/api/v1/namespaces/${FUZZ_NS}/configmaps`, ct: "application/json", body: toJson(KINDS[0]!.make("fz-cm-0", FUZZ_NS)), expect: [405] }),
    () => ({ cat: "unknown-path", method: "POST", path: `/api/v1/namespaces/${FUZZ_NS}/configmaps/fz-cm-0`, ct: "application/json", body: toJson(KINDS[0]!.make("fz-cm-0", FUZZ_NS)), expect: [405] }),
    () => ({ cat: "unknown-path", method: "DELETE", path: "/api/v1/namespaces", expect: [405] }),
    () => ({ cat: "unknown-path", method: "POST", path: "/api/v1/configmaps", ct: "application/json", body: toJson(KINDS[0]!.make("fz-cm-0", FUZZ_NS)), expect: [405] }),
    () => ({ cat: "unknown-path", method: rng.pick(["GET", "PUT", "DELETE"]), path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ct: "application/json", body: "{}" }),
    () => ({ cat: "unknown-path", method: "POST", path: `/apis/${FUZZ_GROUP}/v1/namespaces/${FUZZ_NS}/nothings`, ct: "application/json", body: "{}", expect: NF }),
    () => ({ cat: "unknown-path", method: "PATCH", path: `/api/v1/namespaces/${FUZZ_NS}/configmaps/fz-cm-0/finalize`, ct: "application/merge-patch+json", body: "{}", expect: NF }),
    () => ({ cat: "unknown-path", method: "PUT", path: "/api/v1/namespaces/fz-ns-none/finalize", ct: "application/json", body: '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"fz-ns-none"},"spec":{"finalizers":[]}}', expect: NF }),
  ];
  const r = rng.pick(cases)();
  if ((r.method === "GET" || r.method === "HEAD" || r.method === "OPTIONS") && r.body !== undefined) {
    delete r.body;
    delete r.ct;
  }
  return r;
}

function genContentType(g: Gen): Req {
  const { rng } = g;
  const k = rng.pick(KINDS);
  const ns = pickNs(g, k);
  const name = rng.pick(k.names);
  const body = toJson(k.make(name, ns));
  if (rng.chance(0.2)) {
    const accept = rng.pick(["application/xml", "text/html", "application/vnd.kubernetes.protobuf", "application/json;as=Table;v=v9;g=meta.k8s.io", "application/json;as=Bogus", ";;;", "*/*;q=abc", "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", "application/json;as=Table;v=v1;g=meta.k8s.io"]);
    if (rng.chance(0.3)) return { cat: "content-type", method: "POST", path: collPath(k, ns), accept, ct: "application/json", body };
    return { cat: "content-type", method: "GET", path: rng.chance(0.5) ? collPath(k, ns) : objPath(k, ns, name), accept };
  }
  const ct = rng.pick([
    undefined,
    "",
    "text/plain",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json; charset=utf-16",
    "APPLICATION/JSON",
    "application/json;;;",
    "application/vnd.kubernetes.protobuf",
    "application/cbor",
    "application/yaml",
    "*/*",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/apply-patch+yaml",
    "garbage",
    "application/",
    "/json",
  ]);
  const m = rng.int(10);
  if (m < 6) return { cat: "content-type", method: "POST", path: `${collPath(k, ns)}${rng.pick(["", "?dryRun=All"])}`, ct, body };
  if (m < 8) return { cat: "content-type", method: "PUT", path: objPath(k, ns, name), ct, body };
  return { cat: "content-type", method: "DELETE", path: objPath(k, ns, rng.pick(["fz-none", name])), ct, body: rng.pick(['{"kind":"DeleteOptions","dryRun":["All"]}', "not json", '{"propagationPolicy":"Sideways"}']), dryRun: true };
}

function genOversized(g: Gen): Req {
  const { rng } = g;
  const k = rng.pick(NAMESPACED.filter((x) => x.id !== "event-v1"));
  const name = rng.pick(k.names);
  const size = BODY_LIMIT + 1 + rng.int(64 * 1024);
  const obj = k.make(name, FUZZ_NS);
  const pad = (target: number) => {
    const o = structuredClone(obj);
    o.metadata.annotations = { pad: "" };
    const over = target - toJson(o).length;
    o.metadata.annotations.pad = "p".repeat(Math.max(0, over));
    return toJson(o);
  };
  const c = rng.int(8);
  if (c === 0) return { cat: "oversized", method: "POST", path: collPath(k, FUZZ_NS), ct: "application/json", body: { stream: size }, expect: [413] };
  if (c === 1) return { cat: "oversized", method: "PUT", path: objPath(k, FUZZ_NS, name), ct: "application/json", body: pad(size), expect: [413] };
  if (c === 2) return { cat: "oversized", method: "PATCH", path: objPath(k, FUZZ_NS, name), ct: "application/merge-patch+json", body: pad(size), expect: [413] };
  if (c === 3) return { cat: "oversized", method: "PATCH", path: `${objPath(k, FUZZ_NS, name)}?fieldManager=fuzz`, ct: "application/apply-patch+yaml", body: toYaml(JSON.parse(pad(size))), expect: [413] };
  if (c === 4) return { cat: "oversized", method: "POST", path: collPath(k, FUZZ_NS), ct: "application/vnd.kubernetes.protobuf", body: concat(hexBytes(PROTOBUF[3]!.hex), new Uint8Array(size)), expect: [413] };
  if (c === 5) {
    // just under the limit: decoded and judged, not refused for size
    const body = pad(BODY_LIMIT - 1 - rng.int(1000));
    return { cat: "oversized", method: "POST", path: `${collPath(k, FUZZ_NS)}${rng.pick(["", "?dryRun=All"])}`, ct: "application/json", body, expect: [201, 400, 409, 422] };
  }
  if (c === 6) return { cat: "oversized", method: "DELETE", path: objPath(k, FUZZ_NS, name), ct: "application/json", body: `{"kind":"DeleteOptions","dryRun":["All"],"pad":"${"x".repeat(size)}"}`, expect: [413], dryRun: true };
  return { cat: "oversized", method: "POST", path: collPath(k, FUZZ_NS), ct: "application/json", body: pad(size), expect: [413] };
}

function genQuery(g: Gen): Req {
  const { rng } = g;
  const k = rng.pick(KINDS);
  const ns = pickNs(g, k);
  const coll = collPath(k, ns);
  const obj = objPath(k, ns, rng.pick(k.names));
  const bad400: [string, string][] = [
    ["limit=-1", "list"],
    ["limit=abc", "list"],
    ["limit=1e3", "list"],
    ["limit=1.5", "list"],
    ["timeoutSeconds=-5", "list"],
    ["watch=yes", "list"],
    ["pretty=maybe", "any"],
    ["includeObject=Bogus", "list"],
    ["bogus=1", "any"],
    ["watch=true&bogus=1", "list"],
    ["fieldManager=" + "m".repeat(200), "any"],
    ["dryRun=Maybe", "any"],
    ["fieldValidation=Loose", "any"],
    ["allowWatchBookmarks=junk", "list"],
    ["force=maybe", "any"],
    ["orphanDependents=maybe", "any"],
    ["gracePeriodSeconds=abc", "any"],
  ];
  const loose: string[] = [
    "resourceVersion=abc",
    "resourceVersion=-1",
    "resourceVersion=99999999999999999999",
    "resourceVersionMatch=Exact",
    "resourceVersionMatch=Bogus&resourceVersion=1",
    "resourceVersionMatch=NotOlderThan",
    "continue=garbage",
    `continue=${Buffer.from('{"rv":-1,"start":"\\u0000"}').toString("base64")}`,
    `continue=${Buffer.from("not json").toString("base64")}`,
    "limit=1&continue=%00",
    "fieldSelector=spec.foo=bar",
    "fieldSelector=metadata.name=fz-cm-0",
    "fieldSelector=metadata.namespace!=x",
    "fieldSelector=status.phase=Active",
    "fieldSelector======",
    "fieldSelector=a==b==c",
    "fieldSelector=metadata.name!=x,",
    "fieldSelector=metadata.name%3Dx%2C%2C",
    "labelSelector=a%20in%20(",
    "labelSelector=!!",
    "labelSelector=a=b=c",
    "labelSelector=x,,y",
    "labelSelector=a%20notin%20()",
    `labelSelector=${"k".repeat(5000)}`,
    "labelSelector=a%3E5",
    "labelSelector=app%3Dfuzz",
    "limit=1&limit=2",
    "limit=0",
    "limit=99999999999999999999",
    "watch=true&resourceVersion=junk",
    "watch=1&resourceVersion=-5",
    "watch=true&resourceVersion=99999999",
    "watch=true&timeoutSeconds=1&resourceVersion=0",
    "watch=true&sendInitialEvents=true",
    "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1",
    "watch=true&allowWatchBookmarks=true&timeoutSeconds=1&labelSelector=a%20in%20(",
    "watch=true&fieldSelector=spec.nope=1",
    "sendInitialEvents=true",
    "includeObject=Object",
    "timeoutSeconds=99999999999999",
    "pretty=true&pretty=false",
  ];
  if (rng.chance(0.35)) {
    const [q, where] = rng.pick(bad400);
    const path = where === "list" || rng.chance(0.5) ? coll : obj;
    return { cat: "query", method: "GET", path: `${path}?${q}`, expect: [400] };
  }
  if (rng.chance(0.15)) {
    // deletes with bad options; the one that parses selects nothing
    const q = rng.pick(["propagationPolicy=Sideways", "gracePeriodSeconds=-5", "gracePeriodSeconds=abc", "labelSelector=fuzz-never%3D1", "labelSelector=a%20in%20(", "fieldSelector=spec.x=1", "dryRun=All&labelSelector=app%3Dfuzz"]);
    const collection = k.id !== "namespace" && k.id !== "crd" && rng.chance(0.6);
    const body = rng.pick([undefined, '{"propagationPolicy":"Sideways"}', '{"gracePeriodSeconds":-1}', '{"preconditions":{"uid":"x"}}', '{"preconditions":"x"}', '{"kind":"Nope"}', '{"orphanDependents":true,"propagationPolicy":"Orphan"}', '{"dryRun":["Maybe"]}']);
    if (!collection && !q.startsWith("dryRun") && !body?.includes("preconditions") && !q.includes("Sideways") && !body?.includes("Sideways")) {
      // only names that are never stored, so nothing is deleted by accident
      return { cat: "query", method: "DELETE", path: `${objPath(k, ns, "fz-none")}?${q}`, ct: "application/json", body, expect: [400, 404] };
    }
    return { cat: "query", method: "DELETE", path: `${collection ? coll : obj}?${q}`, ct: body ? "application/json" : undefined, body };
  }
  const q = rng.pick(loose);
  const path = q.startsWith("watch") || q.includes("Selector") || q.includes("continue") || q.includes("limit") ? (rng.chance(0.8) ? coll : `/api/v1/${rng.pick(["configmaps", "secrets", "events"])}`) : rng.chance(0.5) ? coll : obj;
  return { cat: "query", method: "GET", path: `${path}?${q}` };
}

function genMutation(g: Gen): Req {
  const { rng, model } = g;
  const kinds = [...KINDS, ...fuzzCrKinds(model)];
  const k = rng.pick(kinds);
  const t = target(g, k);
  const obj = k.make(t.name, t.ns);
  const n = rng.pick([0, 0, 1, 1, 1, 2, 3]);
  let invalid: string | undefined;
  for (let i = 0; i < n; i++) {
    const pool = rng.chance(0.5) && k.specific.length ? k.specific : rng.chance(0.3) ? META_MUTATIONS : GENERIC;
    const m = rng.pick(pool);
    m(obj, rng);
    // Only the last mutation is sure to be in the object sent: a later one may remove an earlier one's damage.
    invalid = INVALID.get(m);
  }
  const reject = invalid;
  const q = rng.pick(FIELD_VALIDATION);
  const rv = t.entry?.obj?.metadata?.resourceVersion;
  const op = rng.int(12);
  const cat = "mutation";
  const json = toJson(obj);
  // YAML only for small bodies: the yaml package is slow on deep nesting, and JSON is YAML too.
  const yamlOrJson = () => (json.length < 20_000 && rng.chance(0.5) ? toYaml(JSON.parse(json)) : json);
  if (op < 4) {
    const yaml = rng.chance(0.15);
    return { cat, method: "POST", path: `${collPath(k, t.ns)}${q}`, ct: yaml ? "application/yaml" : "application/json", body: yaml ? yamlOrJson() : json, reject };
  }
  if (op < 6) {
    if (obj.metadata && typeof obj.metadata === "object" && !Array.isArray(obj.metadata) && !("resourceVersion" in obj.metadata)) {
      const r = rng.int(4);
      if (r < 3 && rv) obj.metadata.resourceVersion = rv;
      else if (r === 3) obj.metadata.resourceVersion = rng.pick(["1", "abc", "999999999"]);
    }
    return { cat, method: "PUT", path: `${objPath(k, t.ns, t.name)}${q}`, ct: "application/json", body: toJson(obj), reject };
  }
  if (op === 6) return { cat, method: "PATCH", path: `${objPath(k, t.ns, t.name)}${q}`, ct: "application/merge-patch+json", body: json, reject };
  if (op === 7) {
    if (obj.metadata && typeof obj.metadata === "object") delete obj.metadata.resourceVersion;
    const force = rng.chance(0.3) ? "&force=true" : "";
    return { cat, method: "PATCH", path: `${objPath(k, t.ns, t.name)}?fieldManager=${rng.pick(["fuzz", "fuzz-b"])}${force}`, ct: "application/apply-patch+yaml", body: yamlOrJson(), reject };
  }
  if (op === 8) {
    return { cat, method: "PATCH", path: `${objPath(k, t.ns, t.name)}${q}`, ct: "application/strategic-merge-patch+json", body: json, expect: k.custom ? [415] : undefined, reject };
  }
  if (op === 9) {
    if (k.res === "namespaces" && !t.name.startsWith("fz-ns-")) return { cat, method: "GET", path: objPath(k, t.ns, t.name) };
    const how = rng.int(6);
    if (how === 0) return { cat, method: "DELETE", path: `${objPath(k, t.ns, t.name)}?propagationPolicy=${rng.pick(["Foreground", "Background", "Orphan"])}` };
    if (how === 1) return { cat, method: "DELETE", path: objPath(k, t.ns, t.name), ct: "application/json", body: JSON.stringify({ kind: "DeleteOptions", apiVersion: "v1", preconditions: { resourceVersion: rng.chance(0.5) ? rv ?? "1" : "1" } }) };
    if (how === 2) return { cat, method: "DELETE", path: `${objPath(k, t.ns, t.name)}?gracePeriodSeconds=0` };
    if (how === 3) return { cat, method: "DELETE", path: objPath(k, t.ns, t.name), ct: "application/json", body: JSON.stringify({ preconditions: { uid: t.entry?.obj?.metadata?.uid ?? "x" } }) };
    return { cat, method: "DELETE", path: objPath(k, t.ns, t.name) };
  }
  if (op === 10 && k.status) {
    const body = toJson(obj);
    if (rng.chance(0.5)) return { cat, method: "PUT", path: objPath(k, t.ns, t.name, "status"), ct: "application/json", body };
    return { cat, method: "PATCH", path: objPath(k, t.ns, t.name, "status"), ct: "application/merge-patch+json", body: toJson({ status: obj.status ?? junk(rng) }) };
  }
  if (op === 10 && k.scale) {
    const scale = { apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name: t.name, namespace: t.ns, ...(rv && rng.chance(0.5) ? { resourceVersion: rv } : {}) }, spec: { replicas: rng.pick([3, -1, "x", 1.5, 2 ** 31, null]) } };
    if (rng.chance(0.3)) rng.pick(GENERIC)(scale, rng);
    if (rng.chance(0.5)) return { cat, method: "PUT", path: objPath(k, t.ns, t.name, "scale"), ct: "application/json", body: toJson(scale) };
    return { cat, method: "PATCH", path: objPath(k, t.ns, t.name, "scale"), ct: rng.pick(["application/merge-patch+json", "application/json-patch+json"]), body: toJson(rng.chance(0.5) ? { spec: scale.spec } : [{ op: "replace", path: "/spec/replicas", value: scale.spec.replicas }]) };
  }
  return { cat, method: "GET", path: objPath(k, t.ns, t.name) };
}

const CRD_MUTATIONS: Mutator[] = [
  set(["spec", "group"], "nodot"),
  set(["spec", "group"], "UPPER.example.com"),
  set(["spec", "group"], ""),
  set(["spec", "group"], 5),
  set(["metadata", "name"], `other.${FUZZ_GROUP}`),
  set(["spec", "names", "kind"], "lower-case"),
  set(["spec", "names", "kind"], ""),
  set(["spec", "names", "kind"], 5),
  (o) => (o.spec.names.listKind = o.spec.names.kind),
  set(["spec", "names", "plural"], "UPPER"),
  set(["spec", "names", "shortNames"], ["BAD!"]),
  set(["spec", "names", "categories"], [5]),
  set(["spec", "names"], "x"),
  set(["spec", "scope"], "Galaxy"),
  set(["spec", "scope"], "Cluster"),
  set(["spec", "versions"], []),
  set(["spec", "versions"], "x"),
  set(["spec", "versions"], [{}]),
  set(["spec", "versions"], [null]),
  (o) => o.spec.versions.push({ ...structuredClone(o.spec.versions[0]), name: "v2" }),
  (o) => o.spec.versions.push(structuredClone(o.spec.versions[0])),
  set(["spec", "versions", "0", "storage"], false),
  set(["spec", "versions", "0", "name"], "V1"),
  set(["spec", "versions", "0", "served"], "yes"),
  set(["spec", "versions", "0", "schema"], null),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema"], {}),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "type"], "strin"),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "type"], "string"),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "tags", "items"], null),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "size"], { type: "integer", default: "abc" }),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "size"], { type: "integer", minimum: "a", maximum: -1 }),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "mode"], { type: "string", pattern: "([" }),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "mode"], { type: "string", pattern: "(?<n>x)\\p{Bogus}" }),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "mode"], { type: "string", format: "bogus", maxLength: -1, enum: [] }),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "mode"], { type: "string", enum: [1, {}, null] }),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "mode"], { $ref: "#/definitions/x" }),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "mode"], { "x-kubernetes-int-or-string": true, type: "string" }),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "mode"], { type: "object", additionalProperties: { type: "string" }, properties: { a: { type: "string" } } }),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "mode"], { type: "array", items: { type: "object" }, "x-kubernetes-list-type": "map" }),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "mode"], { type: "object", "x-kubernetes-embedded-resource": true }),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "mode"], { type: "string", nullable: "yes", "x-kubernetes-preserve-unknown-fields": "yes" }),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "mode"], { type: "string", "x-kubernetes-validations": [{ rule: "self.size() > 0" }] }),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties", "mode"], { type: "object", properties: { a: `${DEEP_TOKEN}5000obj` } }),
  ...[
    "self.size ==",
    "1 +",
    "self.nope > 0",
    "self.size",
    "'a' + 1",
    "self.size > 'x'",
    "self.mode.matches('[')",
    "self.tags.all(t, t.matches('^(a+)+$'))",
    "self.tags.all(a, self.tags.all(b, self.tags.all(c, self.tags.all(d, a + b + c + d != ''))))",
    "",
    "self.size >= oldSelf.size",
    `${"(".repeat(5000)}true${")".repeat(5000)}`,
    `${"!".repeat(20_000)}true`,
    `${Array(3000).fill("true").join(" && ")}`,
    `'${"x".repeat(100_000)}' != ''`,
    "has(self.x.y.z)",
    "self.tags[99] == 'a'",
    "int(self.mode) > 0",
    "1 / 0 == 1",
    "self.size / 0 > 1",
    "[1,2,3].map(x, x / 0).size() > 0",
    "dyn(self).foo == 1",
    "self == self",
  ].map((rule) => set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "x-kubernetes-validations"], [{ rule, message: "m" }])),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "x-kubernetes-validations"], [{ rule: 5 }]),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "x-kubernetes-validations"], [{ rule: "true", messageExpression: "1" }]),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "x-kubernetes-validations"], [{ rule: "true", fieldPath: "junk[", reason: "Bogus" }]),
  set(["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "x-kubernetes-validations"], "x"),
  set(["spec", "versions", "0", "subresources", "scale"], { specReplicasPath: "spec.replicas", statusReplicasPath: ".x" }),
  set(["spec", "versions", "0", "subresources", "scale"], { specReplicasPath: ".spec.size", statusReplicasPath: ".status.size", labelSelectorPath: ".metadata.x" }),
  set(["spec", "versions", "0", "subresources", "status"], "yes"),
  set(["spec", "versions", "0", "additionalPrinterColumns"], [{ name: "X", type: "bogus", jsonPath: "spec" }]),
  set(["spec", "versions", "0", "additionalPrinterColumns"], [{ name: "X", type: "string", jsonPath: ".spec[" }]),
  set(["spec", "versions", "0", "additionalPrinterColumns"], [{ name: 5 }]),
  set(["spec", "versions", "0", "selectableFields"], [{ jsonPath: ".spec.nope" }]),
  set(["spec", "versions", "0", "selectableFields"], [{ jsonPath: "junk" }]),
  set(["spec", "conversion"], { strategy: "Webhook", webhook: { clientConfig: { url: "https://x" } } }),
  set(["spec", "preserveUnknownFields"], true),
];

function genCrd(g: Gen): Req {
  const { rng, model } = g;
  const cat = "crd";
  const existing = model.present(CRD_KIND.res, (key) => key.endsWith(`.${FUZZ_GROUP}`));
  const op = rng.int(10);
  if (op === 0 && existing.length) {
    const [name, e] = rng.pick(existing);
    return { cat, method: "DELETE", path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, ...(e && rng.chance(0.1) ? { ct: "application/json", body: '{"preconditions":{"uid":"nope"}}' } : {}) };
  }
  const plural = rng.pick(CRD_KIND.names).split(".")[0]!;
  let group = FUZZ_GROUP;
  let crd: J;
  if (rng.chance(0.06)) {
    // names that collide with the test kinds
    group = "e2e.capx.dev";
    crd = fuzzCrd(plural, group);
    const c = rng.int(3);
    if (c === 0) crd.spec.names.kind = "TestCluster";
    else if (c === 1) crd.spec.names.shortNames = ["tcl"];
    else {
      crd.spec.names.plural = "testclusters";
      crd.metadata.name = "testclusters.e2e.capx.dev";
    }
  } else crd = fuzzCrd(plural, group);
  const n = rng.pick([0, 1, 1, 1, 2]);
  for (let i = 0; i < n; i++) {
    try {
      rng.pick(rng.chance(0.8) ? CRD_MUTATIONS : GENERIC)(crd, rng);
    } catch {
      // a mutation that no longer fits the mutated object: skip it
    }
  }
  const body = toJson(crd);
  const name = typeof crd.metadata?.name === "string" ? crd.metadata.name : `${plural}.${group}`;
  // Only CRDs of the fuzz group are updated, and only while none of their objects is stored
  // (a changed schema is allowed to leave existing objects invalid).
  const updatable = name.endsWith(`.${FUZZ_GROUP}`) && model.get(CRD_KIND.res, undefined, name) !== undefined && model.present(resKey(FUZZ_GROUP, name.split(".")[0]!)).length === 0;
  if (op < 7 || !updatable) return { cat, method: "POST", path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions${rng.pick(FIELD_VALIDATION)}`, ct: "application/json", body };
  const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${enc1(name)}`;
  if (op === 7) {
    const rv = model.get(CRD_KIND.res, undefined, name)?.obj?.metadata?.resourceVersion;
    if (crd.metadata && typeof crd.metadata === "object" && rv) crd.metadata.resourceVersion = rv;
    return { cat, method: "PUT", path, ct: "application/json", body: toJson(crd) };
  }
  if (op === 8) return { cat, method: "PATCH", path, ct: "application/merge-patch+json", body: toJson({ spec: crd.spec }) };
  return { cat, method: "PATCH", path: `${path}?fieldManager=fuzz`, ct: "application/apply-patch+yaml", body };
}

const CATEGORIES: [string, (g: Gen) => Req][] = [
  ["bad-json", genBadJson],
  ["bad-yaml", genBadYaml],
  ["protobuf", genProtobuf],
  ["names", genNames],
  ["bad-patch", genBadPatch],
  ["unknown-path", genUnknownPath],
  ["content-type", genContentType],
  ["oversized", genOversized],
  ["query", genQuery],
  ["mutation", genMutation],
  ["mutation", genMutation],
  ["crd", genCrd],
];

// ---------------------------------------------------------------------------------------------
// Reading everything back.
// ---------------------------------------------------------------------------------------------

async function getJson(path: string): Promise<J> {
  const o = await send({ cat: "check", method: "GET", path });
  if (o.status !== 200) throw new Error(`GET ${path}: ${o.status} ${o.error ?? o.text.slice(0, 300)}`);
  return JSON.parse(o.text);
}

interface Listed {
  res: string;
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  items: J[];
}

/** Every object of every listable resource discovery names, each resource once. */
async function listEverything(): Promise<Listed[]> {
  const gvs: { path: string; group: string; version: string }[] = [{ path: "/api/v1", group: "", version: "v1" }];
  for (const grp of (await getJson("/apis")).groups) {
    // preferred version first, then the others
    const versions = [grp.preferredVersion, ...grp.versions.filter((v: J) => v.version !== grp.preferredVersion.version)];
    for (const v of versions) gvs.push({ path: `/apis/${v.groupVersion}`, group: grp.name, version: v.version });
  }
  const out: Listed[] = [];
  const seen = new Set<string>();
  for (const gv of gvs) {
    for (const r of (await getJson(gv.path)).resources) {
      if (r.name.includes("/") || !r.verbs.includes("list")) continue;
      const res = resKey(gv.group, r.name);
      if (seen.has(res)) continue;
      seen.add(res);
      const list = await getJson(`${gv.path}/${r.name}`);
      out.push({ res, group: gv.group, version: gv.version, plural: r.name, kind: r.kind, namespaced: r.namespaced, items: list.items ?? [] });
    }
  }
  return out;
}

const SYSTEM_FINALIZERS = new Set(["customresourcecleanup.apiextensions.k8s.io", "foregroundDeletion", "orphan"]);

/**
 * Objects the controllers are still deleting: terminating, held only by the controllers' own
 * finalizers, and not waiting for content that a user finalizer keeps (a CRD's objects, a
 * namespace's objects).
 */
function settling(all: Listed[]): string[] {
  const out: string[] = [];
  const hasContent = (o: J, res: string): boolean => {
    if (res === CRD_KIND.res) return (all.find((l) => l.res === resKey(o.spec?.group ?? "", o.spec?.names?.plural ?? ""))?.items.length ?? 0) > 0;
    if (res === "namespaces") return all.some((l) => l.namespaced && l.items.some((i) => i.metadata?.namespace === o.metadata.name));
    return false;
  };
  for (const l of all) {
    for (const o of l.items) {
      const m = o.metadata ?? {};
      if (!m.deletionTimestamp) continue;
      const fin: string[] = m.finalizers ?? [];
      const specFin: string[] = l.res === "namespaces" ? (o.spec?.finalizers ?? []) : [];
      if (!fin.every((f) => SYSTEM_FINALIZERS.has(f)) || !specFin.every((f) => f === "kubernetes")) continue;
      if (hasContent(o, l.res)) continue;
      out.push(`${l.res} ${Model.key(m.namespace, m.name)}`);
    }
  }
  return out;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function qualifiedKeyOk(k: string): boolean {
  const parts = k.split("/");
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1]!;
  if (parts.length === 2 && (!parts[0] || parts[0].length > 253 || !DNS_SUBDOMAIN.test(parts[0]))) return false;
  return name.length > 0 && name.length <= 63 && QUALIFIED.test(name);
}

/** What is wrong with a stored object's metadata. */
function metadataProblems(l: Listed, o: J, namespaces: Set<string>): string[] {
  const p: string[] = [];
  const m = o.metadata;
  if (!m || typeof m !== "object") return ["no metadata"];
  if (typeof m.uid !== "string" || !UUID.test(m.uid)) p.push(`uid ${JSON.stringify(m.uid)}`);
  if (typeof m.resourceVersion !== "string" || !/^[1-9]\d*$/.test(m.resourceVersion)) p.push(`resourceVersion ${JSON.stringify(m.resourceVersion)}`);
  if (typeof m.creationTimestamp !== "string" || !RFC3339.test(m.creationTimestamp)) p.push(`creationTimestamp ${JSON.stringify(m.creationTimestamp)}`);
  const name = m.name;
  if (typeof name !== "string") p.push(`name ${JSON.stringify(name)}`);
  else if (l.res === "namespaces") {
    if (name.length > 63 || !DNS_LABEL.test(name)) p.push(`namespace name ${JSON.stringify(name)}`);
  } else if (l.res === CRD_KIND.res) {
    if (name !== `${o.spec?.names?.plural}.${o.spec?.group}`) p.push(`CRD name ${JSON.stringify(name)} is not plural.group`);
  } else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) p.push(`name ${JSON.stringify(name)}`);
  if (l.namespaced) {
    if (typeof m.namespace !== "string" || !namespaces.has(m.namespace)) p.push(`namespace ${JSON.stringify(m.namespace)} does not exist`);
  } else if (m.namespace !== undefined) p.push(`cluster-scoped object with namespace ${JSON.stringify(m.namespace)}`);
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    if (!qualifiedKeyOk(k) || typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v)) p.push(`label ${JSON.stringify(k)}=${JSON.stringify(v)}`);
  }
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(m.annotations ?? {})) {
    if (!qualifiedKeyOk(k.toLowerCase()) || typeof v !== "string") p.push(`annotation ${JSON.stringify(k)}`);
    annotationBytes += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  }
  if (annotationBytes > 256 * 1024) p.push(`annotations of ${annotationBytes} bytes`);
  if (m.managedFields !== undefined && !Array.isArray(m.managedFields)) p.push("managedFields is not a list");
  if (m.finalizers !== undefined && (!Array.isArray(m.finalizers) || m.finalizers.some((f: unknown) => typeof f !== "string"))) p.push("finalizers is not a list of strings");
  if (o.apiVersion !== undefined && typeof o.apiVersion !== "string") p.push("apiVersion is not a string");
  return p;
}

/** Paths (up to a few levels deep) where two JSON values differ. */
function diffPaths(a: J, b: J, path = "", depth = 0): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (depth >= 4 || !a || !b || typeof a !== "object" || typeof b !== "object" || Array.isArray(a) !== Array.isArray(b)) {
    return [`${path || "."}: ${JSON.stringify(a)?.slice(0, 200)} → ${JSON.stringify(b)?.slice(0, 200)}`];
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) => diffPaths(a[k], b[k], `${path}.${k}`, depth + 1));
}

function itemPath(l: Listed, o: J): string {
  const base = l.group ? `/apis/${l.group}/${l.version}` : `/api/${l.version}`;
  const ns = l.namespaced ? `/namespaces/${enc1(o.metadata.namespace)}` : "";
  return `${base}${ns}/${l.plural}/${enc1(o.metadata.name)}`;
}

async function metricsText(): Promise<string> {
  const o = await send({ cat: "check", method: "GET", path: "/metrics" });
  return o.text;
}

// ---------------------------------------------------------------------------------------------
// The test.
// ---------------------------------------------------------------------------------------------

const model = new Model();
const log: { req: Req; status: number }[] = [];
/** Wrong responses, grouped by what went wrong, each group with its first request. */
const stormFailures = new Map<string, { count: number; first: string }>();

function recordFailure(i: number, problem: string, req: Req, out: Outcome): void {
  let message = "";
  try {
    message = String(JSON.parse(out.text).message ?? "");
  } catch {
    // not JSON
  }
  // One group per kind of failure: the problem and the server's message, without the specifics.
  const sig = `${problem} ${message.slice(0, 60)}`.replace(/"[^"]*"/g, '""').replace(/\d+/g, "N");
  const g = stormFailures.get(sig);
  if (g) g.count++;
  else stormFailures.set(sig, { count: 1, first: `#${i} ${problem}: ${describeReq(req)} → ${out.status} ${out.text.slice(0, 300)}` });
}
let baselineKeys = new Map<string, Set<string>>();

function failureReport(title: string, lines: string[]): string {
  const shown = lines.slice(0, 40);
  return `${title} (seed ${SEED}; replay with FUZZ_SEED=${SEED}):\n${shown.map((l) => `  - ${l}`).join("\n")}${lines.length > shown.length ? `\n  … and ${lines.length - shown.length} more` : ""}`;
}

describe(`fuzz: ${REQUESTS} malformed and mutated requests against one daemon (seed ${SEED})`, () => {
  beforeAll(async () => {
    d = await startTestDaemon({ config: "storage:\n  synchronous: NORMAL\n" });
    tls = adminTls(d.dataDir);
    for (const doc of TEST_CRDS.split(/^---$/m)) {
      const o = await send({ cat: "setup", method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", ct: "application/json", body: JSON.stringify(parseYaml(doc)) });
      if (o.status !== 201) throw new Error(`installing a test CRD: ${o.status} ${o.text}`);
    }
    const ns = await send({ cat: "setup", method: "POST", path: "/api/v1/namespaces", ct: "application/json", body: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: FUZZ_NS } }) });
    if (ns.status !== 201) throw new Error(`creating namespace ${FUZZ_NS}: ${ns.status} ${ns.text}`);
    // A few valid objects of every kind, so updates, patches and deletes have something to hit.
    for (const k of KINDS) {
      for (const name of k.names.slice(0, 3)) {
        const r: Req = { cat: "setup", method: "POST", path: collPath(k, k.namespaced ? FUZZ_NS : ""), ct: "application/json", body: JSON.stringify(k.make(name, FUZZ_NS)) };
        const o = await send(r);
        if (o.status !== 201 && o.status !== 409) throw new Error(`seeding ${describeReq(r)}: ${o.status} ${o.text}`);
      }
    }
    // The baseline: everything stored before the storm.
    for (const l of await listEverything()) {
      const m = model.of(l.res);
      for (const o of l.items) m.set(Model.key(o.metadata.namespace, o.metadata.name), { state: "present", obj: o });
    }
    baselineKeys = new Map([...model.byRes].map(([res, m]) => [res, new Set(m.keys())]));
  }, 60_000);

  afterAll(async () => {
    await d?.stop();
    d?.cleanup();
  });

  it("answers every malformed or mutated request with a 2xx object or a 4xx Status, never a 5xx", async () => {
    const rng = new Rng(SEED);
    const g: Gen = { rng, model };
    const perCat = new Map<string, Map<number, number>>();
    const msPerCat = new Map<string, number>();
    const started = performance.now();
    for (let i = 0; i < REQUESTS; i++) {
      const [, gen] = CATEGORIES[rng.int(CATEGORIES.length)]!;
      const req = gen(g);
      const t0 = performance.now();
      const out = await send(req);
      msPerCat.set(req.cat, (msPerCat.get(req.cat) ?? 0) + performance.now() - t0);
      log.push({ req, status: out.status });
      const c = perCat.get(req.cat) ?? new Map<number, number>();
      c.set(out.status, (c.get(out.status) ?? 0) + 1);
      perCat.set(req.cat, c);
      const problem = problemWith(req, out);
      if (problem) recordFailure(i, problem, req, out);
      model.observe(req, out);
    }
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    const summary = [...perCat].sort(([a], [b]) => a.localeCompare(b)).map(([cat, codes]) => {
      const n = [...codes.values()].reduce((a, b) => a + b, 0);
      const byCode = [...codes].sort(([a], [b]) => a - b).map(([code, k]) => `${code}×${k}`).join(" ");
      return `  ${cat.padEnd(13)} ${String(n).padStart(4)} ${`${((msPerCat.get(cat) ?? 0) / 1000).toFixed(1)}s`.padStart(6)}  ${byCode}`;
    });
    console.log(`fuzz seed ${SEED}: ${REQUESTS} requests in ${secs}s\n${summary.join("\n")}`);
    expect(log.length).toBe(REQUESTS);
    expect(perCat.size).toBe(new Set(CATEGORIES.map(([c]) => c)).size);
    if (stormFailures.size) {
      const wrong = [...stormFailures.values()].reduce((n, g) => n + g.count, 0);
      const lines = [...stormFailures.values()].map((g) => `${g.count > 1 ? `(×${g.count}, the first:) ` : ""}${g.first}`);
      throw new Error(failureReport(`${wrong} of ${REQUESTS} responses were wrong, in ${stormFailures.size} ways`, lines));
    }
  }, 120_000);

  let final: Listed[] = [];

  it("stores nothing half-way: each resource holds exactly the objects the logged 2xx creates and deletes imply", async () => {
    // Let the controllers finish what they own (namespace content, CRD cleanup, foreground GC).
    const deadline = Date.now() + 15_000;
    for (;;) {
      final = await listEverything();
      const pending = settling(final);
      if (pending.length === 0) break;
      if (Date.now() > deadline) {
        const detail = pending.map((p) => {
          const [res, key] = p.split(" ");
          const l = final.find((x) => x.res === res);
          const o = l?.items.find((i) => Model.key(i.metadata.namespace, i.metadata.name) === key);
          return `${p}: ${JSON.stringify({ metadata: { ...o?.metadata, managedFields: undefined }, status: o?.status })?.slice(0, 1500)}`;
        });
        const held = final.flatMap((l) => l.items.filter((o) => o.metadata.deletionTimestamp).map((o) => `${l.res} ${Model.key(o.metadata.namespace, o.metadata.name)} finalizers=${JSON.stringify(o.metadata.finalizers)}`));
        throw new Error(failureReport("objects still terminating after 15 s", [...detail, ...held]));
      }
      await Bun.sleep(200);
    }
    const problems: string[] = [...model.anomalies];
    const listedRes = new Set(final.map((l) => l.res));
    for (const l of final) {
      const expected = model.of(l.res);
      const stored = new Set<string>();
      for (const o of l.items) {
        const key = Model.key(o.metadata?.namespace, o.metadata?.name);
        stored.add(key);
        const e = expected.get(key);
        if (!e) problems.push(`${l.res} ${key} is stored, but no logged 2xx created it`);
        else if (e.state === "maybe" && !o.metadata.deletionTimestamp) problems.push(`${l.res} ${key} was deleted (2xx) but is stored without a deletionTimestamp`);
      }
      for (const [key, e] of expected) {
        if (e.state === "present" && !stored.has(key)) problems.push(`${l.res} ${key} was created (2xx) and never deleted, but is not stored`);
      }
    }
    for (const [res, m] of model.byRes) {
      if (listedRes.has(res)) continue;
      for (const [key, e] of m) if (e.state === "present") problems.push(`${res} ${key} was created (2xx), but its resource is no longer served`);
    }
    const created = log.filter((x) => x.status === 201).length;
    const deleted = log.filter((x) => x.req.method === "DELETE" && x.status === 200).length;
    const counts = final.filter((l) => l.items.length || baselineKeys.has(l.res)).map((l) => `${l.res}=${l.items.length}`).join(" ");
    console.log(`fuzz seed ${SEED}: ${created} creates (201) and ${deleted} deletes (200) logged; stored now: ${counts}`);
    if (problems.length) throw new Error(failureReport("the store does not match the logged creates and deletes", problems));
  }, 60_000);

  it("leaves every stored object valid: complete metadata, and a no-op PUT of it as read succeeds without a new resourceVersion", async () => {
    if (final.length === 0) throw new Error(`nothing was listed (seed ${SEED}): see the previous test`);
    const namespaces = new Set<string>(final.find((l) => l.res === "namespaces")!.items.map((o) => o.metadata.name));
    const problems: string[] = [];
    let checked = 0;
    for (const l of final) {
      for (const o of l.items) {
        const key = `${l.res} ${Model.key(o.metadata?.namespace, o.metadata?.name)}`;
        for (const p of metadataProblems(l, o, namespaces)) problems.push(`${key}: ${p}`);
        const body = { apiVersion: l.group ? `${l.group}/${l.version}` : l.version, kind: l.kind, ...o };
        const req: Req = { cat: "check", method: "PUT", path: `${itemPath(l, o)}?fieldValidation=Strict`, ct: "application/json", body: JSON.stringify(body) };
        const out = await send(req);
        checked++;
        if (out.status !== 200) {
          problems.push(`${key}: no-op PUT answered ${out.status} ${out.text.slice(0, 300)}`);
          continue;
        }
        const back = JSON.parse(out.text);
        if (back.metadata?.resourceVersion !== o.metadata.resourceVersion) {
          const changed = diffPaths({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } }, { ...back, metadata: { ...back.metadata, resourceVersion: undefined } });
          problems.push(`${key}: no-op PUT changed resourceVersion ${o.metadata.resourceVersion} → ${back.metadata?.resourceVersion}; changed: ${changed.join(", ") || "(nothing visible)"}; object as read: ${JSON.stringify(o).slice(0, 1500)}`);
        }
      }
    }
    console.log(`fuzz seed ${SEED}: ${checked} stored objects re-validated`);
    if (problems.length) throw new Error(failureReport("stored objects are not valid", problems));
  }, 60_000);

  it("logs no unexpected error and counts no 5xx in apiserver_request_total", async () => {
    const metrics = await metricsText();
    // 504 is only the too-large resourceVersion answer, checked request by request above.
    const fivexx = metrics.split("\n").filter((line) => line.startsWith("apiserver_request_total{") && /code="5(?!04)\d\d"/.test(line) && !/\} 0$/.test(line));
    // Log lines grouped by error and the frame that threw it.
    const unexpected = new Map<string, { count: number; line: string }>();
    for (const line of d.logs().split("\n").filter((l) => /unexpected error/i.test(l))) {
      let sig = line;
      try {
        sig = String(JSON.parse(line).err ?? line).split("\n").slice(0, 2).join(" ");
      } catch {
        // not JSON
      }
      const g = unexpected.get(sig);
      if (g) g.count++;
      else unexpected.set(sig, { count: 1, line });
    }
    const lines = [...fivexx.map((l) => `metric: ${l}`), ...[...unexpected.values()].map((g) => `log${g.count > 1 ? ` (×${g.count})` : ""}: ${g.line.slice(0, 600)}`)];
    if (lines.length) throw new Error(failureReport("the daemon reports server errors", lines));
  });
});
