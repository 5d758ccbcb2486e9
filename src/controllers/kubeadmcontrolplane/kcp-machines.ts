/**
 * One control-plane machine of a KubeadmControlPlane (upstream helpers.go
 * cloneConfigsAndGenerateMachine): the infrastructure machine cloned from
 * `machineTemplate.spec.infrastructureRef` (cloned-from annotations), the KubeadmConfig (spec =
 * `kubeadmConfigSpec` with only `initConfiguration` for the first machine and only
 * `joinConfiguration` for the others) and the Machine (labels cluster-name, control-plane,
 * control-plane-name; controller-owned by the KCP; version; failure domain; the kcp-cleanup
 * pre-terminate hook; `remediation-for` on a remediation's replacement). Config and
 * infrastructure machine are owned by the KCP and controlled by the Machine, so the KubeadmConfig
 * controller finds its Machine at once. The Machine records a hash of the kubeadmConfigSpec it was
 * made from: the KubeadmConfig controller writes into its config (endpoint, discovery token), so
 * comparing the stored config would see changes nobody asked for.
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import type { KObject } from "../../lib/kobject.ts";
import type { Client } from "../../runtime/client.ts";
import { CAPI_VERSION, CLONED_FROM_GROUPKIND, CLONED_FROM_NAME, CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL, getRef, ownerRefTo } from "../core/contract.ts";
import { PRE_TERMINATE_HOOK_PREFIX } from "../core/machine-api.ts";
import { KUBEADMCONFIG_VERSION, type KubeadmConfigSpec } from "../kubeadm/kubeadmconfig.ts";
import { REMEDIATION_FOR_ANNOTATION, REMEDIATION_IN_PROGRESS_ANNOTATION } from "./kcp-remediation.ts";
import { cloneData } from "../../lib/clone.ts";

export const CONTROLPLANE_GROUP = "controlplane.cluster.x-k8s.io";
export const KCP_VERSION = `${CONTROLPLANE_GROUP}/v1beta2`;
export const CONTROL_PLANE_NAME_LABEL = "cluster.x-k8s.io/control-plane-name";
/** The kubeadmConfigSpec a machine was made from (hash), for the rollout decision. */
export const CONFIG_HASH_ANNOTATION = "controlplane.capx.dev/kubeadm-config-spec-hash";
/** Holds a deleting machine until the KCP has taken it out of etcd (see kcp-cleanup-hook.ts). */
export const KCP_CLEANUP_HOOK = `${PRE_TERMINATE_HOOK_PREFIX}/kcp-cleanup`;

export interface ContractRef {
  apiGroup?: string;
  kind?: string;
  name?: string;
}

export interface KcpSpec {
  replicas?: number;
  version?: string;
  kubeadmConfigSpec?: KubeadmConfigSpec & Record<string, unknown>;
  machineTemplate?: {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec?: { infrastructureRef?: ContractRef; deletion?: Record<string, number>; readinessGates?: unknown[] };
  };
  rollout?: { after?: string; strategy?: { type?: string; rollingUpdate?: { maxSurge?: number | string } } };
}

const ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

export function machineName(kcp: string): string {
  return `${kcp}-${[...randomBytes(5)].map((x) => ALPHABET[x % ALPHABET.length]).join("")}`;
}

export function controlPlaneLabels(cluster: string, kcp: string): Record<string, string> {
  return { [CLUSTER_NAME_LABEL]: cluster, [CONTROL_PLANE_LABEL]: "", [CONTROL_PLANE_NAME_LABEL]: kcp };
}

