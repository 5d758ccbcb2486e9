/**
 * Prometheus metrics under the names kube-apiserver uses, on a registry of our own.
 * @module
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "apiserver_request_total",
    help: "Counter of apiserver requests broken out for each verb, group, version, resource, scope, component, and HTTP response code.",
    labelNames: ["verb", "group", "version", "resource", "subresource", "scope", "component", "code"] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: "apiserver_request_duration_seconds",
    help: "Response latency distribution in seconds for each verb, group, version, resource, subresource, scope and component.",
    labelNames: ["verb", "group", "version", "resource", "subresource", "scope", "component"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60],
    registers: [this.registry],
  });
  readonly inflight = new Gauge({
    name: "apiserver_current_inflight_requests",
    help: "Maximal number of currently used inflight request limit of this apiserver per request kind.",
    labelNames: ["request_kind"] as const,
    registers: [this.registry],
  });
  readonly longRunning = new Gauge({
    name: "apiserver_longrunning_requests",
    help: "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.",
    labelNames: ["verb", "group", "version", "resource", "scope", "component"] as const,
    registers: [this.registry],
  });
  readonly watchEvents = new Counter({
    name: "apiserver_watch_events_total",
    help: "Number of events sent in watch clients",
    labelNames: ["group", "version", "kind"] as const,
    registers: [this.registry],
  });
  readonly storageObjects = new Gauge({
    name: "apiserver_storage_objects",
    help: "Number of stored objects at the time of last check split by kind.",
    labelNames: ["resource"] as const,
    registers: [this.registry],
  });
  readonly storageRevision = new Gauge({
    name: "capx_store_revision",
    help: "Current global revision (resourceVersion) of the object store.",
    registers: [this.registry],
  });
  readonly busy = new Counter({
    name: "capx_store_busy_total",
    help: "Requests answered 429 because the database was busy.",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
