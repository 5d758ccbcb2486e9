/**
 * What the lab's kubeadm reads: its command line, the configuration documents CABPK wrote
 * (v1beta3 or v1beta4; kubelet extra args as the v1beta3 map or the v1beta4 list), and the
 * certificate authorities under `certificatesDir`, checked as kubeadm's `certs` phase loads them.
 * @module
 */
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { parseAllDocuments } from "yaml";
import type { GuestFs } from "../cloud-init/guest-fs.ts";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});

/** kubeadm failed: the message goes to stderr and kubeadm exits 1. */
export class KubeadmError extends Error {}

export interface KubeadmArgs {
  command: string;
  config?: string;
}

export function parseArgs(argv: string[]): KubeadmArgs {
  const out: KubeadmArgs = { command: argv[1] ?? "" };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--config") out.config = argv[++i];
    else if (a.startsWith("--config=")) out.config = a.slice("--config=".length);
  }
  return out;
}

const API_VERSIONS = ["kubeadm.k8s.io/v1beta3", "kubeadm.k8s.io/v1beta4"];

/** The documents of a kubeadm config file by kind. */
export function readConfig(fs: GuestFs, path: string): Map<string, Obj> {
  const text = fs.readText(path);
  if (text === undefined) throw new KubeadmError(`unable to read config from "${path}" : open ${path}: no such file or directory`);
  const docs = new Map<string, Obj>();
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length) throw new KubeadmError(`error converting YAML to JSON: ${d.errors[0]!.message}`);
    const o = obj(d.toJSON());
    if (!Object.keys(o).length) continue;
    const kind = String(o.kind ?? "");
    const apiVersion = String(o.apiVersion ?? "");
    if (!kind) throw new KubeadmError(`Object 'Kind' is missing in '${path}'`);
    if (apiVersion.startsWith("kubeadm.k8s.io/") && !API_VERSIONS.includes(apiVersion)) {
      throw new KubeadmError(`no kind "${kind}" is registered for version "${apiVersion}" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"`);
    }
    docs.set(kind, o);
  }
  return docs;
}

/** kubelet extra args in either form: v1beta4's `[{name, value}]` or v1beta3's map. */
/**
 * The kubelet's extra args as the kubelet receives them: kubeadm writes them into
 * kubeadm-flags.env and systemd expands `$KUBELET_KUBEADM_ARGS` with its unquoting, so the
 * CAPMOX templates' `proxmox://'{{ ds.meta_data.instance_id }}'` reaches the kubelet unquoted.
 */
export function kubeletExtraArgs(nodeRegistration: unknown): Record<string, string> {
  const raw = obj(nodeRegistration).kubeletExtraArgs;
  const out: Record<string, string> = {};
  if (Array.isArray(raw)) for (const a of raw as Obj[]) out[String(a.name)] = systemdUnquote(String(a.value ?? ""));
  else for (const [k, v] of Object.entries(obj(raw))) out[k] = systemdUnquote(String(v));
  return out;
}

/** systemd's EXTRACT_UNQUOTE on one word: quotes removed, backslash escapes kept literal. */
export function systemdUnquote(word: string): string {
  let out = "";
  let quote: string | undefined;
  for (let i = 0; i < word.length; i++) {
    const ch = word[i]!;
    if (ch === "\\" && i + 1 < word.length && quote !== "'") out += word[++i];
    else if (quote) {
      if (ch === quote) quote = undefined;
      else out += ch;
    } else if (ch === "'" || ch === '"') quote = ch;
    else out += ch;
  }
  return out;
}

export interface NodeRegistration {
  name?: string;
  taints?: { key: string; value?: string; effect: string }[];
  providerId?: string;
  labels: Record<string, string>;
}

export function nodeRegistration(doc: Obj | undefined): NodeRegistration {
  const nr = obj(doc?.nodeRegistration);
  const args = kubeletExtraArgs(nr);
  const labels: Record<string, string> = {};
  for (const kv of (args["node-labels"] ?? "").split(",").filter(Boolean)) {
    const [k, v] = kv.split("=");
    labels[k!] = v ?? "";
  }
  return {
    ...(typeof nr.name === "string" && nr.name ? { name: nr.name } : {}),
    ...(Array.isArray(nr.taints) ? { taints: nr.taints as NodeRegistration["taints"] } : {}),
    ...(args["provider-id"] ? { providerId: args["provider-id"] } : {}),
    labels,
  };
}

export interface Pki {
  ca: { cert: string; key: string };
  etcd: { cert: string; key: string };
}

/** The certificate authorities and service-account keys a control plane needs (kubeadm's `certs` phase with external CA files). */
export function loadPki(fs: GuestFs, dir = "/etc/kubernetes/pki"): Pki {
  const authority = (phase: string, what: string, base: string) => {
    const certPath = `${dir}/${base}.crt`;
    const keyPath = `${dir}/${base}.key`;
    const fail = (why: string) => new KubeadmError(`error execution phase certs/${phase}: failure loading ${what} certificate authority: ${why}`);
    const cert = fs.readText(certPath);
    if (cert === undefined) throw fail(`couldn't load the certificate file ${certPath}: open ${certPath}: no such file or directory`);
    const key = fs.readText(keyPath);
    if (key === undefined) throw fail(`couldn't load the private key file ${keyPath}: open ${keyPath}: no such file or directory`);
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
    } catch {
      throw fail(`couldn't load the certificate file ${certPath}: data does not contain any valid RSA or ECDSA certificates`);
    }
    let matches = false;
    try {
      matches = x509.checkPrivateKey(createPrivateKey(key));
    } catch {
      throw fail(`couldn't load the private key file ${keyPath}: data does not contain a valid RSA or ECDSA private key`);
    }
    if (!matches) throw fail(`the certificate ${certPath} does not match the private key ${keyPath}`);
    if (!x509.ca) throw fail(`certificate ${certPath} is not a CA`);
    return { cert, key };
  };
  const ca = authority("ca", "ca", "ca");
  authority("front-proxy-ca", "front-proxy-ca", "front-proxy-ca");
  const etcd = authority("etcd-ca", "etcd/ca", "etcd/ca");
  const saKey = fs.readText(`${dir}/sa.key`);
  const saPub = fs.readText(`${dir}/sa.pub`);
  const saFail = (why: string) => new KubeadmError(`error execution phase certs/sa: failure loading sa key: ${why}`);
  if (saKey === undefined) throw saFail(`couldn't load the private key file ${dir}/sa.key: open ${dir}/sa.key: no such file or directory`);
  if (saPub === undefined) throw saFail(`couldn't load the public key file ${dir}/sa.pub: open ${dir}/sa.pub: no such file or directory`);
  try {
    const fromKey = createPublicKey(createPrivateKey(saKey)).export({ type: "spki", format: "der" });
    const pub = createPublicKey(saPub).export({ type: "spki", format: "der" });
    if (!fromKey.equals(pub)) throw saFail(`the public key ${dir}/sa.pub does not match the private key ${dir}/sa.key`);
  } catch (e) {
    if (e instanceof KubeadmError) throw e;
    throw saFail(`couldn't parse ${dir}/sa.key or ${dir}/sa.pub: ${(e as Error).message}`);
  }
  return { ca, etcd };
}

/** `host:port` of an endpoint (port 6443 when missing). */
export function splitEndpoint(ep: string): { host: string; port: number } {
  const i = ep.lastIndexOf(":");
  if (i > 0 && ep.indexOf(":") === i) return { host: ep.slice(0, i), port: Number(ep.slice(i + 1)) || 6443 };
  return { host: ep, port: 6443 };
}
