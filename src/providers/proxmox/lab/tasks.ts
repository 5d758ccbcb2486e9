/**
 * Tasks: `fork_worker` with exact UPIDs, a log, and an exit status (`OK`, `WARNINGS: n`, or the
 * error text). A worker is a list of steps — take a lock, wait, do something — rebuilt from the
 * task's persisted data, so a task survives a restart: on load it continues at its step and its
 * waits end by wall clock. Steps run synchronously until one must wait, so a worker's first
 * effects (a clone's `lock: clone` config) exist when the UPID is returned.
 * @module
 */
import { errorText, LabPveError } from "./errors.ts";
import type { LabHost } from "./host.ts";
import type { LockMode } from "./locks.ts";
import type { TaskRecord } from "./state.ts";

export type Step =
  | { lock: string; mode: LockMode; timeoutMs: number; error: string }
  | { unlock: string }
  | { sleep: number }
  | { run: () => void }
  /** Waits for something outside the task (a terminal session ending); a rejection fails it. */
  | { await: () => Promise<void> };

export interface WorkerContext {
  host: LabHost;
  task: TaskRecord;
  log(line: string): void;
  /** PVE's log_warn: counts toward `WARNINGS: n`. */
  warn(line: string): void;
  /** Throws `text` when fault injection chose this task to fail. */
  injected(text: string): void;
}

export interface Worker {
  steps(w: WorkerContext): Step[];
  /** Cleans up after a failure; may return the exit text to report instead of the error's. */
  onError?(w: WorkerContext, err: unknown): string | void;
  /** Whether fault injection may fail this worker. */
  canFail?: boolean;
}

export interface ForkOptions {
  node: string;
  type: string;
  id: string;
  /** `root@pam` or `root@pam!tokenid`. */
  user: string;
  worker: string;
  data?: Record<string, unknown>;
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");

/** Keeps this many finished tasks per node in the state (PVE keeps an index of recent ones). */
const KEEP_FINISHED = 2000;

export class TaskEngine {
  #waiting = new Set<string>();
  #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #done = new Map<string, { promise: Promise<TaskRecord>; resolve: (t: TaskRecord) => void }>();
  #stopped = false;

  constructor(
    private readonly host: LabHost,
    private readonly workers: Record<string, Worker>,
  ) {}

  fork(o: ForkOptions): string {
    const h = this.host;
    const now = h.now();
    const pid = h.state.nextPid++;
    const pstart = Math.floor((now - (h.state.nodeBoot[o.node] ?? now)) / 10);
    const starttime = Math.floor(now / 1000);
    const upid = `UPID:${o.node}:${hex8(pid)}:${hex8(pstart)}:${hex8(starttime)}:${o.type}:${o.id}:${o.user}:`;
    const [user, tokenid] = o.user.split("!");
    const worker = this.workers[o.worker];
    if (!worker) throw new Error(`no worker ${o.worker}`);
    const t: TaskRecord = {
      upid,
      node: o.node,
      pid,
      pstart,
      starttime,
      type: o.type,
      id: o.id,
      user: user!,
      ...(tokenid ? { tokenid } : {}),
      worker: o.worker,
      data: o.data ?? {},
      status: "running",
      log: [],
      warnings: 0,
      step: 0,
      stepStartedAt: now,
      held: {},
    };
    if (worker.canFail && h.dice.roll(h.faults.taskFailureRate)) t.injectFailure = true;
    if (h.dice.roll(h.faults.slowTaskRate)) t.extraDelayMs = h.faults.slowTaskMs;
    h.state.tasks[upid] = t;
    this.#prune(o.node);
    h.changed();
    this.advance(upid);
    return upid;
  }

  get(upid: string): TaskRecord | undefined {
    return this.host.state.tasks[upid];
  }

  /** Resolves when the task has stopped (the CLI runs workers to the end). */
  wait(upid: string): Promise<TaskRecord> {
    const t = this.get(upid);
    if (!t || t.status === "stopped") return Promise.resolve(t!);
    let entry = this.#done.get(upid);
    if (!entry) {
      let resolve!: (t: TaskRecord) => void;
      const promise = new Promise<TaskRecord>((r) => (resolve = r));
      entry = { promise, resolve };
      this.#done.set(upid, entry);
    }
    return entry.promise;
  }

  /** After loading persisted state: re-take the locks running tasks held and let them go on. */
  resumeAll(): void {
    const running = Object.values(this.host.state.tasks).filter((t) => t.status === "running");
    for (const t of running) for (const [key, mode] of Object.entries(t.held)) this.host.locks.restore(key, mode, t.upid);
    for (const t of running.sort((a, b) => a.stepStartedAt - b.stepStartedAt)) this.advance(t.upid);
  }

  /** `DELETE …/tasks/{upid}`: the worker gets a signal. */
  kill(upid: string): void {
    const t = this.get(upid);
    if (!t || t.status !== "running") return;
    const timer = this.#timers.get(upid);
    if (timer) clearTimeout(timer);
    this.#timers.delete(upid);
    this.#waiting.delete(upid);
    this.#fail(t, new LabPveError("interrupted by signal"));
  }

