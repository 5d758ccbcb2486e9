import { describe, expect, it } from "bun:test";
import { cloudInitDriveFor, cloudInitDriveKey } from "./cloudinit-drive.ts";

describe("cloud-init drive", () => {
  it("finds an existing drive on any bus", () => {
    expect(cloudInitDriveKey({ ide2: "shared:vm-101-cloudinit,media=cdrom" })).toBe("ide2");
    expect(cloudInitDriveKey({ scsi1: "local:101/vm-101-cloudinit.qcow2,media=cdrom" })).toBe("scsi1");
    expect(cloudInitDriveKey({ ide2: "none,media=cdrom", scsi0: "shared:vm-101-disk-0,size=10G" })).toBeUndefined();
  });

  it("adds one on the boot disk's storage in a free IDE slot, only when missing", () => {
    expect(cloudInitDriveFor({ scsi0: "local-lvm:vm-101-disk-0,size=10G", net0: "virtio=BC:24:11:00:00:01,bridge=vmbr0" })).toEqual({ ide2: "local-lvm:cloudinit" });
    expect(cloudInitDriveFor({ scsi0: "shared:vm-101-disk-0,size=10G", ide2: "none,media=cdrom" })).toEqual({ ide0: "shared:cloudinit" });
    expect(cloudInitDriveFor({ scsi0: "shared:vm-101-disk-0", ide2: "shared:vm-101-cloudinit,media=cdrom" })).toEqual({});
    expect(cloudInitDriveFor(undefined)).toEqual({});
  });
});
