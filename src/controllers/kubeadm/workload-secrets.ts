/**
 * Secrets in a workload cluster (its kube-system bootstrap tokens), reached with the cluster's
 * `<cluster>-kubeconfig` Secret over HTTPS through the Dialer — the same way the workload Node
 * access goes (lab mode: the simulated LAN to the lab workload API server).
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Dialer } from "../../providers/workload/dialer.ts";
import { HttpWorkloadClient } from "../../providers/workload/http-client.ts";
import { parseKubeconfig, type KubeconfigAccess } from "../../providers/workload/kubeconfig.ts";
import type { Client } from "../../runtime/client.ts";

export interface WorkloadSecretClient {
  get(namespace: string, name: string): Promise<KObject | undefined>;
  create(secret: KObject): Promise<KObject>;
  update(secret: KObject): Promise<KObject>;
}

export interface WorkloadSecretAccess {
  /** Undefined while the cluster has no kubeconfig Secret. */
  forCluster(namespace: string, cluster: string): Promise<WorkloadSecretClient | undefined>;
}

export class WorkloadSecretError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

class HttpSecretClient implements WorkloadSecretClient {
  #http: HttpWorkloadClient;

  constructor(
    private readonly access: KubeconfigAccess,
    dialer: Dialer,
    timeoutMs: number,
  ) {
    this.#http = new HttpWorkloadClient(access, dialer, timeoutMs);
  }

  #req(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    return this.#http.request(method, path, body);
  }

  #path(namespace: string, name?: string): string {
    return `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets${name ? `/${encodeURIComponent(name)}` : ""}`;
  }

  #fail(what: string, r: { status: number; body: unknown }): never {
    const msg = (r.body as { message?: string } | undefined)?.message ?? String(r.body);
    throw new WorkloadSecretError(r.status, `${what} on ${this.access.server}: ${r.status} ${msg}`);
  }

  async get(namespace: string, name: string): Promise<KObject | undefined> {
    const r = await this.#req("GET", this.#path(namespace, name));
    if (r.status === 404) return undefined;
    if (r.status >= 400) this.#fail(`GET secret ${namespace}/${name}`, r);
    return r.body as KObject;
  }

  async create(secret: KObject): Promise<KObject> {
    const ns = secret.metadata.namespace!;
    const r = await this.#req("POST", this.#path(ns), { apiVersion: "v1", kind: "Secret", ...secret });
    if (r.status >= 400) this.#fail(`create secret ${ns}/${secret.metadata.name}`, r);
    return r.body as KObject;
  }

  async update(secret: KObject): Promise<KObject> {
    const ns = secret.metadata.namespace!;
    const r = await this.#req("PUT", this.#path(ns, secret.metadata.name), secret);
    if (r.status >= 400) this.#fail(`update secret ${ns}/${secret.metadata.name}`, r);
    return r.body as KObject;
  }
}

/** Workload Secret access from the `<cluster>-kubeconfig` Secret (key `value`). */
export class KubeconfigSecretAccess implements WorkloadSecretAccess {
  constructor(
    private readonly client: Client,
    private readonly dialer: Dialer,
    private readonly timeoutMs = 10_000,
  ) {}

  async forCluster(namespace: string, cluster: string): Promise<WorkloadSecretClient | undefined> {
    const secret = this.client.get({ apiVersion: "v1", kind: "Secret", namespace, name: `${cluster}-kubeconfig` });
    const value = (secret?.data as { value?: string } | undefined)?.value;
    if (!value) return undefined;
    return new HttpSecretClient(parseKubeconfig(Buffer.from(value, "base64").toString()), this.dialer, this.timeoutMs);
  }
}
