/**
 * `POST /nodes/{node}/qemu/{vmid}/clone` as qemu-server does it. Synchronous 500s: missing or
 * locked source, `config file already exists` (same node), local-storage rules for `target=`,
 * linked-clone support. In the `qmclone` task (id = SOURCE vmid): VM locks with 1 s timeouts, the
 * checks again, a temporary config holding only `lock: clone`, then per disk the storage lock,
 * allocation or linking and the copy, the full config (still `lock: clone`) after each disk;
 * finally the lock goes, the config moves to `target`. A failure inside the copy removes the new
 * volumes and config and reads `clone failed: …`. The result gets new MACs, a new SMBIOS uuid
 * (and vmgenid), and loses `template`.
 * @module
 */
import { randomUUID } from "node:crypto";
import { die, paramError } from "../errors.ts";
import type { LabHost } from "../host.ts";
import { storageLockKey, storageLockTimeoutText, vmLockKey, vmLockTimeoutText } from "../locks.ts";
import { formatSize, isCdrom, isCloudinitVolume, isDriveKey, parseDrive, parseNet, parseSmbios1, printDrive, printNet, printSmbios1, randomMac } from "../property-string.ts";
import type { Handler } from "../router.ts";
import type { VmConfig } from "../state.ts";
import type { Step, Worker, WorkerContext } from "../tasks.ts";
import { allocImage, canLinkClone, findVolume, freeVolume, isFileStorage, linkClone, parseVolid, targetFormat } from "../volumes.ts";
import { checkLock, isTemplate } from "../vm-config.ts";

interface CloneDrive {
  opt: string;
  src: string;
  options: Record<string, string>;
  full: boolean;
  cloudinit: boolean;
  /** Storage the new volume goes to. */
  storage: string;
}

interface ClonePlan {
  newconf: VmConfig;
  drives: CloneDrive[];
  /** Keys in the source's [PENDING] section: PVE reads and then discards them. */
  pendingKeys: string[];
}

interface CloneData {
  vmid: number;
  newid: number;
  node: string;
  target?: string;
  running: boolean;
  params: Record<string, string | number>;
  plan?: ClonePlan;
  /** The temporary config exists: failures from here on are `clone failed: …` with cleanup. */
  copying?: boolean;
  newVolumes: string[];
}

const SNAPSHOT_KEYS = new Set(["snapshots", "parent", "snaptime", "vmstate", "snapstate", "runningcpu", "runningmachine", "running-nets-host-mtu"]);

/** $load_and_check of clone_vm: run before forking and again inside the worker. */
function loadAndCheck(host: LabHost, d: CloneData): ClonePlan {
  const p = d.params;
  const pool = p.pool as string | undefined;
  if (pool !== undefined && !host.state.pools[pool]) die(`pool '${pool}' does not exist`);
  if (d.target && !host.hasNode(d.target)) die(`no such cluster node '${d.target}'`);
  const storageId = p.storage as string | undefined;
  if (storageId !== undefined) {
    const s = host.storageOnNode(storageId, d.node);
    if (!s.content.includes("images")) paramError({ storage: `storage '${storageId}' does not support vm images` });
    if (d.target) {
      host.storageOnNode(storageId, d.target);
      if (!s.shared) die(`can't clone to non-shared storage '${storageId}'`);
    }
  }
  const vm = host.loadVm(d.node, d.vmid);
  checkLock(vm);
  if (p.snapname !== undefined) die(`snapshot '${p.snapname}' does not exist`);
  const full = p.full !== undefined ? p.full === 1 : !isTemplate(vm);
  if (storageId !== undefined && !full) die("parameter 'storage' not allowed for linked clones");
  if (p.format !== undefined && !full) die("parameter 'format' not allowed for linked clones");
  const oldconf = vm.config;
  let sharedvm = true;
  for (const [k, v] of Object.entries(oldconf)) {
    if (!isDriveKey(k)) continue;
    const drive = parseDrive(v);
    const id = parseVolid(drive.file);
    if (!id) continue;
    const s = host.inv.storages.find((x) => x.id === id.storage);
    if (!s?.shared) sharedvm = false;
  }
  if (d.target && !sharedvm) die(`can't clone VM to node '${d.target}' (VM uses local storage)`);
  const existing = host.vm(d.newid);
  if (existing && existing.node === d.node) die(`unable to create VM ${d.newid}: config file already exists`);
  const newconf: VmConfig = { lock: "clone" };
  const drives: CloneDrive[] = [];
  for (const opt of Object.keys(oldconf).sort()) {
    const value = oldconf[opt]!;
    if (SNAPSHOT_KEYS.has(opt) || /^unused\d+$/.test(opt)) continue;
    if (/^net\d+$/.test(opt)) {
      const net = parseNet(value);
      net.macaddr = randomMac(() => host.dice.next());
      newconf[opt] = printNet(net);
    } else if (isDriveKey(opt)) {
      const drive = parseDrive(value);
      const cloudinit = isCloudinitVolume(drive.file);
      if (isCdrom(drive) && !cloudinit) {
        newconf[opt] = value;
        continue;
      }
      const src = findVolume(host, d.node, drive.file);
      if (!src) die(`volume '${drive.file}' does not exist`);
      if (!full && !cloudinit && !canLinkClone(src.storage, src.record)) die(`Linked clone feature is not supported for '${drive.file}' (${opt})`);
      drives.push({ opt, src: drive.file, options: drive.options, full: full || cloudinit, cloudinit, storage: full && storageId ? storageId : src.storage.id });
    } else if (opt !== "lock") {
      newconf[opt] = value;
    }
  }
  const pendingKeys = [...Object.keys(vm.pending), ...vm.pendingDelete.map((x) => x.replace(/^!/, ""))];
  return { newconf, drives, pendingKeys };
}

