/**
 * Power: `status/start|stop|shutdown|reboot|reset` and `status/current`. start has no
 * synchronous checks — everything (template, lock, already running, a missing cicustom snippet)
 * fails inside `qmstart`, which applies [PENDING] and regenerates the cloud-init ISO first.
 * @module
 */
import { die, paramError } from "../errors.ts";
import { applyPending } from "../config-update.ts";
import { buildIso, cloudinitDriveKey } from "../cloudinit.ts";
import type { LabHost } from "../host.ts";
import { bootGuest } from "../guest.ts";
import { vmLockKey, vmLockTimeoutText } from "../locks.ts";
import { agentEnabled, memoryMiB, parseDrive } from "../property-string.ts";
import type { Handler } from "../router.ts";
import type { VmRecord } from "../state.ts";
import type { Step, Worker, WorkerContext } from "../tasks.ts";
import { findVolume } from "../volumes.ts";
import { checkLock, isTemplate } from "../vm-config.ts";

interface PowerData {
  node: string;
  vmid: number;
  skiplock?: boolean;
  forceStop?: boolean;
  timeout?: number;
}

const data = (w: WorkerContext) => w.task.data as unknown as PowerData;

function lockStep(w: WorkerContext): Step {
  const d = data(w);
  return { lock: vmLockKey(d.vmid), mode: "ex", timeoutMs: w.host.lat.vmLockTimeoutMs, error: vmLockTimeoutText(d.vmid) };
}

/** vm_start up to launching QEMU: checks, pending, cloud-init ISO. */
function prepareStart(w: WorkerContext): void {
  const host = w.host;
  const d = data(w);
  const vm = host.loadVm(d.node, d.vmid);
  if (isTemplate(vm)) die("you can't start a vm if it's a template");
  if (!d.skiplock && vm.config.lock !== "suspended") checkLock(vm);
  if (vm.status === "running") die(`VM ${d.vmid} already running`);
  applyPending(host, vm);
  regenerateCloudinit(w, vm);
  host.changed();
}

/** Writes the cloud-init drive's ISO from the current config (and cicustom snippets). */
export function regenerateCloudinit(w: { host: LabHost; log(l: string): void }, vm: VmRecord): void {
  const key = cloudinitDriveKey(vm.config);
  if (!key) return;
  const host = w.host;
  const iso = buildIso(host, vm.node, vm.config, vm.vmid);
  const vol = findVolume(host, vm.node, parseDrive(vm.config[key]!).file);
  if (!vol) die(`volume '${parseDrive(vm.config[key]!).file}' does not exist`);
  w.log("generating cloud-init ISO");
  vol.record.iso = iso;
  vm.ciApplied = Object.fromEntries(Object.entries(vm.config).filter(([k]) => isCloudinitOption(k)));
}

export function isCloudinitOption(key: string): boolean {
  return ["cicustom", "cipassword", "citype", "ciupgrade", "ciuser", "nameserver", "searchdomain", "sshkeys"].includes(key) || /^ipconfig\d+$/.test(key);
}

function launch(w: WorkerContext): void {
  const host = w.host;
  const d = data(w);
  const vm = host.loadVm(d.node, d.vmid);
  w.injected("start failed: QEMU exited with code 1");
  const pid = 100000 + ((host.state.nextPid * 7) % 800000);
  vm.status = "running";
  vm.boot = bootGuest(host, vm, pid);
  host.changed();
  host.emit({ type: "vm-started", vmid: vm.vmid, node: vm.node });
}

function powerOff(host: LabHost, vm: VmRecord): void {
  vm.status = "stopped";
  delete vm.boot;
  delete host.state.execs[String(vm.vmid)];
  host.changed();
  host.emit({ type: "vm-stopped", vmid: vm.vmid, node: vm.node });
}

export const startWorker: Worker = {
  canFail: true,
  steps: (w) => [lockStep(w), { run: () => prepareStart(w) }, { sleep: w.host.lat.startMs }, { run: () => launch(w) }],
};

function stopSteps(w: WorkerContext, ms: number, shutdown: boolean): Step[] {
  const d = data(w);
  return [
    lockStep(w),
    {
      run: () => {
        const vm = w.host.loadVm(d.node, d.vmid);
        if (!d.skiplock) checkLock(vm);
        if (shutdown && vm.status !== "running") w.log(`VM ${d.vmid} not running`);
      },
    },
    { sleep: ms },
    {
      run: () => {
        const vm = w.host.loadVm(d.node, d.vmid);
        if (vm.status === "running") powerOff(w.host, vm);
      },
    },
  ];
}

