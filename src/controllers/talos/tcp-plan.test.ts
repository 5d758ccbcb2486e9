import { describe, expect, test } from "bun:test";
import { bootstrapCandidate, plan, resolveMaxSurge, type MachineView, type PlanInput } from "./tcp-plan.ts";

const m = (name: string, over: Partial<MachineView> = {}): MachineView => ({ name, created: Number(name.replace(/\D/g, "")) || 0, healthy: true, upToDate: true, deleting: false, leaving: false, ...over });
const input = (over: Partial<PlanInput>): PlanInput => ({ replicas: 3, machines: [], bootstrapped: true, strategy: { type: "RollingUpdate", maxSurge: 1 }, ...over });

describe("tcp plan", () => {
  test("first machine, then bootstrap on it once it has an address", () => {
    expect(plan(input({ bootstrapped: false })).kind).toBe("create");
    expect(plan(input({ bootstrapped: false, machines: [m("a1", { healthy: false })] })).kind).toBe("wait");
    expect(plan(input({ bootstrapped: false, machines: [m("a1", { healthy: false, address: "10.0.0.9" })] }))).toEqual({ kind: "bootstrap", machine: "a1", address: "10.0.0.9" });
  });

  test("a wait that a Machine change ends is not polled; etcd health is", () => {
    expect(plan(input({ bootstrapped: false, machines: [m("a1", { healthy: false })] }))).toMatchObject({ kind: "wait", onEvent: true });
    expect(plan(input({ machines: [m("a1", { address: "10.0.0.9" }), m("a2", { healthy: false })] }))).toMatchObject({ kind: "wait", onEvent: true });
    const etcd = plan(input({ machines: [m("a1", { address: "10.0.0.9" }), m("a2", { healthy: false, address: "10.0.0.10" })] }));
    expect(etcd.kind).toBe("wait");
    expect("onEvent" in etcd).toBe(false);
    expect(plan(input({ machines: [m("a1", { deleting: true })] }))).toMatchObject({ kind: "wait", onEvent: true });
  });

  test("bootstrap node: numeric address order, not text order", () => {
    const ms = [m("a1", { address: "10.0.0.10" }), m("a2", { address: "10.0.0.9" }), m("a3")];
    expect(bootstrapCandidate(ms)?.name).toBe("a2");
    expect(plan(input({ bootstrapped: false, machines: ms }))).toMatchObject({ kind: "bootstrap", machine: "a2" });
  });

  test("one at a time: no new machine while one is unhealthy", () => {
    expect(plan(input({ machines: [m("a1"), m("a2", { healthy: false })] })).kind).toBe("wait");
    expect(plan(input({ machines: [m("a1"), m("a2")] })).kind).toBe("create");
    expect(plan(input({ machines: [m("a1"), m("a2"), m("a3")] })).kind).toBe("none");
  });

  test("scale down: out-of-date first, else the oldest; a leaving machine is finished before anything else", () => {
    expect(plan(input({ replicas: 1, machines: [m("a1"), m("a2"), m("a3")] }))).toMatchObject({ kind: "scaleDown", machine: "a1" });
    expect(plan(input({ replicas: 1, machines: [m("a1"), m("a2", { upToDate: false }), m("a3")] }))).toMatchObject({ kind: "scaleDown", machine: "a2" });
    // The leaving machine is no etcd member any more (unhealthy): it is finished, not waited on.
    expect(plan(input({ replicas: 1, machines: [m("a1"), m("a2", { healthy: false, leaving: true }), m("a3")] }))).toMatchObject({ kind: "scaleDown", machine: "a2" });
    expect(plan(input({ machines: [m("a1", { deleting: true }), m("a2")] })).kind).toBe("wait");
  });

  test("rolling update: surge, then remove the oldest out-of-date; OnDelete replaces nothing", () => {
    const outdated = [m("a1", { upToDate: false }), m("a2", { upToDate: false }), m("a3", { upToDate: false })];
    expect(plan(input({ machines: outdated })).kind).toBe("create");
    expect(plan(input({ machines: [...outdated, m("a4")] }))).toMatchObject({ kind: "scaleDown", machine: "a1" });
    expect(plan(input({ machines: outdated, strategy: { type: "RollingUpdate", maxSurge: 0 } }))).toMatchObject({ kind: "scaleDown", machine: "a1" });
    expect(plan(input({ machines: outdated, strategy: { type: "OnDelete", maxSurge: 1 } })).kind).toBe("none");
    expect(plan(input({ machines: outdated.slice(1), strategy: { type: "OnDelete", maxSurge: 1 } })).kind).toBe("create");
  });

  test("maxSurge: int, percent (rounded up), default 1", () => {
    expect(resolveMaxSurge(undefined, 3)).toBe(1);
    expect(resolveMaxSurge(0, 3)).toBe(0);
    expect(resolveMaxSurge("50%", 3)).toBe(2);
    expect(resolveMaxSurge("2", 3)).toBe(2);
  });

  test("a deleting machine holding the hook is released first; stray etcd members are removed before scaling", () => {
    expect(plan(input({ machines: [m("a1"), m("a2", { deleting: true, hook: true })] }))).toEqual({ kind: "release", machine: "a2" });
    expect(plan(input({ machines: [m("a1"), m("a2", { deleting: true })] })).kind).toBe("wait");
    expect(plan(input({ members: ["a1", "gone"], machines: [m("a1")] }))).toEqual({ kind: "removeStrayMembers", members: ["gone"] });
    expect(plan(input({ members: ["a1", "a2"], machines: [m("a1"), m("a2")] })).kind).toBe("create");
  });
});
