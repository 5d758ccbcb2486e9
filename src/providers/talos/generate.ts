/**
 * Talos machine-config generation for version contracts 1.11 .. 1.15, the way
 * `talosctl gen config` / CABPT generate it (comments disabled): from a secrets bundle, cluster
 * name, control-plane endpoint, Kubernetes version and options, one set of YAML documents per
 * machine type. Contracts <= 1.13 put everything into the v1alpha1 document (plus
 * RegistryMirrorConfig / HostnameConfig documents from 1.12); from 1.14 Kubernetes, discovery,
 * resolver, volume, install and sysctl settings live in documents of their own.
 *
 * The result is a list of plain objects (documents) in upstream order; `encodeDocuments` in
 * yaml.ts turns it into the YAML text.
 * @module
 */
import { atLeast, type Contract } from "./contract.ts";
import type { SecretsBundle } from "./secrets.ts";
import { cloneData } from "../../lib/clone.ts";

export type MachineType = "controlplane" | "worker";

export interface GenerateInput {
  bundle: SecretsBundle;
  clusterName: string;
  /** Control-plane endpoint URL, e.g. `https://10.0.0.10:6443`. */
  endpoint: string;
  /** Kubernetes version with or without the leading `v`. */
  kubernetesVersion: string;
  contract: Contract;
  type: MachineType;
  /** Extra SANs for the Talos API and (control plane) the Kubernetes API server certificates. */
  additionalSANs?: string[];
  /** Kubernetes DNS domain; default `cluster.local`. */
  dnsDomain?: string;
  /** Default 10.244.0.0/16. */
  podSubnets?: string[];
  /** Default 10.96.0.0/12. */
  serviceSubnets?: string[];
  /** Install disk path, e.g. `/dev/vda`. */
  installDisk?: string;
  /** Extra kernel arguments for the installer (contracts <= 1.13; later contracts boot UKIs and drop them). */
  kernelArgs?: string[];
  /** Port the local kube-apiserver listens on (control plane only). */
  localAPIServerPort?: number;
  sysctls?: Record<string, string>;
  /** URL of a custom CNI manifest (CNI name `custom`); default is Talos' flannel. */
  cniUrl?: string;
  /** Registry host -> mirror endpoint URLs. */
  registryMirrors?: Record<string, string[]>;
  allowSchedulingOnControlPlanes?: boolean;
}

export class GenerateError extends Error {}

export type ConfigDocument = Record<string, unknown>;

const DEFAULT_POD_SUBNETS = ["10.244.0.0/16"];
const DEFAULT_SERVICE_SUBNETS = ["10.96.0.0/12"];
const KUBEPRISM_PORT = 7445;
const DISCOVERY_ENDPOINT = "https://discovery.talos.dev/";
const FLANNEL_BACKEND = "vxlan";
const FLANNEL_PORT = 4789;
const LB_EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers";
const CP_ROLE_LABEL = "node-role.kubernetes.io/control-plane";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** The admission configuration Talos generates for the PodSecurity plugin. */
function podSecurityConfiguration(): Record<string, unknown> {
  return {
    apiVersion: "pod-security.admission.config.k8s.io/v1alpha1",
    defaults: {
      audit: "restricted",
      "audit-version": "latest",
      enforce: "baseline",
      "enforce-version": "latest",
      warn: "restricted",
      "warn-version": "latest",
    },
    exemptions: { namespaces: ["kube-system"], runtimeClasses: [], usernames: [] },
    kind: "PodSecurityConfiguration",
  };
}

function auditPolicy(): Record<string, unknown> {
  return { apiVersion: "audit.k8s.io/v1", kind: "Policy", rules: [{ level: "Metadata" }] };
}

interface Resolved {
  in: GenerateInput;
  k8s: string;
  endpointHost: string;
  cp: boolean;
  sans: string[];
  dnsDomain: string;
  podSubnets: string[];
  serviceSubnets: string[];
}

