/**
 * The manager: shared informers, the client and event recorder controllers use, the set of
 * controllers, and their lifecycle. Stopping waits for in-flight reconciles.
 * @module
 */
import type { RestDeps } from "../registry/rest/deps.ts";
import { Client } from "./client.ts";
import type { Controller } from "./controller.ts";
import { InformerFactory } from "./informer.ts";
import { EventRecorder } from "./recorder.ts";

export interface ControllerSetup {
  /** Registers controllers on the manager (called once, before start). */
  setup(m: Manager): void;
}

export class Manager {
  readonly informers: InformerFactory;
  readonly controllers: Controller[] = [];
  #started = false;

  constructor(readonly deps: RestDeps) {
    this.informers = new InformerFactory(deps);
  }

  client(manager: string): Client {
    return new Client(this.deps, manager, this.informers);
  }

  recorder(component: string): EventRecorder {
    return new EventRecorder(this.client(component), component);
  }

  add(controller: Controller): Controller {
    this.controllers.push(controller);
    if (this.#started) controller.start();
    return controller;
  }

  start(): void {
    this.#started = true;
    for (const c of this.controllers) c.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.stop()));
    this.informers.stop();
  }

  /** Resolves when no controller has work queued, running, or due within `horizonMs`. */
  async idle(horizonMs = 0, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    let quietTicks = 0;
    while (quietTicks < 3) {
      await this.deps.store.durable();
      await new Promise((r) => setTimeout(r, 5));
      const busy = this.controllers.some((c) => !c.queue.idle(horizonMs));
      quietTicks = busy ? 0 : quietTicks + 1;
      if (Date.now() > end) throw new Error("controllers did not settle");
    }
  }

  /** `controller_runtime_reconcile_total` and friends, in Prometheus text format. */
  metricsText(): string {
    const lines = [
      "# HELP controller_runtime_reconcile_total Total number of reconciliations per controller",
      "# TYPE controller_runtime_reconcile_total counter",
    ];
    for (const c of this.controllers) {
      for (const [result, n] of Object.entries(c.stats.reconciles)) lines.push(`controller_runtime_reconcile_total{controller="${c.name}",result="${result}"} ${n}`);
    }
    lines.push("# HELP controller_runtime_reconcile_time_seconds_total Time spent reconciling per controller", "# TYPE controller_runtime_reconcile_time_seconds_total counter");
    for (const c of this.controllers) lines.push(`controller_runtime_reconcile_time_seconds_total{controller="${c.name}"} ${c.stats.seconds.toFixed(3)}`);
    lines.push("# HELP workqueue_depth Current depth of workqueue", "# TYPE workqueue_depth gauge");
    for (const c of this.controllers) lines.push(`workqueue_depth{name="${c.name}"} ${c.queue.length}`);
    lines.push("# HELP controller_runtime_active_workers Number of currently used workers per controller", "# TYPE controller_runtime_active_workers gauge");
    for (const c of this.controllers) lines.push(`controller_runtime_active_workers{controller="${c.name}"} ${c.queue.active}`);
    return `${lines.join("\n")}\n`;
  }
}