function prepare(w: WorkerContext): void {
  const host = w.host;
  const d = w.task.data as unknown as CloneData;
  const plan = loadAndCheck(host, d);
  w.log(`creating a clone of VM ${d.vmid} with ID ${d.newid}`);
  const nc = plan.newconf;
  const smbios = parseSmbios1(nc.smbios1 ?? "");
  smbios.uuid = randomUUID();
  nc.smbios1 = printSmbios1(smbios);
  if (nc.vmgenid) nc.vmgenid = randomUUID();
  delete nc.template;
  const src = host.vm(d.vmid)!;
  nc.name = d.params.name !== undefined ? String(d.params.name) : `Copy-of-VM-${src.config.name ?? d.vmid}`;
  if (d.params.description) nc.description = String(d.params.description);
  if (host.vm(d.newid)) die(`close (rename) atomic file '/etc/pve/nodes/${d.node}/qemu-server/${d.newid}.conf' failed: File exists`);
  host.state.vms[String(d.newid)] = {
    vmid: d.newid,
    node: d.node,
    config: { description: " qmclone temporary file\n", lock: "clone" },
    pending: {},
    pendingDelete: [],
    status: "stopped",
    createdAt: host.now(),
  };
  host.emit({ type: "vm-created", vmid: d.newid, node: d.node });
  d.plan = plan;
  d.copying = true;
}

function writeNewConf(host: LabHost, d: CloneData): void {
  host.vm(d.newid)!.config = { ...d.plan!.newconf };
}

function copyLines(size: number): string[] {
  const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;
  return [0, 0.25, 0.5, 0.75, 1].map((f) => `transferred ${gib(size * f)} of ${gib(size)} (${(f * 100).toFixed(2)}%)`);
}