function resolve(input: GenerateInput): Resolved {
  if (!input.clusterName) throw new GenerateError("cluster name is required");
  let url: URL;
  try {
    url = new URL(input.endpoint);
  } catch {
    throw new GenerateError(`invalid control-plane endpoint ${JSON.stringify(input.endpoint)} (want https://HOST:PORT)`);
  }
  if (url.protocol !== "https:") throw new GenerateError(`control-plane endpoint ${JSON.stringify(input.endpoint)} must be https://`);
  const k8s = input.kubernetesVersion.replace(/^v/, "");
  if (!/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/.test(k8s)) {
    throw new GenerateError(`invalid Kubernetes version ${JSON.stringify(input.kubernetesVersion)} (want 1.MINOR.PATCH)`);
  }
  if (input.type !== "controlplane" && input.type !== "worker") {
    throw new GenerateError(`unknown machine type ${JSON.stringify(input.type)} (controlplane or worker)`);
  }
  if (input.localAPIServerPort !== undefined && !(Number.isInteger(input.localAPIServerPort) && input.localAPIServerPort > 0 && input.localAPIServerPort < 65536)) {
    throw new GenerateError(`invalid local API server port ${input.localAPIServerPort}`);
  }
  return {
    in: input,
    k8s,
    endpointHost: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    cp: input.type === "controlplane",
    sans: [...(input.additionalSANs ?? [])],
    dnsDomain: input.dnsDomain || "cluster.local",
    podSubnets: input.podSubnets?.length ? [...input.podSubnets] : [...DEFAULT_POD_SUBNETS],
    serviceSubnets: input.serviceSubnets?.length ? [...input.serviceSubnets] : [...DEFAULT_SERVICE_SUBNETS],
  };
}

const images = (k8s: string) => ({
  kubelet: `ghcr.io/siderolabs/kubelet:v${k8s}`,
  apiServer: `registry.k8s.io/kube-apiserver:v${k8s}`,
  controllerManager: `registry.k8s.io/kube-controller-manager:v${k8s}`,
  scheduler: `registry.k8s.io/kube-scheduler:v${k8s}`,
  proxy: `registry.k8s.io/kube-proxy:v${k8s}`,
});

function machineCA(r: Resolved): Record<string, string> {
  const os = r.in.bundle.certs.os;
  return { crt: b64(os.crt), key: r.cp ? b64(os.key) : "" };
}

function registryMirrorDocs(r: Resolved): ConfigDocument[] {
  return Object.entries(r.in.registryMirrors ?? {}).map(([name, urls]) => ({
    apiVersion: "v1alpha1",
    kind: "RegistryMirrorConfig",
    name,
    endpoints: urls.map((url) => ({ url })),
  }));
}

