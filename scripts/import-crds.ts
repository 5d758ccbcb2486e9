/**
 * One-time translation of the upstream Cluster API core CRDs (kubernetes-sigs/cluster-api
 * release-1.14, copies in ../shared/reference/capi/crds/cluster-api-release-1.14) into the
 * project's own schema files `src/kinds/capi/crds/<plural>.<group>.json`.
 *
 * Kept from upstream, exactly: names, scope, versions with their served/storage/deprecated flags and
 * deprecation warnings, subresources, printer columns (minus their descriptions) and the whole
 * `openAPIV3Schema` (types, formats, constraints, enums, defaults, patterns, x-kubernetes-*
 * extensions, validation rules and their messages). Dropped: every upstream `description` and
 * controller-gen's annotation. Added: our own short descriptions on each version's schema root,
 * `spec`, `status` and the first level of `spec` properties (OWN_DESCRIPTIONS below), the
 * bundled/upstream annotations, the labels a clusterctl-installed management cluster carries on
 * these CRDs, and `spec.conversion: {strategy: None}` (versions convert in-process).
 *
 * Other upstream projects are translated the same way, each described by a {@link CRDSource}
 * (upstream, files, output folder, labels, descriptions, documented schema extensions); every source
 * is listed in {@link CRD_SOURCES}.
 *
 * Run: `bun scripts/import-crds.ts` (writes the files of every source). `test/upstream/crd-drift.check.ts`
 * imports `transformCRD` to report drift between the committed files and the reference.
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { CAPMOX_SOURCE } from "../src/kinds/capmox/crds/source.ts";
import { IPAM_IN_CLUSTER_SOURCE } from "../src/kinds/ipam/crds/source.ts";
import { ADDONS_SOURCE, KUBEADM_BOOTSTRAP_SOURCE, KUBEADM_CONTROL_PLANE_SOURCE } from "../src/kinds/kubeadm/crds/source.ts";
import { TALOS_BOOTSTRAP_SOURCE, TALOS_CONTROL_PLANE_SOURCE } from "../src/kinds/talos/crds/source.ts";
import type { CRDObject, CRDVersion } from "../src/registry/crd/to-resource.ts";

export const REPO_ROOT = join(import.meta.dir, "..");

/** Where the upstream files come from (see src/kinds/capi/crds/SOURCES.md). */
export const UPSTREAM = {
  repo: "kubernetes-sigs/cluster-api",
  branch: "release-1.14",
  commit: "ba9e23ad247aac251eacb7bf2a11bd5d2ef64fcc",
  /** Folder of the copies under ../shared/reference/capi/crds. */
  referenceDir: "cluster-api-release-1.14",
  /** Path of the originals inside the upstream repository. */
  upstreamDir: "core/config/crd/bases",
} as const;

export const UPSTREAM_DIR = join(REPO_ROOT, "../shared/reference/capi/crds", UPSTREAM.referenceDir);
export const OUTPUT_DIR = join(REPO_ROOT, "src/kinds/capi/crds");

/** The upstream files translated, in the order they are listed in SOURCES.md. */
export const UPSTREAM_FILES = [
  "cluster.x-k8s.io_clusters.yaml",
  "cluster.x-k8s.io_machines.yaml",
  "cluster.x-k8s.io_machinesets.yaml",
  "cluster.x-k8s.io_machinedeployments.yaml",
  "cluster.x-k8s.io_machinehealthchecks.yaml",
  "ipam.cluster.x-k8s.io_ipaddresses.yaml",
  "ipam.cluster.x-k8s.io_ipaddressclaims.yaml",
] as const;

export const BUNDLED_ANNOTATION = "capx.dev/bundled";
export const UPSTREAM_ANNOTATION = "capx.dev/upstream";

/**
 * Labels on the CRDs. Upstream's `core/config/crd/kustomization.yaml` adds no contract labels to the
 * core CRDs (only the provider kustomizations — bootstrap/kubeadm, controlplane/kubeadm, CAPD — add
 * `cluster.x-k8s.io/v1beta1: v1beta1` and `cluster.x-k8s.io/v1beta2: v1beta2`); what a real
 * management cluster shows on them is `cluster.x-k8s.io/provider: cluster-api` (from
 * `core/config/default/kustomization.yaml`) and `clusterctl.cluster.x-k8s.io: ""` (added by
 * `clusterctl init`, `cmd/clusterctl/client/repository/components.go`; `clusterctl move` discovers
 * the types to move by that label).
 */
export const CRD_LABELS: Record<string, string> = {
  "cluster.x-k8s.io/provider": "cluster-api",
  "clusterctl.cluster.x-k8s.io": "",
};

