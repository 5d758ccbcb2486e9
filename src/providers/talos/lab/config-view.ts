/**
 * One view of a Talos machine config, whichever form it comes in: contracts <= 1.13 keep nearly
 * everything in the v1alpha1 document; from 1.14 the v1alpha1 document keeps the machine type, OS
 * CA, certSANs, tokens and etcd CA, while the Kubernetes side moves into documents of its own:
 *
 * | field                         | <= 1.13 (v1alpha1)              | >= 1.14                                        |
 * |-------------------------------|---------------------------------|------------------------------------------------|
 * | control-plane endpoint        | cluster.controlPlane.endpoint   | KubeClusterConfig.endpoint                     |
 * | cluster name                  | cluster.clusterName             | KubeClusterConfig.clusterName                  |
 * | cluster id                    | cluster.id                      | DiscoveryIdentityConfig.clusterID              |
 * | Kubernetes CA                 | cluster.ca {crt,key} (base64)   | KubeAPIServerCAConfig issuingCA {cert,key} (PEM, control plane) or acceptedCAs[0] (worker) |
 * | kubelet image                 | machine.kubelet.image           | KubeletConfig.image                            |
 * | node labels / taints          | machine.nodeLabels / nodeTaints | KubeNodeConfig.labels / taints                 |
 * | installer image               | machine.install.image           | UnattendedInstallConfig.installer.image        |
 * | hostname                      | machine.network.hostname        | HostnameConfig.hostname (from 1.12)            |
 * | static addresses              | machine.network.interfaces      | LinkConfig.addresses                           |
 *
 * {@link effectiveConfig} folds either form into the v1alpha1 shape the lab node reads
 * ({@link TalosMachineConfigLike}), so the lab reads every field from the document Talos keeps it in.
 * @module
 */
import type { TalosMachineConfigLike } from "./node.ts";
import { cloneData } from "../../../lib/clone.ts";

type Doc = Record<string, unknown>;
const obj = (v: unknown): Doc | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Doc) : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** The v1alpha1 document (`version: v1alpha1`, no kind). */
export function v1alpha1Document(docs: readonly Doc[]): Doc | undefined {
  return docs.find((d) => d.version === "v1alpha1" && d.kind === undefined);
}

/** The first document of a kind (`apiVersion: v1alpha1`). */
export function documentOf(docs: readonly Doc[], kind: string): Doc | undefined {
  return docs.find((d) => d.kind === kind && d.version === undefined);
}

/** True for the multi-document form of contracts >= 1.14 (Kubernetes settings in documents of their own). */
export function isMultiDocument(docs: readonly Doc[]): boolean {
  return docs.some((d) => typeof d.kind === "string" && /^Kube/.test(d.kind) && d.version === undefined);
}

/** Fields the lab reads, with where they come from resolved. */
export interface ConfigView {
  machineType: string;
  machineCA?: { crt: string; key?: string };
  certSANs: string[];
  installImage?: string;
  endpoint?: string;
  clusterName?: string;
  clusterId?: string;
  /** Kubernetes CA: certificate (PEM or base64 PEM) and, on control planes, its key. */
  kubernetesCA?: { crt: string; key?: string };
  kubeletImage?: string;
  nodeLabels: Record<string, string>;
  nodeTaints: Record<string, string>;
  /** Whether the lab adds the control-plane NoSchedule taint itself (v1alpha1 form only). */
  implicitControlPlaneTaint: boolean;
  hostname?: string;
  /** Static IPv4/IPv6 addresses (CIDR) the config sets on links. */
  addresses: string[];
  multiDocument: boolean;
}

