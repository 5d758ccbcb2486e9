/**
 * The ProxmoxMachine controller beyond CAPMOX, end to end against the lab PVE: a restart between
 * sending a clone and recording its task adopts the VM instead of cloning again; failed clones
 * and starts destroy the machine's own VM and clone anew; only a missing template, exhausted
 * VMIDs or no node with room stop for good; a VM that is not provably the machine's is never
 * destroyed.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { KObject } from "../../lib/kobject.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { CLONE_INTENT_ANNOTATION, INFRA_VERSION, IPAM_CONTRACT_VERSION } from "./constants.ts";
import { RECREATE_ANNOTATION } from "./clone-intent.ts";
import { CLUSTER, clusterObjects, conditionOf, createAll, machineObjects, NS, pmOf, startProxmoxEnv, waitFor, type ProxmoxTestEnv } from "./testenv.ts";
import type { ProxmoxMachineSpec, ProxmoxMachineStatus } from "./types.ts";

let env: ProxmoxTestEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const provisioned = (o: KObject | undefined) => (o?.status as ProxmoxMachineStatus | undefined)?.initialization?.provisioned === true;

async function waitProvisioned(e: ProxmoxTestEnv, name: string, timeoutMs = 20_000): Promise<KObject> {
  return waitFor(`${name} provisioned`, () => {
    const o = pmOf(e.client, name);
    return provisioned(o) ? o : undefined;
  }, timeoutMs);
}

async function waitReason(e: ProxmoxTestEnv, name: string, reason: string): Promise<KObject> {
  return waitFor(`${name} reason ${reason}`, () => {
    const o = pmOf(e.client, name);
    return conditionOf(o, "VirtualMachineProvisioned")?.reason === reason ? o : undefined;
  });
}

/** The lab's VMs with this name (however PVE lists them). */
async function vmsNamed(e: ProxmoxTestEnv, name: string): Promise<number[]> {
  const out: number[] = [];
  for (const v of await e.backend.vms()) {
    if (v.template) continue;
    const config = await e.backend.vmConfig(v.node, v.vmid);
    if (config?.name === name) out.push(v.vmid);
  }
  return out;
}

function events(e: ProxmoxTestEnv, name: string): { reason: string; message: string; type: string }[] {
  return e.client
    .list("v1", "Event", NS)
    .filter((ev) => (ev as { involvedObject?: { name?: string } }).involvedObject?.name === name)
    .map((ev) => ev as unknown as { reason: string; message: string; type: string });
}

describe("crash safety", () => {
  it("a restart between sending the clone and recording its task adopts the VM; it is never cloned twice", async () => {
    let dying = false;
    env = await startProxmoxEnv({
      latencies: { diskCopyMs: 300 },
      wrapRequest: async (call, forward) => {
        const res = await forward();
        if (call.method === "POST" && call.path.endsWith("/clone") && !dying) {
          // The daemon dies right after PVE accepted the clone: the UPID never reaches the status.
          dying = true;
          throw new Error("killed");
        }
        return res;
      },
    });
    const e = env;
    await createAll(e.client, clusterObjects());
    await createAll(e.client, machineObjects("c1-cp-0", {}, { controlPlane: true }));
    await waitFor("the clone was sent", () => dying);
    await e.stopControllers();
    const before = pmOf(e.client, "c1-cp-0")!;
    const vmid = (before.spec as ProxmoxMachineSpec).virtualMachineID!;
    expect(vmid).toBeGreaterThanOrEqual(100);
    expect((before.status as ProxmoxMachineStatus).taskRef).toBeUndefined();
    expect(JSON.parse(before.metadata.annotations![CLONE_INTENT_ANNOTATION]!)).toMatchObject({ vmid, sourceNode: "pve1", template: 9001 });

    await e.restartControllers();
    const pm = await waitProvisioned(e, "c1-cp-0");
    expect((pm.spec as ProxmoxMachineSpec).virtualMachineID).toBe(vmid);
    expect(await vmsNamed(e, "c1-cp-0")).toEqual([vmid]);
    expect(pm.metadata.annotations?.[CLONE_INTENT_ANNOTATION]).toBeUndefined();
    expect(events(e, "c1-cp-0").map((ev) => ev.reason)).toContain("VMAdopted");
  });

  it("a restart while the clone task runs picks the task up again", async () => {
    env = await startProxmoxEnv({ latencies: { diskCopyMs: 400 } });
    const e = env;
    await createAll(e.client, clusterObjects());
    await createAll(e.client, machineObjects("c1-w-0"));
    await waitFor("the clone task is recorded", () => (pmOf(e.client, "c1-w-0")?.status as ProxmoxMachineStatus | undefined)?.taskRef);
    await e.stopControllers();
    await e.restartControllers();
    const pm = await waitProvisioned(e, "c1-w-0");
    expect(await vmsNamed(e, "c1-w-0")).toEqual([(pm.spec as ProxmoxMachineSpec).virtualMachineID!]);
  });
});

