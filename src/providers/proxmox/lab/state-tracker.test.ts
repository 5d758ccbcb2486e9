import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_INVENTORY, normalizeInventory } from "./inventory.ts";
import { initialState, type LabState, type VmRecord } from "./state.ts";
import { StateTracker } from "./state-tracker.ts";
import { readStoredState, StateFile } from "./store.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function lab(): { raw: LabState; state: LabState; tracker: StateTracker; file: StateFile; read: () => LabState } {
  const dir = mkdtempSync(join(tmpdir(), "capx-tracker-"));
  dirs.push(dir);
  const raw = initialState(normalizeInventory(DEFAULT_INVENTORY), 1_700_000_000_000, () => 0.5);
  const tracker = new StateTracker();
  const state = tracker.track(raw);
  const file = new StateFile(join(dir, "pve-state.db"));
  file.bind(() => raw, tracker);
  return { raw, state, tracker, file, read: () => readStoredState(file.path).state as unknown as LabState };
}

const vm = (vmid: number): VmRecord => ({ vmid, node: "pve1", config: { name: `vm${vmid}` }, pending: {}, pendingDelete: [], status: "stopped", createdAt: 1 });

describe("lab state tracker", () => {
  test("a write anywhere inside an entry marks that entry; adding, removing and replacing mark their keys", () => {
    const { state, tracker } = lab();
    tracker.take();
    state.vms["9000"]!.config.description = "edited";
    state.vms["9001"]!.pendingDelete.push("net1");
    state.vms["101"] = vm(101);
    delete state.vms["9001"];
    state.nextPid++;
    const { whole, dirty } = tracker.take();
    expect(whole.size).toBe(0);
    expect([...dirty.get("vms")!].sort()).toEqual(["101", "9000", "9001"]);
    expect(dirty.has("volumes")).toBe(false);
    expect(tracker.take().dirty.size).toBe(0);
    state.volumes = {};
    expect([...tracker.take().whole]).toEqual(["volumes"]);
  });

  test("an object moved to another key is marked under its new key, and stored plain", () => {
    const { raw, state, tracker } = lab();
    state.vms["101"] = vm(101);
    const moved = state.vms["101"]!;
    state.vms["102"] = moved;
    delete state.vms["101"];
    tracker.take();
    state.vms["102"]!.config.name = "renamed";
    expect([...tracker.take().dirty.get("vms")!]).toEqual(["102"]);
    expect(raw.vms["102"]!.config.name).toBe("renamed");
    // what is stored is the plain object, not a view of it: structuredClone refuses proxies
    expect(structuredClone(raw.vms["102"]).config.name).toBe("renamed");
  });

  test("a write serialises only the entries that changed, and the database reads back as the whole state", () => {
    const { raw, state, file, read } = lab();
    for (let i = 0; i < 50; i++) state.vms[String(200 + i)] = vm(200 + i);
    file.flush();
    const entries = Object.keys(raw.vms).length + Object.keys(raw.volumes).length;
    expect(file.lastSerialised).toBeGreaterThanOrEqual(entries);
    expect(read()).toEqual(JSON.parse(JSON.stringify(raw)));

    state.vms["210"]!.config.memory = "4096";
    delete state.vms["211"];
    state.tasks["UPID:x"] = { upid: "UPID:x" } as never;
    file.flush();
    expect(file.lastSerialised).toBe(3);
    const back = read();
    expect(back).toEqual(JSON.parse(JSON.stringify(raw)));
    expect(back.vms["210"]!.config.memory).toBe("4096");
    expect(back.vms["211"]).toBeUndefined();
  });

  test("cloud-init files stay blobs when only another entry changes", () => {
    const { raw, state, file, read } = lab();
    state.vms["300"] = { ...vm(300), boot: { cidata: { source: "local:iso/x.iso", files: { "/user-data": "#cloud-config\n" } } } } as unknown as VmRecord;
    file.flush();
    const blob = (read().vms["300"]!.boot!.cidata as { filesBlob?: string }).filesBlob;
    expect(blob).toMatch(/^[0-9a-f]{64}$/);
    state.vms["9000"]!.config.description = "other";
    file.flush();
    expect(file.lastSerialised).toBe(1);
    expect((read().vms["300"]!.boot!.cidata as { filesBlob?: string }).filesBlob).toBe(blob);
    expect(file.blobs.get(blob!)).toEqual(raw.vms["300"]!.boot!.cidata!.files);
    // gone with the last entry naming it, in the same write
    delete state.vms["300"];
    file.flush();
    expect(readStoredState(file.path).blob(blob!)).toBeUndefined();
    file.close();
  });

  test("a state kept by an earlier version in pve-state.json and blobs/ is moved in, then those files go", () => {
    const dir = mkdtempSync(join(tmpdir(), "capx-legacy-"));
    dirs.push(dir);
    const files = { "/user-data": "#cloud-config\n" };
    const text = JSON.stringify(files);
    const hash = new Bun.CryptoHasher("sha256").update(text).digest("hex");
    mkdirSync(join(dir, "blobs"));
    writeFileSync(join(dir, "blobs", hash), text);
    const legacy = { ...initialState(normalizeInventory(DEFAULT_INVENTORY), 1_700_000_000_000, () => 0.5), nextPid: 77 };
    legacy.vms["300"] = { ...vm(300), boot: { cidata: { source: "local:iso/x.iso", filesBlob: hash } } } as unknown as VmRecord;
    writeFileSync(join(dir, "pve-state.json"), JSON.stringify(legacy));
    const file = new StateFile(join(dir, "pve-state.db"));
    const loaded = file.load()!;
    expect(loaded.nextPid).toBe(77);
    expect(loaded.vms["300"]!.boot!.cidata!.files).toEqual(files);
    file.bind(() => loaded);
    file.flush();
    file.close();
    expect(existsSync(join(dir, "pve-state.json"))).toBe(false);
    expect(existsSync(join(dir, "blobs"))).toBe(false);
    const again = new StateFile(join(dir, "pve-state.db"));
    expect(again.load()).toEqual(JSON.parse(JSON.stringify(loaded)));
    again.close();
  });
});
