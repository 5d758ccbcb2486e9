/**
 * Where the bundled kubeadm and addons CRDs come from and how `scripts/import-crds.ts` makes them
 * the project's own (provenance in `SOURCES.md` beside this file): Cluster API release-1.14's
 * bootstrap provider (KubeadmConfig, KubeadmConfigTemplate), control-plane provider
 * (KubeadmControlPlane, KubeadmControlPlaneTemplate) and the addons kinds of core
 * (ClusterResourceSet, ClusterResourceSetBinding). Three sources because each provider carries its
 * own labels; all three read the same reference folder as the core CRDs and write into
 * `src/kinds/kubeadm/crds/{bootstrap,controlplane,addons}`. Used by the import script and the drift check only; the daemon embeds
 * the generated JSON files (../crds.ts).
 * @module
 */
import { join } from "node:path";
import type { CRDSource, KindDescriptions } from "../../../../scripts/import-crds.ts";

const REPO_ROOT = join(import.meta.dir, "../../../..");

const CAPI_RELEASE = {
  repo: "kubernetes-sigs/cluster-api",
  branch: "release-1.14",
  commit: "ba9e23ad247aac251eacb7bf2a11bd5d2ef64fcc",
  referenceDir: "cluster-api-release-1.14",
} as const;

const UPSTREAM_DIR = join(REPO_ROOT, "../shared/reference/capi/crds", CAPI_RELEASE.referenceDir);
/** One output folder per source (the drift check expects a folder to hold exactly one source's files). */
const outputDir = (sub: string) => join(REPO_ROOT, "src/kinds/kubeadm/crds", sub);

/** First-level fields of a KubeadmConfig spec (also the template's and KCP's `kubeadmConfigSpec`). */
const KUBEADM_CONFIG_SPEC_FIELDS: Record<string, string> = {
  bootCommands: "Commands run very early in the boot process (cloud-init bootcmd).",
  clusterConfiguration: "kubeadm ClusterConfiguration: settings shared by every control-plane node.",
  diskSetup: "Partitions and file systems to create on the node's disks.",
  files: "Files written on the node, inline or from a Secret.",
  format: "Format of the bootstrap data: cloud-config (default) or ignition.",
  ignition: "Ignition-specific settings (format ignition only).",
  initConfiguration: "kubeadm InitConfiguration: used by the first control-plane node (kubeadm init).",
  joinConfiguration: "kubeadm JoinConfiguration: used by every other node (kubeadm join).",
  mounts: "Mount points to create on the node.",
  ntp: "NTP servers and whether NTP is enabled.",
  postKubeadmCommands: "Commands run after kubeadm.",
  preKubeadmCommands: "Commands run before kubeadm.",
  useExperimentalRetryJoin: "Retry kubeadm join on failure (v1beta1 only; removed in v1beta2).",
  users: "Users to create on the node.",
  verbosity: "kubeadm log verbosity (-v).",
};

const BOOTSTRAP_DESCRIPTIONS: Record<string, KindDescriptions> = {
  KubeadmConfig: {
    root: "The kubeadm bootstrap configuration of one Machine: the cloud-init or ignition data that runs kubeadm init or join.",
    spec: "How the bootstrap data is produced.",
    status: "Observed state, written by the KubeadmConfig controller: the bootstrap data secret and conditions.",
    specFields: KUBEADM_CONFIG_SPEC_FIELDS,
  },
  KubeadmConfigTemplate: {
    root: "A template of KubeadmConfig objects, referenced by machine deployments and cluster classes.",
    spec: "The template.",
    specFields: { template: "The metadata and spec of the KubeadmConfig objects created from this template." },
  },
};

