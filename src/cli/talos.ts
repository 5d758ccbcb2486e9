/**
 * `capx-appliance talos gen-config ...`: print a Talos machine config (YAML, no comments) made from
 * a secrets bundle, as `talosctl gen config` / CABPT would; `capx-appliance talos gen-secrets
 * [--talos-version V]`: print a fresh secrets bundle (secrets.yaml shape).
 *
 * `--patch FILE` (repeatable, applied in order): a YAML/JSON list of RFC 6902 operations is a JSON
 * patch (refused on multi-document configs, as Talos does); anything else is a strategic merge
 * patch (YAML, may hold several documents).
 * @module
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { ContractError, DEFAULT_CONTRACT, parseContract } from "../providers/talos/contract.ts";
import { GenerateError, generateMachineConfig, type GenerateInput, type MachineType } from "../providers/talos/generate.ts";
import { applyConfigPatches, applyStrategicPatches, PatchError, type JsonPatchOperation } from "../providers/talos/patch.ts";
import { encodeSecretsBundle, generateSecretsBundle, parseSecretsBundle, SecretsBundleError } from "../providers/talos/secrets.ts";
import { encodeDocuments, YamlDocumentError } from "../providers/talos/yaml.ts";
import { parseFlags, UsageError, type FlagSpec } from "./args.ts";

export const TALOS_USAGE = `usage: capx-appliance talos gen-config --secrets FILE --cluster NAME --endpoint URL
         --kubernetes-version V --talos-version V --type controlplane|worker
         [--additional-sans A,B] [--dns-domain D] [--install-disk PATH] [--kernel-args K=V,...]
         [--local-api-port N] [--sysctl K=V]... [--cni-url URL] [--registry-mirror HOST=URL]...
         [--allow-scheduling-on-control-planes] [--patch FILE]...
       capx-appliance talos gen-secrets [--talos-version V]`;

const GEN_CONFIG_FLAGS: FlagSpec = {
  secrets: { type: "string" },
  cluster: { type: "string" },
  endpoint: { type: "string" },
  "kubernetes-version": { type: "string" },
  "talos-version": { type: "string" },
  type: { type: "string" },
  "additional-sans": { type: "list" },
  "dns-domain": { type: "string" },
  "install-disk": { type: "string" },
  "kernel-args": { type: "list" },
  "local-api-port": { type: "string" },
  sysctl: { type: "list" },
  "cni-url": { type: "string" },
  "registry-mirror": { type: "list" },
  "allow-scheduling-on-control-planes": { type: "boolean" },
  patch: { type: "list" },
};

/** First line only: every failure is reported as one line. */
const oneLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!.trim();

function readText(path: string, flag: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`--${flag} ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : oneLine(e)}`);
  }
}

function required(flags: Record<string, unknown>, name: string): string {
  const v = flags[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`--${name} is required (see capx-appliance talos help)`);
  return v;
}