export interface KindDescriptions {
  /** One sentence about the kind, on the root of every version's schema. */
  root: string;
  spec: string;
  status?: string;
  /** First-level `spec` properties; each must exist in at least one version. */
  specFields: Record<string, string>;
}

/** Our own descriptions (the upstream ones are not carried over). */
export const OWN_DESCRIPTIONS: Record<string, KindDescriptions> = {
  Cluster: {
    root: "A Kubernetes cluster managed by Cluster API: ties together its infrastructure, control plane and worker machines.",
    spec: "Desired state of the cluster.",
    status: "Observed state of the cluster, written by the Cluster controller.",
    specFields: {
      availabilityGates: "Extra conditions that must be true for the cluster to count as available.",
      clusterNetwork: "Pod and service networking of the workload cluster.",
      controlPlaneEndpoint: "Address (host and port) of the workload cluster's API server.",
      controlPlaneRef: "The object (e.g. a KubeadmControlPlane) that manages the control plane.",
      infrastructureRef: "The provider-specific infrastructure object (e.g. a ProxmoxCluster) of the cluster.",
      paused: "Stops reconciliation of the cluster and its objects while true.",
      topology: "Managed topology from a ClusterClass; the control plane and workers are then derived from it.",
    },
  },
  Machine: {
    root: "One node of a workload cluster: a bootstrap configuration plus a provider-specific infrastructure machine.",
    spec: "Desired state of the machine.",
    status: "Observed state of the machine, written by the Machine controller.",
    specFields: {
      bootstrap: "How the machine gets its bootstrap data: a config object or a ready-made data secret.",
      clusterName: "Name of the Cluster this machine belongs to.",
      deletion: "Timeouts applied while the machine is deleted (drain, volume detach, node deletion).",
      failureDomain: "Failure domain the machine should be placed in.",
      infrastructureRef: "The provider-specific infrastructure machine (e.g. a ProxmoxMachine) backing this machine.",
      minReadySeconds: "Seconds the node must be ready before the machine counts as available.",
      nodeDeletionTimeout: "How long to keep trying to delete the node before giving up.",
      nodeDrainTimeout: "Upper bound on the time spent draining the node.",
      nodeVolumeDetachTimeout: "Upper bound on the time spent waiting for volumes to detach.",
      providerID: "Identifier of the machine at the infrastructure provider; matches the node's spec.providerID.",
      readinessGates: "Extra conditions that must be true for the machine to count as ready.",
      taints: "Taints kept in sync on the machine's node.",
      version: "Kubernetes version the machine runs.",
    },
  },
  MachineSet: {
    root: "Keeps a given number of identical machines running from a machine template.",
    spec: "Desired state of the machine set.",
    status: "Observed state of the machine set, written by the MachineSet controller.",
    specFields: {
      clusterName: "Name of the Cluster the machines belong to.",
      deletePolicy: "Which machines go first when scaling down.",
      deletion: "Deletion behaviour, including which machines go first when scaling down.",
      machineNaming: "How the names of new machines are built.",
      machineNamingStrategy: "How the names of new machines are built.",
      minReadySeconds: "Seconds a machine's node must be ready before the machine counts as available.",
      replicas: "Number of machines wanted.",
      selector: "Label selector of the machines this set owns; must match the template's labels.",
      template: "Template of the machines the set creates.",
    },
  },
  MachineDeployment: {
    root: "Declarative updates for machines: rolls out changes through machine sets.",
    spec: "Desired state of the machine deployment.",
    status: "Observed state of the machine deployment, written by the MachineDeployment controller.",
    specFields: {
      clusterName: "Name of the Cluster the machines belong to.",
      deletion: "Deletion behaviour, including which machines go first when scaling down.",
      machineNaming: "How the names of new machines are built.",
      machineNamingStrategy: "How the names of new machines are built.",
      minReadySeconds: "Seconds a machine's node must be ready before the machine counts as available.",
      paused: "Stops rollouts while true.",
      progressDeadlineSeconds: "Seconds a rollout may make no progress before it is reported as stalled.",
      remediation: "Limits on remediating unhealthy machines.",
      replicas: "Number of machines wanted.",
      revisionHistoryLimit: "Number of old machine sets to keep.",
      rollout: "How and when changes roll out to the machines.",
      rolloutAfter: "Time after which all machines are replaced.",
      selector: "Label selector of the machines this deployment owns; must match the template's labels.",
      strategy: "How old machines are replaced by new ones.",
      template: "Template of the machines the deployment creates.",
    },
  },
  MachineHealthCheck: {
    root: "Checks the health of selected machines and triggers remediation of unhealthy ones.",
    spec: "Desired state of the health check.",
    status: "Observed state of the health check, written by the MachineHealthCheck controller.",
    specFields: {
      checks: "What makes a machine unhealthy: node startup timeout and node or machine conditions.",
      clusterName: "Name of the Cluster whose machines are checked.",
      maxUnhealthy: "Remediation stops when more machines than this are unhealthy.",
      nodeStartupTimeout: "How long a machine may run without a node before it counts as unhealthy.",
      remediation: "When and how unhealthy machines are remediated.",
      remediationTemplate: "Template of an external remediation object, used instead of deleting the machine.",
      selector: "Label selector of the machines to check.",
      unhealthyConditions: "Node conditions that make a machine unhealthy when held past their timeout.",
      unhealthyMachineConditions: "Machine conditions that make a machine unhealthy when held past their timeout.",
      unhealthyRange: "Remediation only happens while the number of unhealthy machines is in this range.",
    },
  },
  IPAddress: {
    root: "An IP address allocated from a pool to fulfil an IPAddressClaim.",
    spec: "The allocated address.",
    specFields: {
      address: "The IP address.",
      claimRef: "The IPAddressClaim this address was allocated for.",
      gateway: "Gateway of the network the address belongs to.",
      poolRef: "The pool the address was allocated from.",
      prefix: "Prefix length of the network.",
    },
  },
  IPAddressClaim: {
    root: "A request for an IP address from a pool, fulfilled by an IPAM provider with an IPAddress.",
    spec: "What is requested.",
    status: "The outcome of the claim, written by the IPAM provider.",
    specFields: {
      clusterName: "Name of the Cluster the claim belongs to.",
      poolRef: "The pool to allocate the address from.",
    },
  },
};

