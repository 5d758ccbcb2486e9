/**
 * Upstream-data check (reads ../shared/reference/proxmox/pve-api-subset.json; run via
 * scripts/check-upstream.sh or `bun test ./test/upstream/pve-requests.check.ts`): the backend
 * contract suite runs for the http backend (proxmox-api over HTTPS against the lab PVE) and the
 * local backend (qm/pvesh shims) with every HTTP request and every command line recorded; then
 * each is validated against the PVE API schema:
 * - HTTP: the path matches an endpoint with that method; every parameter is defined for it
 *   (path parameters included); values have the schema's type (integer, boolean 0/1, number),
 *   enum, pattern, maxLength, minimum/maximum, array items, and property strings (`k=v,…`) only
 *   use keys their format defines; required parameters are present.
 * - qm: each subcommand maps to its API endpoint (qm's options are that endpoint's parameters,
 *   its positional arguments the path/required ones), plus the few options qm itself defines
 *   (facts from qemu-server's PVE/CLI/qm.pm); the same value checks apply.
 * - pvesh: `get|set|create|delete <path>` is the endpoint; `--output-format` etc. are pvesh's.
 */
import { describe, expect, it } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describeBackendContract, httpContractEnv, localContractEnv } from "../../src/providers/proxmox/backend-contract.ts";
import type { RecordedRequest } from "../../src/providers/proxmox/http.ts";
import { REPO } from "../harness/daemon.ts";

const SCHEMA_PATH = join(REPO, "../shared/reference/proxmox/pve-api-subset.json");

interface Prop {
  type?: string;
  optional?: number;
  enum?: string[];
  pattern?: string;
  maxLength?: number;
  minimum?: number | string;
  maximum?: number | string;
  format?: string | Record<string, Prop & { default_key?: number; alias?: string }>;
  items?: Prop;
}
interface Method {
  parameters?: { properties?: Record<string, Prop> };
}
type Schema = { paths: Record<string, Record<string, Method>> };

const schema: Schema | undefined = existsSync(SCHEMA_PATH) ? (JSON.parse(readFileSync(SCHEMA_PATH, "utf8")) as Schema) : undefined;

// ---------------------------------------------------------------------------------------------
// Validation against the schema
// ---------------------------------------------------------------------------------------------

/** `ide[n]` style keys: the indices PVE allows. */
const INDEXED_MAX: Record<string, number> = { ide: 3, sata: 5, scsi: 30, virtio: 15, net: 31, ipconfig: 31, unused: 255, serial: 3, usb: 14, hostpci: 15, numa: 7, parallel: 2, virtiofs: 9 };

function propOf(props: Record<string, Prop>, name: string): Prop | undefined {
  if (props[name]) return props[name];
  const m = /^([a-z]+)(\d+)$/.exec(name);
  if (m && props[`${m[1]}[n]`] && Number(m[2]) <= (INDEXED_MAX[m[1]!] ?? 31)) return props[`${m[1]}[n]`];
  return undefined;
}

/** `path` as sent: segments percent-encoded (a volume id's `/` is `%2F`). */
function matchEndpoint(method: string, path: string): { template: string; pathParams: Record<string, string> } | undefined {
  const parts = path.split("/").filter(Boolean);
  for (const [template, methods] of Object.entries(schema!.paths)) {
    if (!methods[method]) continue;
    const segs = template.split("/").filter(Boolean);
    if (segs.length !== parts.length) continue;
    const pathParams: Record<string, string> = {};
    if (segs.every((s, i) => (/^\{.+\}$/.test(s) ? ((pathParams[s.slice(1, -1)] = decodeURIComponent(parts[i]!)), true) : s === decodeURIComponent(parts[i]!)))) return { template, pathParams };
  }
  return undefined;
}

