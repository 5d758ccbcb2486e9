/**
 * A deep copy of JSON-shaped data (objects, arrays, strings, numbers, booleans, null, undefined),
 * about 9× faster than `structuredClone` on the objects the appliance handles (measured on a
 * 100-cluster store: 6 ms against 57 ms for 8.5 MB of objects) — `structuredClone` was a fifth of
 * the daemon's main-thread time. Anything else (Map, Date, typed arrays, class instances) is
 * handed to `structuredClone`, so the result is the same; unlike it, shared references are copied
 * apart and cycles are not supported (JSON data has neither).
 * @module
 */

/** Keys an assignment would resolve on Object.prototype (frozen in the daemon): defined instead. */
const PROTOTYPE_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

export function cloneData<T>(v: T): T {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) {
    const n = v.length;
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = cloneData(v[i]);
    return out as T;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return structuredClone(v);
  const out: Record<string, unknown> = {};
  for (const k in v) {
    const value = cloneData((v as Record<string, unknown>)[k]);
    // An own "__proto__" key (JSON.parse makes one) stays a plain property; keys like "toString"
    // would hit the frozen Object.prototype's read-only members.
    if (PROTOTYPE_KEYS.has(k)) Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    else out[k] = value;
  }
  return out as T;
}
