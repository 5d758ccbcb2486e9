/**
 * Lab cloud-init: a lab PVE VM whose cidata user-data is a `#cloud-config` (optionally
 * `## template: jinja`) runs a simulated cloud-init at every start ({@link runCloudInit}) on its
 * disk ({@link GuestFs}, DATA_DIR/lab/guests/<vmid>, wiped when the VM is destroyed). Its stage
 * lines, command output and failures go to the VM's serial console; the guest agent's
 * `cloud-init status` answers `running` until the run ends, then `done` or `error` (exit 1).
 * Programs the commands call (`kubeadm`) are plugged in with {@link LabCloudInit.registerProgram}.
 * Talos VMs (a Talos image, or a machine config as user-data) are not touched. A run cut short by a daemon restart
 * is run again when the lab comes back (a real guest would still be running it).
 * @module
 */
import { log } from "../../lib/log.ts";
import type { LabEvent, LabPve } from "../../providers/proxmox/lab/index.ts";
import { setCloudInitReporter, type CloudInitReport } from "../../providers/proxmox/lab/guest.ts";
import type { VmRecord } from "../../providers/proxmox/lab/state.ts";
import { isCloudConfig, runCloudInit } from "./cloud-config.ts";
import { GuestFs } from "./guest-fs.ts";
import { Programs, type Program } from "./shell.ts";

export { GuestFs } from "./guest-fs.ts";
export { Programs, Shell, type ExecResult, type Program, type ProgramContext } from "./shell.ts";
export { isCloudConfig } from "./cloud-config.ts";

export interface LabCloudInitOptions {
  pve: LabPve;
  /** DATA_DIR */
  dataDir: string;
}

/** cloud-init's record of the boot it ran last (kept on the disk). */
interface RunRecord {
  boot: number;
  status: "running" | "done" | "error";
  /** The instance id before this run: a run that was cut short starts over from it. */
  previousInstanceId?: string;
}

/** The VM booted an image with cloud-init (not Talos) and its user-data is a cloud-config. */
function runsCloudInit(vm: VmRecord | undefined): boolean {
  return Boolean(vm?.boot?.guest?.cloudInit) && isCloudConfig(vm!.boot!.cidata?.files["/user-data"]);
}

export class LabCloudInit {
  readonly programs = new Programs();
  readonly #o: LabCloudInitOptions;
  readonly #disks = new Map<number, GuestFs>();
  readonly #queues = new Map<number, Promise<void>>();
  #unsubscribe: (() => void) | undefined;
  #stopped = false;

  constructor(o: LabCloudInitOptions) {
    this.#o = o;
  }

  /** A simulated program the guests' shells find by name (`kubeadm`) or absolute path. */
  registerProgram(name: string, fn: Program): void {
    this.programs.register(name, fn);
  }

  /** Follows VM events, answers `cloud-init status`, and finishes runs a restart interrupted. */
  start(): Promise<void> {
    this.#unsubscribe = this.#o.pve.on((e) => this.#onEvent(e));
    setCloudInitReporter(this.#o.pve.host, (vm) => this.#report(vm));
    for (const vm of Object.values(this.#o.pve.host.state.vms)) {
      if (vm.status !== "running" || !vm.boot || !runsCloudInit(vm)) continue;
      const run = this.disk(vm.vmid).meta.run as RunRecord | undefined;
      if (run?.boot !== vm.boot.startedAt || run.status === "running") this.#enqueue(vm.vmid, () => this.#boot(vm.vmid));
    }
    return this.idle();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    await this.idle();
    setCloudInitReporter(this.#o.pve.host, undefined);
  }

  async idle(): Promise<void> {
    while (this.#queues.size) await Promise.all([...this.#queues.values()]);
  }

  /** The VM's disk as its guest sees it. */
  disk(vmid: number): GuestFs {
    let fs = this.#disks.get(vmid);
    if (!fs) this.#disks.set(vmid, (fs = new GuestFs(GuestFs.dirOf(this.#o.dataDir, vmid))));
    return fs;
  }

  #report(vm: VmRecord): CloudInitReport | undefined {
    if (!vm.boot || !runsCloudInit(vm)) return undefined;
    const fs = this.disk(vm.vmid);
    const run = fs.meta.run as RunRecord | undefined;
    const hostname = typeof fs.meta.hostname === "string" ? fs.meta.hostname : undefined;
    const status = run?.boot === vm.boot.startedAt ? run.status : "running";
    return { status, ...(hostname ? { hostname } : {}) };
  }

  #onEvent(e: LabEvent): void {
    if (this.#stopped) return;
    if (e.type === "vm-started") this.#enqueue(e.vmid, () => this.#boot(e.vmid));
    else if (e.type === "vm-destroyed") {
      this.#enqueue(e.vmid, async () => {
        this.disk(e.vmid).wipe();
        this.#disks.delete(e.vmid);
      });
    }
  }

  #enqueue(vmid: number, work: () => Promise<void>): void {
    const prev = this.#queues.get(vmid) ?? Promise.resolve();
    const next = prev.then(work).catch((err: unknown) => {
      log.error({ component: "lab", vmid, err: String(err) }, "lab cloud-init: unexpected failure");
    });
    this.#queues.set(vmid, next);
    void next.then(() => {
      if (this.#queues.get(vmid) === next) this.#queues.delete(vmid);
    });
  }

  async #boot(vmid: number): Promise<void> {
    const host = this.#o.pve.host;
    const vm = host.vm(vmid);
    const files = vm?.boot?.cidata?.files ?? {};
    if (!vm || vm.status !== "running" || !vm.boot || !runsCloudInit(vm)) return;
    const boot = vm.boot;
    const fs = this.disk(vmid);
    const last = fs.meta.run as RunRecord | undefined;
    if (last?.boot === boot.startedAt && last.status === "running") {
      // cut short by a restart: start this boot's run over
      if (last.previousInstanceId === undefined) delete fs.meta.instanceId;
      else fs.meta.instanceId = last.previousInstanceId;
    }
    fs.clearRun();
    const run: RunRecord = { boot: boot.startedAt, status: "running", ...(typeof fs.meta.instanceId === "string" ? { previousInstanceId: fs.meta.instanceId } : {}) };
    fs.meta.run = run;
    fs.save();
    const outcome = await runCloudInit({
      fs,
      vmid,
      programs: this.programs,
      userData: files["/user-data"]!,
      metaData: files["/meta-data"] ?? "",
      uptime: () => Math.max(0, host.now() - boot.startedAt) / 1000,
      console: (line) => host.serial.write(vmid, `[${((host.now() - boot.startedAt) / 1000).toFixed(6).padStart(12)}] ${line}\n`),
    });
    // the VM may have been restarted meanwhile: this outcome is for the boot it ran in
    if ((fs.meta.run as RunRecord | undefined) === run) {
      run.status = outcome.status;
      fs.save();
    }
    if (outcome.errors.length) log.info({ component: "lab", vmid, errors: outcome.errors }, "lab cloud-init finished with errors");
  }
}
