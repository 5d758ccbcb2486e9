/**
 * A VM config as PVE keeps it: the `<vmid>.conf` text (description as `#` lines, sorted
 * `key: value` lines, a [PENDING] section with its `delete:` line), its sha1 digest, the view
 * `GET …/config` returns (pending applied unless `current`, JSON types from the schema), and the
 * checks every VM operation repeats (config lock).
 * @module
 */
import { createHash } from "node:crypto";
import { die } from "./errors.ts";
import type { VmConfig, VmRecord } from "./state.ts";
import { LAB_SCHEMA, schemaKey } from "./verify.ts";

const CONFIG_PROPS = LAB_SCHEMA["PUT /nodes/{node}/qemu/{vmid}/config"]!.properties;

/** Whether `key` is a VM option PVE knows (`option_exists`). */
export function optionExists(key: string): boolean {
  const k = schemaKey(key, CONFIG_PROPS);
  return Boolean(k) && !["node", "vmid", "delete", "revert", "digest", "skiplock", "force", "background_delay", "skip_cloud_init", "import-working-storage"].includes(key);
}

function section(conf: VmConfig): string {
  let out = "";
  if (conf.description !== undefined) for (const line of conf.description.replace(/\n$/, "").split("\n")) out += `#${line}\n`;
  for (const k of Object.keys(conf).sort()) if (k !== "description") out += `${k}: ${conf[k]}\n`;
  return out;
}

export function configText(vm: VmRecord): string {
  let out = section(vm.config);
  if (Object.keys(vm.pending).length || vm.pendingDelete.length) {
    out += "\n[PENDING]\n";
    if (vm.pendingDelete.length) out += `delete: ${vm.pendingDelete.join(",")}\n`;
    out += section(vm.pending);
  }
  return out;
}

export function digestOf(vm: VmRecord): string {
  return createHash("sha1").update(configText(vm)).digest("hex");
}

/** The config with pending changes applied (what `qm config` shows without --current). */
export function effectiveConfig(vm: VmRecord): VmConfig {
  const out: VmConfig = { ...vm.config, ...vm.pending };
  for (const d of vm.pendingDelete) delete out[d.replace(/^!/, "")];
  return out;
}

/** JSON value as the API returns it: integers/numbers/booleans as numbers, the rest as strings. */
export function typedValue(key: string, value: string): string | number {
  const k = schemaKey(key, CONFIG_PROPS);
  const type = k ? CONFIG_PROPS[k]!.type : undefined;
  if ((type === "integer" || type === "number" || type === "boolean") && /^[+-]?\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

export function configView(vm: VmRecord, current: boolean): Record<string, string | number> {
  const conf = current ? vm.config : effectiveConfig(vm);
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(conf)) out[k] = k === "cipassword" ? "**********" : typedValue(k, v);
  out.digest = digestOf(vm);
  return out;
}

/** PVE's check_lock. */
export function checkLock(vm: VmRecord): void {
  const lock = vm.config.lock;
  if (lock) die(`VM is locked (${lock})`);
}

export function isTemplate(vm: VmRecord): boolean {
  return vm.config.template === "1";
}

/** Tags as PVE stores them: lower-case, de-duplicated, sorted, `;`-joined. */
export function normalizeTags(value: string): string {
  return [...new Set(value.split(/[;, ]+/).filter(Boolean).map((t) => t.toLowerCase()))].sort().join(";");
}
