import { describe, expect, test } from "bun:test";
import { TalosNodesPool, type TalosNodes } from "./tcp-talos.ts";

const fake = () => {
  const n = { failed: false, closed: 0, close: () => void n.closed++ };
  return n as unknown as TalosNodes & { closed: number };
};

describe("Talos connections kept between reconciles", () => {
  test("reused while idle less than the limit; a failure, another talosconfig or the idle limit close them", async () => {
    const pool = new TalosNodesPool(50);
    const made: (TalosNodes & { closed: number })[] = [];
    const make = () => {
      const n = fake();
      made.push(n);
      return n;
    };
    const a = pool.acquire("default/c1", "cfg", make);
    a.release();
    const b = pool.acquire("default/c1", "cfg", make);
    expect(b.nodes).toBe(a.nodes);
    expect(made).toHaveLength(1);
    b.nodes.failed = true;
    b.release();
    expect(made[0]!.closed).toBe(1);
    const c = pool.acquire("default/c1", "cfg", make);
    expect(made).toHaveLength(2);
    c.release();
    const d = pool.acquire("default/c1", "other cfg", make);
    expect(made).toHaveLength(3);
    expect(made[1]!.closed).toBe(1);
    d.release();
    expect(pool.size).toBe(1);
    await Bun.sleep(120);
    expect(made[2]!.closed).toBe(1);
    expect(pool.size).toBe(0);
    pool.acquire("default/c2", "cfg", make).release();
    pool.close();
    expect(made[3]!.closed).toBe(1);
  });
});
