/**
 * PVE's update_vm_api: validation and early checks (synchronous), then, under the VM lock,
 * changes written to [PENDING] and applied — at once for a stopped VM; for a running VM only
 * what hotplugs (name, tags, description, cloud-init options, NICs, SCSI/VirtIO/SATA disks),
 * the rest waits for the next start.
 * @module
 */
import { die, paramError } from "./errors.ts";
import { createDisk, detachDrive } from "./disks.ts";
import type { LabHost } from "./host.ts";
import { bootOrder, isCdrom, isDriveKey, memoryMiB, parseDrive, parseNet, printNet, randomMac } from "./property-string.ts";
import type { VmConfig, VmRecord } from "./state.ts";
import type { Params } from "./verify.ts";
import { checkLock, digestOf, effectiveConfig, normalizeTags, optionExists } from "./vm-config.ts";

/** Parameters that steer the update rather than set options. */
const CONTROL = ["node", "vmid", "digest", "background_delay", "skip_cloud_init", "import-working-storage", "skiplock", "delete", "revert", "force"];

const FAST_PLUG = new Set(["description", "hookscript", "lock", "migrate_downtime", "migrate_speed", "name", "onboot", "protection", "shares", "startup", "tags", "vmstatestorage"]);
const CLOUDINIT_KEYS = new Set(["cicustom", "cipassword", "citype", "ciupgrade", "ciuser", "nameserver", "searchdomain", "sshkeys"]);

function hotpluggable(key: string): boolean {
  return FAST_PLUG.has(key) || CLOUDINIT_KEYS.has(key) || /^ipconfig\d+$/.test(key) || /^net\d+$/.test(key) || /^(scsi|virtio|sata)\d+$/.test(key);
}

export interface UpdatePlan {
  vmid: number;
  node: string;
  digest?: string;
  skiplock: boolean;
  force: boolean;
  deletes: string[];
  reverts: string[];
  /** Options to set, in the order PVE walks them. */
  set: Record<string, string>;
  /** The `update VM …` log line. */
  logLine: string;
}

const splitList = (v: unknown) => (typeof v === "string" ? v.split(/[;,\s]+/).filter(Boolean) : []);

/** Everything update_vm_api checks before it locks or forks. */
export function planUpdate(host: LabHost, params: Params, user: string): UpdatePlan {
  const node = params.node as string;
  const vmid = params.vmid as number;
  const set: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) if (!CONTROL.includes(k)) set[k] = String(v);
  const shown = Object.keys(params)
    .filter((k) => !["node", "vmid", "digest", "background_delay", "skip_cloud_init", "import-working-storage"].includes(k))
    .sort()
    .flatMap((k) => [`-${k}`, k === "cipassword" ? "<hidden>" : String(params[k])]);
  const skiplock = params.skiplock === 1;
  if (skiplock && user !== "root@pam") paramError({ skiplock: "Only root may use this option." });
  const deletes: string[] = [];
  const reverts: string[] = [];
  for (const opt of splitList(params.revert)) {
    if (!optionExists(opt)) paramError({ revert: `unknown option '${opt}'` });
    if (set[opt] !== undefined) paramError({ delete: `you can't use '-${opt}' and -revert ${opt}' at the same time` });
    reverts.push(opt);
  }
  for (let opt of splitList(params.delete)) {
    if (opt === "cdrom") opt = "ide2";
    if (set[opt] !== undefined) paramError({ delete: `you can't use '-${opt}' and -delete ${opt}' at the same time` });
    if (reverts.includes(opt)) paramError({ revert: `you can't use '-delete ${opt}' and -revert ${opt}' at the same time` });
    if (!optionExists(opt)) paramError({ delete: `unknown option '${opt}'` });
    deletes.push(opt);
  }
  if (!deletes.length && !reverts.length && !Object.keys(set).length) die("no options specified");
  if (set.cdrom !== undefined) {
    set.ide2 = `${set.cdrom},media=cdrom`;
    delete set.cdrom;
  }
  for (const k of Object.keys(set)) {
    if (/^net\d+$/.test(k)) {
      const n = parseNet(set[k]!);
      if (!n.macaddr) n.macaddr = randomMac(() => host.dice.next());
      set[k] = printNet(n);
    } else if (k === "vmgenid" && set[k] === "1") set[k] = crypto.randomUUID();
  }
  const plan: UpdatePlan = {
    vmid,
    node,
    skiplock,
    force: params.force === 1,
    deletes,
    reverts,
    set,
    logLine: `update VM ${vmid}: ${shown.join(" ")}`,
    ...(params.digest ? { digest: String(params.digest) } : {}),
  };
  loadAndCheck(host, plan);
  return plan;
}

export function loadAndCheck(host: LabHost, plan: UpdatePlan): VmRecord {
  const vm = host.loadVm(plan.node, plan.vmid);
  if (plan.digest && plan.digest !== digestOf(vm)) die("checksum mismatch (file change by other user?)");
  if (!plan.skiplock) checkLock(vm);
  if (plan.set.memory !== undefined || plan.set.balloon !== undefined) {
    const maxmem = memoryMiB(plan.set.memory ?? vm.pending.memory ?? vm.config.memory);
    const balloon = Number(plan.set.balloon ?? vm.pending.balloon ?? vm.config.balloon ?? 0);
    if (balloon && balloon > maxmem) die("balloon value too large (must be smaller than assigned memory)");
  }
  return vm;
}

