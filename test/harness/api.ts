/**
 * A tiny raw-HTTPS client for whole-process API tests (admin client certificate by default).
 * @module
 */
import { adminTls, type TestDaemon } from "./daemon.ts";

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export class Api {
  readonly #tls: { ca: string; cert?: string; key?: string };
  constructor(
    readonly d: TestDaemon,
    tls?: { ca: string; cert?: string; key?: string },
    private readonly token?: string,
  ) {
    this.#tls = tls ?? adminTls(d.dataDir);
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const h: Record<string, string> = { ...headers };
    let payload: string | Uint8Array | undefined;
    if (body !== undefined) {
      if (typeof body === "string" || body instanceof Uint8Array) payload = body;
      else payload = JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === "content-type")) h["Content-Type"] = "application/json";
    }
    if (this.token) h.Authorization = `Bearer ${this.token}`;
    const res = await fetch(`${this.d.url}${path}`, { method, headers: h, body: payload, tls: this.#tls } as RequestInit);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (health endpoints, metrics)
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  get<T = Record<string, unknown>>(path: string, headers?: Record<string, string>) {
    return this.request<T>("GET", path, undefined, headers);
  }
  post<T = Record<string, unknown>>(path: string, body: unknown, headers?: Record<string, string>) {
    return this.request<T>("POST", path, body, headers);
  }
  put<T = Record<string, unknown>>(path: string, body: unknown, headers?: Record<string, string>) {
    return this.request<T>("PUT", path, body, headers);
  }
  patch<T = Record<string, unknown>>(path: string, body: unknown, contentType: string) {
    return this.request<T>("PATCH", path, body, { "Content-Type": contentType });
  }
  delete<T = Record<string, unknown>>(path: string, body?: unknown) {
    return this.request<T>("DELETE", path, body);
  }

  /** Follows a watch, calling `onEvent` per event, until the server ends it or `signal` aborts. */
  async stream(path: string, signal: AbortSignal, onEvent: (type: string, object: Record<string, unknown>) => void): Promise<void> {
    const res = await fetch(`${this.d.url}${path}`, { tls: this.#tls, signal } as RequestInit);
    if (res.status !== 200) throw new Error(`watch ${path}: ${res.status} ${await res.text()}`);
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!line) continue;
        const e = JSON.parse(line) as { type: string; object: Record<string, unknown> };
        if (e.type === "ERROR") throw new Error(`watch ${path}: ${JSON.stringify(e.object)}`);
        onEvent(e.type, e.object);
      }
    }
  }

  /** Opens a watch and collects its events until `stop()` or the server closes it. */
  async watch(path: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${this.d.url}${path}`, { headers, tls: this.#tls } as RequestInit);
    const events: { type: string; object: Record<string, unknown> & { metadata?: Record<string, unknown> } }[] = [];
    const reader = res.body!.getReader();
    let buf = "";
    let ended = false;
    const done = (async () => {
      const dec = new TextDecoder();
      for (;;) {
        const { done: fin, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (fin) break;
        buf += dec.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (line) events.push(JSON.parse(line));
        }
      }
      ended = true;
    })();
    return {
      status: res.status,
      headers: res.headers,
      events,
      get ended() {
        return ended;
      },
      done,
      async until(n: number, timeoutMs = 10_000) {
        const end = Date.now() + timeoutMs;
        while (events.length < n) {
          if (Date.now() > end) throw new Error(`watch: expected ${n} events, got ${events.length}: ${JSON.stringify(events.map((e) => e.type))}`);
          await Bun.sleep(20);
        }
        return events;
      },
      stop() {
        reader.cancel().catch(() => {});
      },
    };
  }
}

export function configMap(name: string, data: Record<string, string> = {}, labels?: Record<string, string>) {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...(labels ? { labels } : {}) }, data };
}
