import { describe, expect, it } from "bun:test";
import { cloneInProgress, markerUid, OWNERSHIP_TAG, ownershipMarker, proveOwnership, vmDescription } from "./ownership.ts";

const me = { namespace: "default", name: "c1-w-abc12", uid: "0f3c5b2e-8d1a-4c7e-9b6f-2a4d6e8f0a1c" };

describe("VM ownership proof", () => {
  it("puts a marker line naming the ProxmoxMachine after the user's description", () => {
    expect(ownershipMarker(me)).toBe("capx-appliance: ProxmoxMachine default/c1-w-abc12 uid=0f3c5b2e-8d1a-4c7e-9b6f-2a4d6e8f0a1c");
    expect(vmDescription("worker pool A", me)).toBe(`worker pool A\n${ownershipMarker(me)}`);
    expect(markerUid(vmDescription("worker pool A", me))).toBe(me.uid);
    expect(markerUid("capx-appliance: something else")).toBeUndefined();
  });

  it("owns a VM with the name, the marker and the tag", () => {
    expect(proveOwnership({ name: me.name, description: vmDescription(undefined, me), tags: `talos;${OWNERSHIP_TAG}` }, me)).toEqual({ owned: true, tagged: true });
  });

  it("recognises its own clone before the tag is set", () => {
    expect(proveOwnership({ name: me.name, description: vmDescription("d", me), tags: "talos" }, me)).toEqual({ owned: true, tagged: false });
  });

  it("does not own a VM with another name, no marker, or another machine's marker", () => {
    const other = { ...me, uid: "11111111-2222-3333-4444-555555555555" };
    expect(proveOwnership({ name: "someone-else", description: vmDescription(undefined, me), tags: OWNERSHIP_TAG }, me)).toMatchObject({ owned: false });
    expect(proveOwnership({ name: me.name, description: "hand made", tags: OWNERSHIP_TAG }, me)).toEqual({ owned: false, why: "its description has no capx-appliance marker" });
    expect(proveOwnership({ name: me.name, description: vmDescription(undefined, other), tags: OWNERSHIP_TAG }, me)).toEqual({
      owned: false,
      why: `its marker names another ProxmoxMachine (uid ${other.uid})`,
    });
    expect(proveOwnership({ lock: "clone" }, me)).toEqual({ owned: false, why: "it has no name yet" });
  });

  it("sees a clone still copying", () => {
    expect(cloneInProgress({ lock: "clone" })).toBe(true);
    expect(cloneInProgress({ name: me.name })).toBe(false);
  });
});
