/**
 * Fault injection for whole-process tests, off unless CAPX_FAULTS is set:
 * `CAPX_FAULTS=watch-expired:N` answers the next N watches that resume from a resourceVersion
 * with an ERROR 410 event, as a compacted server would.
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