function diskSteps(w: WorkerContext, d: CloneData, drive: CloneDrive): Step[] {
  const host = w.host;
  const storage = host.storage(drive.storage);
  const lock = storageLockKey(storage, d.node);
  const timeout = { timeoutMs: host.lat.storageLockTimeoutMs, error: storageLockTimeoutText(storage) };
  const create = () => {
    const src = findVolume(host, d.node, drive.src)!;
    let volid: string;
    if (!drive.full) {
      w.log(`create linked clone of drive ${drive.opt} (${drive.src})`);
      w.injected(`clone image '${src.record.volname}' error: Input/output error`);
      volid = linkClone(host, storage, d.node, src.record, d.newid);
    } else {
      w.log(`create full clone of drive ${drive.opt} (${drive.src})`);
      const format = drive.cloudinit ? src.record.format : targetFormat(storage, (d.params.format as string | undefined) ?? src.record.format);
      volid = allocImage(host, storage, d.node, d.newid, src.record.size, { format, ...(drive.cloudinit ? { name: `vm-${d.newid}-cloudinit` } : {}) });
      const created = findVolume(host, d.node, volid)!;
      if (src.record.guest) created.record.guest = src.record.guest;
      if (isFileStorage(storage)) {
        w.log(`Formatting '${host.storageMount(storage)}/images/${parseVolid(volid)!.volname}', fmt=${format} size=${src.record.size}`);
      } else w.log(`  Logical volume "${parseVolid(volid)!.volname}" created.`);
    }
    d.newVolumes.push(volid);
    const options = { ...drive.options };
    if (!drive.cloudinit) options.size = formatSize(findVolume(host, d.node, volid)!.record.size);
    d.plan!.newconf[drive.opt] = printDrive({ file: volid, options });
  };
  const steps: Step[] = [{ lock, mode: "ex", ...timeout }, { sleep: host.lat.storageOpMs }, { run: create }, { unlock: lock }];
  if (drive.full && !drive.cloudinit) {
    steps.push({ sleep: host.lat.diskCopyMs });
    steps.push({
      run: () => {
        const vol = findVolume(host, d.node, d.newVolumes[d.newVolumes.length - 1]!)!;
        w.injected(`copy failed: command '/usr/bin/qemu-img convert -p -n -O ${vol.record.format} ${drive.src} ${storage.id}:${vol.record.volname}' failed: exit code 1`);
        for (const l of copyLines(vol.record.size)) w.log(l);
      },
    });
  }
  steps.push({
    run: () => {
      writeNewConf(host, d);
      host.changed();
    },
  });
  return steps;
}

function finalize(w: WorkerContext, d: CloneData): void {
  const host = w.host;
  const nc = d.plan!.newconf;
  delete nc.lock;
  if (d.plan!.pendingKeys.length) w.log(`found pending changes for '${d.plan!.pendingKeys.join(",")}', discarding for clone`);
  writeNewConf(host, d);
  const vm = host.vm(d.newid)!;
  if (d.target) {
    vm.node = d.target;
  }
  const pool = d.params.pool as string | undefined;
  if (pool && host.state.pools[pool] && !host.state.pools[pool].members.includes(d.newid)) host.state.pools[pool].members.push(d.newid);
  host.changed();
}

export const cloneWorker: Worker = {
  canFail: true,
  steps(w) {
    const d = w.task.data as unknown as CloneData;
    const lat = w.host.lat;
    const steps: Step[] = [
      { lock: vmLockKey(d.vmid), mode: d.running ? "ex" : "sh", timeoutMs: lat.cloneLockTimeoutMs, error: vmLockTimeoutText(d.vmid) },
      { lock: vmLockKey(d.newid), mode: "ex", timeoutMs: lat.cloneLockTimeoutMs, error: vmLockTimeoutText(d.newid) },
      { run: () => prepare(w) },
    ];
    if (!d.plan) return steps;
    for (const drive of d.plan.drives) steps.push(...diskSteps(w, d, drive));
    steps.push({ run: () => finalize(w, d) });
    return steps;
  },
  onError(w, err) {
    const d = w.task.data as unknown as CloneData;
    if (!d.copying) return;
    const host = w.host;
    for (const volid of d.newVolumes) {
      try {
        freeVolume(host, d.node, volid);
      } catch (e) {
        w.log(String((e as Error).message));
      }
    }
    d.newVolumes = [];
    const vm = host.vm(d.newid);
    if (vm && vm.node === d.node) {
      delete host.state.vms[String(d.newid)];
      host.serial.remove(d.newid);
      host.emit({ type: "vm-destroyed", vmid: d.newid, node: d.node });
    }
    host.changed();
    return `clone failed: ${err instanceof Error ? err.message : String(err)}`;
  },
};

export const cloneHandler: Handler = (host, req) => {
  const p = req.params;
  const node = p.node as string;
  const vmid = p.vmid as number;
  const newid = p.newid as number;
  let target = p.target as string | undefined;
  if (target === node || target === "localhost") target = undefined;
  const src = host.vm(vmid);
  // check_running asserts the config exists on this node before anything else
  if (!src || src.node !== node) die(`unable to find configuration file for VM ${vmid} on node '${node}'`);
  const data: CloneData = { vmid, newid, node, ...(target ? { target } : {}), running: src.status === "running", params: { ...p } as Record<string, string | number>, newVolumes: [] };
  loadAndCheck(host, data);
  const upid = host.tasks.fork({ node, type: "qmclone", id: String(vmid), user: req.user, worker: "clone", data: data as unknown as Record<string, unknown> });
  req.forked.push(upid);
  return upid;
};