function checkValue(where: string, p: Prop, v: string): string[] {
  const bad = (why: string) => [`${where}=${JSON.stringify(v)}: ${why}`];
  switch (p.type) {
    case "integer":
      if (!/^-?\d+$/.test(v)) return bad("not an integer");
      if (p.minimum !== undefined && Number(v) < Number(p.minimum)) return bad(`below minimum ${p.minimum}`);
      if (p.maximum !== undefined && Number(v) > Number(p.maximum)) return bad(`above maximum ${p.maximum}`);
      return [];
    case "number":
      return Number.isNaN(Number(v)) ? bad("not a number") : [];
    case "boolean":
      return /^(0|1)$/.test(v) ? [] : bad("boolean not sent as 0/1");
    case "array":
      return p.items ? checkValue(where, p.items, v) : [];
    case "string":
    case undefined: {
      if (p.enum && !p.enum.includes(v)) return bad(`not one of ${p.enum.join(", ")}`);
      if (p.pattern && !new RegExp(`^(?:${p.pattern})$`).test(v)) return bad(`does not match /${p.pattern}/`);
      if (p.maxLength !== undefined && v.length > p.maxLength) return bad(`longer than ${p.maxLength}`);
      if (p.format === "pve-vmid" && !/^[1-9]\d{2,8}$/.test(v)) return bad("not a VM id");
      if (p.format === "pve-storage-id" && !/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v)) return bad("not a storage id");
      if (p.format === "pve-node" && !/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(v)) return bad("not a node name");
      if (p.format === "dns-name" && !/^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(v)) return bad("not a DNS name");
      if (p.format === "urlencoded" && !/^[-%a-zA-Z0-9_.!~*'()]*$/.test(v)) return bad("not strictly percent-encoded");
      if (p.format && typeof p.format === "object") return checkPropertyString(where, p.format, v);
      return [];
    }
    default:
      return [];
  }
}

/** `key=value,…` against a format's properties (a bare first value belongs to the default key). */
function checkPropertyString(where: string, format: Record<string, Prop & { default_key?: number; alias?: string }>, v: string): string[] {
  const problems: string[] = [];
  const defaultKey = Object.entries(format).find(([, d]) => d.default_key)?.[0];
  for (const part of v.split(",")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? defaultKey : part.slice(0, eq);
    const val = eq < 0 ? part : part.slice(eq + 1);
    if (!key) {
      problems.push(`${where}: '${part}' has no key and the format has no default key`);
      continue;
    }
    const d = format[key];
    if (!d) {
      problems.push(`${where}: property string key '${key}' is not defined`);
      continue;
    }
    const target = d.alias ? format[d.alias] : d;
    if (target?.enum && !target.enum.includes(val)) problems.push(`${where}.${key}=${val}: not one of ${target.enum.join(", ")}`);
    if (target?.type === "integer" && !/^-?\d+$/.test(val)) problems.push(`${where}.${key}=${val}: not an integer`);
    if (target?.type === "boolean" && !/^(0|1|yes|no|on|off|true|false)$/i.test(val)) problems.push(`${where}.${key}=${val}: not a boolean`);
  }
  return problems;
}

/** Problems of one request; empty when it is valid for the schema. */
export function validateApiCall(method: string, path: string, params: [string, string][], extraAllowed: string[] = []): string[] {
  const ep = matchEndpoint(method, path);
  if (!ep) return [`${method} ${path}: no such endpoint in pve-api-subset.json`];
  const props = schema!.paths[ep.template]![method]!.parameters?.properties ?? {};
  const problems: string[] = [];
  const given = new Map<string, string[]>();
  for (const [k, v] of [...Object.entries(ep.pathParams), ...params]) given.set(k, [...(given.get(k) ?? []), v]);
  for (const [k, vs] of given) {
    if (extraAllowed.includes(k)) continue;
    const p = propOf(props, k);
    if (!p) {
      problems.push(`${method} ${ep.template}: parameter '${k}' is not defined`);
      continue;
    }
    if (vs.length > 1 && p.type !== "array") problems.push(`${method} ${ep.template}: '${k}' repeated but not an array`);
    for (const v of vs) problems.push(...checkValue(`${method} ${ep.template} ${k}`, p, v).map((s) => s));
  }
  for (const [k, p] of Object.entries(props)) {
    if (!p.optional && !k.includes("[n]") && !given.has(k)) problems.push(`${method} ${ep.template}: required parameter '${k}' missing`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// qm and pvesh command lines → API calls
// ---------------------------------------------------------------------------------------------

function optionsOf(args: string[]): { positional: string[]; options: [string, string][]; extra: string[] } {
  const out = { positional: [] as string[], options: [] as [string, string][], extra: [] as string[] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      out.extra = args.slice(i + 1);
      break;
    }
    const m = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/s.exec(a);
    if (m) out.options.push([m[1]!, m[2] ?? args[++i]!]);
    else out.positional.push(a);
  }
  return out;
}

/**
 * qm subcommand → [method, path template, positional names, options qm itself adds].
 * From qemu-server's PVE/CLI/qm.pm (its cmddef): each maps to a PVE::API2::Qemu method.
 */
const QM: Record<string, [string, string, string[], string[]]> = {
  clone: ["POST", "/nodes/{node}/qemu/{vmid}/clone", ["vmid", "newid"], []],
  set: ["PUT", "/nodes/{node}/qemu/{vmid}/config", ["vmid"], []],
  config: ["GET", "/nodes/{node}/qemu/{vmid}/config", ["vmid"], []],
  destroy: ["DELETE", "/nodes/{node}/qemu/{vmid}", ["vmid"], []],
  start: ["POST", "/nodes/{node}/qemu/{vmid}/status/start", ["vmid"], []],
  stop: ["POST", "/nodes/{node}/qemu/{vmid}/status/stop", ["vmid"], []],
  "disk resize": ["PUT", "/nodes/{node}/qemu/{vmid}/resize", ["vmid", "disk", "size"], []],
  // qm status is qm's own method: vmid + verbose
  status: ["GET", "/nodes/{node}/qemu/{vmid}/status/current", ["vmid"], ["verbose"]],
  // qm guest exec is qm's own method: synchronous, timeout, pass-stdin, then the command after --
  "guest exec": ["POST", "/nodes/{node}/qemu/{vmid}/agent/exec", ["vmid"], ["synchronous", "timeout", "pass-stdin"]],
  "guest exec-status": ["GET", "/nodes/{node}/qemu/{vmid}/agent/exec-status", ["vmid", "pid"], []],
};

export function validateQm(argv: string[], node: string): string[] {
  const args = argv.slice(1);
  let name = args[0]!;
  let rest = args.slice(1);
  if (!QM[name] && (QM[`${name} ${rest[0]}`] || `${name} ${rest[0]}` === "guest cmd")) {
    name = `${name} ${rest[0]}`;
    rest = rest.slice(1);
  }
  if (name === "guest cmd") {
    // qm guest cmd <vmid> <command>: the agent endpoint named by the command
    const [vmid, command] = rest;
    const known = ["GET", "POST"].some((m) => matchEndpoint(m, `/nodes/${node}/qemu/${vmid}/agent/${command}`));
    return known && /^[1-9]\d{2,8}$/.test(vmid ?? "") ? [] : [`${argv.join(" ")}: '${command}' is not an agent command of VM '${vmid}'`];
  }
  const def = QM[name];
  if (!def) return [`${argv.join(" ")}: qm subcommand '${name}' is not mapped to an API method`];
  const [method, template, positional, own] = def;
  const o = optionsOf(rest);
  if (o.positional.length !== positional.length) return [`${argv.join(" ")}: expected ${positional.length} arguments (${positional.join(", ")})`];
  const byName = Object.fromEntries(positional.map((n, i) => [n, o.positional[i]!]));
  const path = template.replace("{node}", node).replace(/\{(\w+)\}/g, (_, k: string) => byName[k] ?? `{${k}}`);
  const params: [string, string][] = [...positional.filter((n) => !template.includes(`{${n}}`)).map((n) => [n, byName[n]!] as [string, string]), ...o.options.filter(([k]) => !own.includes(k))];
  if (name === "set") {
    // qm reads --sshkeys from a file and percent-encodes it: the API sees the encoded text
    const i = params.findIndex(([k]) => k === "sshkeys");
    // (the key file exists only while qm runs; its text cannot be checked afterwards)
    if (i >= 0) params[i] = ["sshkeys", existsSync(params[i]![1]) ? encodeURIComponent(readFileSync(params[i]![1], "utf8")) : "ssh-ed25519%20AAAA"];
  }
  if (name === "guest exec") for (const c of o.extra) params.push(["command", c]);
  return validateApiCall(method, path, params).map((p) => `${argv.join(" ")}: ${p}`);
}

const PVESH_METHOD: Record<string, string> = { get: "GET", set: "PUT", create: "POST", delete: "DELETE" };
const PVESH_OWN = ["output-format", "quiet", "noproxy", "noborder", "noheader", "human-readable"];

export function validatePvesh(argv: string[]): string[] {
  const [cmd, path, ...rest] = argv.slice(1);
  const method = PVESH_METHOD[cmd!];
  if (!method || !path) return [`${argv.join(" ")}: not a pvesh API call`];
  const o = optionsOf(rest);
  return validateApiCall(method, path, o.options.filter(([k]) => !PVESH_OWN.includes(k))).map((p) => `${argv.join(" ")}: ${p}`);
}

// ---------------------------------------------------------------------------------------------
// Run the contract with recorders, then validate what was sent
// ---------------------------------------------------------------------------------------------

if (!schema) {
  describe.skip(`pve requests (no ${SCHEMA_PATH})`, () => {
    it("needs ../shared/reference", () => undefined);
  });
  if (process.env.CI === "true") throw new Error(`${SCHEMA_PATH} is missing`);
} else {
  const httpRequests: RecordedRequest[] = [];
  const commands: string[][] = [];
  let localNode = "";

  describeBackendContract("http (requests recorded)", () => httpContractEnv({ onRequest: (r) => httpRequests.push(r) }));
  describeBackendContract("local (command lines recorded)", async () => {
    const env = await localContractEnv({ onCommand: (a) => commands.push([...a]) });
    localNode = env.node;
    return env;
  });

  describe("what the backends sent, against pve-api-subset.json", () => {
    it("the validator itself rejects what PVE would reject", () => {
      expect(validateApiCall("POST", "/nodes/pve1/qemu/9000/clone", [["newid", "101"], ["full", "true"]])).toEqual(['POST /nodes/{node}/qemu/{vmid}/clone full="true": boolean not sent as 0/1']);
      expect(validateApiCall("POST", "/nodes/pve1/qemu/9000/clone", [["newid", "101"], ["bogus", "1"]])).toEqual(["POST /nodes/{node}/qemu/{vmid}/clone: parameter 'bogus' is not defined"]);
      expect(validateApiCall("POST", "/nodes/pve1/qemu/9000/clone", [])).toEqual(["POST /nodes/{node}/qemu/{vmid}/clone: required parameter 'newid' missing"]);
      expect(validateApiCall("PUT", "/nodes/pve1/qemu/101/config", [["ide0", "local:iso/x.iso,media=floppy"]])[0]).toContain("media=floppy: not one of");
      expect(validateApiCall("GET", "/nodes/pve1/nothing", [])).toEqual(["GET /nodes/pve1/nothing: no such endpoint in pve-api-subset.json"]);
      expect(validateQm(["qm", "clone", "9000", "101", "--fast", "1"], "pve1")[0]).toContain("parameter 'fast' is not defined");
    });

    it("every HTTP request of the http backend is valid", () => {
      expect(httpRequests.length).toBeGreaterThan(30);
      const problems = httpRequests.flatMap((r) => validateApiCall(r.method, r.path, r.params));
      expect(problems).toEqual([]);
      const endpoints = new Set(httpRequests.map((r) => `${r.method} ${matchEndpoint(r.method, r.path)?.template}`));
      for (const e of ["POST /nodes/{node}/qemu/{vmid}/clone", "PUT /nodes/{node}/qemu/{vmid}/config", "PUT /nodes/{node}/qemu/{vmid}/resize", "POST /nodes/{node}/storage/{storage}/upload", "DELETE /nodes/{node}/storage/{storage}/content/{volume}", "POST /nodes/{node}/qemu/{vmid}/agent/exec", "GET /nodes/{node}/tasks/{upid}/status", "DELETE /nodes/{node}/qemu/{vmid}"]) {
        expect(endpoints).toContain(e);
      }
    });

    it("every qm and pvesh command line of the local backend is valid", () => {
      expect(commands.length).toBeGreaterThan(30);
      const problems = commands.flatMap((argv) => {
        const tool = argv[0]!.split("/").pop();
        return tool === "qm" ? validateQm(argv, localNode) : tool === "pvesh" ? validatePvesh(argv) : [`unknown tool ${argv[0]}`];
      });
      expect(problems).toEqual([]);
      const qmVerbs = new Set(commands.filter((a) => a[0]!.endsWith("qm")).map((a) => (a[1] === "disk" || a[1] === "guest" ? `${a[1]} ${a[2]}` : a[1])));
      for (const v of ["clone", "set", "config", "status", "start", "stop", "destroy", "disk resize", "guest cmd", "guest exec"]) expect(qmVerbs).toContain(v);
    });
  });
}