export const stopWorker: Worker = { steps: (w) => stopSteps(w, w.host.lat.stopMs, false) };
export const shutdownWorker: Worker = { steps: (w) => stopSteps(w, w.host.lat.shutdownMs, true) };

export const rebootWorker: Worker = {
  canFail: true,
  steps: (w) => {
    const d = data(w);
    return [
      lockStep(w),
      {
        run: () => {
          const vm = w.host.loadVm(d.node, d.vmid);
          checkLock(vm);
          if (vm.status !== "running") die(`VM ${d.vmid} not running`);
        },
      },
      { sleep: w.host.lat.rebootMs },
      {
        run: () => {
          const vm = w.host.loadVm(d.node, d.vmid);
          powerOff(w.host, vm);
          applyPending(w.host, vm);
          regenerateCloudinit(w, vm);
        },
      },
      { run: () => launch(w) },
    ];
  },
};

export const resetWorker: Worker = {
  steps: (w) => {
    const d = data(w);
    return [
      lockStep(w),
      {
        run: () => {
          const vm = w.host.loadVm(d.node, d.vmid);
          if (!d.skiplock) checkLock(vm);
          if (vm.status !== "running") die(`VM ${d.vmid} not running`);
          powerOff(w.host, vm);
          launch(w);
        },
      },
    ];
  },
};

function forkPower(type: string, worker: string, precheck?: (host: LabHost, vm: VmRecord) => void): Handler {
  return (host, req) => {
    const p = req.params;
    const node = p.node as string;
    const vmid = p.vmid as number;
    if (p.skiplock === 1 && req.user !== "root@pam") paramError({ skiplock: "Only root may use this option." });
    if (precheck) precheck(host, host.loadVm(node, vmid));
    const d: PowerData = { node, vmid, ...(p.skiplock === 1 ? { skiplock: true } : {}), ...(p.forceStop === 1 ? { forceStop: true } : {}) };
    const upid = host.tasks.fork({ node, type, id: String(vmid), user: req.user, worker, data: d as unknown as Record<string, unknown> });
    req.forked.push(upid);
    return upid;
  };
}

const current: Handler = (host, req) => {
  const vm = host.loadVm(req.params.node as string, req.params.vmid as number);
  const c = vm.config;
  const running = vm.status === "running";
  const maxmem = memoryMiB(c.memory) * 1024 * 1024;
  const s = host.statOf(vm);
  return {
    vmid: vm.vmid,
    status: vm.status,
    ...(running ? { qmpstatus: "running", pid: vm.boot?.pid, uptime: Math.floor((host.now() - (vm.boot?.startedAt ?? host.now())) / 1000), "running-qemu": "9.2.0", "running-machine": "pc-i440fx-9.2+pve1" } : { qmpstatus: "stopped", uptime: 0 }),
    ...(c.name ? { name: c.name } : {}),
    ...(c.lock ? { lock: c.lock } : {}),
    ...(c.tags ? { tags: c.tags } : {}),
    ...(c.template === "1" ? { template: 1 } : {}),
    ...(agentEnabled(c.agent) ? { agent: 1 } : {}),
    ha: { managed: 0 },
    cpus: s.maxcpu,
    maxmem,
    maxdisk: s.maxdisk,
    mem: running ? Math.floor(maxmem * 0.4) : 0,
    cpu: running ? 0.02 : 0,
    diskread: 0,
    diskwrite: 0,
    netin: 0,
    netout: 0,
  };
};

const statusIndex: Handler = (host, req) => {
  host.loadVm(req.params.node as string, req.params.vmid as number);
  return ["current", "reboot", "reset", "resume", "shutdown", "start", "stop", "suspend"].map((subdir) => ({ subdir }));
};

export const powerHandlers = {
  "GET /nodes/{node}/qemu/{vmid}/status": statusIndex,
  "GET /nodes/{node}/qemu/{vmid}/status/current": current,
  "POST /nodes/{node}/qemu/{vmid}/status/start": forkPower("qmstart", "start"),
  "POST /nodes/{node}/qemu/{vmid}/status/stop": forkPower("qmstop", "stop"),
  "POST /nodes/{node}/qemu/{vmid}/status/shutdown": forkPower("qmshutdown", "shutdown"),
  "POST /nodes/{node}/qemu/{vmid}/status/reboot": forkPower("qmreboot", "reboot", (_h, vm) => {
    if (vm.status !== "running") die(`VM ${vm.vmid} not running`);
  }),
  "POST /nodes/{node}/qemu/{vmid}/status/reset": forkPower("qmreset", "reset", (_h, vm) => {
    if (vm.status !== "running") die(`VM ${vm.vmid} not running`);
  }),
} as const;