/** Reads the {@link ConfigView} of a config's documents. */
export function configView(docs: readonly Doc[]): ConfigView {
  const v1 = v1alpha1Document(docs) ?? {};
  const machine = obj(v1.machine) ?? {};
  const cluster = obj(v1.cluster) ?? {};
  const kc = documentOf(docs, "KubeClusterConfig");
  const ident = documentOf(docs, "DiscoveryIdentityConfig");
  const caDoc = documentOf(docs, "KubeAPIServerCAConfig");
  const kubelet = documentOf(docs, "KubeletConfig");
  const nodeDoc = documentOf(docs, "KubeNodeConfig");
  const install = documentOf(docs, "UnattendedInstallConfig") ?? documentOf(docs, "UnattendedInstall");
  const hostnameDoc = documentOf(docs, "HostnameConfig");
  const multi = isMultiDocument(docs);

  const mca = obj(machine.ca);
  const legacyCA = obj(cluster.ca);
  let kubernetesCA: ConfigView["kubernetesCA"];
  if (str(legacyCA?.crt)) kubernetesCA = { crt: String(legacyCA!.crt), ...(str(legacyCA!.key) ? { key: String(legacyCA!.key) } : {}) };
  else if (caDoc) {
    const issuing = obj(caDoc.issuingCA);
    const accepted = Array.isArray(caDoc.acceptedCAs) ? caDoc.acceptedCAs.map(str).find(Boolean) : undefined;
    if (str(issuing?.cert)) kubernetesCA = { crt: String(issuing!.cert), ...(str(issuing!.key) ? { key: String(issuing!.key) } : {}) };
    else if (accepted) kubernetesCA = { crt: accepted };
  }

  const addresses: string[] = [];
  for (const iface of (obj(machine.network)?.interfaces as { addresses?: unknown[] }[] | undefined) ?? []) {
    for (const a of iface?.addresses ?? []) if (typeof a === "string") addresses.push(a);
  }
  for (const link of docs.filter((d) => d.kind === "LinkConfig" || d.kind === "DummyLinkConfig" || d.kind === "VLANConfig" || d.kind === "BondConfig" || d.kind === "BridgeConfig")) {
    for (const a of (link.addresses as { address?: unknown }[] | undefined) ?? []) if (typeof a?.address === "string") addresses.push(a.address);
  }

  const labels = (obj(machine.nodeLabels) ?? obj(nodeDoc?.labels) ?? {}) as Record<string, string>;
  const taints = (obj(machine.nodeTaints) ?? obj(nodeDoc?.taints) ?? {}) as Record<string, string>;
  return {
    machineType: String(machine.type ?? ""),
    ...(str(mca?.crt) ? { machineCA: { crt: String(mca!.crt), ...(str(mca!.key) ? { key: String(mca!.key) } : {}) } } : {}),
    certSANs: Array.isArray(machine.certSANs) ? machine.certSANs.filter((s): s is string => typeof s === "string") : [],
    installImage: str(obj(machine.install)?.image) ?? str(obj(install?.installer)?.image),
    endpoint: str(obj(cluster.controlPlane)?.endpoint) ?? str(kc?.endpoint),
    clusterName: str(cluster.clusterName) ?? str(kc?.clusterName),
    clusterId: str(cluster.id) ?? str(ident?.clusterID),
    kubernetesCA,
    kubeletImage: str(obj(machine.kubelet)?.image) ?? str(kubelet?.image),
    nodeLabels: { ...labels },
    nodeTaints: { ...taints },
    implicitControlPlaneTaint: !multi,
    hostname: str(obj(machine.network)?.hostname) ?? str(hostnameDoc?.hostname),
    addresses,
    multiDocument: multi,
  };
}

/**
 * The config in the v1alpha1 shape the lab node reads: the v1alpha1 document with the fields
 * that contracts >= 1.14 keep elsewhere filled in from their documents. A v1alpha1-only config
 * comes back unchanged (a copy).
 */
export function effectiveConfig(docs: readonly Doc[]): TalosMachineConfigLike & Doc {
  const v1 = cloneData(v1alpha1Document(docs) ?? {}) as Doc;
  const view = configView(docs);
  const machine = (obj(v1.machine) ?? {}) as Doc;
  const cluster = (obj(v1.cluster) ?? {}) as Doc;
  v1.machine = machine;
  v1.cluster = cluster;
  if (!view.multiDocument) return v1 as TalosMachineConfigLike & Doc;
  if (view.installImage) machine.install = { ...obj(machine.install), image: view.installImage };
  if (view.kubeletImage) machine.kubelet = { ...obj(machine.kubelet), image: view.kubeletImage };
  if (Object.keys(view.nodeLabels).length) machine.nodeLabels = view.nodeLabels;
  if (Object.keys(view.nodeTaints).length) machine.nodeTaints = view.nodeTaints;
  if (view.endpoint) cluster.controlPlane = { ...obj(cluster.controlPlane), endpoint: view.endpoint };
  if (view.clusterName) cluster.clusterName = view.clusterName;
  if (view.clusterId) cluster.id = view.clusterId;
  if (view.kubernetesCA) cluster.ca = view.kubernetesCA;
  // KubeNodeConfig taints are explicit: the lab adds no control-plane taint of its own
  cluster.allowSchedulingOnControlPlanes = true;
  return v1 as TalosMachineConfigLike & Doc;
}

/** The lab Talos image's version when the config names no installer image (v1alpha1 form). */
export const DEFAULT_LAB_TALOS = "v1.13.9";
/** The same for the multi-document form: the first Talos that reads it. */
export const DEFAULT_LAB_TALOS_MULTIDOC = "v1.14.0";

/** The Talos version a lab node runs for a config: the installer image's tag, else the lab default for the config's form. */
export function labTalosVersion(view: Pick<ConfigView, "installImage" | "multiDocument">): string {
  const tag = view.installImage ? /:(v[^:@/]+)(@.*)?$/.exec(view.installImage)?.[1] : undefined;
  return tag ?? (view.multiDocument ? DEFAULT_LAB_TALOS_MULTIDOC : DEFAULT_LAB_TALOS);
}
