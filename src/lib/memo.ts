/**
 * Parses of the same text, done once: controllers read the same Secret (a secrets bundle, a
 * talosconfig, a kubeconfig) on every reconcile, and parsing its YAML again each time was a
 * visible share of the daemon's CPU. Results are frozen, as they are shared.
 * @module
 */

/**
 * `fn` remembered for the last `max` distinct texts (oldest forgotten first). Errors are not
 * remembered. Results are deep-frozen unless `freeze` is false (objects with lazy internals, such
 * as parsed certificates and imported keys, which the callers must then not change).
 */
export function memoByText<T>(fn: (text: string) => T, max = 256, freeze = true): (text: string) => T {
  const known = new Map<string, T>();
  return (text: string) => {
    if (known.has(text)) return known.get(text)!;
    const value = freeze ? deepFreeze(fn(text)) : fn(text);
    if (known.size >= max) known.delete(known.keys().next().value!);
    known.set(text, value);
    return value;
  };
}

export function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object" && !Object.isFrozen(v) && !ArrayBuffer.isView(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
