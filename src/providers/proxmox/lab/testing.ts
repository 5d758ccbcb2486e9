/**
 * Helpers for tests that drive a lab PVE: a lab in a temp dir with instant latencies, a call
 * helper that authenticates with the lab's token, and a task wait that polls the status endpoint
 * the way a client would.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLabPve, INSTANT_LATENCIES, type LabFaults, type LabLatencies, type LabPve, type LabResponse } from "./index.ts";
import type { Inventory } from "./inventory.ts";
import type { RawParams } from "./verify.ts";

export interface TestLab {
  lab: LabPve;
  dataDir: string;
  call(method: string, path: string, params?: RawParams): Promise<LabResponse>;
  /** The `data` of a 200, or throws with the status and reason. */
  ok<T = unknown>(method: string, path: string, params?: RawParams): Promise<T>;
  /** Polls the task's status until stopped; returns the status object. */
  waitTask(upid: string, timeoutMs?: number): Promise<{ status: string; exitstatus?: string; [k: string]: unknown }>;
  taskLog(upid: string): Promise<string[]>;
  /** Stops the lab; `keep` leaves the data dir for a restart. */
  close(keep?: boolean): Promise<void>;
}

/** Polls `check` until it returns something truthy (or throws after `timeoutMs`). */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 10000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function testLab(o: { dataDir?: string; latencies?: Partial<LabLatencies>; faults?: Partial<LabFaults>; inventory?: Inventory } = {}): TestLab {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), "lab-pve-"));
  const lab = createLabPve({ dataDir, latencies: { ...INSTANT_LATENCIES, ...o.latencies }, ...(o.faults ? { faults: o.faults } : {}), ...(o.inventory ? { inventory: o.inventory } : {}) });
  const call = (method: string, path: string, params: RawParams = {}) => lab.request(method, path, params, lab.token);
  const ok = async <T>(method: string, path: string, params: RawParams = {}) => {
    const r = await call(method, path, params);
    if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${r.reason} ${JSON.stringify(r.body)}`);
    return r.body!.data as T;
  };
  const nodeOf = (upid: string) => upid.split(":")[1]!;
  return {
    lab,
    dataDir,
    call,
    ok,
    async waitTask(upid, timeoutMs = 20000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await ok<{ status: string; exitstatus?: string }>("GET", `/nodes/${nodeOf(upid)}/tasks/${encodeURIComponent(upid)}/status`);
        if (s.status === "stopped") return s;
        if (Date.now() > deadline) throw new Error(`task ${upid} still running after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async taskLog(upid) {
      const lines = await ok<{ n: number; t: string }[]>("GET", `/nodes/${nodeOf(upid)}/tasks/${encodeURIComponent(upid)}/log`, { limit: 0 });
      return lines.map((l) => l.t);
    },
    async close(keep = false) {
      await lab.stop();
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const SECTOR = 2048;

/**
 * A minimal ISO 9660 writer (root-level files only) in the three naming flavours a guest meets:
 * Joliet, Rock Ridge `NM` entries, or plain 8.3 names. For tests of the guest's cdrom reading.
 */
export function buildIso(label: string, files: Record<string, string>, mode: "joliet" | "rockridge" | "plain"): Buffer {
  const names = Object.keys(files);
  const vdCount = mode === "joliet" ? 3 : 2; // PVD (+ Joliet SVD) + terminator
  const rootSector = 16 + vdCount;
  const jolietRootSector = rootSector + 1;
  let next = mode === "joliet" ? jolietRootSector + 1 : rootSector + 1;
  const extents = names.map((n) => {
    const e = next;
    next += Math.max(1, Math.ceil(Buffer.byteLength(files[n]!) / SECTOR));
    return e;
  });
  const img = Buffer.alloc(next * SECTOR);
  const both32 = (off: number, v: number) => {
    img.writeUInt32LE(v, off);
    img.writeUInt32BE(v, off + 4);
  };
  const record = (name: Buffer, extent: number, size: number, dir: boolean, su = Buffer.alloc(0)) => {
    const pad = name.length % 2 === 0 ? 1 : 0;
    const len = 33 + name.length + pad + su.length;
    const r = Buffer.alloc(len + (len % 2));
    r[0] = r.length;
    r.writeUInt32LE(extent, 2);
    r.writeUInt32BE(extent, 6);
    r.writeUInt32LE(size, 10);
    r.writeUInt32BE(size, 14);
    r[25] = dir ? 2 : 0;
    r.writeUInt16LE(1, 28);
    r.writeUInt16BE(1, 30);
    r[32] = name.length;
    name.copy(r, 33);
    su.copy(r, 33 + name.length + pad);
    return r;
  };
  const dirSector = (sector: number, entries: Buffer[]) => {
    const self = record(Buffer.from([0]), sector, SECTOR, true);
    const parent = record(Buffer.from([1]), sector, SECTOR, true);
    Buffer.concat([self, parent, ...entries]).copy(img, sector * SECTOR);
  };
  const descriptor = (sector: number, type: number, root: number) => {
    const o = sector * SECTOR;
    img[o] = type;
    img.write("CD001", o + 1, "latin1");
    img[o + 6] = 1;
    img.write(label.padEnd(32, " "), o + 40, "latin1");
    both32(o + 80, next);
    img.writeUInt16LE(SECTOR, o + 128);
    img.writeUInt16BE(SECTOR, o + 130);
    record(Buffer.from([0]), root, SECTOR, true).copy(img, o + 156);
  };
  descriptor(16, 1, rootSector);
  if (mode === "joliet") {
    descriptor(17, 2, jolietRootSector);
    img.write("%/E", 17 * SECTOR + 88, "latin1");
  }
  const term = (16 + vdCount - 1) * SECTOR;
  img[term] = 255;
  img.write("CD001", term + 1, "latin1");
  const isoName = (n: string) => Buffer.from(`${n.replace(/^\//, "").toUpperCase().replace(/[^A-Z0-9]/g, "_").slice(0, 8)}.;1`, "latin1");
  dirSector(
    rootSector,
    names.map((n, i) => {
      const nm = Buffer.from(n.replace(/^\//, ""), "utf8");
      const su = mode === "rockridge" ? Buffer.concat([Buffer.from([0x4e, 0x4d, 5 + nm.length, 1, 0]), nm]) : Buffer.alloc(0);
      return record(isoName(n), extents[i]!, Buffer.byteLength(files[n]!), false, su);
    }),
  );
  if (mode === "joliet") {
    dirSector(jolietRootSector, names.map((n, i) => record(Buffer.from(n.replace(/^\//, ""), "utf16le").swap16(), extents[i]!, Buffer.byteLength(files[n]!), false)));
  }
  names.forEach((n, i) => img.write(files[n]!, extents[i]! * SECTOR, "utf8"));
  return img;
}

export interface TerminalSession {
  /** Everything received so far, as text. */
  text(): string;
  closed: Promise<void>;
  close(): void;
}

/**
 * What the PVE web console does for a serial terminal: `POST …/termproxy`, then a websocket to
 * `…/vncwebsocket?port&vncticket` with the API token, `USER:TICKET\n` as the first message.
 */
export async function openTerminal(srv: { url: string; token: string; caPem: string }, node: string, vmid: number, serial?: string): Promise<TerminalSession & { upid: string }> {
  const auth = { Authorization: `PVEAPIToken=${srv.token}` };
  const res = await fetch(`${srv.url}/api2/json/nodes/${node}/qemu/${vmid}/termproxy`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/x-www-form-urlencoded" },
    body: serial ? `serial=${serial}` : "",
    tls: { ca: srv.caPem },
  } as RequestInit);
  if (res.status !== 200) throw new Error(`termproxy: ${res.status} ${res.statusText}`);
  const { data } = (await res.json()) as { data: { port: number; ticket: string; user: string; upid: string } };
  const wsUrl = `${srv.url.replace(/^https/, "wss")}/api2/json/nodes/${node}/qemu/${vmid}/vncwebsocket?port=${data.port}&vncticket=${encodeURIComponent(data.ticket)}`;
  const ws = new WebSocket(wsUrl, { protocols: ["binary"], headers: auth, tls: { ca: srv.caPem } } as never);
  ws.binaryType = "arraybuffer";
  let received = "";
  const decoder = new TextDecoder();
  ws.onmessage = (m) => (received += typeof m.data === "string" ? m.data : decoder.decode(m.data as ArrayBuffer, { stream: true }));
  const closed = new Promise<void>((resolve) => (ws.onclose = () => resolve()));
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("vncwebsocket: the upgrade was refused"));
  });
  ws.send(`${data.user}:${data.ticket}\n`);
  return { upid: data.upid, text: () => received, closed, close: () => ws.close() };
}
