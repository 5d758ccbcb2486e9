/**
 * Creating, destroying, resizing and templating VMs.
 * - create (`qmcreate`): `lock: create` config written synchronously, disks allocated in the task.
 * - destroy (`qmdestroy`): running / protection checks synchronous; the lock check, linked-clone
 *   check, disk removal (a failure to free is a warning) in the task; the config reads
 *   `lock: destroyed` until it is removed at the end; `purge` drops pool membership.
 * - resize (`resize`, a task since PVE 8): every check inside the task; grow only.
 * - template (`qmtemplate`): disks renamed `vm-X-disk-N` → `base-X-disk-N`.
 * @module
 */
import { randomUUID } from "node:crypto";
import { die, paramError } from "../errors.ts";
import { createDisk } from "../disks.ts";
import type { LabHost } from "../host.ts";
import { storageLockKey, storageLockTimeoutText, vmLockKey, vmLockTimeoutText } from "../locks.ts";
import { formatSize, isCdrom, isCloudinitVolume, isDriveKey, parseDrive, parseNet, parseSize, printDrive, printNet, randomMac } from "../property-string.ts";
import type { Handler } from "../router.ts";
import type { VmConfig } from "../state.ts";
import type { Step, Worker } from "../tasks.ts";
import { findVolume, freeVolume, isFileStorage, linkedChildren, parseVolid } from "../volumes.ts";
import { checkLock, digestOf, isTemplate, normalizeTags } from "../vm-config.ts";

// ---- create ---------------------------------------------------------------------------------

interface CreateData {
  node: string;
  vmid: number;
  conf: VmConfig;
  pool?: string;
  created: string[];
}

const CREATE_CONTROL = ["node", "vmid", "archive", "start", "pool", "unique", "force", "storage", "bwlimit", "live-restore", "import-working-storage", "ha-managed"];

export const createWorker: Worker = {
  steps(w) {
    const d = w.task.data as unknown as CreateData;
    const host = w.host;
    return [
      { lock: vmLockKey(d.vmid), mode: "ex", timeoutMs: host.lat.vmLockTimeoutMs, error: vmLockTimeoutText(d.vmid) },
      { sleep: host.lat.createMs },
      {
        run: () => {
          const vm = host.loadVm(d.node, d.vmid);
          const conf: VmConfig = { ...d.conf };
          for (const k of Object.keys(conf).sort()) if (isDriveKey(k)) conf[k] = createDisk(host, d.node, d.vmid, k, conf[k]!, conf, (l) => w.log(l), d.created);
          if (!conf.boot) {
            const devs = Object.keys(conf).filter((k) => isDriveKey(k) && !isCloudinitVolume(parseDrive(conf[k]!).file)).sort();
            const nets = Object.keys(conf).filter((k) => /^net\d+$/.test(k)).sort();
            conf.boot = `order=${[...devs, ...nets].join(";")}`;
          }
          if (!conf.smbios1) conf.smbios1 = `uuid=${randomUUID()}`;
          if (conf.vmgenid === undefined || conf.vmgenid === "1") conf.vmgenid = randomUUID();
          if (conf.tags !== undefined) conf.tags = normalizeTags(conf.tags);
          conf.meta = `creation-qemu=9.2.0,ctime=${Math.floor(host.now() / 1000)}`;
          vm.config = conf;
          if (d.pool && host.state.pools[d.pool]) host.state.pools[d.pool]!.members.push(d.vmid);
          host.changed();
        },
      },
    ];
  },
  onError(w, err) {
    const d = w.task.data as unknown as CreateData;
    for (const volid of d.created) {
      try {
        freeVolume(w.host, d.node, volid);
      } catch {
        // already gone
      }
    }
    const vm = w.host.vm(d.vmid);
    if (vm && vm.config.lock === "create") delete w.host.state.vms[String(d.vmid)];
    w.host.changed();
    return `unable to create VM ${d.vmid} - ${err instanceof Error ? err.message : String(err)}`;
  },
};

