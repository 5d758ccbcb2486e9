import { describe, expect, it } from "bun:test";
import { Backoff, CloneQueue, isLockTimeout, KeyedMutex, TaskPolls } from "./retry.ts";

describe("Backoff", () => {
  it("doubles per failure up to the cap, and resets", () => {
    const b = new Backoff(1000, 5000);
    expect([b.next("a"), b.next("a"), b.next("a"), b.next("a"), b.next("b")]).toEqual([1000, 2000, 4000, 5000, 1000]);
    expect(b.failures("a")).toBe(4);
    b.reset("a");
    expect(b.next("a")).toBe(1000);
  });
});

describe("CloneQueue", () => {
  it("hands out a few slots per storage, first come first served", () => {
    const q = new CloneQueue(2);
    expect(q.acquire("shared", "a").granted).toBe(true);
    expect(q.acquire("shared", "b").granted).toBe(true);
    expect(q.acquire("shared", "c")).toEqual({ granted: false, position: 1, holders: 2 });
    expect(q.acquire("shared", "d")).toEqual({ granted: false, position: 2, holders: 2 });
    expect(q.acquire("local-lvm", "e").granted).toBe(true);
    q.release("a");
    // d asks first but c is ahead of it.
    expect(q.acquire("shared", "d").granted).toBe(false);
    expect(q.acquire("shared", "c").granted).toBe(true);
    expect(q.acquire("shared", "a").granted).toBe(false);
  });

  it("is re-entrant for a holder and forgets waiters that stopped asking", () => {
    let now = 0;
    const q = new CloneQueue(1, () => now);
    expect(q.acquire("s", "a").granted).toBe(true);
    expect(q.acquire("s", "a").granted).toBe(true);
    expect(q.acquire("s", "gone").granted).toBe(false);
    q.release("a");
    now += 3 * 60_000;
    expect(q.acquire("s", "b").granted).toBe(true);
  });

  it("frees a slot whose holder never came back", () => {
    let now = 0;
    const q = new CloneQueue(1, () => now);
    q.acquire("s", "lost");
    now += 31 * 60_000;
    expect(q.acquire("s", "b").granted).toBe(true);
  });

  it("wakes the waiters next in line when a slot frees, not the ones behind them", () => {
    const q = new CloneQueue(1);
    const woken: string[] = [];
    const ask = (h: string) => q.acquire("s", h, () => woken.push(h));
    expect(ask("a").granted).toBe(true);
    expect(ask("b").granted).toBe(false);
    expect(ask("c").granted).toBe(false);
    q.release("c"); // a waiter leaving frees no slot
    expect(woken).toEqual([]);
    expect(ask("c").granted).toBe(false);
    q.release("a");
    expect(woken).toEqual(["b"]);
    expect(ask("b").granted).toBe(true);
    q.release("b");
    expect(woken).toEqual(["b", "c"]);
  });
});

describe("TaskPolls", () => {
  it("polls a young task soon and an old one as often as its age, up to the poll interval", () => {
    let now = 1_000_000;
    const polls = new TaskPolls(() => now);
    expect(polls.next("UPID:a", 5000)).toBe(200);
    now += 200;
    expect(polls.next("UPID:a", 5000)).toBe(200);
    now += 1300;
    expect(polls.next("UPID:a", 5000)).toBe(1500);
    now += 60_000;
    expect(polls.next("UPID:a", 5000)).toBe(5000);
    // A shorter configured interval wins (tests poll every few ms).
    expect(polls.next("UPID:b", 10)).toBe(10);
    polls.done("UPID:a");
    expect(polls.next("UPID:a", 5000)).toBe(200);
  });
});

describe("KeyedMutex", () => {
  it("runs one task per key at a time, others in parallel", async () => {
    const mu = new KeyedMutex();
    const log: string[] = [];
    const task = (key: string, id: string, ms: number) =>
      mu.run(key, async () => {
        log.push(`start ${id}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${id}`);
      });
    await Promise.all([task("k", "1", 20), task("k", "2", 1), task("other", "3", 1)]);
    expect(log.indexOf("end 1")).toBeLessThan(log.indexOf("start 2"));
    expect(log.indexOf("start 3")).toBeLessThan(log.indexOf("end 1"));
  });

  it("releases the key when the task throws", async () => {
    const mu = new KeyedMutex();
    await expect(mu.run("k", async () => Promise.reject(new Error("x")))).rejects.toThrow("x");
    expect(await mu.run("k", async () => 7)).toBe(7);
  });
});

describe("lock timeouts", () => {
  it("recognises PVE's lock timeout texts", () => {
    expect(isLockTimeout("clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout")).toBe(true);
    expect(isLockTimeout("cfs-lock 'storage-shared' error: got lock request timeout")).toBe(true);
    expect(isLockTimeout("clone failed: No space left on device")).toBe(false);
  });
});
