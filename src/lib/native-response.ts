/**
 * Bun's own Response class. Bun.serve takes only its own Response; @hono/node-server (the
 * appliance's API transport) replaces the global one with a lightweight subclass, which an app
 * built with Hono then returns.
 * @module
 */
export function nativeResponseClass(): typeof Response {
  let R: typeof Response = Response;
  while (Object.getPrototypeOf(R) !== Function.prototype) R = Object.getPrototypeOf(R);
  return R;
}
