/**
 * Creating one control-plane machine of a TalosControlPlane: the Machine (labels cluster-name,
 * control-plane, control-plane-name; controller-owned by the TCP), its TalosConfig (spec =
 * `controlPlaneConfig.controlplane`) and its infrastructure machine cloned from
 * `infrastructureTemplate` (cloned-from annotations). Both are owned by the TCP and controlled by
 * the Machine — the state CACPPT plus the Cluster API Machine controller leave behind — written
 * directly so the TalosConfig controller finds its Machine without waiting for another controller.
 * @module
 */
import { randomBytes } from "node:crypto";
import { deepEqual, type KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import { CAPI_VERSION, CLONED_FROM_GROUPKIND, CLONED_FROM_NAME, CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL, groupOf, ownerRefTo, refApiVersion } from "../core/contract.ts";
import { BOOTSTRAP_GROUP, CONTROL_PLANE_NAME_LABEL, TALOSCONFIG_VERSION } from "./common.ts";
import { cloneData } from "../../lib/clone.ts";

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

export interface TalosControlPlaneSpec {
  replicas?: number;
  version?: string;
  infrastructureTemplate?: ObjectReference;
  controlPlaneConfig?: { controlplane?: Record<string, unknown>; init?: Record<string, unknown> };
  rolloutStrategy?: { type?: string; rollingUpdate?: { maxSurge?: number | string } };
}

/** Holds a deleting Machine (CAPI pre-terminate hook) until its etcd member is removed. */
export const ETCD_HOOK_ANNOTATION = "pre-terminate.delete.hook.machine.cluster.x-k8s.io/talos-etcd";

const ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

export function machineName(tcp: string): string {
  const b = randomBytes(5);
  return `${tcp}-${[...b].map((x) => ALPHABET[x % ALPHABET.length]).join("")}`;
}

export function controlPlaneLabels(cluster: string, tcp: string): Record<string, string> {
  return { [CLUSTER_NAME_LABEL]: cluster, [CONTROL_PLANE_LABEL]: "", [CONTROL_PLANE_NAME_LABEL]: tcp };
}

export function selectorString(cluster: string, tcp: string): string {
  return `${CLUSTER_NAME_LABEL}=${cluster},${CONTROL_PLANE_LABEL},${CONTROL_PLANE_NAME_LABEL}=${tcp}`;
}

/** The TalosConfig spec the TCP asks for (controlplane; generateType defaults to controlplane). */
export function desiredTalosConfigSpec(spec: TalosControlPlaneSpec): Record<string, unknown> {
  const out = cloneData(spec.controlPlaneConfig?.controlplane ?? {});
  out.generateType ??= "controlplane";
  return out;
}

/**
 * The version `ref`'s kind is read in: its group's storage version, so every reader shares one
 * cache and nothing is converted; the written version when the kind is not served.
 */
export function templateApiVersion(client: Client, ref: { apiVersion: string; kind: string }): string {
  return refApiVersion(client, { apiGroup: groupOf(ref.apiVersion), kind: ref.kind }) ?? ref.apiVersion;
}

/** Whether a machine matches the spec: Kubernetes version, Talos config, infrastructure template. */
export function machineUpToDate(client: Client, spec: TalosControlPlaneSpec, machine: KObject): boolean {
  if ((machine.spec as { version?: string }).version !== spec.version) return false;
  const ns = machine.metadata.namespace;
  const cfgRef = (machine.spec as { bootstrap?: { configRef?: { name?: string } } }).bootstrap?.configRef;
  const tc = cfgRef?.name ? client.getShared({ apiVersion: TALOSCONFIG_VERSION, kind: "TalosConfig", namespace: ns, name: cfgRef.name }) : undefined;
  if (tc && !deepEqual(tc.spec ?? {}, desiredTalosConfigSpec(spec))) return false;
  const infraRef = (machine.spec as { infrastructureRef?: { apiGroup?: string; kind?: string; name?: string } }).infrastructureRef;
  const tmpl = spec.infrastructureTemplate;
  if (infraRef && tmpl?.apiVersion && tmpl.kind) {
    const infra = client.getShared({ apiVersion: templateApiVersion(client, { apiVersion: tmpl.apiVersion, kind: infraRef.kind! }), kind: infraRef.kind!, namespace: ns, name: infraRef.name! });
    const from = infra?.metadata.annotations?.[CLONED_FROM_NAME];
    if (infra && from !== undefined && from !== tmpl.name) return false;
  }
  return true;
}

/** Creates Machine, TalosConfig and infrastructure clone; returns the Machine's name. */
export async function createControlPlaneMachine(client: Client, tcp: KObject, cluster: string): Promise<string> {
  const spec = (tcp.spec ?? {}) as TalosControlPlaneSpec;
  const ns = tcp.metadata.namespace!;
  const tmplRef = spec.infrastructureTemplate;
  if (!tmplRef?.apiVersion || !tmplRef.kind || !tmplRef.name) throw new Error("spec.infrastructureTemplate must name apiVersion, kind and name");
  const template = client.get({ apiVersion: templateApiVersion(client, { apiVersion: tmplRef.apiVersion, kind: tmplRef.kind }), kind: tmplRef.kind, namespace: tmplRef.namespace ?? ns, name: tmplRef.name });
  if (!template) throw new Error(`failed to retrieve ${tmplRef.kind} ${ns}/${tmplRef.name}: not found`);
  const name = machineName(tcp.metadata.name!);
  const labels = controlPlaneLabels(cluster, tcp.metadata.name!);
  const infraKind = tmplRef.kind.replace(/Template$/, "");
  const infraGroup = groupOf(template.apiVersion!);

  const machine = await client.create({
    apiVersion: CAPI_VERSION,
    kind: "Machine",
    metadata: { name, namespace: ns, labels, annotations: { [ETCD_HOOK_ANNOTATION]: "taloscontrolplane" }, ownerReferences: [ownerRefTo(tcp, true)] },
    spec: {
      clusterName: cluster,
      version: spec.version,
      bootstrap: { configRef: { apiGroup: BOOTSTRAP_GROUP, kind: "TalosConfig", name } },
      infrastructureRef: { apiGroup: infraGroup, kind: infraKind, name },
    },
  });
  const owners = [ownerRefTo(tcp), ownerRefTo(machine, true)];
  await client.create({
    apiVersion: TALOSCONFIG_VERSION,
    kind: "TalosConfig",
    metadata: { name, namespace: ns, labels, ownerReferences: owners },
    spec: desiredTalosConfigSpec(spec),
  });
  const tt = cloneData(((template.spec as { template?: Record<string, unknown> } | undefined)?.template ?? {}) as Record<string, unknown>);
  const { metadata: tmeta, ...rest } = tt as { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } };
  await client.create({
    ...rest,
    apiVersion: template.apiVersion,
    kind: infraKind,
    metadata: {
      name,
      namespace: ns,
      labels: { ...(tmeta?.labels ?? {}), ...labels },
      annotations: { ...(tmeta?.annotations ?? {}), [CLONED_FROM_NAME]: tmplRef.name, [CLONED_FROM_GROUPKIND]: `${tmplRef.kind}.${infraGroup}` },
      ownerReferences: owners,
    },
  });
  return name;
}