  /** Stops all timers without finishing anything (the process goes away; tasks resume on load). */
  shutdown(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  advance(upid: string): void {
    if (this.#stopped || this.#waiting.has(upid)) return;
    const t = this.get(upid);
    if (!t || t.status !== "running") return;
    const h = this.host;
    const worker = this.workers[t.worker]!;
    const wc = this.#context(t);
    for (;;) {
      let steps: Step[];
      try {
        steps = worker.steps(wc);
      } catch (e) {
        return this.#fail(t, e);
      }
      if (t.extraDelayMs) steps = [...steps, { sleep: t.extraDelayMs }];
      if (t.step >= steps.length) return this.#finish(t);
      const s = steps[t.step]!;
      if ("run" in s) {
        try {
          s.run();
        } catch (e) {
          return this.#fail(t, e);
        }
        this.#next(t);
        continue;
      }
      if ("unlock" in s) {
        h.locks.release(s.unlock, upid);
        delete t.held[s.unlock];
        this.#next(t);
        continue;
      }
      if ("await" in s) {
        this.#waiting.add(upid);
        let waited: Promise<void>;
        try {
          waited = s.await();
        } catch (e) {
          this.#waiting.delete(upid);
          return this.#fail(t, e);
        }
        waited.then(
          () => {
            this.#waiting.delete(upid);
            if (t.status !== "running" || this.#stopped) return;
            this.#next(t);
            this.advance(upid);
          },
          (e: unknown) => {
            this.#waiting.delete(upid);
            if (t.status === "running" && !this.#stopped) this.#fail(t, e);
          },
        );
        return;
      }
      if ("sleep" in s) {
        this.#waiting.add(upid);
        const timer = setTimeout(
          () => {
            this.#timers.delete(upid);
            this.#waiting.delete(upid);
            if (t.status !== "running" || this.#stopped) return;
            this.#next(t);
            this.advance(upid);
          },
          Math.max(0, t.stepStartedAt + s.sleep - h.now()),
        );
        this.#timers.set(upid, timer);
        return;
      }
      if (t.held[s.lock]) {
        this.#next(t);
        continue;
      }
      if (h.dice.roll(h.faults.lockTimeoutRate)) return this.#fail(t, new LabPveError(s.error));
      if (h.locks.tryAcquire(s.lock, s.mode, upid)) {
        t.held[s.lock] = s.mode;
        this.#next(t);
        continue;
      }
      this.#waiting.add(upid);
      const remaining = t.stepStartedAt + s.timeoutMs - h.now();
      h.locks.acquire(s.lock, s.mode, upid, remaining, () => new LabPveError(s.error)).then(
        () => {
          this.#waiting.delete(upid);
          if (t.status !== "running" || this.#stopped) {
            h.locks.release(s.lock, upid);
            return;
          }
          t.held[s.lock] = s.mode;
          this.#next(t);
          this.advance(upid);
        },
        (e) => {
          this.#waiting.delete(upid);
          if (t.status === "running" && !this.#stopped) this.#fail(t, e);
        },
      );
      return;
    }
  }

  #context(t: TaskRecord): WorkerContext {
    return {
      host: this.host,
      task: t,
      log: (line) => void t.log.push(...line.split("\n")),
      warn: (line) => {
        t.log.push(`WARN: ${line}`);
        t.warnings++;
      },
      injected: (text) => {
        if (t.injectFailure) {
          t.injectFailure = false;
          throw new LabPveError(text);
        }
      },
    };
  }

  #next(t: TaskRecord): void {
    t.step++;
    t.stepStartedAt = this.host.now();
    this.host.changed();
  }

  #release(t: TaskRecord): void {
    for (const key of Object.keys(t.held)) this.host.locks.release(key, t.upid);
    t.held = {};
  }

  #finish(t: TaskRecord): void {
    t.status = "stopped";
    t.exitstatus = t.warnings ? `WARNINGS: ${t.warnings}` : "OK";
    t.log.push(t.warnings ? `TASK WARNINGS: ${t.warnings}` : "TASK OK");
    this.#end(t);
  }

  #fail(t: TaskRecord, err: unknown): void {
    let text = errorText(err);
    const worker = this.workers[t.worker];
    try {
      const replaced = worker?.onError?.(this.#context(t), err);
      if (replaced) text = replaced;
    } catch (e) {
      text = errorText(e);
    }
    // PVE chomps the message and turns its newlines into spaces.
    const flat = text.replace(/\n+$/, "").replace(/\n/g, " ");
    t.status = "stopped";
    t.exitstatus = flat;
    t.log.push(`TASK ERROR: ${flat}`);
    this.#end(t);
  }

  #end(t: TaskRecord): void {
    t.endtime = Math.floor(this.host.now() / 1000);
    this.#release(t);
    this.host.changed();
    const entry = this.#done.get(t.upid);
    if (entry) {
      this.#done.delete(t.upid);
      entry.resolve(t);
    }
  }

  #prune(node: string): void {
    const finished = Object.values(this.host.plain.tasks).filter((t) => t.node === node && t.status === "stopped");
    if (finished.length <= KEEP_FINISHED) return;
    finished.sort((a, b) => a.starttime - b.starttime || a.pid - b.pid);
    for (const t of finished.slice(0, finished.length - KEEP_FINISHED)) delete this.host.state.tasks[t.upid];
  }
}