const createVm: Handler = (host, req) => {
  const p = req.params;
  const node = p.node as string;
  const vmid = p.vmid as number;
  if (p.archive !== undefined) die("restoring a backup archive is not supported by the lab");
  const pool = p.pool as string | undefined;
  if (pool !== undefined && !host.state.pools[pool]) die(`pool '${pool}' does not exist`);
  const conf: VmConfig = {};
  for (const [k, v] of Object.entries(p)) if (!CREATE_CONTROL.includes(k)) conf[k] = String(v);
  for (const k of Object.keys(conf)) {
    if (/^net\d+$/.test(k)) {
      const n = parseNet(conf[k]!);
      if (!n.macaddr) n.macaddr = randomMac(() => host.dice.next());
      conf[k] = printNet(n);
    }
  }
  const existing = host.vm(vmid);
  if (existing) die(`unable to create VM ${vmid} - VM ${vmid} already exists on node '${existing.node}'`);
  host.state.vms[String(vmid)] = { vmid, node, config: { lock: "create" }, pending: {}, pendingDelete: [], status: "stopped", createdAt: host.now() };
  host.changed();
  host.emit({ type: "vm-created", vmid, node });
  const data: CreateData = { node, vmid, conf, ...(pool ? { pool } : {}), created: [] };
  const upid = host.tasks.fork({ node, type: "qmcreate", id: String(vmid), user: req.user, worker: "create", data: data as unknown as Record<string, unknown> });
  req.forked.push(upid);
  return upid;
};

// ---- destroy --------------------------------------------------------------------------------

interface DestroyData {
  node: string;
  vmid: number;
  skiplock: boolean;
  purge: boolean;
  unreferenced: boolean;
  /** Volumes to free, decided inside the task. */
  volumes?: string[];
}

function destroyEarlyChecks(host: LabHost, node: string, vmid: number): void {
  const vm = host.loadVm(node, vmid);
  if (vm.config.protection === "1") die(`can't remove VM ${vmid} - protection mode enabled`);
  if (vm.status === "running") die(`VM ${vmid} is running - destroy failed`);
}

function ownedVolumes(host: LabHost, d: DestroyData): string[] {
  const vm = host.loadVm(d.node, d.vmid);
  const out = new Set<string>();
  for (const conf of [vm.config, vm.pending]) {
    for (const [k, v] of Object.entries(conf)) {
      if (!isDriveKey(k) && !/^unused\d+$/.test(k)) continue;
      const drive = parseDrive(v);
      if (isCdrom(drive) && !isCloudinitVolume(drive.file)) continue;
      const vol = findVolume(host, d.node, drive.file);
      if (vol && vol.record.vmid === d.vmid) out.add(drive.file);
    }
  }
  if (d.unreferenced) {
    for (const v of Object.values(host.plain.volumes)) {
      if (v.vmid !== d.vmid || (v.node && v.node !== d.node)) continue;
      out.add(`${v.storage}:${v.volname}`);
    }
  }
  return [...out];
}

