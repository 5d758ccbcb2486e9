/**
 * Names, versions and small helpers shared by the Talos bootstrap (TalosConfig) and control-plane
 * (TalosControlPlane) controllers.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";

export const BOOTSTRAP_GROUP = "bootstrap.cluster.x-k8s.io";
/** TalosConfig / TalosConfigTemplate storage (hub) version. */
export const TALOSCONFIG_VERSION = `${BOOTSTRAP_GROUP}/v1beta1`;
export const CONTROLPLANE_GROUP = "controlplane.cluster.x-k8s.io";
export const TCP_VERSION = `${CONTROLPLANE_GROUP}/v1alpha3`;
export const CONTROL_PLANE_NAME_LABEL = "cluster.x-k8s.io/control-plane-name";
export const SECRET_TYPE = "cluster.x-k8s.io/secret";

/**
 * A fixed DNS name added to every generated machine's `machine.certSANs`, so apid's serving
 * certificate can be checked by name (Bun refuses an IP as TLS ServerName) whatever the node's IP.
 */
export function talosApiServerName(cluster: string): string {
  return `talos-api.${cluster}.internal`;
}

export const b64 = (s: string): string => Buffer.from(s).toString("base64");
export const unb64 = (s: unknown): string => (typeof s === "string" && s ? Buffer.from(s, "base64").toString() : "");

export function getSecret(client: Client, namespace: string, name: string): KObject | undefined {
  return client.get({ apiVersion: "v1", kind: "Secret", namespace, name });
}

export function secretValue(secret: KObject | undefined, key: string): string {
  return unb64((secret?.data as Record<string, string> | undefined)?.[key]);
}

export function isConflictOrExists(e: unknown): boolean {
  const code = (e as { code?: number }).code;
  return code === 409;
}

export interface MachineAddress {
  type: string;
  address: string;
}

/** The node address a Machine reports (InternalIP first, then ExternalIP), if any. */
export function machineAddress(machine: KObject): string | undefined {
  const list = ((machine.status as { addresses?: MachineAddress[] } | undefined)?.addresses ?? []).filter((a) => a.address);
  return (list.find((a) => a.type === "InternalIP") ?? list.find((a) => a.type === "ExternalIP"))?.address;
}

/** Numeric order of IPv4 addresses (others after, as text), for deterministic choices. */
export function compareAddresses(a: string, b: string): number {
  const parse = (s: string) => (/^\d{1,3}(\.\d{1,3}){3}$/.test(s) ? s.split(".").map(Number) : undefined);
  const pa = parse(a);
  const pb = parse(b);
  if (pa && pb) {
    for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
    return 0;
  }
  if (pa) return -1;
  if (pb) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A Cluster API v1beta1 condition (`severity`), as TalosControlPlane v1alpha3 and the deprecated blocks keep them. */
export interface LegacyCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  severity?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export function upsertLegacyCondition(list: LegacyCondition[] | undefined, c: Omit<LegacyCondition, "lastTransitionTime">, now = new Date()): LegacyCondition[] {
  const out = [...(list ?? [])];
  const i = out.findIndex((x) => x.type === c.type);
  const prev = out[i];
  const next: LegacyCondition = { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, "Z") };
  if (next.status === "True") delete next.severity;
  for (const k of ["reason", "message", "severity"] as const) if (!next[k]) delete next[k];
  if (i >= 0) out[i] = next;
  else out.push(next);
  return out;
}
