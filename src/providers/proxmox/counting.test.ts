import { expect, it } from "bun:test";
import { providerCalls } from "../../runtime/metrics.ts";
import { countingBackend } from "./counting.ts";
import { InProcessBackend } from "./inprocess.ts";
import { testLab } from "./lab/testing.ts";

it("counts each Proxmox operation by backend, operation and result, and changes nothing else", async () => {
  const t = testLab();
  try {
    const raw = new InProcessBackend(t.lab);
    const b = countingBackend(raw);
    expect(countingBackend(b)).toBe(b);
    expect(b.name).toBe(raw.name);
    const ok = { backend: raw.name, operation: "nodes", result: "ok" };
    const before = providerCalls.proxmox.get(ok);
    expect((await b.nodes()).map((n) => n.node)).toEqual((await raw.nodes()).map((n) => n.node));
    expect(providerCalls.proxmox.get(ok)).toBe(before + 1);
    const failed = { backend: raw.name, operation: "setVmConfig", result: "error" };
    const failedBefore = providerCalls.proxmox.get(failed);
    await expect(b.setVmConfig("pve1", 4242, { memory: 1024 })).rejects.toThrow();
    expect(providerCalls.proxmox.get(failed)).toBe(failedBefore + 1);
    expect(providerCalls.proxmox.text().join("\n")).toContain(`capx_proxmox_requests_total{backend="${raw.name}",operation="nodes",result="ok"}`);
  } finally {
    await t.close();
  }
});
