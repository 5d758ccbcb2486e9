/**
 * Fault injection for whole-process tests, off unless CAPX_FAULTS is set (comma-separated):
 * - `watch-expired:N` answers the next N watches that resume from a resourceVersion with an
 *   ERROR 410 event, as a compacted server would;
 * - `crash-<point>:N` kills the process with SIGKILL the next N times it reaches `point`
 *   (`crash-after-clone`: a clone was accepted by Proxmox, its task not yet recorded).
 * @module
 */

const counters = new Map<string, number>();

for (const part of (process.env.CAPX_FAULTS ?? "").split(",")) {
  const [name, n] = part.split(":");
  if (name) counters.set(name.trim(), Number(n ?? 1));
}

/** Consumes one occurrence of the named fault; true when it should fire. */
export function takeFault(name: string): boolean {
  const left = counters.get(name) ?? 0;
  if (left <= 0) return false;
  counters.set(name, left - 1);
  return true;
}

const beforeCrash: (() => void)[] = [];

/**
 * Work to do before a simulated crash: the lab PVE writes its state, because it stands for
 * hardware that does not die with the appliance.
 */
export function beforeSimulatedCrash(fn: () => void): () => void {
  beforeCrash.push(fn);
  return () => beforeCrash.splice(beforeCrash.indexOf(fn), 1);
}

/** Dies here (SIGKILL, no cleanup) when `CAPX_FAULTS` asks for `crash-<point>`. */
export function crashPoint(point: string): void {
  if (!takeFault(`crash-${point}`)) return;
  for (const fn of beforeCrash) fn();
  process.kill(process.pid, "SIGKILL");
}