export const destroyWorker: Worker = {
  steps(w) {
    const d = w.task.data as unknown as DestroyData;
    const host = w.host;
    const steps: Step[] = [
      { lock: vmLockKey(d.vmid), mode: "ex", timeoutMs: host.lat.vmLockTimeoutMs, error: vmLockTimeoutText(d.vmid) },
      {
        run: () => {
          destroyEarlyChecks(host, d.node, d.vmid);
          const vm = host.loadVm(d.node, d.vmid);
          if (!d.skiplock && vm.config.lock !== "suspended") checkLock(vm);
          if (isTemplate(vm)) {
            for (const [k, v] of Object.entries(vm.config)) {
              if (!isDriveKey(k)) continue;
              const drive = parseDrive(v);
              if (isCdrom(drive)) continue;
              const vol = findVolume(host, d.node, drive.file);
              if (vol?.record.base && linkedChildren(host, vol.storage, d.node, vol.record.volname).length) die(`base volume '${drive.file}' is still in use by linked cloned`);
            }
          }
          d.volumes = ownedVolumes(host, d);
        },
      },
    ];
    for (const volid of d.volumes ?? []) {
      const id = parseVolid(volid)!;
      const storage = host.inv.storages.find((s) => s.id === id.storage);
      if (!storage) continue;
      const lock = storageLockKey(storage, d.node);
      steps.push(
        { lock, mode: "ex", timeoutMs: host.lat.storageLockTimeoutMs, error: storageLockTimeoutText(storage) },
        { sleep: host.lat.storageOpMs },
        {
          run: () => {
            try {
              freeVolume(host, d.node, volid);
              if (!isFileStorage(storage)) w.log(`  Logical volume "${id.volname}" successfully removed.`);
            } catch (e) {
              w.warn(`Could not remove disk '${volid}', check manually: ${(e as Error).message}`);
            }
          },
        },
        { unlock: lock },
      );
    }
    if (d.volumes) {
      steps.push(
        {
          run: () => {
            const vm = host.loadVm(d.node, d.vmid);
            vm.config = { lock: "destroyed" };
            vm.pending = {};
            vm.pendingDelete = [];
            host.changed();
          },
        },
        { sleep: host.lat.destroyMs },
        {
          run: () => {
            const vm = host.vm(d.vmid)!;
            if (d.purge) {
              w.log(`purging VM ${d.vmid} from related configurations..`);
              for (const pool of Object.values(host.state.pools)) pool.members = pool.members.filter((m) => m !== d.vmid);
            }
            for (const leases of Object.values(host.state.leases)) for (const nic of Object.values(vm.boot?.nics ?? {})) delete leases[nic.mac];
            delete host.state.vms[String(d.vmid)];
            delete host.state.execs[String(d.vmid)];
            host.changed();
            host.serial.remove(d.vmid);
            host.emit({ type: "vm-destroyed", vmid: d.vmid, node: d.node });
          },
        },
      );
    }
    return steps;
  },
};

const destroyVm: Handler = (host, req) => {
  const p = req.params;
  const node = p.node as string;
  const vmid = p.vmid as number;
  if (p.skiplock === 1 && req.user !== "root@pam") paramError({ skiplock: "Only root may use this option." });
  destroyEarlyChecks(host, node, vmid);
  const data: DestroyData = { node, vmid, skiplock: p.skiplock === 1, purge: p.purge === 1, unreferenced: p["destroy-unreferenced-disks"] === 1 };
  const upid = host.tasks.fork({ node, type: "qmdestroy", id: String(vmid), user: req.user, worker: "destroy", data: data as unknown as Record<string, unknown> });
  req.forked.push(upid);
  return upid;
};

// ---- resize ---------------------------------------------------------------------------------

interface ResizeData {
  node: string;
  vmid: number;
  disk: string;
  size: string;
  digest?: string;
  skiplock: boolean;
  newSize?: number;
}

export const resizeWorker: Worker = {
  canFail: true,
  steps(w) {
    const d = w.task.data as unknown as ResizeData;
    const host = w.host;
    const steps: Step[] = [
      { lock: vmLockKey(d.vmid), mode: "ex", timeoutMs: host.lat.vmLockTimeoutMs, error: vmLockTimeoutText(d.vmid) },
      {
        run: () => {
          const vm = host.loadVm(d.node, d.vmid);
          if (d.digest && d.digest !== digestOf(vm)) die("checksum mismatch (file change by other user?)");
          if (!d.skiplock) checkLock(vm);
          const value = vm.config[d.disk];
          if (!value) die(`disk '${d.disk}' does not exist`);
          const drive = parseDrive(value);
          if (!drive.file) die(`disk '${d.disk}' has no associated volume`);
          if (isCdrom(drive)) die("you can't resize a cdrom");
          const vol = findVolume(host, d.node, drive.file);
          if (!vol) die(`Could not determine current size of volume '${drive.file}'`);
          const m = /^(\+)?(\d+(?:\.\d+)?[KMGT]?)$/.exec(d.size);
          if (!m) die("internal error");
          let newSize = parseSize(m[2]!)!;
          if (m[1]) newSize += vol.record.size;
          newSize = Math.floor(newSize);
          if (newSize < vol.record.size) die("shrinking disks is not supported");
          if (newSize === vol.record.size) return;
          w.log(`update VM ${d.vmid}: resize --disk ${d.disk} --size ${d.size}`);
          d.newSize = newSize;
        },
      },
    ];
    if (d.newSize !== undefined) {
      steps.push(
        { sleep: host.lat.resizeMs },
        {
          run: () => {
            const vm = host.loadVm(d.node, d.vmid);
            const drive = parseDrive(vm.config[d.disk]!);
            const vol = findVolume(host, d.node, drive.file)!;
            w.injected(`qemu-img: Could not resize image: Input/output error`);
            vol.record.size = d.newSize!;
            drive.options.size = formatSize(d.newSize!);
            vm.config[d.disk] = printDrive(drive);
            host.changed();
          },
        },
      );
    }
    return steps;
  },
};

