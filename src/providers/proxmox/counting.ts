/**
 * A Proxmox backend that counts its operations in `capx_proxmox_requests_total{backend,
 * operation,result}` (result `ok` or `error`) and otherwise is the backend it wraps.
 * @module
 */
import { providerCalls } from "../../runtime/metrics.ts";
import type { ProxmoxBackend } from "./types.ts";

const counted = new WeakSet<ProxmoxBackend>();

export function countingBackend(backend: ProxmoxBackend): ProxmoxBackend {
  if (counted.has(backend)) return backend;
  const wrapped = new Proxy(backend, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return (...args: unknown[]) => {
        const labels = (result: string) => ({ backend: target.name, operation: prop, result });
        let out: unknown;
        try {
          out = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (e) {
          providerCalls.proxmox.inc(labels("error"));
          throw e;
        }
        if (out instanceof Promise) {
          return out.then(
            (v: unknown) => {
              providerCalls.proxmox.inc(labels("ok"));
              return v;
            },
            (e: unknown) => {
              providerCalls.proxmox.inc(labels("error"));
              throw e;
            },
          );
        }
        return out;
      };
    },
  });
  counted.add(wrapped);
  return wrapped;
}
