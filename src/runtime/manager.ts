/**
 * The manager: shared informers, the client and event recorder controllers use, the set of
 * controllers, and their lifecycle. Stopping waits for in-flight reconciles.
 * @module
 */
import { providerCalls, type Histogram } from "./metrics.ts";
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

  /**
   * controller-runtime's and client-go's metrics (`controller_runtime_reconcile_total`,
   * `…_reconcile_errors_total`, `…_terminal_reconcile_errors_total`, `…_reconcile_time_seconds`,
   * `…_active_workers`, `workqueue_depth`, `workqueue_adds_total`, `workqueue_retries_total`,
   * `workqueue_queue_duration_seconds`) and the Proxmox/Talos call counters, in Prometheus text format.
   */
  metricsText(): string {
    const family = (name: string, type: string, help: string, rows: string[]) => [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...rows];
    const per = (fn: (c: Controller) => string) => this.controllers.map(fn);
    const lines = [
      ...family("controller_runtime_reconcile_total", "counter", "Total number of reconciliations per controller", this.controllers.flatMap((c) => Object.entries(c.stats.reconciles).map(([result, n]) => `controller_runtime_reconcile_total{controller="${c.name}",result="${result}"} ${n}`))),
      ...family("controller_runtime_reconcile_errors_total", "counter", "Total number of reconciliation errors per controller", per((c) => `controller_runtime_reconcile_errors_total{controller="${c.name}"} ${c.stats.reconciles.error ?? 0}`)),
      ...family("controller_runtime_terminal_reconcile_errors_total", "counter", "Total number of terminal reconciliation errors per controller", per((c) => `controller_runtime_terminal_reconcile_errors_total{controller="${c.name}"} ${c.stats.reconciles.terminal_error ?? 0}`)),
      ...family("controller_runtime_reconcile_time_seconds_total", "counter", "Time spent reconciling per controller", per((c) => `controller_runtime_reconcile_time_seconds_total{controller="${c.name}"} ${c.stats.seconds.toFixed(3)}`)),
      ...family("controller_runtime_active_workers", "gauge", "Number of currently used workers per controller", per((c) => `controller_runtime_active_workers{controller="${c.name}"} ${c.queue.active}`)),
      ...family("workqueue_depth", "gauge", "Current depth of workqueue", per((c) => `workqueue_depth{name="${c.name}"} ${c.queue.length}`)),
      ...family("workqueue_adds_total", "counter", "Total number of adds handled by workqueue", per((c) => `workqueue_adds_total{name="${c.name}"} ${c.queue.stats.adds}`)),
      ...family("workqueue_retries_total", "counter", "Total number of retries handled by workqueue", per((c) => `workqueue_retries_total{name="${c.name}"} ${c.queue.stats.retries}`)),
    ];
    const histograms = (pick: (c: Controller) => Histogram) => {
      const first = this.controllers[0];
      if (!first) return [];
      const [help, type] = pick(first).text();
      return [help!, type!, ...this.controllers.flatMap((c) => pick(c).text().slice(2))];
    };
    lines.push(...histograms((c) => c.reconcileTime), ...histograms((c) => c.queueDuration));
    lines.push(...providerCalls.proxmox.text(), ...providerCalls.talos.text());
    return `${lines.join("\n")}\n`;
  }
}
