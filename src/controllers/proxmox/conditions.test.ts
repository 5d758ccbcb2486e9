import { describe, expect, it } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { getCondition } from "../../runtime/conditions.ts";
import { setProxmoxAvailable, setReadyFrom, setVmProvisioned, vmProvisionedReason } from "./conditions.ts";

const obj = (): KObject => ({ apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxMachine", metadata: { name: "m", generation: 3 } });

describe("Ready summarises the one condition, as CAPI's summary does", () => {
  it("mirrors status and reason; the message names the condition while it is not True", () => {
    const pm = obj();
    setVmProvisioned(pm, "False", "WaitingForStaticIPAllocation", "waiting for 1 of 2 IP addresses");
    expect(vmProvisionedReason(pm)).toBe("WaitingForStaticIPAllocation");
    expect(getCondition(pm, "Ready")).toMatchObject({ status: "False", reason: "WaitingForStaticIPAllocation", message: "* VirtualMachineProvisioned: waiting for 1 of 2 IP addresses", observedGeneration: 3 });
    setVmProvisioned(pm, "False", "Cloning");
    expect(getCondition(pm, "Ready")!.message).toBe("* VirtualMachineProvisioned: Cloning");
    setVmProvisioned(pm, "True", "Provisioned");
    expect(getCondition(pm, "Ready")).toMatchObject({ status: "True", reason: "Provisioned", message: "" });
  });

  it("is Unknown until the condition is reported", () => {
    const pm = obj();
    setReadyFrom(pm, "VirtualMachineProvisioned");
    expect(getCondition(pm, "Ready")).toMatchObject({ status: "Unknown", reason: "NotYetReported" });
  });

  it("does the same for ProxmoxCluster's ProxmoxAvailable", () => {
    const pc = obj();
    setProxmoxAvailable(pc, "False", "CredentialsNotFound", "credentials secret not found");
    expect(getCondition(pc, "Ready")).toMatchObject({ status: "False", reason: "CredentialsNotFound", message: "* ProxmoxAvailable: credentials secret not found" });
  });
});
