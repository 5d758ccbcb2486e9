/**
 * Named size reports for the heap-stats signal: parts of the daemon that hold many objects
 * (informer caches, lab simulators) register a function that summarises what they hold.
 * @module
 */
export type MemoryReport = Record<string, number | string>;

const reporters = new Map<string, () => MemoryReport>();

/** Registers `fn` under `name` (a later registration replaces it); returns the unregister call. */
export function registerMemoryReporter(name: string, fn: () => MemoryReport): () => void {
  reporters.set(name, fn);
  return () => {
    if (reporters.get(name) === fn) reporters.delete(name);
  };
}

export function memoryReports(): Record<string, MemoryReport> {
  const out: Record<string, MemoryReport> = {};
  for (const [name, fn] of reporters) {
    try {
      out[name] = fn();
    } catch (e) {
      out[name] = { error: String(e) };
    }
  }
  return out;
}
