/**
 * VM listing and configuration: `GET /nodes/{node}/qemu`, the VM index, `GET|PUT|POST …/config`
 * (PUT synchronous under the VM lock; POST as a `qmconfig` task, or null when `background_delay`
 * covers it), `GET …/pending`.
 * @module
 */
import { applyUpdate, planUpdate } from "../config-update.ts";
import { die } from "../errors.ts";
import { vmLockKey, vmLockTimeoutText } from "../locks.ts";
import { memoryMiB } from "../property-string.ts";
import type { Handler } from "../router.ts";
import type { Worker } from "../tasks.ts";
import { LabPveError } from "../errors.ts";
import { configView, typedValue } from "../vm-config.ts";
import { freeVolume } from "../volumes.ts";
import type { UpdatePlan } from "../config-update.ts";

const list: Handler = (host, req) => {
  const node = req.params.node as string;
  return Object.values(host.plain.vms)
    .filter((vm) => vm.node === node)
    .sort((a, b) => a.vmid - b.vmid)
    .map((vm) => {
      const s = host.statOf(vm);
      const running = vm.status === "running";
      return {
        vmid: vm.vmid,
        status: vm.status,
        ...(s.name ? { name: s.name } : {}),
        ...(s.template ? { template: 1 } : {}),
        ...(vm.config.lock ? { lock: vm.config.lock } : {}),
        ...(vm.config.tags ? { tags: vm.config.tags } : {}),
        ...(running ? { pid: vm.boot?.pid, uptime: Math.floor((host.now() - (vm.boot?.startedAt ?? host.now())) / 1000) } : { uptime: 0 }),
        ...(req.params.full === 1 ? { qmpstatus: vm.status } : {}),
        cpus: s.maxcpu,
        maxmem: memoryMiB(vm.config.memory) * 1024 * 1024,
        maxdisk: s.maxdisk,
        mem: running ? Math.floor(s.maxmem * 0.4) : 0,
        cpu: running ? 0.02 : 0,
        diskread: 0,
        diskwrite: 0,
        netin: 0,
        netout: 0,
      };
    });
};

const index: Handler = (host, req) => {
  host.loadVm(req.params.node as string, req.params.vmid as number);
  return ["agent", "cloudinit", "clone", "config", "feature", "firewall", "migrate", "monitor", "pending", "resize", "rrd", "rrddata", "snapshot", "spiceproxy", "status", "template", "termproxy", "unlink", "vncproxy", "vncwebsocket"].map((subdir) => ({ subdir }));
};

const getConfig: Handler = (host, req) => {
  const vm = host.loadVm(req.params.node as string, req.params.vmid as number);
  if (req.params.snapshot !== undefined) die(`snapshot '${req.params.snapshot}' does not exist`);
  return configView(vm, req.params.current === 1);
};

/** `PUT …/config`: synchronous, holding the VM lock (10 s wait) for the whole update. */
const putConfig: Handler = async (host, req) => {
  const plan = planUpdate(host, req.params, req.user);
  const owner = `request:${host.now()}:${Math.random()}`;
  await host.locks.acquire(vmLockKey(plan.vmid), "ex", owner, host.lat.vmLockTimeoutMs, () => new LabPveError(vmLockTimeoutText(plan.vmid)));
  const created: string[] = [];
  try {
    applyUpdate(host, plan, () => {}, created);
  } catch (e) {
    for (const v of created) {
      try {
        freeVolume(host, plan.node, v);
      } catch {
        // not there any more
      }
    }
    throw e;
  } finally {
    host.locks.release(vmLockKey(plan.vmid), owner);
  }
  return null;
};

export const configWorker: Worker = {
  steps(w) {
    const plan = w.task.data.plan as UpdatePlan;
    return [
      { lock: vmLockKey(plan.vmid), mode: "ex", timeoutMs: w.host.lat.vmLockTimeoutMs, error: vmLockTimeoutText(plan.vmid) },
      { sleep: w.host.lat.configMs },
      { run: () => applyUpdate(w.host, plan, (l) => w.log(l), (w.task.data.created as string[]) ?? []) },
    ];
  },
};

/** `POST …/config`: a `qmconfig` task; with `background_delay` the call waits for it. */
const postConfig: Handler = async (host, req) => {
  const plan = planUpdate(host, req.params, req.user);
  const upid = host.tasks.fork({ node: plan.node, type: "qmconfig", id: String(plan.vmid), user: req.user, worker: "config", data: { plan, created: [] } });
  req.forked.push(upid);
  const delay = req.params.background_delay as number | undefined;
  if (!delay) return upid;
  const done = await Promise.race([host.tasks.wait(upid), new Promise<undefined>((r) => setTimeout(r, delay * 1000))]);
  if (!done) return upid;
  if (done.exitstatus === "OK" || /^WARNINGS: \d+$/.test(done.exitstatus ?? "")) return null;
  return die(`failed to update VM ${plan.vmid}: ${done.exitstatus}`);
};

const pending: Handler = (host, req) => {
  const vm = host.loadVm(req.params.node as string, req.params.vmid as number);
  const keys = new Set([...Object.keys(vm.config), ...Object.keys(vm.pending), ...vm.pendingDelete.map((d) => d.replace(/^!/, ""))]);
  return [...keys].sort().map((key) => {
    const entry: Record<string, unknown> = { key };
    if (vm.config[key] !== undefined) entry.value = key === "cipassword" ? "**********" : typedValue(key, vm.config[key]!);
    if (vm.pending[key] !== undefined) entry.pending = typedValue(key, vm.pending[key]!);
    const del = vm.pendingDelete.find((d) => d.replace(/^!/, "") === key);
    if (del) entry.delete = del.startsWith("!") ? 2 : 1;
    return entry;
  });
};

export const vmHandlers = {
  "GET /nodes/{node}/qemu": list,
  "GET /nodes/{node}/qemu/{vmid}": index,
  "GET /nodes/{node}/qemu/{vmid}/config": getConfig,
  "PUT /nodes/{node}/qemu/{vmid}/config": putConfig,
  "POST /nodes/{node}/qemu/{vmid}/config": postConfig,
  "GET /nodes/{node}/qemu/{vmid}/pending": pending,
} as const;