/** Comma-separated values as pflag's string slices read them (CSV: `"a,b",c` is two values). */
function splitCsv(v: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < v.length; i++) {
    const ch = v[i]!;
    if (ch === '"') {
      if (quoted && v[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === "," && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (quoted) throw new UsageError(`unbalanced quote in ${JSON.stringify(v)}`);
  out.push(cur);
  return out;
}

const commaList = (values: string[] | undefined) =>
  (values ?? []).flatMap(splitCsv).map((s) => s.trim()).filter((s) => s !== "");

function keyValue(value: string, flag: string, separator = "="): [string, string] {
  const i = value.indexOf(separator);
  if (i <= 0 || i === value.length - 1) throw new UsageError(`--${flag} wants KEY${separator}VALUE, got ${JSON.stringify(value)}`);
  return [value.slice(0, i), value.slice(i + 1)];
}

type Patch = { kind: "json"; ops: JsonPatchOperation[] } | { kind: "strategic"; text: string };

function loadPatch(arg: string): Patch {
  // talosctl spells patch files `@FILE`; both spellings are accepted.
  const path = arg.startsWith("@") ? arg.slice(1) : arg;
  const text = readText(path, "patch");
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch {
    // Possibly several documents: a strategic patch; decodeDocuments reports real syntax errors.
    return { kind: "strategic", text };
  }
  if (Array.isArray(parsed)) {
    for (const op of parsed) {
      if (op === null || typeof op !== "object" || typeof (op as JsonPatchOperation).op !== "string") {
        throw new UsageError(`--patch ${path}: a list must hold RFC 6902 operations ({op, path, value})`);
      }
    }
    return { kind: "json", ops: parsed as JsonPatchOperation[] };
  }
  return { kind: "strategic", text };
}

export function genConfig(argv: string[]): string {
  const { flags, positional } = parseFlags(argv, GEN_CONFIG_FLAGS);
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const type = required(flags, "type");
  if (type !== "controlplane" && type !== "worker") throw new UsageError(`--type must be controlplane or worker, not ${JSON.stringify(type)}`);
  const input: GenerateInput = {
    bundle: parseSecretsBundle(readText(required(flags, "secrets"), "secrets")),
    clusterName: required(flags, "cluster"),
    endpoint: required(flags, "endpoint"),
    kubernetesVersion: required(flags, "kubernetes-version"),
    contract: parseContract(required(flags, "talos-version")),
    type: type as MachineType,
  };
  const sans = commaList(flags["additional-sans"] as string[] | undefined);
  if (sans.length) input.additionalSANs = sans;
  if (flags["dns-domain"] !== undefined) input.dnsDomain = required(flags, "dns-domain");
  if (flags["install-disk"] !== undefined) {
    const disk = required(flags, "install-disk");
    if (!disk.startsWith("/dev/")) throw new UsageError(`--install-disk wants a /dev/ path, got ${JSON.stringify(disk)}`);
    input.installDisk = disk;
  }
  const kernelArgs = commaList(flags["kernel-args"] as string[] | undefined);
  if (kernelArgs.length) input.kernelArgs = kernelArgs;
  if (flags["local-api-port"] !== undefined) {
    const raw = required(flags, "local-api-port");
    const port = Number(raw);
    if (!/^\d+$/.test(raw) || port < 1 || port > 65535) throw new UsageError(`--local-api-port wants a port number, got ${JSON.stringify(raw)}`);
    input.localAPIServerPort = port;
  }
  const sysctls = (flags.sysctl as string[] | undefined) ?? [];
  if (sysctls.length) input.sysctls = Object.fromEntries(sysctls.map((s) => keyValue(s, "sysctl")));
  if (flags["cni-url"] !== undefined) {
    const url = required(flags, "cni-url");
    if (!/^https?:\/\/\S+$/.test(url)) throw new UsageError(`--cni-url wants an http(s) URL, got ${JSON.stringify(url)}`);
    input.cniUrl = url;
  }
  const mirrors = (flags["registry-mirror"] as string[] | undefined) ?? [];
  if (mirrors.length) {
    const m: Record<string, string[]> = {};
    for (const v of mirrors) {
      const [host, url] = keyValue(v, "registry-mirror");
      if (!/^https?:\/\/\S+$/.test(url)) throw new UsageError(`--registry-mirror wants HOST=URL with an http(s) URL, got ${JSON.stringify(v)}`);
      (m[host] ??= []).push(url);
    }
    input.registryMirrors = m;
  }
  if (flags["allow-scheduling-on-control-planes"]) input.allowSchedulingOnControlPlanes = true;

  let docs = generateMachineConfig(input);
  for (const file of (flags.patch as string[] | undefined) ?? []) {
    const p = loadPatch(file);
    docs = p.kind === "json" ? applyConfigPatches(docs, p.ops) : applyStrategicPatches(docs, [p.text]);
  }
  return encodeDocuments(docs);
}

export async function genSecrets(argv: string[]): Promise<string> {
  const { flags, positional } = parseFlags(argv, { "talos-version": { type: "string" } });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const v = flags["talos-version"];
  const contract = typeof v === "string" ? parseContract(v) : DEFAULT_CONTRACT;
  return encodeSecretsBundle(await generateSecretsBundle(contract));
}

/** `capx-appliance talos <subcommand>`; returns the text for stdout. Failures are one-line UsageErrors. */
export async function talosCommand(argv: string[]): Promise<string> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case "gen-config":
        return genConfig(rest);
      case "gen-secrets":
        return await genSecrets(rest);
      case undefined:
      case "help":
      case "--help":
        return `${TALOS_USAGE}\n`;
      default:
        throw new UsageError(`unknown talos command ${JSON.stringify(sub)} (gen-config, gen-secrets)`);
    }
  } catch (e) {
    const known =
      e instanceof UsageError ||
      e instanceof ContractError ||
      e instanceof SecretsBundleError ||
      e instanceof GenerateError ||
      e instanceof PatchError ||
      e instanceof YamlDocumentError;
    if (known) throw new UsageError(oneLine(e));
    throw e;
  }
}