// --- schema walking -------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Removes `description` from every schema node (not from values such as `default` or `enum`, and
 * not a property that happens to be named `description`).
 */
export function stripSchemaDescriptions(node: unknown): void {
  if (!isObject(node)) return;
  delete node.description;
  if (isObject(node.externalDocs)) delete node.externalDocs.description;
  for (const key of ["properties", "patternProperties", "definitions"]) {
    const m = node[key];
    if (isObject(m)) for (const v of Object.values(m)) stripSchemaDescriptions(v);
  }
  const deps = node.dependencies;
  if (isObject(deps)) for (const v of Object.values(deps)) if (isObject(v)) stripSchemaDescriptions(v);
  for (const key of ["items", "additionalProperties", "additionalItems", "not"]) {
    const v = node[key];
    if (Array.isArray(v)) v.forEach(stripSchemaDescriptions);
    else stripSchemaDescriptions(v);
  }
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    const v = node[key];
    if (Array.isArray(v)) v.forEach(stripSchemaDescriptions);
  }
}

/** Removes every description (schemas and printer columns) from a CRD, in place. */
export function stripCRDDescriptions(crd: CRDObject): CRDObject {
  for (const v of crd.spec?.versions ?? []) {
    stripSchemaDescriptions(v.schema?.openAPIV3Schema);
    for (const c of v.additionalPrinterColumns ?? []) delete c.description;
  }
  return crd;
}

/** Recursively sorts object keys (arrays keep their order), for stable output. */
export function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeys) as T;
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = sortKeys(value[k]);
  return out as T;
}

// --- the transformation ---------------------------------------------------------------------------

/** Where one upstream project's CRDs come from and how they are made the project's own. */
export interface CRDSource {
  upstream: { repo: string; branch: string; commit: string; referenceDir: string; upstreamDir: string };
  /** Absolute path of the reference copies read by the script. */
  upstreamDir: string;
  /** Absolute path of the folder the JSON files are written to. */
  outputDir: string;
  /** Upstream file names, in the order SOURCES.md lists them. */
  files: readonly string[];
  labels: Record<string, string>;
  descriptions: Record<string, KindDescriptions>;
  /** The project's documented extensions of the upstream schema (applied after translation). */
  extend?(crd: CRDObject): void;
}

export const CAPI_SOURCE: CRDSource = {
  upstream: UPSTREAM,
  upstreamDir: UPSTREAM_DIR,
  outputDir: OUTPUT_DIR,
  files: UPSTREAM_FILES,
  labels: CRD_LABELS,
  descriptions: OWN_DESCRIPTIONS,
};

/** Every translated upstream project. */
export const CRD_SOURCES: CRDSource[] = [
  CAPI_SOURCE,
  KUBEADM_BOOTSTRAP_SOURCE,
  KUBEADM_CONTROL_PLANE_SOURCE,
  ADDONS_SOURCE,
  CAPMOX_SOURCE,
  IPAM_IN_CLUSTER_SOURCE,
  TALOS_BOOTSTRAP_SOURCE,
  TALOS_CONTROL_PLANE_SOURCE,
];

