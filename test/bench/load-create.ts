/**
 * Load generator (its own process): N creates of ConfigMaps over HTTPS from C concurrent
 * keep-alive clients with the admin client certificate.
 * `bun load-create.ts '{"url":...,"pkiDir":...,"namespace":...,"count":10000,"concurrency":8}'`
 * Prints one JSON line: {"result": {...}}.
 * @module
 */
import { clientTls, configMap, now, round, summarize } from "./common.ts";

interface Options {
  url: string;
  pkiDir: string;
  namespace: string;
  count: number;
  concurrency: number;
  prefix?: string;
  /** Creates before timing (different names, namespace `warmupNamespace`), to open connections and warm the JIT. */
  warmup?: number;
  warmupNamespace?: string;
}

const o = JSON.parse(process.argv[2] ?? "{}") as Options;
const t = clientTls(o.pkiDir);
const tlsOpt = { ca: t.ca, cert: t.cert, key: t.key };
const prefix = o.prefix ?? "cm";

async function post(namespace: string, name: string): Promise<number> {
  const r = await fetch(`${o.url}/api/v1/namespaces/${namespace}/configmaps`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(configMap(namespace, name)),
    tls: tlsOpt,
  } as RequestInit);
  await r.arrayBuffer();
  return r.status;
}

async function run(namespace: string, count: number, names: (i: number) => string, lat?: number[]) {
  let next = 0;
  const statuses: Record<string, number> = {};
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const t0 = now();
      let s: number;
      try {
        s = await post(namespace, names(i));
      } catch (e) {
        s = -1;
        statuses[String(e)] = (statuses[String(e)] ?? 0) + 1;
      }
      lat?.push(now() - t0);
      statuses[s] = (statuses[s] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  return statuses;
}

if (o.warmup) await run(o.warmupNamespace ?? o.namespace, o.warmup, (i) => `warmup-${prefix}-${i}`);
const lat: number[] = [];
const t0 = now();
const statuses = await run(o.namespace, o.count, (i) => `${prefix}-${String(i).padStart(5, "0")}`, lat);
const elapsed = now() - t0;
const s = summarize(lat);
console.log(
  JSON.stringify({
    result: {
      count: o.count,
      concurrency: o.concurrency,
      elapsedMs: round(elapsed),
      perSec: round((o.count / elapsed) * 1000, 1),
      created: statuses["201"] ?? 0,
      statuses,
      latencyMs: { p50: round(s.p50, 3), p99: round(s.p99, 3), max: round(s.max, 3) },
    },
  }),
);
process.exit(0);
