/**
 * Controllers with controller-runtime's contract: level-based `reconcile(request)` calls fed
 * by a de-duplicating workqueue; an error requeues with per-item backoff, a TerminalError is
 * logged and not retried, `requeueAfter` polls; every reconcile has a reconcileID in its log
 * context and is counted in `controller_runtime_reconcile_total`.
 * @module
 */
import { Histogram, RECONCILE_BUCKETS, WORKQUEUE_BUCKETS } from "./metrics.ts";
import { randomUUID } from "node:crypto";
import type { KObject } from "../lib/kobject.ts";
import { log, type Logger } from "../lib/log.ts";
import type { EventType, Informer } from "./informer.ts";
import { WorkQueue } from "./workqueue.ts";

export interface Request {
  namespace?: string;
  name: string;
}

export interface Result {
  /** Reconcile again after this many milliseconds (resets backoff). */
  requeueAfter?: number;
  /** Reconcile again with the per-item backoff, without it counting as an error (controller-runtime's `Requeue: true`). */
  requeue?: boolean;
}

export interface ReconcileContext {
  log: Logger;
  reconcileID: string;
}

export type ReconcileFunc = (req: Request, ctx: ReconcileContext) => Promise<Result | void>;

/** An error that retrying cannot fix: logged and counted, not requeued. */
export class TerminalError extends Error {}

export interface ControllerStats {
  /** result → count: success, requeue_after, error, terminal_error. */
  reconciles: Record<string, number>;
  /** Total reconcile time in seconds. */
  seconds: number;
}

export function requestKey(r: Request): string {
  return r.namespace ? `${r.namespace}/${r.name}` : r.name;
}

function parseKey(key: string): Request {
  const i = key.indexOf("/");
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export function requestFor(obj: KObject): Request {
  return { namespace: obj.metadata.namespace, name: obj.metadata.name! };
}

export interface OwnerKind {
  /** API group of the owner ("" for core). */
  group: string;
  kind: string;
}

export class Controller {
  readonly queue = new WorkQueue();
  readonly stats: ControllerStats = { reconciles: {}, seconds: 0 };
  #workers: Promise<void>[] = [];
  #unsubscribe: (() => void)[] = [];
  #running = false;
  #log: Logger;

  /** Seconds per reconcile, and how long keys waited in the queue (controller-runtime, client-go). */
  readonly reconcileTime = new Histogram("controller_runtime_reconcile_time_seconds", "Length of time per reconciliation per controller", RECONCILE_BUCKETS);
  readonly queueDuration = new Histogram("workqueue_queue_duration_seconds", "How long in seconds an item stays in workqueue before being requested", WORKQUEUE_BUCKETS);

  constructor(
    readonly name: string,
    private readonly reconcile: ReconcileFunc,
    private readonly concurrency = 1,
  ) {
    this.#log = log.child({ controller: name });
    this.queue.onDequeue = (seconds) => this.queueDuration.observe({ name }, seconds);
  }

  enqueue(req: Request): void {
    this.queue.add(requestKey(req));
  }

  enqueueAfter(req: Request, ms: number): void {
    this.queue.addAfter(requestKey(req), ms);
  }

  /** The primary kind: each object's change reconciles that object. */
  watchFor(informer: Informer): this {
    this.#unsubscribe.push(informer.addHandler((_t, obj) => this.enqueue(requestFor(obj))));
    return this;
  }

  /**
   * An owned kind: a change reconciles the controller owner of the given kind (an update only when
   * `relevant`, upstream's predicates, says it may matter to the owner).
   */
  watchOwned(informer: Informer, owner: OwnerKind, relevant?: (obj: KObject, old: KObject) => boolean): this {
    this.#unsubscribe.push(
      informer.addHandler((t, obj, old) => {
        if (t === "MODIFIED" && old && relevant && !relevant(obj, old)) return;
        let first: string | undefined;
        for (const o of [obj, old]) {
          const ref = o?.metadata.ownerReferences?.find((r) => r.controller && r.kind === owner.kind && groupOf(r.apiVersion) === owner.group);
          // once per owner: a second add could land while the first is already being reconciled
          if (!ref || ref.name === first) continue;
          first = ref.name;
          this.enqueue({ namespace: o!.metadata.namespace, name: ref.name });
        }
      }),
    );
    return this;
  }

  /** Any kind, mapped to the requests it should trigger (labels, references, ...). */
  watchMapped(informer: Informer, map: (obj: KObject, old: KObject | undefined, type: EventType) => Request[]): this {
    this.#unsubscribe.push(informer.addHandler((type, obj, old) => {
      for (const r of map(obj, old, type)) this.enqueue(r);
    }));
    return this;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (let i = 0; i < this.concurrency; i++) this.#workers.push(this.#work());
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const u of this.#unsubscribe.splice(0)) u();
    this.queue.shutdown();
    await Promise.all(this.#workers);
    for (const fn of this.#onStop.splice(0)) fn();
  }

  readonly #onStop: (() => void)[] = [];

  /** Runs once the workers have stopped (releases what the reconciles kept between runs). */
  onStop(fn: () => void): this {
    this.#onStop.push(fn);
    return this;
  }

  async #work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.#process(key);
      this.queue.done(key);
    }
  }

  async #process(key: string): Promise<void> {
    const req = parseKey(key);
    const reconcileID = randomUUID();
    const ctxLog = this.#log.child({ object: key, reconcileID });
    const started = performance.now();
    let result = "success";
    try {
      const r = await this.reconcile(req, { log: ctxLog, reconcileID });
      if (r?.requeue && r.requeueAfter === undefined) {
        result = "requeue";
        this.queue.addRateLimited(key);
        return;
      }
      this.queue.forget(key);
      if (r?.requeueAfter !== undefined && r.requeueAfter >= 0) {
        result = "requeue_after";
        this.queue.addAfter(key, r.requeueAfter);
      }
    } catch (e) {
      if (e instanceof TerminalError) {
        result = "terminal_error";
        this.queue.forget(key);
        ctxLog.error({ err: e.message }, "reconcile failed and will not be retried");
      } else {
        result = "error";
        const conflict = (e as { code?: number }).code === 409;
        // Conflicts are expected under concurrency: quiet, and retried with the normal backoff.
        if (conflict) ctxLog.debug({ err: String((e as Error).message ?? e) }, "conflict; retrying");
        else ctxLog.warn({ err: String((e as Error)?.stack ?? e), retries: this.queue.retries(key) }, "reconcile failed; retrying");
        this.queue.addRateLimited(key);
      }
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.stats.reconciles[result] = (this.stats.reconciles[result] ?? 0) + 1;
      this.stats.seconds += seconds;
      this.reconcileTime.observe({ controller: this.name }, seconds);
    }
  }
}

function groupOf(apiVersion: string): string {
  const i = apiVersion.lastIndexOf("/");
  return i < 0 ? "" : apiVersion.slice(0, i);
}
