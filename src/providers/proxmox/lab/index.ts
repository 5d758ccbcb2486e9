/**
 * The lab PVE: a simulated Proxmox VE cluster with real semantics (tasks with UPIDs, locks,
 * verbatim errors, lagging resources, a guest agent), persisted in DATA_DIR/lab/ like hardware.
 * Three ways in share one set of handlers: `request()` in-process, `serveHttps()` speaking the
 * PVE API, and CLI shims calling `request(..., {cli: true})` (workers run to the end).
 *
 *   const lab = createLabPve({ dataDir, latencies: INSTANT_LATENCIES });
 *   const upid = (await lab.request("POST", "/nodes/pve1/qemu/9000/clone", { newid: 101 }, lab.token)).body!.data;
 *
 * The default inventory (nodes, storages, bridges, templates) is in INVENTORY.md.
 * @module
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AccessLog } from "./access-log.ts";
import { LabApi, type LabAuth, type LabResponse, type RequestOptions } from "./api.ts";
import { accessHandlers } from "./handlers/access.ts";
import { clusterHandlers } from "./handlers/cluster.ts";
import { consoleHandlers } from "./handlers/console.ts";
import { cloneHandler, cloneWorker } from "./handlers/clone.ts";
import { guestHandlers } from "./handlers/guest-api.ts";
import { createWorker, destroyWorker, lifecycleHandlers, resizeWorker, templateWorker } from "./handlers/lifecycle.ts";
import { powerHandlers, rebootWorker, resetWorker, shutdownWorker, startWorker, stopWorker } from "./handlers/power.ts";
import { imgcopyWorker, imgdelWorker, stageUpload, storageHandlers } from "./handlers/storage.ts";
import { taskHandlers } from "./handlers/tasks-api.ts";
import { configWorker, vmHandlers } from "./handlers/vms.ts";
import { LabHost, type LabEvent } from "./host.ts";
import { serveHttps, labTls } from "./https.ts";
import { DEFAULT_INVENTORY, loadInventory, normalizeInventory, type Inventory } from "./inventory.ts";
import { LAB_LATENCIES, NO_FAULTS, Dice, type LabFaults, type LabLatencies } from "./options.ts";
import { Router } from "./router.ts";
import { initialState } from "./state.ts";
import { StateFile } from "./store.ts";
import { StateTracker } from "./state-tracker.ts";
import { TaskEngine } from "./tasks.ts";
import { termproxyWorker } from "./termproxy.ts";
import type { RawParams } from "./verify.ts";

export { INSTANT_LATENCIES, LAB_LATENCIES, NO_FAULTS, type LabFaults, type LabLatencies } from "./options.ts";
export { DEFAULT_INVENTORY, type Inventory } from "./inventory.ts";
export type { LabAuth, LabResponse, RequestOptions } from "./api.ts";
export type { LabEvent } from "./host.ts";

export interface LabPveOptions {
  /** DATA_DIR; the lab keeps its files in DATA_DIR/lab/. */
  dataDir: string;
  /** An inventory, or the path of a YAML file with one (default: DEFAULT_INVENTORY). */
  inventory?: Inventory | string;
  latencies?: Partial<LabLatencies>;
  faults?: Partial<LabFaults>;
  /** The API token's id (default `root@pam!capx`). */
  tokenId?: string;
}

export interface LabHttps {
  url: string;
  port: number;
  /** `USER@REALM!TOKENID=SECRET` */
  token: string;
  /** The CA that signed the server certificate (PEM), for clients that verify. */
  caPem: string;
  close(): Promise<void>;
}

export interface LabPve {
  /** DATA_DIR/lab */
  readonly dir: string;
  readonly inventory: Inventory;
  /** `USER@REALM!TOKENID=SECRET`, accepted as `Authorization: PVEAPIToken=<token>`. */
  readonly token: string;
  readonly host: LabHost;
  request(method: string, path: string, params?: RawParams, auth?: LabAuth, opts?: RequestOptions): Promise<LabResponse>;
  serveHttps(listen?: { host?: string; port?: number }): Promise<LabHttps>;
  setFaults(f: Partial<LabFaults>): void;
  setLatencies(l: Partial<LabLatencies>): void;
  /** The real directory behind a file storage on a node; snippets go in its `snippets/`. */
  storagePath(node: string, storage: string): string;
  /** Stages bytes for `POST …/upload` (returns its `tmpfilename`). */
  stageUpload(data: Uint8Array): string;
  on(listener: (e: LabEvent) => void): () => void;
  /** Writes state and access log now. */
  flush(): void;
  /** Stops timers and servers and writes the state; running tasks resume on the next load. */
  stop(): Promise<void>;
}

