/**
 * The simulated cluster as the handlers see it: state plus the lookups PVE does everywhere
 * (node, VM config on a node, storage on a node) with PVE's error texts, the locks, the task
 * engine, persistence and events for whoever simulates the guests.
 * @module
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { die } from "./errors.ts";
import { storageNodes, type Inventory, type StorageSpec } from "./inventory.ts";
import { LockTable } from "./locks.ts";
import { Dice, type LabFaults, type LabLatencies } from "./options.ts";
import { isCdrom, isDriveKey, memoryMiB, parseDrive, parseSize } from "./property-string.ts";
import type { LabState, VmRecord, VmStat } from "./state.ts";
import type { StateFile } from "./store.ts";
import type { TaskEngine } from "./tasks.ts";
import { SerialConsoles } from "./serial-console.ts";
import { TermProxies } from "./termproxy.ts";

export interface LabEvent {
  type: "vm-created" | "vm-started" | "vm-stopped" | "vm-destroyed";
  vmid: number;
  node: string;
}

export class LabHost {
  readonly locks = new LockTable();
  dice: Dice;
  tasks!: TaskEngine;
  /** What guests print on their serial ports. */
  readonly serial: SerialConsoles;
  readonly terminals = new TermProxies(this);
  #listeners = new Set<(e: LabEvent) => void>();

  constructor(
    /** DATA_DIR/lab */
    readonly dir: string,
    readonly inv: Inventory,
    readonly state: LabState,
    public lat: LabLatencies,
    public faults: LabFaults,
    private readonly file: StateFile,
    /** The same state untracked: for read-only scans over every VM, volume or task (no proxy per read). */
    readonly plain: LabState = state,
  ) {
    this.dice = new Dice(faults.seed);
    this.serial = new SerialConsoles(dir);
  }

  now(): number {
    return Date.now();
  }

  /** Something changed: persist soon and let pvestatd observe it. */
  changed(): void {
    this.observeStats();
    this.file.schedule();
  }

  /** Resolves once what the host did so far is on disk: PVE acknowledges nothing it could forget. */
  durable(): Promise<void> {
    return this.file.durable();
  }

  on(listener: (e: LabEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(e: LabEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch {
        // a listener's failure is not the host's
      }
    }
  }

  // ---- nodes, VMs, storages ----------------------------------------------------------------

  hasNode(name: string): boolean {
    return this.inv.nodes.some((n) => n.name === name);
  }

  /** pveproxy resolving `{node}` of a path: unknown names fail the lookup. */
  assertPathNode(name: string): void {
    if (!this.hasNode(name)) die(`hostname lookup '${name}' failed - failed to get address info for: ${name}: Name or service not known`);
  }

  vm(vmid: number | string): VmRecord | undefined {
    return this.state.vms[String(vmid)];
  }

  /** PVE's load_config on `node`: the config must live on that node. */
  loadVm(node: string, vmid: number): VmRecord {
    const vm = this.vm(vmid);
    if (!vm || vm.node !== node) die(`Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`);
    return vm;
  }

  storage(id: string): StorageSpec {
    const s = this.inv.storages.find((x) => x.id === id);
    if (!s) die(`storage '${id}' does not exist`);
    return s;
  }

  storageOnNode(id: string, node: string): StorageSpec {
    const s = this.storage(id);
    if (!storageNodes(this.inv, s).includes(node)) die(`storage '${id}' is not available on node '${node}'`);
    return s;
  }

  /** The real directory behind a file storage on a node (iso, snippets, vztmpl files live here). */
  storageDir(storage: StorageSpec, node: string): string {
    const dir = join(this.dir, "storage", storage.shared ? "_shared" : node, storage.id);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** How PVE names the storage's mount point in its messages. */
  storageMount(storage: StorageSpec): string {
    if (storage.type === "dir") return storage.id === "local" ? "/var/lib/vz" : `/mnt/${storage.id}`;
    if (storage.type === "nfs") return `/mnt/pve/${storage.id}`;
    return `/dev/pve`;
  }

  // ---- pvestatd: what /cluster/resources reports, lagging ------------------------------------

  /** vmid → its current stat; an entry goes when its VM is marked changed (see `forgetStats`). */
  readonly #stats = new Map<string, VmStat>();

  /** A VM's entry changed (undefined: maybe every VM): its stat is computed again when asked. */
  forgetStats(vmid: string | undefined): void {
    if (vmid === undefined) this.#stats.clear();
    else this.#stats.delete(vmid);
  }

  /** What pvestatd reads of a VM now: parsed from its config once per change of the VM. */
  statOf(vm: VmRecord): VmStat {
    const key = String(vm.vmid);
    const known = this.#stats.get(key);
    if (known && this.statsTracked) return known;
    const stat = Object.freeze(this.#computeStat(vm));
    if (this.statsTracked) this.#stats.set(key, stat);
    return stat;
  }

  /** Set once something calls `forgetStats` on every change of a VM entry (the state tracker). */
  statsTracked = false;

  #computeStat(vm: VmRecord): VmStat {
    const c = vm.config;
    let maxdisk = 0;
    for (const [k, v] of Object.entries(c)) {
      if (!isDriveKey(k)) continue;
      const d = parseDrive(v);
      if (!isCdrom(d)) maxdisk = Math.max(maxdisk, parseSize(d.options.size ?? "") ?? 0);
    }
    return {
      status: vm.status,
      ...(c.name ? { name: c.name } : {}),
      template: c.template === "1" ? 1 : 0,
      maxmem: memoryMiB(c.memory) * 1024 * 1024,
      maxcpu: Number(c.cores ?? 1) * Number(c.sockets ?? 1),
      maxdisk,
      uptime: 0,
      ...(vm.boot && vm.status === "running" ? { startedAt: vm.boot.startedAt } : {}),
    };
  }

  observeStats(): void {
    if (this.lat.resourcesLagMs <= 0) return;
    const now = this.now();
    const horizon = now - this.lat.resourcesLagMs;
    for (const key of Object.keys(this.state.stats)) if (!this.state.vms[key]) delete this.state.stats[key];
    for (const [key, vm] of Object.entries(this.state.vms)) {
      const hist = (this.state.stats[key] ??= []);
      const s = this.statOf(vm);
      const last = hist[hist.length - 1]?.s;
      if (!last || JSON.stringify(last) !== JSON.stringify(s)) hist.push({ t: hist.length ? now : Math.min(now, vm.createdAt), s });
      // keep the newest sample older than the horizon and everything after it
      let keepFrom = 0;
      for (let i = 0; i < hist.length; i++) if (hist[i]!.t <= horizon) keepFrom = i;
      if (keepFrom > 0) hist.splice(0, keepFrom);
    }
  }

  /** The sample pvestatd would have published by now, or undefined for a VM it has not seen. */
  laggedStat(vm: VmRecord): VmStat | undefined {
    if (this.lat.resourcesLagMs <= 0) return this.statOf(vm);
    const horizon = this.now() - this.lat.resourcesLagMs;
    const hist = this.state.stats[String(vm.vmid)] ?? [];
    let found: VmStat | undefined;
    for (const h of hist) if (h.t <= horizon) found = h.s;
    return found;
  }
}
