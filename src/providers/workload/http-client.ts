/**
 * The real workload-cluster client: HTTPS to the cluster's API with the kubeconfig's CA and
 * credentials, routed through the Dialer.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Dialer } from "./dialer.ts";
import type { KubeconfigAccess } from "./kubeconfig.ts";
import { HttpStatusError, streamLines, type LineStreamRequest } from "./line-stream.ts";
import type { WorkloadClient } from "./types.ts";

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: KObject;
}

/** The cluster's API does not answer (its Node watch is failing): reads would only be stale. */
export class WorkloadNotConnectedError extends Error {}

export class WorkloadApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class HttpWorkloadClient implements WorkloadClient {
  readonly server: string;
  #base: string;
  #tls: Record<string, unknown>;
  #headers: Record<string, string>;
  /** Where and how the Node watch connects (its own socket: see line-stream.ts). */
  #stream: Pick<LineStreamRequest, "host" | "port" | "authority" | "tls">;
  /** apiVersion → its served resources (discovery), re-read when a kind is missing (a CRD just created). */
  #discovery = new Map<string, DiscoveredResource[]>();

  constructor(access: KubeconfigAccess, dialer: Dialer, private readonly timeoutMs = 10_000) {
    this.server = access.server;
    const url = new URL(access.server);
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const route = dialer.route(host, Number(url.port || 443));
    this.#base = `https://${route.host.includes(":") ? `[${route.host}]` : route.host}:${route.port}`;
    this.#tls = {
      ...(access.caPem ? { ca: access.caPem } : {}),
      ...(access.certPem ? { cert: access.certPem, key: access.keyPem } : {}),
      ...(access.insecure ? { rejectUnauthorized: false } : {}),
      // Certificates name the cluster's address, not the route's.
      serverName: url.hostname,
      checkServerIdentity: () => undefined,
    };
    this.#stream = {
      host: route.host,
      port: route.port,
      authority: url.host,
      tls: { ca: access.caPem, cert: access.certPem, key: access.keyPem, insecure: access.insecure, serverName: host },
    };
    this.#headers = { Accept: "application/json", ...(access.token ? { Authorization: `Bearer ${access.token}` } : {}) };
  }

  async #req(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.#base}${path}`, {
      method,
      headers: { ...this.#headers, ...(body !== undefined ? { "Content-Type": contentType } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      tls: this.#tls,
      signal: AbortSignal.timeout(this.timeoutMs),
    } as RequestInit);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  }

  /** A raw request on the cluster's API: status and parsed body, whatever the status. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    return this.#req(method, path, body);
  }

  async #ok(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown> {
    const r = await this.#req(method, path, body, contentType);
    if (r.status >= 400) {
      const msg = (r.body as { message?: string } | undefined)?.message ?? String(r.body);
      throw new WorkloadApiError(r.status, `${method} ${path} on ${this.server}: ${r.status} ${msg}`);
    }
    return r.body;
  }

  async listNodes(): Promise<KObject[]> {
    return ((await this.#ok("GET", "/api/v1/nodes")) as { items: KObject[] }).items;
  }

  /** The Node list with its resourceVersion, the starting point of a watch. */
  async listNodesForWatch(): Promise<{ items: KObject[]; resourceVersion: string }> {
    const list = (await this.#ok("GET", "/api/v1/nodes")) as { items: KObject[]; metadata?: { resourceVersion?: string } };
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
  }

  /**
   * Streams Node watch events from `resourceVersion` until the server ends the stream or `signal`
   * aborts; a 410 (resourceVersion too old) surfaces as a WorkloadApiError with status 410.
   */
  async watchNodes(resourceVersion: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal, onOpen?: () => void): Promise<void> {
    const q = `watch=1&allowWatchBookmarks=true&timeoutSeconds=300${resourceVersion ? `&resourceVersion=${encodeURIComponent(resourceVersion)}` : ""}`;
    try {
      await streamLines(
        { ...this.#stream, path: `/api/v1/nodes?${q}`, headers: this.#headers, signal },
        {
          onOpen,
          onLine: (line) => {
            const e = JSON.parse(line) as WatchEvent;
            if (e.type === "ERROR") {
              const st = e.object as { code?: number; message?: string };
              throw new WorkloadApiError(st.code ?? 500, `watch nodes on ${this.server}: ${st.message ?? "error"}`);
            }
            onEvent(e);
          },
        },
      );
    } catch (e) {
      if (e instanceof HttpStatusError) throw new WorkloadApiError(e.status, `watch nodes on ${this.server}: ${e.status} ${e.body.slice(0, 200)}`);
      throw e;
    }
  }

  async getNode(name: string): Promise<KObject | undefined> {
    const r = await this.#req("GET", `/api/v1/nodes/${encodeURIComponent(name)}`);
    if (r.status === 404) return undefined;
    if (r.status >= 400) throw new WorkloadApiError(r.status, `GET node ${name} on ${this.server}: ${r.status}`);
    return r.body as KObject;
  }

  async patchNode(name: string, patch: Record<string, unknown>): Promise<KObject> {
    return (await this.#ok("PATCH", `/api/v1/nodes/${encodeURIComponent(name)}`, patch, "application/merge-patch+json")) as KObject;
  }

  async deleteNode(name: string): Promise<void> {
    const r = await this.#req("DELETE", `/api/v1/nodes/${encodeURIComponent(name)}`);
    if (r.status >= 400 && r.status !== 404) throw new WorkloadApiError(r.status, `DELETE node ${name} on ${this.server}: ${r.status}`);
  }

  async listPodsOnNode(nodeName: string): Promise<KObject[]> {
    const sel = encodeURIComponent(`spec.nodeName=${nodeName}`);
    return ((await this.#ok("GET", `/api/v1/pods?fieldSelector=${sel}`)) as { items: KObject[] }).items;
  }

  async evictPod(namespace: string, name: string): Promise<"evicted" | "gone" | "blocked"> {
    const r = await this.#req("POST", `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/eviction`, {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name, namespace },
    });
    if (r.status === 404) return "gone";
    if (r.status === 429) return "blocked";
    if (r.status >= 400) throw new WorkloadApiError(r.status, `evict ${namespace}/${name} on ${this.server}: ${r.status}`);
    return "evicted";
  }

  /** Creates any kind (found through discovery); "exists" when the object is already there (409). */
  async createObject(obj: KObject): Promise<"created" | "exists"> {
    const { collection } = await this.#objectPaths(obj);
    const r = await this.#req("POST", collection, obj);
    if (r.status === 409) return "exists";
    if (r.status >= 400) throw new WorkloadApiError(r.status, `creating ${describe(obj)} on ${this.server}: ${r.status} ${messageOf(r.body)}`);
    return "created";
  }

  /** Creates the object, or replaces the stored one (PUT at its resourceVersion) when it exists. */
  async createOrUpdateObject(obj: KObject): Promise<"created" | "updated"> {
    const { item } = await this.#objectPaths(obj);
    const current = await this.#req("GET", item);
    if (current.status === 404) {
      if ((await this.createObject(obj)) === "created") return "created";
      throw new WorkloadApiError(409, `creating ${describe(obj)} on ${this.server}: created concurrently`);
    }
    if (current.status >= 400) throw new WorkloadApiError(current.status, `reading ${describe(obj)} on ${this.server}: ${current.status} ${messageOf(current.body)}`);
    const resourceVersion = (current.body as KObject).metadata?.resourceVersion;
    const body = { ...obj, metadata: { ...obj.metadata, resourceVersion } };
    const r = await this.#req("PUT", item, body);
    if (r.status >= 400) throw new WorkloadApiError(r.status, `updating ${describe(obj)} on ${this.server}: ${r.status} ${messageOf(r.body)}`);
    return "updated";
  }

  async #objectPaths(obj: KObject): Promise<{ collection: string; item: string }> {
    const apiVersion = obj.apiVersion ?? "";
    const kind = obj.kind ?? "";
    const name = obj.metadata?.name;
    if (!apiVersion || !kind || !name) throw new WorkloadApiError(400, `object ${describe(obj)} needs apiVersion, kind and metadata.name`);
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const find = () => this.#discovery.get(apiVersion)?.find((r) => r.kind === kind && !r.name.includes("/"));
    let resource = find();
    if (!resource) {
      const r = await this.#req("GET", base);
      if (r.status >= 400 && r.status !== 404) throw new WorkloadApiError(r.status, `discovery of ${apiVersion} on ${this.server}: ${r.status} ${messageOf(r.body)}`);
      this.#discovery.set(apiVersion, r.status === 404 ? [] : ((r.body as { resources?: DiscoveredResource[] }).resources ?? []));
      resource = find();
    }
    if (!resource) throw new WorkloadApiError(404, `no matches for kind "${kind}" in version "${apiVersion}" on ${this.server}`);
    // kubectl's habit: a namespaced object without a namespace goes to "default".
    const ns = resource.namespaced ? `/namespaces/${encodeURIComponent(obj.metadata.namespace || "default")}` : "";
    const collection = `${base}${ns}/${resource.name}`;
    return { collection, item: `${collection}/${encodeURIComponent(name)}` };
  }
}

interface DiscoveredResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

function describe(obj: KObject): string {
  const ns = obj.metadata?.namespace ? `${obj.metadata.namespace}/` : "";
  return `${obj.apiVersion ?? "?"} ${obj.kind ?? "?"} ${ns}${obj.metadata?.name ?? "?"}`;
}

function messageOf(body: unknown): string {
  return (body as { message?: string } | undefined)?.message ?? String(body ?? "");
}