const CONTROL_PLANE_DESCRIPTIONS: Record<string, KindDescriptions> = {
  KubeadmControlPlane: {
    root: "The kubeadm-based control plane of a workload cluster: its machines, their kubeadm configuration, etcd membership and rollouts.",
    spec: "Desired state of the control plane.",
    status: "Observed state, written by the KubeadmControlPlane controller.",
    specFields: {
      kubeadmConfigSpec: "kubeadm configuration of the control-plane machines.",
      machineNaming: "How the names of new machines are built.",
      machineNamingStrategy: "How the names of new machines are built.",
      machineTemplate: "Template of the control-plane machines: metadata, infrastructure template, deletion timeouts.",
      remediation: "How unhealthy control-plane machines are remediated (retries, periods).",
      remediationStrategy: "How unhealthy control-plane machines are remediated (retries, periods).",
      replicas: "Number of control-plane machines wanted (defaults to 1).",
      rollout: "How and when machines are replaced (strategy, after, before certificate expiry).",
      rolloutAfter: "Time after which all machines are replaced.",
      rolloutBefore: "Replace machines whose certificates expire within the given number of days.",
      rolloutStrategy: "How machines are replaced (RollingUpdate with maxSurge).",
      version: "Kubernetes version of the control plane.",
    },
  },
  KubeadmControlPlaneTemplate: {
    root: "A template of KubeadmControlPlane objects, referenced by cluster classes.",
    spec: "The template.",
    specFields: { template: "The metadata and spec of the KubeadmControlPlane objects created from this template." },
  },
};

const ADDONS_DESCRIPTIONS: Record<string, KindDescriptions> = {
  ClusterResourceSet: {
    root: "A set of ConfigMaps and Secrets whose resources are applied to every workload cluster matching a label selector.",
    spec: "What is applied, and to which clusters.",
    status: "Observed state, written by the ClusterResourceSet controller.",
    specFields: {
      clusterSelector: "Label selector of the Clusters the resources are applied to (an empty selector matches none).",
      resources: "The ConfigMaps and Secrets whose contents are applied.",
      strategy: "ApplyOnce (default) or Reconcile.",
    },
  },
  ClusterResourceSetBinding: {
    root: "Records which ClusterResourceSets' resources were applied to one workload cluster.",
    spec: "The bindings of one cluster.",
    specFields: {
      bindings: "One entry per ClusterResourceSet, with the resources applied and whether that succeeded.",
      clusterName: "Name of the Cluster the bindings are for.",
    },
  },
};

/** As after `clusterctl init`: the provider's contract labels, provider label and clusterctl's label. */
const providerLabels = (provider: string): Record<string, string> => ({
  "cluster.x-k8s.io/provider": provider,
  "cluster.x-k8s.io/v1beta1": "v1beta1",
  "cluster.x-k8s.io/v1beta2": "v1beta2",
  "clusterctl.cluster.x-k8s.io": "",
});

export const KUBEADM_BOOTSTRAP_SOURCE: CRDSource = {
  upstream: { ...CAPI_RELEASE, upstreamDir: "bootstrap/kubeadm/config/crd/bases" },
  upstreamDir: UPSTREAM_DIR,
  outputDir: outputDir("bootstrap"),
  files: ["bootstrap.cluster.x-k8s.io_kubeadmconfigs.yaml", "bootstrap.cluster.x-k8s.io_kubeadmconfigtemplates.yaml"],
  labels: providerLabels("bootstrap-kubeadm"),
  descriptions: BOOTSTRAP_DESCRIPTIONS,
};

export const KUBEADM_CONTROL_PLANE_SOURCE: CRDSource = {
  upstream: { ...CAPI_RELEASE, upstreamDir: "controlplane/kubeadm/config/crd/bases" },
  upstreamDir: UPSTREAM_DIR,
  outputDir: outputDir("controlplane"),
  files: ["controlplane.cluster.x-k8s.io_kubeadmcontrolplanes.yaml", "controlplane.cluster.x-k8s.io_kubeadmcontrolplanetemplates.yaml"],
  labels: providerLabels("control-plane-kubeadm"),
  descriptions: CONTROL_PLANE_DESCRIPTIONS,
};

/** The addons CRDs ship with core: the same labels as the core CRDs (no contract labels). */
export const ADDONS_SOURCE: CRDSource = {
  upstream: { ...CAPI_RELEASE, upstreamDir: "core/config/crd/bases" },
  upstreamDir: UPSTREAM_DIR,
  outputDir: outputDir("addons"),
  files: ["addons.cluster.x-k8s.io_clusterresourcesets.yaml", "addons.cluster.x-k8s.io_clusterresourcesetbindings.yaml"],
  labels: { "cluster.x-k8s.io/provider": "cluster-api", "clusterctl.cluster.x-k8s.io": "" },
  descriptions: ADDONS_DESCRIPTIONS,
};