const hostnameDoc = (): ConfigDocument => ({ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" });

/** Contracts 1.11 .. 1.13: the single v1alpha1 document (+ mirrors and hostname from 1.12). */
function generateLegacy(r: Resolved): ConfigDocument[] {
  const c = r.in.contract;
  const img = images(r.k8s);
  const bundle = r.in.bundle;
  const v112 = atLeast(c, 1, 12);

  const machine: Record<string, unknown> = {
    type: r.in.type,
    token: bundle.trustdInfo.token,
    ca: machineCA(r),
    certSANs: [...r.sans],
    kubelet: { image: img.kubelet, defaultRuntimeSeccompProfileEnabled: true, disableManifestsDirectory: true },
  };
  if (!atLeast(c, 1, 13)) machine.network = {};
  const install: Record<string, unknown> = {};
  if (r.in.installDisk) install.disk = r.in.installDisk;
  if (r.in.kernelArgs?.length) install.extraKernelArgs = [...r.in.kernelArgs];
  install.wipe = false;
  if (v112) install.grubUseUKICmdline = true;
  machine.install = install;
  if (r.in.sysctls && Object.keys(r.in.sysctls).length) machine.sysctls = { ...r.in.sysctls };
  const mirrors = Object.entries(r.in.registryMirrors ?? {});
  if (!v112 && mirrors.length) {
    machine.registries = { mirrors: Object.fromEntries(mirrors.map(([host, urls]) => [host, { endpoints: [...urls] }])) };
  }
  const features: Record<string, unknown> = {};
  if (!v112) Object.assign(features, { rbac: true, stableHostname: true, apidCheckExtKeyUsage: true });
  Object.assign(features, {
    diskQuotaSupport: true,
    kubePrism: { enabled: true, port: KUBEPRISM_PORT },
    hostDNS: { enabled: true, forwardKubeDNSToHost: true },
  });
  machine.features = features;
  if (r.cp) machine.nodeLabels = { [LB_EXCLUDE_LABEL]: "" };

  const controlPlane: Record<string, unknown> = { endpoint: r.in.endpoint };
  if (r.cp && r.in.localAPIServerPort) controlPlane.localAPIServerPort = r.in.localAPIServerPort;
  const network: Record<string, unknown> = {};
  if (r.in.cniUrl) network.cni = { name: "custom", urls: [r.in.cniUrl] };
  Object.assign(network, { dnsDomain: r.dnsDomain, podSubnets: [...r.podSubnets], serviceSubnets: [...r.serviceSubnets] });

  const cluster: Record<string, unknown> = {
    id: bundle.cluster.id,
    secret: bundle.cluster.secret,
    controlPlane,
    clusterName: r.in.clusterName,
    network,
    token: bundle.secrets.bootstrapToken,
  };
  if (r.cp) {
    if (bundle.secrets.aescbcEncryptionSecret) cluster.aescbcEncryptionSecret = bundle.secrets.aescbcEncryptionSecret;
    if (bundle.secrets.secretboxEncryptionSecret) cluster.secretboxEncryptionSecret = bundle.secrets.secretboxEncryptionSecret;
  }
  cluster.ca = { crt: b64(bundle.certs.k8s.crt), key: r.cp ? b64(bundle.certs.k8s.key) : "" };
  if (r.cp) {
    cluster.aggregatorCA = { crt: b64(bundle.certs.k8sAggregator.crt), key: b64(bundle.certs.k8sAggregator.key) };
    cluster.serviceAccount = { key: b64(bundle.certs.k8sServiceAccount.key) };
    const apiServer: Record<string, unknown> = { image: img.apiServer };
    // Up to contract 1.11 the endpoint's host leads the list (as upstream: no de-duplication).
    const apiSANs = v112 ? [...r.sans] : [r.endpointHost, ...r.sans];
    if (apiSANs.length) apiServer.certSANs = apiSANs;
    if (!v112) apiServer.disablePodSecurityPolicy = true;
    apiServer.admissionControl = [{ name: "PodSecurity", configuration: podSecurityConfiguration() }];
    apiServer.auditPolicy = auditPolicy();
    cluster.apiServer = apiServer;
    cluster.controllerManager = { image: img.controllerManager };
    cluster.proxy = { image: img.proxy };
    cluster.scheduler = { image: img.scheduler };
  }
  cluster.discovery = { enabled: true, registries: { kubernetes: { disabled: true }, service: {} } };
  if (r.cp) {
    cluster.etcd = { ca: { crt: b64(bundle.certs.etcd.crt), key: b64(bundle.certs.etcd.key) } };
    if (r.in.allowSchedulingOnControlPlanes) cluster.allowSchedulingOnControlPlanes = true;
  }

  const docs: ConfigDocument[] = [{ version: "v1alpha1", debug: false, persist: true, machine, cluster }];
  if (v112) docs.push(...registryMirrorDocs(r), hostnameDoc());
  return docs;
}

/** Contracts >= 1.14: the multi-document form. */
function generateMultidoc(r: Resolved): ConfigDocument[] {
  const img = images(r.k8s);
  const bundle = r.in.bundle;
  const doc = (kind: string, body: Record<string, unknown>): ConfigDocument => ({ apiVersion: "v1alpha1", kind, ...body });

  const cluster: Record<string, unknown> = { token: bundle.secrets.bootstrapToken };
  if (r.cp) cluster.etcd = { ca: { crt: b64(bundle.certs.etcd.crt), key: b64(bundle.certs.etcd.key) } };
  const docs: ConfigDocument[] = [
    {
      version: "v1alpha1",
      debug: false,
      persist: true,
      machine: { type: r.in.type, token: bundle.trustdInfo.token, ca: machineCA(r), certSANs: [...r.sans], features: { diskQuotaSupport: true } },
      cluster,
    },
    doc("DiscoveryServiceConfig", { name: "default", endpoint: DISCOVERY_ENDPOINT }),
    doc("DiscoveryIdentityConfig", { clusterID: bundle.cluster.id, clusterSecret: bundle.cluster.secret }),
  ];
  if (r.in.installDisk) {
    docs.push(
      doc("UnattendedInstallConfig", {
        installer: {},
        provisioning: { diskSelector: { match: `disk.dev_path == ${JSON.stringify(r.in.installDisk)}` }, wipe: false },
      }),
    );
  }
  docs.push(doc("ResolverConfig", { hostDNS: { enabled: true, forwardKubeDNSToHost: true } }));
  if (r.in.sysctls && Object.keys(r.in.sysctls).length) docs.push(doc("SysctlConfig", { params: { ...r.in.sysctls } }));
  docs.push(
    doc("VolumeConfig", { name: "EPHEMERAL", mount: { secure: true } }),
    doc("FilesystemTrimConfig", { interval: "168h0m0s" }),
    doc("SecurityProfileConfig", { workloadIsolation: true }),
    ...registryMirrorDocs(r),
    hostnameDoc(),
    doc("KubeClusterConfig", { clusterName: r.in.clusterName, endpoint: r.in.endpoint }),
  );
  const node: Record<string, unknown> = { nodeIP: {} };
  if (r.cp) {
    node.labels = { [CP_ROLE_LABEL]: "", [LB_EXCLUDE_LABEL]: "" };
    if (!r.in.allowSchedulingOnControlPlanes) node.taints = { [CP_ROLE_LABEL]: "NoSchedule" };
  }
  docs.push(
    doc("KubeNodeConfig", node),
    doc("KubeletConfig", { image: img.kubelet, config: {}, defaultRuntimeSeccompProfileEnabled: true }),
    doc("KubeNetworkConfig", { dnsDomain: r.dnsDomain, podSubnets: [...r.podSubnets], serviceSubnets: [...r.serviceSubnets] }),
    r.cp
      ? doc("KubeAPIServerCAConfig", { issuingCA: { cert: bundle.certs.k8s.crt, key: bundle.certs.k8s.key } })
      : doc("KubeAPIServerCAConfig", { acceptedCAs: [bundle.certs.k8s.crt] }),
    doc("KubePrismConfig", { port: KUBEPRISM_PORT }),
  );
  if (!r.cp) return docs;

  const providers: Record<string, unknown>[] = [];
  if (bundle.secrets.secretboxEncryptionSecret) {
    providers.push({ secretbox: { keys: [{ name: "key2", secret: bundle.secrets.secretboxEncryptionSecret }] } });
  }
  if (bundle.secrets.aescbcEncryptionSecret) {
    providers.push({ aescbc: { keys: [{ name: "key1", secret: bundle.secrets.aescbcEncryptionSecret }] } });
  }
  const apiServer: Record<string, unknown> = { image: img.apiServer };
  if (r.in.localAPIServerPort) apiServer.apiPort = r.in.localAPIServerPort;
  if (r.sans.length) apiServer.certExtraSANs = [...r.sans];
  docs.push(
    doc("KubeAggregatorCAConfig", { issuingCA: { cert: bundle.certs.k8sAggregator.crt, key: bundle.certs.k8sAggregator.key } }),
    doc("KubeAdmissionControlConfig", { name: "PodSecurity", configuration: podSecurityConfiguration() }),
    doc("KubeAuditPolicyConfig", { configuration: auditPolicy() }),
    doc("KubeAuthenticationConfig", {
      configuration: {
        anonymous: { conditions: [{ path: "/livez" }, { path: "/readyz" }, { path: "/healthz" }], enabled: true },
        jwt: [],
      },
    }),
    doc("KubeAuthorizerConfig", { name: "node", type: "Node" }),
    doc("KubeAuthorizerConfig", { name: "rbac", type: "RBAC" }),
    doc("KubeEtcdEncryptionConfig", { config: { resources: [{ providers, resources: ["secrets"] }] } }),
    doc("KubeServiceAccountConfig", { issuer: { privateKey: bundle.certs.k8sServiceAccount.key, issuerURL: r.in.endpoint } }),
    doc("KubeAPIServerConfig", apiServer),
    doc("KubeControllerManagerConfig", { image: img.controllerManager }),
    doc("KubeSchedulerConfig", { image: img.scheduler, config: {} }),
    doc("KubeProxyConfig", { image: img.proxy, config: {} }),
  );
  if (!r.in.cniUrl) docs.push(doc("KubeFlannelCNIConfig", { backendType: FLANNEL_BACKEND, backendPort: FLANNEL_PORT }));
  docs.push(doc("KubeCoreDNSConfig", { enabled: true }));
  if (r.in.cniUrl) docs.push(doc("KubeExternalManifestConfig", { name: "custom-cni", url: r.in.cniUrl }));
  return docs;
}

/** Generates the machine configuration documents for one machine type. */
export function generateMachineConfig(input: GenerateInput): ConfigDocument[] {
  const r = resolve(input);
  return atLeast(input.contract, 1, 14) ? generateMultidoc(r) : generateLegacy(r);
}

/**
 * Sets a static hostname the way CABPT does for the contract: from 1.12 a `HostnameConfig`
 * document `{auto: off, hostname}` (replacing `auto: stable`), before that
 * `machine.network.hostname` in the v1alpha1 document. Returns new documents.
 */
export function withStaticHostname(docs: ConfigDocument[], contract: Contract, hostname: string): ConfigDocument[] {
  const out = cloneData(docs);
  if (atLeast(contract, 1, 12)) {
    const rest = out.filter((d) => !(d.apiVersion === "v1alpha1" && d.kind === "HostnameConfig"));
    const at = out.findIndex((d) => d.apiVersion === "v1alpha1" && d.kind === "HostnameConfig");
    const doc: ConfigDocument = { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off", hostname };
    if (at < 0) return [...rest, doc];
    rest.splice(at, 0, doc);
    return rest;
  }
  const v1 = out.find((d) => d.version === "v1alpha1" && d.kind === undefined);
  if (!v1) throw new GenerateError("no v1alpha1 document to set the hostname in");
  const machine = (v1.machine ??= {}) as Record<string, unknown>;
  const network = (machine.network ??= {}) as Record<string, unknown>;
  network.hostname = hostname;
  return out;
}