/** The status selector (upstream ControlPlaneSelectorForCluster). */
export function selectorString(cluster: string): string {
  return `${CLUSTER_NAME_LABEL}=${cluster},${CONTROL_PLANE_LABEL}`;
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

export function configSpecHash(spec: KcpSpec): string {
  return createHash("sha256").update(stableJson(spec.kubeadmConfigSpec ?? {})).digest("hex").slice(0, 16);
}

/** Upstream: init gets initConfiguration (no join), join gets joinConfiguration (no init); clusterConfiguration stays on both. */
export function kubeadmConfigSpecFor(spec: KcpSpec, init: boolean): Record<string, unknown> {
  const out = cloneData(spec.kubeadmConfigSpec ?? {}) as Record<string, unknown>;
  if (init) delete out.joinConfiguration;
  else delete out.initConfiguration;
  // An empty configuration is omitted, as upstream's omitzero does (the schema wants at least one
  // property); CABPK renders the join from nothing but discovery then.
  for (const k of ["initConfiguration", "joinConfiguration"]) {
    const v = out[k];
    if (v && typeof v === "object" && !Object.keys(v).length) delete out[k];
  }
  return out;
}

/** Why a machine is out of date (version, kubeadmConfigSpec, infrastructure template, rollout.after); undefined when current. */
export function outdatedReason(client: Client, spec: KcpSpec, machine: KObject, now = Date.now()): string | undefined {
  if ((machine.spec as { version?: string }).version !== spec.version) return `version ${(machine.spec as { version?: string }).version} is not ${spec.version}`;
  const hash = machine.metadata.annotations?.[CONFIG_HASH_ANNOTATION];
  if (hash !== undefined && hash !== configSpecHash(spec)) return "kubeadmConfigSpec changed";
  const tmpl = spec.machineTemplate?.spec?.infrastructureRef;
  const infraRef = (machine.spec as { infrastructureRef?: ContractRef }).infrastructureRef;
  if (tmpl?.name && infraRef?.name && infraRef.apiGroup && infraRef.kind) {
    const infra = getRef(client, { apiGroup: infraRef.apiGroup, kind: infraRef.kind, name: infraRef.name }, machine.metadata.namespace!);
    const from = infra?.metadata.annotations?.[CLONED_FROM_NAME];
    const fromKind = infra?.metadata.annotations?.[CLONED_FROM_GROUPKIND];
    if (infra && from !== undefined && (from !== tmpl.name || (fromKind !== undefined && fromKind !== `${tmpl.kind}.${tmpl.apiGroup}`))) return "infrastructure template changed";
  }
  const after = spec.rollout?.after ? Date.parse(spec.rollout.after) : NaN;
  const created = Date.parse(machine.metadata.creationTimestamp ?? "");
  if (Number.isFinite(after) && after <= now && created < after) return "rollout.after passed";
  return undefined;
}

/** The control-plane failure domain with fewest live machines (upstream NextFailureDomainForScaleUp). */
export function nextFailureDomain(cluster: KObject, machines: KObject[]): string | undefined {
  const fds = ((cluster.status as { failureDomains?: { name?: string; controlPlane?: boolean }[] } | undefined)?.failureDomains ?? [])
    .filter((f) => f.name && f.controlPlane !== false)
    .map((f) => f.name!)
    .sort();
  if (!fds.length) return undefined;
  const count = (fd: string) => machines.filter((m) => !m.metadata.deletionTimestamp && (m.spec as { failureDomain?: string }).failureDomain === fd).length;
  return fds.sort((a, b) => count(a) - count(b) || (a < b ? -1 : 1))[0];
}

/** Creates infrastructure machine, KubeadmConfig and Machine; returns the Machine's name. */
export async function createControlPlaneMachine(client: Client, kcp: KObject, cluster: KObject, machines: KObject[], init: boolean): Promise<string> {
  const spec = (kcp.spec ?? {}) as KcpSpec;
  const ns = kcp.metadata.namespace!;
  const clusterName = cluster.metadata.name!;
  const ref = spec.machineTemplate?.spec?.infrastructureRef;
  if (!ref?.apiGroup || !ref.kind || !ref.name) throw new Error("spec.machineTemplate.spec.infrastructureRef must name apiGroup, kind and name");
  const template = getRef(client, { apiGroup: ref.apiGroup, kind: ref.kind, name: ref.name }, ns);
  if (!template) throw new Error(`failed to retrieve ${ref.kind} ${ns}/${ref.name}: not found`);
  const name = machineName(kcp.metadata.name!);
  const labels = { ...(spec.machineTemplate?.metadata?.labels ?? {}), ...controlPlaneLabels(clusterName, kcp.metadata.name!) };
  // The replacement of a remediated machine carries the remediation data (upstream ComputeDesiredMachine).
  const remediation = kcp.metadata.annotations?.[REMEDIATION_IN_PROGRESS_ANNOTATION];
  const annotations = {
    ...(spec.machineTemplate?.metadata?.annotations ?? {}),
    [CONFIG_HASH_ANNOTATION]: configSpecHash(spec),
    [KCP_CLEANUP_HOOK]: "",
    ...(remediation !== undefined ? { [REMEDIATION_FOR_ANNOTATION]: remediation } : {}),
  };
  const infraKind = ref.kind.replace(/Template$/, "");
  const failureDomain = nextFailureDomain(cluster, machines);
  const deletion = spec.machineTemplate?.spec?.deletion;
  const readinessGates = spec.machineTemplate?.spec?.readinessGates;

  const machine = await client.create({
    apiVersion: CAPI_VERSION,
    kind: "Machine",
    metadata: { name, namespace: ns, labels, annotations, ownerReferences: [ownerRefTo(kcp, true)] },
    spec: {
      clusterName,
      version: spec.version,
      bootstrap: { configRef: { apiGroup: "bootstrap.cluster.x-k8s.io", kind: "KubeadmConfig", name } },
      infrastructureRef: { apiGroup: ref.apiGroup, kind: infraKind, name },
      ...(failureDomain ? { failureDomain } : {}),
      ...(deletion ? { deletion } : {}),
      ...(readinessGates?.length ? { readinessGates } : {}),
    },
  });
  const owners = [ownerRefTo(kcp), ownerRefTo(machine, true)];
  await client.create({
    apiVersion: KUBEADMCONFIG_VERSION,
    kind: "KubeadmConfig",
    metadata: { name, namespace: ns, labels, ownerReferences: owners },
    spec: kubeadmConfigSpecFor(spec, init),
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
      annotations: { ...(tmeta?.annotations ?? {}), [CLONED_FROM_NAME]: ref.name, [CLONED_FROM_GROUPKIND]: `${ref.kind}.${ref.apiGroup}` },
      ownerReferences: owners,
    },
  });
  return name;
}