describe("retries", () => {
  it("a failed clone task: the machine's partial VM is gone, the clone is retried with backoff and converges", async () => {
    env = await startProxmoxEnv({ faults: { taskFailureRate: 1 } });
    const e = env;
    await createAll(e.client, clusterObjects());
    await createAll(e.client, machineObjects("c1-w-1"));
    const failed = await waitReason(e, "c1-w-1", "CloningFailed");
    expect(conditionOf(failed, "VirtualMachineProvisioned")!.message).toStartWith("qmclone: ");
    expect((failed.status as ProxmoxMachineStatus).retryAfter).toBeDefined();
    e.lab.setFaults({ taskFailureRate: 0 });
    const pm = await waitProvisioned(e, "c1-w-1");
    expect(await vmsNamed(e, "c1-w-1")).toEqual([(pm.spec as ProxmoxMachineSpec).virtualMachineID!]);
    expect(pm.metadata.annotations?.[RECREATE_ANNOTATION]).toBeUndefined();
    // the event a user looks for: TaskFailed, with the task and PVE's own error
    const failedEvent = events(e, "c1-w-1").find((ev) => ev.reason === "TaskFailed" && ev.type === "Warning");
    expect(failedEvent?.message).toMatch(/^UPID:pve\d:[0-9A-F:]+:qmclone:9001:.*: qmclone: /);
    expect(events(e, "c1-w-1").some((ev) => ev.reason === "VMCloned")).toBe(true);
    expect(events(e, "c1-w-1").some((ev) => ev.reason === "VMStarted")).toBe(true);
  });

  it("a failed start: the VM is destroyed with its bootstrap data and the machine is cloned anew", async () => {
    let broken = false;
    env = await startProxmoxEnv({
      wrapRequest: async (call, forward, lab) => {
        if (call.method === "POST" && call.path.endsWith("/status/start") && !broken) {
          // Someone removes the user-data snippet just before the first start: PVE cannot start the VM.
          broken = true;
          rmSync(join(lab.storagePath("pve1", "shared"), "snippets"), { recursive: true, force: true });
        }
        return forward();
      },
    });
    const e = env;
    await createAll(e.client, clusterObjects({ pcSpec: { allowedNodes: ["pve1"] } }));
    await createAll(e.client, machineObjects("c1-w-2"));
    const failed = await waitReason(e, "c1-w-2", "PoweringOnFailed");
    const firstVmid = (failed.spec as ProxmoxMachineSpec).virtualMachineID!;
    expect(conditionOf(failed, "VirtualMachineProvisioned")!.message).toMatch(/^qmstart: can't find file 'shared:snippets\/capx-\d+-(user|network|meta)\.yaml'/);
    const pm = await waitProvisioned(e, "c1-w-2");
    const vmid = (pm.spec as ProxmoxMachineSpec).virtualMachineID!;
    expect(await vmsNamed(e, "c1-w-2")).toEqual([vmid]);
    expect(vmid).toBe(firstVmid);
    expect((pm.status as ProxmoxMachineStatus).bootstrapDataProvided).toBe(true);
  });
});

describe("terminal stops (the reason says which)", () => {
  it("no template matches the selector: TemplateNotFound with CAPMOX's text, no VM; a fixed spec recovers", async () => {
    env = await startProxmoxEnv();
    const e = env;
    await createAll(e.client, clusterObjects());
    const objs = machineObjects("c1-w-3", { sourceNode: undefined, templateID: undefined, templateSelector: { matchTags: ["flatcar"] } });
    await createAll(e.client, objs);
    const pm = await waitReason(e, "c1-w-3", "TemplateNotFound");
    expect(conditionOf(pm, "VirtualMachineProvisioned")).toMatchObject({ status: "False", message: 'VM template not found: found 0 VM templates with tags "flatcar"' });
    expect(conditionOf(pm, "Ready")).toMatchObject({ status: "False", reason: "TemplateNotFound" });
    expect((pm.spec as ProxmoxMachineSpec).virtualMachineID).toBeUndefined();
    expect(await vmsNamed(e, "c1-w-3")).toEqual([]);
    await e.client.patch({ apiVersion: INFRA_VERSION, kind: "ProxmoxMachine", namespace: NS, name: "c1-w-3" }, "merge", { spec: { templateSelector: { matchTags: ["Ubuntu", "Cloud-Init"] } } });
    const ok = await waitProvisioned(e, "c1-w-3");
    expect(await vmsNamed(e, "c1-w-3")).toEqual([(ok.spec as ProxmoxMachineSpec).virtualMachineID!]);
  });

  it("an exhausted vmIDRange: VMIDsExhausted", async () => {
    env = await startProxmoxEnv();
    const e = env;
    await createAll(e.client, clusterObjects());
    await createAll(e.client, machineObjects("c1-w-4", { vmIDRange: { start: 9000, end: 9001 } }));
    const pm = await waitReason(e, "c1-w-4", "VMIDsExhausted");
    expect(conditionOf(pm, "VirtualMachineProvisioned")!.message).toBe("No free vmid found in vmIDRange [9000-9001]");
  });

  it("no node with room: NoFittingNode with CAPMOX's 'cannot reserve' text", async () => {
    env = await startProxmoxEnv();
    const e = env;
    await createAll(e.client, clusterObjects());
    await createAll(e.client, machineObjects("c1-w-5", { memoryMiB: 128 * 1024 }));
    const pm = await waitReason(e, "c1-w-5", "NoFittingNode");
    expect(conditionOf(pm, "VirtualMachineProvisioned")!.message).toMatch(/^cannot reserve 137438953472B of memory on node pve\d: \d+B available memory left$/);
    expect(events(e, "c1-w-5").some((ev) => ev.reason === "NoFittingNode")).toBe(true);
  });
});

describe("placement and VMIDs", () => {
  it("spreads control-plane machines over the allowed nodes and takes VMIDs from the range in order", async () => {
    env = await startProxmoxEnv();
    const e = env;
    await createAll(e.client, clusterObjects());
    for (const i of [0, 1, 2]) await createAll(e.client, machineObjects(`c1-cp-${i}`, { vmIDRange: { start: 500, end: 510 } }, { controlPlane: true }));
    const pms = await Promise.all([0, 1, 2].map((i) => waitProvisioned(e, `c1-cp-${i}`)));
    expect(new Set(pms.map((p) => (p.status as ProxmoxMachineStatus).proxmoxNode)).size).toBe(3);
    expect(pms.map((p) => (p.spec as ProxmoxMachineSpec).virtualMachineID).sort()).toEqual([500, 501, 502]);
    expect(new Set(pms.map((p) => (p.status as ProxmoxMachineStatus).addresses?.[1]?.address)).size).toBe(3);
  });
});

describe("ownership", () => {
  it("never destroys a VM it cannot prove is its own; the machine still goes away", async () => {
    env = await startProxmoxEnv();
    const e = env;
    await createAll(e.client, clusterObjects());
    // Someone else's VM, and a ProxmoxMachine claiming its VMID (CAPMOX#742's stale VMID).
    const foreign = await e.backend.nextId();
    const task = await e.backend.clone({ node: "pve1", vmid: 9001, newid: foreign, name: "someone-else", full: true });
    await waitFor("foreign VM cloned", async () => !(await e.backend.task(task)).running);
    await createAll(e.client, machineObjects("c1-w-6", { virtualMachineID: foreign }));
    const pm = await waitReason(e, "c1-w-6", "VMProvisionFailed");
    expect(conditionOf(pm, "VirtualMachineProvisioned")!.message).toBe('expected VM name to match "c1-w-6" but it was "someone-else"');
    await e.client.delete({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name: "c1-w-6" });
    await waitFor("ProxmoxMachine gone", () => !pmOf(e.client, "c1-w-6"));
    expect((await e.backend.vmConfig("pve1", foreign))?.name).toBe("someone-else");
    expect(events(e, "c1-w-6").find((ev) => ev.reason === "VMNotOwned")?.message).toBe(
      `VM ${foreign} on pve1 is not provably this machine's (its name is "someone-else", not "c1-w-6"); left untouched`,
    );
  });
});

describe("guest checks and DHCP", () => {
  it("a Talos template without cloud-init waits in WaitingForCloudInit unless the check is skipped", async () => {
    env = await startProxmoxEnv();
    const e = env;
    await createAll(e.client, clusterObjects());
    await createAll(e.client, machineObjects("c1-t-0", { templateID: 9000 }));
    const waiting = await waitReason(e, "c1-t-0", "WaitingForCloudInit");
    expect(conditionOf(waiting, "VirtualMachineProvisioned")!.message).toStartWith("error waiting for agent: Agent error: Failed to execute child process");
    await e.client.patch({ apiVersion: INFRA_VERSION, kind: "ProxmoxMachine", namespace: NS, name: "c1-t-0" }, "merge", { spec: { checks: { skipCloudInitStatus: true } } });
    await waitProvisioned(e, "c1-t-0");
  });

  it("DHCP on the NICs the annotation names: no claims, dhcp4 in the network-config, the address from the guest agent", async () => {
    env = await startProxmoxEnv();
    const e = env;
    await createAll(e.client, clusterObjects());
    const objs = machineObjects("c1-d-0");
    objs[1]!.metadata.annotations = { "proxmox.capx.dev/dhcp": "net0" };
    await createAll(e.client, objs);
    const pm = await waitProvisioned(e, "c1-d-0");
    const addresses = (pm.status as ProxmoxMachineStatus).addresses!;
    expect(addresses[0]).toEqual({ type: "Hostname", address: "c1-d-0" });
    expect(addresses.slice(1).map((a) => a.type)).toEqual(["InternalIP"]);
    expect(addresses[1]!.address).toMatch(/^10\.10\.0\.\d+$/);
    expect(e.client.list(IPAM_CONTRACT_VERSION, "IPAddressClaim", NS)).toEqual([]);
    const config = (await e.backend.vmConfig((pm.status as ProxmoxMachineStatus).proxmoxNode!, (pm.spec as ProxmoxMachineSpec).virtualMachineID!))!;
    expect(config.tags).not.toContain("ip_net0_");
    const network = /network=([^:]+):([^,]+)/.exec(config.cicustom!)!;
    const text = readFileSync(join(e.lab.storagePath((pm.status as ProxmoxMachineStatus).proxmoxNode!, network[1]!), network[2]!), "utf8");
    expect(text).toContain("      dhcp4: true\n      dhcp6: false\n      nameservers:");
    expect(CLUSTER).toBe("c1");
  });
});
