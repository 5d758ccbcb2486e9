import { describe, expect, it } from "bun:test";
import { chooseVmid, NO_FREE_VMID, VmidReservations, VmidsExhaustedError, type VmidSource } from "./vmid.ts";

/** A PVE whose used ids are a set; nextid is the lowest free id ≥ 100 (not atomic, as PVE). */
function pve(used: number[]): VmidSource & { asked: number[] } {
  const ids = new Set(used);
  const asked: number[] = [];
  return {
    asked,
    async nextId() {
      let id = 100;
      while (ids.has(id)) id++;
      return id;
    },
    async vmidFree(id) {
      asked.push(id);
      return !ids.has(id);
    },
  };
}

describe("chooseVmid from vmIDRange", () => {
  it("skips ids recorded by ProxmoxMachines and ids PVE reports in use", async () => {
    const source = pve([1001]);
    const id = await chooseVmid({ range: { start: 1000, end: 1010 }, used: new Set([1000]), owner: "a", reservations: new VmidReservations(), source });
    expect(id).toBe(1002);
    expect(source.asked).toEqual([1001, 1002]);
  });

  it("fails with CAPMOX's text when the range is exhausted", async () => {
    const p = chooseVmid({ range: { start: 1000, end: 1001 }, used: new Set([1000]), owner: "a", reservations: new VmidReservations(), source: pve([1001]) });
    await expect(p).rejects.toBeInstanceOf(VmidsExhaustedError);
    await expect(p).rejects.toThrow(`${NO_FREE_VMID} [1000-1001]`);
  });

  it("does not hand one id to two concurrent reconciles before either has recorded it", async () => {
    const reservations = new VmidReservations();
    const source = pve([]);
    const [a, b] = await Promise.all([
      chooseVmid({ range: { start: 500, end: 510 }, used: new Set(), owner: "a", reservations, source }),
      chooseVmid({ range: { start: 500, end: 510 }, used: new Set(), owner: "b", reservations, source }),
    ]);
    expect(new Set([a, b]).size).toBe(2);
    // The owner itself may get its reserved id again (a retried reconcile).
    expect(await chooseVmid({ range: { start: 500, end: 510 }, used: new Set(), owner: "a", reservations, source })).toBe(a);
  });

  it("expires reservations that were never recorded", async () => {
    let now = 0;
    const reservations = new VmidReservations(() => now);
    reservations.reserve(500, "a");
    expect(reservations.heldByOther(500, "b")).toBe(true);
    now += 10 * 60_000;
    expect(reservations.heldByOther(500, "b")).toBe(false);
  });
});

describe("chooseVmid from /cluster/nextid", () => {
  it("takes nextid's answer", async () => {
    expect(await chooseVmid({ used: new Set(), owner: "a", reservations: new VmidReservations(), source: pve([100, 101]) })).toBe(102);
  });

  it("moves past ids reserved or recorded here that PVE does not know yet (nextid is not atomic)", async () => {
    const reservations = new VmidReservations();
    const source = pve([100]);
    const ids = await Promise.all(["a", "b", "c"].map((owner) => chooseVmid({ used: new Set([103]), owner, reservations, source })));
    expect(ids).toEqual([101, 102, 104]);
  });
});
