/**
 * What a KubeadmConfig's bootstrap data are built from, resolved against the management cluster
 * as upstream CABPK does: `files` (inline, or `contentFrom` a Secret key; `contentFormat:
 * Template` rendered with the control plane's version), `users` (`passwdFrom` a Secret key) and
 * the discovery kubeconfig file of `joinConfiguration.discovery.file.kubeConfig`.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { CloudInitFile, CloudInitUser } from "../../providers/kubeadm/cloud-init.ts";
import { parseVersion } from "../../providers/kubeadm/kubeadm-api.ts";
import { toYaml } from "../../providers/kubeadm/kubeadm-api.ts";
import type { Client } from "../../runtime/client.ts";
import { getRef } from "../core/contract.ts";

export interface SpecFile extends CloudInitFile {
  contentFrom?: { secret?: { name?: string; key?: string } };
  contentFormat?: string;
}

export interface SpecUser extends CloudInitUser {
  passwdFrom?: { secret?: { name?: string; key?: string } };
}

export interface DiscoveryKubeConfig {
  cluster?: { server?: string; tlsServerName?: string; insecureSkipTLSVerify?: boolean; certificateAuthorityData?: string; proxyURL?: string };
  user?: {
    authProvider?: { name?: string; config?: Record<string, string> };
    exec?: { command?: string; args?: string[]; env?: { name: string; value: string }[]; apiVersion?: string; provideClusterInfo?: boolean };
  };
}

export class InputError extends Error {}

function secretKey(client: Client, namespace: string, ref: { name?: string; key?: string } | undefined): string {
  const s = client.get({ apiVersion: "v1", kind: "Secret", namespace, name: ref?.name ?? "" });
  if (!s) throw new InputError(`secret not found: ${namespace}/${ref?.name}`);
  const v = (s.data as Record<string, string> | undefined)?.[ref?.key ?? ""];
  if (v === undefined) throw new InputError(`secret references non-existent secret key: "${ref?.key}"`);
  return Buffer.from(v, "base64").toString();
}

/** The control plane's `spec.version` as `v<semver>`, or "" without a control plane (resolveFiles). */
export function controlPlaneVersion(client: Client, cluster: KObject): string {
  const ref = (cluster.spec as { controlPlaneRef?: { apiGroup?: string; kind?: string; name?: string } } | undefined)?.controlPlaneRef;
  if (!ref?.name || !ref.kind) return "";
  const cp = getRef(client, { apiGroup: ref.apiGroup ?? "", kind: ref.kind, name: ref.name }, cluster.metadata.namespace!);
  const v = (cp?.spec as { version?: string } | undefined)?.version;
  if (!v) return "";
  const [a, b, c] = parseVersion(v);
  return `v${a}.${b}.${c}`;
}

const CONTROL_PLANE_VERSION = /\{\{-?\s*\.controlPlane\.version\s*-?\}\}/g;

/**
 * `contentFormat: Template` files: the template data hold `.controlPlane.version`; other template
 * actions are refused (this is not a full Go template engine).
 */
function renderTemplate(path: string, content: string, cpVersion: string): string {
  const out = content.replace(CONTROL_PLANE_VERSION, () => {
    if (!cpVersion) throw new InputError(`failed to render templates: failed to execute template for file "${path}": the control plane version is not known`);
    return cpVersion;
  });
  if (out.includes("{{")) throw new InputError(`failed to render templates: template for file "${path}" uses actions other than {{ .controlPlane.version }}, which are not supported`);
  return out;
}

export function resolveFiles(client: Client, config: KObject, cluster: KObject, files: SpecFile[] | undefined): CloudInitFile[] {
  const ns = config.metadata.namespace!;
  const list = files ?? [];
  const cpVersion = list.some((f) => f.contentFormat === "Template") ? controlPlaneVersion(client, cluster) : "";
  return list.map((f) => {
    let content = f.content ?? "";
    if (f.contentFrom?.secret) {
      try {
        content = secretKey(client, ns, f.contentFrom.secret);
      } catch (e) {
        throw new InputError(`failed to resolve file source: ${(e as Error).message}`);
      }
    }
    if (f.contentFormat === "Template") content = renderTemplate(f.path, content, cpVersion);
    const { contentFrom: _from, contentFormat: _format, ...rest } = f;
    return { ...rest, content };
  });
}

export function resolveUsers(client: Client, config: KObject, users: SpecUser[] | undefined): CloudInitUser[] {
  return (users ?? []).map((u) => {
    const { passwdFrom, ...rest } = u;
    if (!passwdFrom?.secret) return rest;
    try {
      return { ...rest, passwd: secretKey(client, config.metadata.namespace!, passwdFrom.secret) };
    } catch (e) {
      throw new InputError(`failed to resolve passwd source: ${(e as Error).message}`);
    }
  });
}

/** The kubeconfig file kubeadm discovers the cluster with (resolveDiscoveryKubeConfig). */
export function discoveryKubeconfigFile(path: string, kc: DiscoveryKubeConfig): CloudInitFile {
  const c = kc.cluster ?? {};
  const cluster: Record<string, unknown> = { server: c.server ?? "" };
  if (c.tlsServerName) cluster["tls-server-name"] = c.tlsServerName;
  if (c.insecureSkipTLSVerify) cluster["insecure-skip-tls-verify"] = true;
  if (c.certificateAuthorityData) cluster["certificate-authority-data"] = c.certificateAuthorityData;
  if (c.proxyURL) cluster["proxy-url"] = c.proxyURL;
  const user: Record<string, unknown> = {};
  const ap = kc.user?.authProvider;
  if (ap?.name) user["auth-provider"] = { name: ap.name, ...(ap.config && Object.keys(ap.config).length ? { config: ap.config } : {}) };
  const ex = kc.user?.exec;
  if (ex?.command) {
    user.exec = {
      command: ex.command,
      ...(ex.args?.length ? { args: ex.args } : {}),
      ...(ex.env?.length ? { env: ex.env.map((e) => ({ name: e.name, value: e.value })) } : {}),
      apiVersion: ex.apiVersion || "client.authentication.k8s.io/v1",
      provideClusterInfo: ex.provideClusterInfo ?? false,
      interactiveMode: "Never",
    };
  }
  const doc = {
    clusters: [{ name: "default", cluster }],
    contexts: [{ name: "default", context: { cluster: "default", user: "default" } }],
    "current-context": "default",
    preferences: {},
    users: [{ name: "default", user }],
  };
  return { path, owner: "root:root", permissions: "0640", content: toYaml(doc) };
}
