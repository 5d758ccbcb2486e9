/**
 * Watch latency client (its own process): W watch streams on one namespace's ConfigMaps, then
 * one writer creating ConfigMaps at a fixed rate over its own keep-alive connection. For each
 * event and watcher: the time from just before the create was sent until that watcher read the
 * event, and the time from the create's response until then (negative when the event came
 * first). Writer and watchers share this process so both ends use one clock.
 * `bun watch-client.ts '{"url":...,"pkiDir":...,"namespace":...,"watchers":100,"writes":300,"intervalMs":25}'`
 * @module
 */
import { clientTls, configMap, now, round, sleep, summarize } from "./common.ts";

interface Options {
  url: string;
  pkiDir: string;
  namespace: string;
  watchers: number;
  writes: number;
  intervalMs: number;
  warmupWrites?: number;
  /** Name prefix, unique per run against the same server. */
  prefix?: string;
  /** Also print the raw samples (for aggregating rounds). */
  raw?: boolean;
}

const o = JSON.parse(process.argv[2] ?? "{}") as Options;
const t = clientTls(o.pkiDir);
const tlsOpt = { ca: t.ca, cert: t.cert, key: t.key };
const base = `${o.url}/api/v1/namespaces/${o.namespace}/configmaps`;

const sentAt = new Map<string, number>();
const respAt = new Map<string, number>();
/** name → receive times, one per watcher. */
const recvAt = new Map<string, number[]>();
let received = 0;
let parseErrors = 0;

async function consume(body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const at = now();
    buf += dec.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as { type: string; object: { metadata?: { name?: string } } };
        const name = e.object?.metadata?.name;
        if (e.type !== "ADDED" || !name) continue;
        let a = recvAt.get(name);
        if (!a) recvAt.set(name, (a = []));
        a.push(at);
        received++;
      } catch {
        parseErrors++;
      }
    }
  }
}

const controllers: AbortController[] = [];
const t0 = now();
const opened = await Promise.all(
  Array.from({ length: o.watchers }, async () => {
    const ac = new AbortController();
    controllers.push(ac);
    const r = await fetch(`${base}?watch=1`, { headers: { accept: "application/json" }, tls: tlsOpt, signal: ac.signal } as RequestInit);
    if (r.status !== 200 || !r.body) throw new Error(`watch: ${r.status} ${await r.text()}`);
    consume(r.body).catch(() => {});
    return 1;
  }),
);
const openMs = now() - t0;
await sleep(300);

async function write(name: string): Promise<void> {
  const body = JSON.stringify(configMap(o.namespace, name));
  const start = now();
  sentAt.set(name, start);
  const r = await fetch(base, { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, body, tls: tlsOpt } as RequestInit);
  await r.arrayBuffer();
  respAt.set(name, now());
  if (r.status !== 201) throw new Error(`create ${name}: ${r.status}`);
}

async function writeAll(prefix: string, n: number): Promise<string[]> {
  const names: string[] = [];
  const start = now();
  for (let i = 0; i < n; i++) {
    const wait = start + i * o.intervalMs - now();
    if (wait > 0) await sleep(wait);
    const name = `${prefix}-${String(i).padStart(4, "0")}`;
    names.push(name);
    await write(name);
  }
  return names;
}

async function drain(expected: number, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  while (received < expected && now() < deadline) await sleep(10);
}

const prefix = o.prefix ?? "w";
await writeAll(`warm-${prefix}`, o.warmupWrites ?? 20);
await drain((o.warmupWrites ?? 20) * o.watchers, 5000);
received = 0;
const names = await writeAll(prefix, o.writes);
await drain(o.writes * o.watchers, 10_000);

const fromBefore: number[] = [];
const fromResp: number[] = [];
const writeLat: number[] = [];
let got = 0;
for (const n of names) {
  const s = sentAt.get(n)!;
  const rsp = respAt.get(n)!;
  writeLat.push(rsp - s);
  for (const at of recvAt.get(n) ?? []) {
    got++;
    fromBefore.push(at - s);
    fromResp.push(at - rsp);
  }
}
const r3 = (s: ReturnType<typeof summarize>) => ({ p50: round(s.p50, 3), p90: round(s.p90, 3), p99: round(s.p99, 3), max: round(s.max, 3) });
console.log(
  JSON.stringify({
    result: {
      watchers: opened.length,
      openMs: round(openMs, 1),
      writes: names.length,
      expectedEvents: names.length * o.watchers,
      receivedEvents: got,
      parseErrors,
      fromBeforeWriteMs: r3(summarize(fromBefore)),
      fromResponseMs: r3(summarize(fromResp)),
      writeMs: r3(summarize(writeLat)),
      ...(o.raw ? { samples: { fromBefore: fromBefore.map((x) => round(x, 3)), fromResp: fromResp.map((x) => round(x, 3)), write: writeLat.map((x) => round(x, 3)) } } : {}),
    },
  }),
);
for (const c of controllers) c.abort();
process.exit(0);
