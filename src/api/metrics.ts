/**
 * Prometheus metrics under the names kube-apiserver uses. prom-client loads after the server
 * is listening (it is the heaviest module on the startup path); observations made before that
 * are queued and replayed.
 * @module
 */
import type { Counter, Gauge, Histogram, Registry } from "prom-client";

type RequestLabels = "verb" | "group" | "version" | "resource" | "subresource" | "scope" | "component";
export type RequestLabelValues = Record<RequestLabels, string>;

interface Prom {
  registry: Registry;
  requests: Counter<RequestLabels | "code">;
  duration: Histogram<RequestLabels>;
  inflight: Gauge<"request_kind">;
  watchEvents: Counter<"group" | "version" | "kind">;
  storageRevision: Gauge;
  busy: Counter;
}

const MAX_QUEUED = 10_000;

function create(): Prom {
  const p = require("prom-client") as typeof import("prom-client");
  const registry = new p.Registry();
  const prom: Prom = {
    registry,
    requests: new p.Counter({
      name: "apiserver_request_total",
      help: "Counter of apiserver requests broken out for each verb, group, version, resource, scope, component, and HTTP response code.",
      labelNames: ["verb", "group", "version", "resource", "subresource", "scope", "component", "code"],
      registers: [registry],
    }),
    duration: new p.Histogram({
      name: "apiserver_request_duration_seconds",
      help: "Response latency distribution in seconds for each verb, group, version, resource, subresource, scope and component.",
      labelNames: ["verb", "group", "version", "resource", "subresource", "scope", "component"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60],
      registers: [registry],
    }),
    inflight: new p.Gauge({
      name: "apiserver_current_inflight_requests",
      help: "Maximal number of currently used inflight request limit of this apiserver per request kind.",
      labelNames: ["request_kind"],
      registers: [registry],
    }),
    watchEvents: new p.Counter({
      name: "apiserver_watch_events_total",
      help: "Number of events sent in watch clients",
      labelNames: ["group", "version", "kind"],
      registers: [registry],
    }),
    storageRevision: new p.Gauge({ name: "capx_store_revision", help: "Current global revision (resourceVersion) of the object store.", registers: [registry] }),
    busy: new p.Counter({ name: "capx_store_busy_total", help: "Requests answered 429 because the database was busy.", registers: [registry] }),
  };
  p.collectDefaultMetrics({ register: registry });
  return prom;
}

export class ApiMetrics {
  #prom?: Prom;
  #queue: ((p: Prom) => void)[] = [];
  #textSources: (() => string)[] = [];

  /**
   * `queueBeforeLoad: false` drops observations until the first scrape loads prom-client: for
   * the lab's workload API servers, which nobody scrapes — a thousand of them holding 10,000
   * queued observations each would be a leak, and a registry each would be heavy.
   */
  constructor(private readonly opts: { queueBeforeLoad?: boolean } = {}) {}

  /** Adds metrics rendered elsewhere (the controllers' reconcile counters) to /metrics. */
  addTextSource(source: () => string): void {
    this.#textSources.push(source);
  }

  /** Loads prom-client now; call once the server listens. */
  load(): void {
    if (this.#prom) return;
    this.#prom = create();
    for (const f of this.#queue.splice(0)) f(this.#prom);
  }

  #do(f: (p: Prom) => void): void {
    if (this.#prom) f(this.#prom);
    else if (this.opts.queueBeforeLoad !== false && this.#queue.length < MAX_QUEUED) this.#queue.push(f);
  }

  request(labels: RequestLabelValues, code: number, seconds?: number): void {
    this.#do((p) => {
      p.requests.inc({ ...labels, code: String(code) });
      if (seconds !== undefined) p.duration.observe(labels, seconds);
    });
  }

  inflight(kind: "readOnly" | "mutating", delta: 1 | -1): void {
    this.#do((p) => p.inflight.inc({ request_kind: kind }, delta));
  }

  watchEvents(group: string, version: string, kind: string, n: number): void {
    this.#do((p) => p.watchEvents.inc({ group, version, kind }, n));
  }

  busy(): void {
    this.#do((p) => p.busy.inc());
  }

  /** The Prometheus text exposition. */
  async render(revision: number): Promise<{ contentType: string; body: string }> {
    this.load();
    const p = this.#prom!;
    p.storageRevision.set(revision);
    const body = (await p.registry.metrics()) + this.#textSources.map((f) => f()).join("");
    return { contentType: p.registry.contentType, body };
  }
}