/** The locked part: pending writes, then apply or hotplug. Volumes it creates are listed in `created`. */
export function applyUpdate(host: LabHost, plan: UpdatePlan, log: (l: string) => void, created: string[] = []): void {
  const vm = loadAndCheck(host, plan);
  log(plan.logLine);
  for (const opt of plan.reverts) {
    if (vm.config[opt] !== undefined) plan.set[opt] = vm.config[opt]!;
    else if (vm.pending[opt] !== undefined) plan.deletes.push(opt);
  }
  let order = bootOrder(vm.pending.boot ?? vm.config.boot);
  const bootDeleted = plan.deletes.includes("boot");
  for (const opt of plan.deletes) {
    const val = vm.config[opt] ?? vm.pending[opt];
    if (val === undefined) {
      log(`cannot delete '${opt}' - not set in current configuration!`);
      continue;
    }
    const pendingVal = vm.pending[opt] !== undefined;
    delete vm.pending[opt];
    if (!bootDeleted && order.includes(opt)) {
      order = order.filter((d) => d !== opt);
      vm.pending.boot = `order=${order.join(";")}`;
    }
    if (/^unused\d+$/.test(opt)) {
      detachDrive(host, plan.node, plan.vmid, vm.config, val, true);
      delete vm.config[opt];
    } else if (opt === "tags") {
      delete vm.config.tags;
    } else {
      if (isDriveKey(opt) && pendingVal) detachDrive(host, plan.node, plan.vmid, vm.config, val, false);
      addPendingDelete(vm, opt, plan.force);
    }
  }
  for (const [opt, value] of Object.entries(plan.set)) {
    if (vm.pending[opt] === value) continue;
    if (isDriveKey(opt)) {
      if (vm.pending[opt] !== undefined) detachDrive(host, plan.node, plan.vmid, vm.config, vm.pending[opt]!, false);
      vm.pending[opt] = createDisk(host, plan.node, plan.vmid, opt, value, { ...effectiveConfig(vm), ...vm.pending }, log, created);
      if (order.length && isCdrom(parseDrive(vm.pending[opt]!)) && !order.includes(opt)) {
        order.push(opt);
        vm.pending.boot = `order=${order.join(";")}`;
      }
    } else if (opt === "tags") {
      vm.pending.tags = normalizeTags(value);
    } else if (opt === "cipassword") {
      vm.config.cipassword = value;
    } else if (opt === "boot") {
      const devs = bootOrder(value);
      for (const dev of devs) {
        const exists = vm.config[dev] ?? vm.pending[dev] ?? plan.set[dev];
        if (!exists || plan.deletes.includes(dev)) die(`invalid bootorder: device '${dev}' does not exist'`);
      }
      vm.pending.boot = devs.length ? `order=${devs.join(";")}` : value;
      if (devs.length && vm.config.bootdisk) addPendingDelete(vm, "bootdisk", false);
      order = devs;
    } else {
      vm.pending[opt] = value;
    }
    vm.pendingDelete = vm.pendingDelete.filter((d) => d.replace(/^!/, "") !== opt);
  }
  // cleanup_pending: drop pending values equal to the current ones
  for (const [k, v] of Object.entries(vm.pending)) if (vm.config[k] === v) delete vm.pending[k];
  vm.pendingDelete = vm.pendingDelete.filter((d) => vm.config[d.replace(/^!/, "")] !== undefined);
  applyPending(host, vm, vm.status === "running" ? hotpluggable : () => true);
  host.changed();
}

function addPendingDelete(vm: VmRecord, opt: string, force: boolean): void {
  vm.pendingDelete = vm.pendingDelete.filter((d) => d.replace(/^!/, "") !== opt);
  vm.pendingDelete.push(force ? `!${opt}` : opt);
}

/** vmconfig_apply_pending (or the hotplug subset of it for a running VM). */
export function applyPending(host: LabHost, vm: VmRecord, select: (key: string) => boolean = () => true): void {
  const conf: VmConfig = vm.config;
  for (const entry of [...vm.pendingDelete]) {
    const force = entry.startsWith("!");
    const key = entry.replace(/^!/, "");
    if (!select(key)) continue;
    const old = conf[key];
    if (old !== undefined && isDriveKey(key)) {
      delete conf[key];
      detachDrive(host, vm.node, vm.vmid, conf, old, force);
    }
    delete conf[key];
    vm.pendingDelete = vm.pendingDelete.filter((d) => d !== entry);
  }
  for (const [key, value] of Object.entries(vm.pending)) {
    if (!select(key)) continue;
    const old = conf[key];
    conf[key] = value;
    if (old !== undefined && old !== value && isDriveKey(key)) {
      const oldFile = parseDrive(old).file;
      if (oldFile !== parseDrive(value).file) detachDrive(host, vm.node, vm.vmid, conf, old, false);
    }
    delete vm.pending[key];
  }
}
