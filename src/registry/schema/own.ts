/**
 * Own-property access for JSON objects whose keys come from requests (and for the maps of CRD
 * schemas, whose keys are property names). Keys such as `__proto__`, `constructor`, `prototype`,
 * `hasOwnProperty` or `toString` are ordinary data keys here, exactly like keys of Go maps:
 * reads see own properties only, and writes never reach a prototype (a plain `o["__proto__"] = v`
 * would replace `o`'s prototype instead of adding a key; reading `o["__proto__"]` on an object
 * without that own key returns Object.prototype).
 *
 * Every engine of schema/ and patch/ reads and writes untrusted keys through these helpers, which
 * also work with a frozen Object.prototype.
 * @module
 */

const hasOwnProperty = Object.prototype.hasOwnProperty;

/** Whether `o` has `k` as an own property (never looks at the prototype chain). */
export function hasOwn(o: object, k: string): boolean {
  return hasOwnProperty.call(o, k);
}

/** `o[k]` when `k` is an own property of `o`, else undefined. */
export function getOwn(o: object, k: string): unknown {
  return hasOwnProperty.call(o, k) ? (o as Record<string, unknown>)[k] : undefined;
}

/**
 * Sets `o[k] = v` as an own, enumerable data property, whatever `k` is. Names of Object.prototype
 * members (`__proto__`, `constructor`, `toString`, …) are defined rather than assigned: an
 * assignment would set the prototype for `__proto__`, and throws for the others when
 * Object.prototype is frozen (as the daemon freezes it) and `o` has no own such key yet.
 */
export function setOwn(o: object, k: string, v: unknown): void {
  if (hasOwnProperty.call(Object.prototype, k)) {
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  } else {
    (o as Record<string, unknown>)[k] = v;
  }
}

/** A JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