const WORKERS = {
  clone: cloneWorker,
  create: createWorker,
  destroy: destroyWorker,
  resize: resizeWorker,
  template: templateWorker,
  start: startWorker,
  stop: stopWorker,
  shutdown: shutdownWorker,
  reboot: rebootWorker,
  reset: resetWorker,
  config: configWorker,
  imgcopy: imgcopyWorker,
  imgdel: imgdelWorker,
  termproxy: termproxyWorker,
};

function buildRouter(): Router {
  const r = new Router();
  r.addAll({ ...clusterHandlers, ...vmHandlers, ...lifecycleHandlers, ...powerHandlers, ...guestHandlers, ...taskHandlers, ...storageHandlers, ...consoleHandlers, ...accessHandlers, "POST /nodes/{node}/qemu/{vmid}/clone": cloneHandler });
  const missing = r.missing();
  if (missing.length) throw new Error(`lab PVE: endpoints without handler: ${missing.join(", ")}`);
  return r;
}

export function createLabPve(o: LabPveOptions): LabPve {
  const dir = join(o.dataDir, "lab");
  mkdirSync(dir, { recursive: true });
  const inventory = typeof o.inventory === "string" ? loadInventory(o.inventory) : normalizeInventory(o.inventory ?? DEFAULT_INVENTORY);
  const faults = { ...NO_FAULTS, ...o.faults };
  const file = new StateFile(join(dir, "pve-state.db"));
  const seedDice = new Dice(faults.seed ^ 0x5eed);
  const state = file.load() ?? initialState(inventory, Date.now(), () => seedDice.next());
  state.tokens ??= {};
  for (const n of inventory.nodes) state.nodeBoot[n.name] ??= Date.now();
  const tracker = new StateTracker();
  const host = new LabHost(dir, inventory, tracker.track(state), { ...LAB_LATENCIES, ...o.latencies }, faults, file, state);
  file.bind(() => state, tracker);
  tracker.onMark((section, key) => {
    if (section === "vms") host.forgetStats(key);
  });
  host.statsTracked = true;
  host.tasks = new TaskEngine(host, WORKERS);
  const api = new LabApi(host, buildRouter(), new AccessLog(join(dir, "pve-access.log")));
  const tokenId = o.tokenId ?? "root@pam!capx";
  state.tokens[tokenId] ??= randomUUID();
  // The inventory's tokens are read at every start, as its hardware is.
  for (const t of inventory.apiTokens ?? []) {
    state.tokens[t.id] = t.secret;
    (state.tokenInfo ??= {})[t.id] = { privsep: 0, ...(t.comment ? { comment: t.comment } : {}) };
  }
  for (const [id, secret] of Object.entries(state.tokens)) api.tokens.set(id, secret);
  const token = `${tokenId}=${state.tokens[tokenId]}`;
  host.observeStats();
  file.flush();
  host.tasks.resumeAll();
  const servers: LabHttps[] = [];

  return {
    dir,
    inventory,
    token,
    host,
    request: (method, path, params, auth, opts) => api.request(method, path, params, auth, opts),
    async serveHttps(listen = {}) {
      const tls = await labTls(
        dir,
        inventory.nodes.map((n) => n.name),
        inventory.nodes.flatMap((n) => (n.address ? [n.address] : [])),
      );
      const running = await serveHttps(host, api, tls, listen);
      const handle: LabHttps = {
        url: running.url,
        port: running.port,
        token,
        caPem: tls.ca.certPem,
        close: async () => {
          servers.splice(servers.indexOf(handle), 1);
          await running.close();
        },
      };
      servers.push(handle);
      return handle;
    },
    setFaults(f) {
      Object.assign(host.faults, f);
      if (f.seed !== undefined) host.dice = new Dice(f.seed);
    },
    setLatencies(l) {
      Object.assign(host.lat, l);
    },
    storagePath(node, storage) {
      return host.storageDir(host.storageOnNode(storage, node), node);
    },
    stageUpload: (data) => stageUpload(host, data),
    on: (listener) => host.on(listener),
    flush() {
      file.flush();
      api.accessLog.flush();
    },
    async stop() {
      host.tasks.shutdown();
      for (const s of [...servers]) await s.close();
      file.close();
      api.accessLog.flush();
    },
  };
}

/** Writes DATA_DIR/lab/pve-token (`USER@REALM!TOKENID=SECRET`, mode 0600); returns its path. */
export function writeTokenFile(lab: Pick<LabPve, "dir" | "token">): string {
  const path = join(lab.dir, "pve-token");
  writeFileSync(path, `${lab.token}\n`, { mode: 0o600 });
  return path;
}
