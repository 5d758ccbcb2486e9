/**
 * Where the bundled Talos CRDs come from and how `scripts/import-crds.ts` makes them the project's
 * own (provenance in `SOURCES.md` beside this file): the CABPT kinds (TalosConfig,
 * TalosConfigTemplate) and the CACPPT kind (TalosControlPlane), two upstream projects and so two
 * sources with their own output folders. Used by the import script and the drift check only; the
 * daemon embeds the generated JSON files (../crds.ts).
 * @module
 */
import { join } from "node:path";
import type { CRDSource, KindDescriptions } from "../../../../scripts/import-crds.ts";

const REPO_ROOT = join(import.meta.dir, "../../../..");
const REFERENCE_DIR = "talos-providers";

/**
 * What every Talos config spec holds (TalosConfig `spec`, TalosConfigTemplate
 * `spec.template.spec`, TalosControlPlane `spec.controlPlaneConfig.controlplane`).
 */
const CONFIG_SPEC_FIELDS: Record<string, string> = {
  configPatches: "RFC 6902 JSON patches applied to the generated machine config (single-document configs only).",
  data: "A complete machine config, used as is when generateType is none.",
  generateType: "Which machine config is generated: controlplane, worker, init (deprecated) or none (use data).",
  hostname: "Where the node's hostname comes from (the Machine's or the infrastructure machine's name).",
  strategicPatches: "Talos strategic-merge patches (YAML documents) applied after the JSON patches.",
  talosVersion: "Talos version whose config contract the output follows (e.g. v1.13); pins the config format.",
};

const BOOTSTRAP_DESCRIPTIONS: Record<string, KindDescriptions> = {
  TalosConfig: {
    root: "The Talos bootstrap configuration of one Machine: how its machine config is generated, and the secret holding it.",
    spec: "How the machine config is produced.",
    status: "Observed state, written by the TalosConfig controller: the bootstrap data secret and conditions.",
    specFields: CONFIG_SPEC_FIELDS,
  },
  TalosConfigTemplate: {
    root: "A template of TalosConfig objects, referenced by machine deployments and cluster classes; its spec cannot change.",
    spec: "The template.",
    specFields: { template: "The spec of the TalosConfig objects created from this template." },
  },
};

const CONTROL_PLANE_DESCRIPTIONS: Record<string, KindDescriptions> = {
  TalosControlPlane: {
    root: "The control plane of a Talos workload cluster: its machines, their Talos config, etcd bootstrap and rollouts.",
    spec: "Desired state of the control plane.",
    status: "Observed state, written by the TalosControlPlane controller.",
    specFields: {
      controlPlaneConfig: "Talos config of the control-plane machines (controlplane; init is deprecated).",
      infrastructureTemplate: "The infrastructure machine template (e.g. a ProxmoxMachineTemplate) cloned for each machine.",
      replicas: "Number of control-plane machines wanted (defaults to 1).",
      rolloutStrategy: "How machines are replaced when the version, config or template changes (RollingUpdate with maxSurge, or OnDelete).",
      version: "Kubernetes version of the control plane (a leading v is added when missing).",
    },
  },
};

/**
 * As on a management cluster after `clusterctl init --bootstrap talos`: the contract labels of
 * CABPT's `config/crd/kustomization.yaml` (v1alpha3 for the v1alpha3, v1alpha4 and v1beta1
 * contracts, v1beta1 for v1beta2), the provider label of `config/default/kustomization.yaml` and
 * clusterctl's own label.
 */
const BOOTSTRAP_LABELS: Record<string, string> = {
  "cluster.x-k8s.io/provider": "bootstrap-talos",
  "cluster.x-k8s.io/v1alpha3": "v1alpha3",
  "cluster.x-k8s.io/v1alpha4": "v1alpha3",
  "cluster.x-k8s.io/v1beta1": "v1alpha3",
  "cluster.x-k8s.io/v1beta2": "v1beta1",
  "clusterctl.cluster.x-k8s.io": "",
};

/** As after `clusterctl init --control-plane talos` (CACPPT v0.5: contracts up to v1beta1). */
const CONTROL_PLANE_LABELS: Record<string, string> = {
  "cluster.x-k8s.io/provider": "control-plane-talos",
  "cluster.x-k8s.io/v1alpha3": "v1alpha3",
  "cluster.x-k8s.io/v1alpha4": "v1alpha3",
  "cluster.x-k8s.io/v1beta1": "v1alpha3",
  "clusterctl.cluster.x-k8s.io": "",
};

export const TALOS_BOOTSTRAP_SOURCE: CRDSource = {
  upstream: {
    repo: "siderolabs/cluster-api-bootstrap-provider-talos",
    branch: "v0.7.0-alpha.2",
    commit: "e21a01e06ee321cd1ae9b57ba6a45493eb492396",
    referenceDir: REFERENCE_DIR,
    upstreamDir: "config/crd/bases",
  },
  upstreamDir: join(REPO_ROOT, "../shared/reference/capi/crds", REFERENCE_DIR),
  outputDir: join(REPO_ROOT, "src/kinds/talos/crds/bootstrap"),
  files: ["bootstrap.cluster.x-k8s.io_talosconfigs.yaml", "bootstrap.cluster.x-k8s.io_talosconfigtemplates.yaml"],
  labels: BOOTSTRAP_LABELS,
  descriptions: BOOTSTRAP_DESCRIPTIONS,
};

export const TALOS_CONTROL_PLANE_SOURCE: CRDSource = {
  upstream: {
    repo: "siderolabs/cluster-api-control-plane-provider-talos",
    branch: "v0.5.12",
    commit: "97b33e78ff1091bd143db6c428b8ed53ec3e0931",
    referenceDir: REFERENCE_DIR,
    upstreamDir: "config/crd/bases",
  },
  upstreamDir: join(REPO_ROOT, "../shared/reference/capi/crds", REFERENCE_DIR),
  outputDir: join(REPO_ROOT, "src/kinds/talos/crds/controlplane"),
  files: ["controlplane.cluster.x-k8s.io_taloscontrolplanes.yaml"],
  labels: CONTROL_PLANE_LABELS,
  descriptions: CONTROL_PLANE_DESCRIPTIONS,
};