const resizeVm: Handler = (host, req) => {
  const p = req.params;
  const node = p.node as string;
  const vmid = p.vmid as number;
  if (p.skiplock === 1 && req.user !== "root@pam") paramError({ skiplock: "Only root may use this option." });
  const data: ResizeData = { node, vmid, disk: String(p.disk), size: String(p.size), skiplock: p.skiplock === 1, ...(p.digest ? { digest: String(p.digest) } : {}) };
  const upid = host.tasks.fork({ node, type: "resize", id: String(vmid), user: req.user, worker: "resize", data: data as unknown as Record<string, unknown> });
  req.forked.push(upid);
  return upid;
};

// ---- template -------------------------------------------------------------------------------

interface TemplateData {
  node: string;
  vmid: number;
  disk?: string;
}

export const templateWorker: Worker = {
  canFail: true,
  steps(w) {
    const d = w.task.data as unknown as TemplateData;
    const host = w.host;
    return [
      { lock: vmLockKey(d.vmid), mode: "ex", timeoutMs: host.lat.vmLockTimeoutMs, error: vmLockTimeoutText(d.vmid) },
      { sleep: host.lat.templateMs },
      {
        run: () => {
          const vm = host.loadVm(d.node, d.vmid);
          checkLock(vm);
          w.injected(`rename volume failed: Input/output error`);
          for (const [k, v] of Object.entries(vm.config)) {
            if (!isDriveKey(k) || (d.disk && k !== d.disk)) continue;
            const drive = parseDrive(v);
            if (isCdrom(drive) || isCloudinitVolume(drive.file)) continue;
            const vol = findVolume(host, d.node, drive.file);
            if (!vol || vol.record.base) continue;
            const storage = vol.storage;
            const newName = vol.record.volname.replace(/vm-(\d+)-disk-(\d+)/, "base-$1-disk-$2");
            delete host.state.volumes[vol.key];
            vol.record.volname = newName;
            vol.record.base = true;
            const key = vol.key.replace(/:.+$/, `:${newName}`);
            host.state.volumes[key] = vol.record;
            w.log(`renamed volume '${drive.file}' to '${storage.id}:${newName}'`);
            vm.config[k] = printDrive({ file: `${storage.id}:${newName}`, options: drive.options });
          }
          vm.config.template = "1";
          host.changed();
        },
      },
    ];
  },
};

const templateVm: Handler = (host, req) => {
  const p = req.params;
  const node = p.node as string;
  const vmid = p.vmid as number;
  const vm = host.loadVm(node, vmid);
  if (isTemplate(vm)) die("you can't convert a template to a template");
  if (vm.status === "running") die("you can't convert a VM to template if VM is running");
  const data: TemplateData = { node, vmid, ...(p.disk ? { disk: String(p.disk) } : {}) };
  const upid = host.tasks.fork({ node, type: "qmtemplate", id: String(vmid), user: req.user, worker: "template", data: data as unknown as Record<string, unknown> });
  req.forked.push(upid);
  return upid;
};

export const lifecycleHandlers = {
  "POST /nodes/{node}/qemu": createVm,
  "DELETE /nodes/{node}/qemu/{vmid}": destroyVm,
  "PUT /nodes/{node}/qemu/{vmid}/resize": resizeVm,
  "POST /nodes/{node}/qemu/{vmid}/template": templateVm,
} as const;