export function upstreamAnnotation(fileName: string, source: CRDSource = CAPI_SOURCE): string {
  return `${source.upstream.repo} ${source.upstream.branch} (${fileName})`;
}

export function outputFileName(crd: CRDObject): string {
  return `${crd.spec.names.plural}.${crd.spec.group}.json`;
}

function addOwnDescriptions(kind: string, version: CRDVersion, d: KindDescriptions): Set<string> {
  const used = new Set<string>();
  const root = version.schema?.openAPIV3Schema;
  if (!root) throw new Error(`${kind} ${version.name}: no openAPIV3Schema`);
  root.description = d.root;
  const spec = root.properties?.spec;
  if (spec) {
    spec.description = d.spec;
    for (const [name, prop] of Object.entries(spec.properties ?? {})) {
      const text = d.specFields[name];
      if (text === undefined) throw new Error(`${kind} ${version.name}: no description written for spec.${name}`);
      prop.description = text;
      used.add(name);
    }
  }
  const status = root.properties?.status;
  if (status) {
    if (!d.status) throw new Error(`${kind} ${version.name}: no description written for status`);
    status.description = d.status;
  }
  return used;
}

/**
 * The project's CRD for one upstream CRD (`fileName` is the upstream file's name, recorded in the
 * upstream annotation). Pure: `upstream` is not modified.
 */
export function transformCRD(upstream: CRDObject, fileName: string, source: CRDSource = CAPI_SOURCE): CRDObject {
  const src = structuredClone(upstream);
  const kind = src.spec.names.kind;
  const d = source.descriptions[kind];
  if (!d) throw new Error(`no descriptions written for kind ${kind} (${fileName})`);
  const { conversion: _upstreamConversion, ...specRest } = src.spec;
  const used = new Set<string>();
  const versions = src.spec.versions.map((v) => {
    const out = structuredClone(v);
    stripSchemaDescriptions(out.schema?.openAPIV3Schema);
    for (const c of out.additionalPrinterColumns ?? []) delete c.description;
    for (const n of addOwnDescriptions(kind, out, d)) used.add(n);
    return out;
  });
  const unused = Object.keys(d.specFields).filter((n) => !used.has(n));
  if (unused.length) throw new Error(`${kind}: descriptions for spec fields that no version has: ${unused.join(", ")}`);
  const crd: CRDObject = {
    apiVersion: src.apiVersion,
    kind: src.kind,
    metadata: {
      name: src.metadata.name,
      labels: { ...source.labels },
      annotations: { [BUNDLED_ANNOTATION]: "true", [UPSTREAM_ANNOTATION]: upstreamAnnotation(fileName, source) },
    },
    spec: { ...specRest, versions, conversion: { strategy: "None" } },
  };
  if (crd.apiVersion !== "apiextensions.k8s.io/v1" || crd.kind !== "CustomResourceDefinition") {
    throw new Error(`${fileName}: not an apiextensions.k8s.io/v1 CustomResourceDefinition`);
  }
  source.extend?.(crd);
  return sortKeys(crd);
}

/** Parses one upstream YAML file, which must hold exactly one CRD. */
export function readUpstreamCRD(path: string): CRDObject {
  const docs = parseAllDocuments(readFileSync(path, "utf8"));
  const objs: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${path}: ${doc.errors[0]!.message}`);
    const v = doc.toJSON() as Json;
    if (v !== null && v !== undefined) objs.push(v);
  }
  if (objs.length !== 1) throw new Error(`${path}: expected one document, found ${objs.length}`);
  return objs[0] as CRDObject;
}

/**
 * The file contents written for a CRD: compact JSON (keys sorted) with a final newline — the
 * daemon imports every bundled CRD at start, and the indentation alone was two thirds of 1.5 MB
 * to parse (about 8 ms of the cold start). `jq . FILE` shows one readably.
 */
export function renderCRD(crd: CRDObject): string {
  return `${JSON.stringify(sortKeys(crd))}\n`;
}

/** Every upstream file of a source translated: output file name → CRD. */
export function importAll(source: CRDSource = CAPI_SOURCE, dir = source.upstreamDir): Map<string, CRDObject> {
  const out = new Map<string, CRDObject>();
  for (const f of source.files) {
    const crd = transformCRD(readUpstreamCRD(join(dir, f)), f, source);
    out.set(outputFileName(crd), crd);
  }
  return out;
}

if (import.meta.main) {
  for (const source of CRD_SOURCES) {
    mkdirSync(source.outputDir, { recursive: true });
    for (const [name, crd] of importAll(source)) {
      const text = renderCRD(crd);
      writeFileSync(join(source.outputDir, name), text);
      console.log(`wrote ${relative(REPO_ROOT, join(source.outputDir, name))} (${text.length} bytes)`);
    }
  }
}
