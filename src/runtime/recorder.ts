/**
 * Event recorder: core/v1 Events about objects, aggregated as client-go does — a repeat of the
 * same event (object, type, reason, message) within 10 minutes bumps `count` and
 * `lastTimestamp` instead of creating another Event. Recording never fails the caller.
 * @module
 */
import { nowRfc3339, type KObject } from "../lib/kobject.ts";
import { log } from "../lib/log.ts";
import type { Client } from "./client.ts";

const AGGREGATE_MS = 10 * 60 * 1000;

interface Seen {
  name: string;
  namespace: string;
  count: number;
  at: number;
}

export class EventRecorder {
  #seen = new Map<string, Seen>();

  constructor(
    private readonly client: Client,
    private readonly component: string,
    private readonly host = "capx-appliance",
  ) {}

  normal(obj: KObject, reason: string, message: string): void {
    this.event(obj, "Normal", reason, message);
  }

  warning(obj: KObject, reason: string, message: string): void {
    this.event(obj, "Warning", reason, message);
  }

  event(obj: KObject, type: "Normal" | "Warning", reason: string, message: string): void {
    void this.#record(obj, type, reason, message).catch((e) =>
      log.warn({ component: this.component, object: obj.metadata.name, reason, err: String(e) }, "could not record event"),
    );
  }

  async #record(obj: KObject, type: string, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace || "default";
    const key = [obj.metadata.uid, type, reason, message].join("\u0000");
    const now = Date.now();
    const seen = this.#seen.get(key);
    const ts = nowRfc3339(new Date(now));
    if (seen && now - seen.at < AGGREGATE_MS) {
      seen.count++;
      seen.at = now;
      try {
        await this.client.patch({ apiVersion: "v1", kind: "Event", namespace: seen.namespace, name: seen.name }, "merge", { count: seen.count, lastTimestamp: ts });
        return;
      } catch (e) {
        if ((e as { code?: number }).code !== 404) throw e;
      }
    }
    const name = `${obj.metadata.name}.${(now * 1_000_000 + Math.floor(Math.random() * 1_000_000)).toString(16)}`;
    await this.client.create({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component: this.component, host: this.host },
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
      reportingComponent: this.component,
      reportingInstance: this.host,
    });
    this.#seen.set(key, { name, namespace, count: 1, at: now });
    if (this.#seen.size > 10_000) {
      for (const [k, v] of this.#seen) if (now - v.at > AGGREGATE_MS) this.#seen.delete(k);
    }
  }
}
