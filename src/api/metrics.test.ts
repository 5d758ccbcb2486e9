import { describe, expect, test } from "bun:test";
import { ApiMetrics, type RequestLabelValues } from "./metrics.ts";

const labels: RequestLabelValues = { verb: "GET", group: "", version: "v1", resource: "nodes", subresource: "", scope: "cluster", component: "apiserver" };
const count = (text: string) => Number(/apiserver_request_total\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);

describe("ApiMetrics before prom-client is loaded", () => {
  test("the daemon's: observations are queued and replayed at load", async () => {
    const m = new ApiMetrics();
    for (let i = 0; i < 3; i++) m.request(labels, 200, 0.001);
    expect(count((await m.render(1)).body)).toBe(3);
  });

  test("a lab workload server's (nobody scrapes it): dropped until the first scrape, counted after", async () => {
    const m = new ApiMetrics({ queueBeforeLoad: false });
    for (let i = 0; i < 3; i++) m.request(labels, 200, 0.001);
    expect(count((await m.render(1)).body)).toBe(0);
    m.request(labels, 200, 0.001);
    expect(count((await m.render(1)).body)).toBe(1);
  });
});
