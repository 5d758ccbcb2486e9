/**
 * kubeadm's own configuration documents from a KubeadmConfig's (v1beta2) `clusterConfiguration`,
 * `initConfiguration` and `joinConfiguration`, in the kubeadm API version the Machine's Kubernetes
 * version reads (upstream `bootstrap/kubeadm/pkg/types/utils.go`): v1beta3 from 1.22, v1beta4 from
 * 1.31 (pre-releases compared as their release); older versions are refused. Field mapping as the
 * upstream conversions (`upstreamv1beta3|4/conversion.go`): extraArgs lists become maps in v1beta3,
 * `*Seconds` become durations, v1beta3 carries the control-plane health-check timeout as
 * `apiServer.timeoutForControlPlane` and the TLS bootstrap timeout as `discovery.timeout`.
 * Output as Go's YAML serializer writes it: keys sorted, struct fields without omitempty always
 * present (`taints: null`, `apiServer: {}`, ...).
 * @module
 */
import { stringify } from "yaml";

export type KubeadmApiVersion = "kubeadm.k8s.io/v1beta3" | "kubeadm.k8s.io/v1beta4";

type Obj = Record<string, unknown>;
interface Arg {
  name: string;
  value: string;
}
interface Component {
  extraArgs?: Arg[];
  extraVolumes?: Obj[];
  extraEnvs?: Obj[];
  certSANs?: string[];
}
interface Timeouts {
  controlPlaneComponentHealthCheckSeconds?: number;
  kubeletHealthCheckSeconds?: number;
  kubernetesAPICallSeconds?: number;
  etcdAPICallSeconds?: number;
  tlsBootstrapSeconds?: number;
  discoverySeconds?: number;
}
export interface NodeRegistration {
  name?: string;
  criSocket?: string;
  taints?: Obj[];
  kubeletExtraArgs?: Arg[];
  ignorePreflightErrors?: string[];
  imagePullPolicy?: string;
  imagePullSerial?: boolean;
}
export interface ClusterConfiguration {
  etcd?: { local?: Obj & { extraArgs?: Arg[] }; external?: Obj };
  controlPlaneEndpoint?: string;
  apiServer?: Component;
  controllerManager?: Component;
  scheduler?: Component;
  dns?: { imageRepository?: string; imageTag?: string };
  certificatesDir?: string;
  imageRepository?: string;
  featureGates?: Record<string, boolean>;
  encryptionAlgorithm?: string;
  certificateValidityPeriodDays?: number;
  caCertificateValidityPeriodDays?: number;
}
export interface InitConfiguration {
  bootstrapTokens?: (Obj & { ttlSeconds?: number })[];
  nodeRegistration?: NodeRegistration;
  localAPIEndpoint?: { advertiseAddress?: string; bindPort?: number };
  skipPhases?: string[];
  patches?: { directory?: string };
  timeouts?: Timeouts;
}
export interface BootstrapTokenDiscovery {
  apiServerEndpoint?: string;
  token?: string;
  caCertHashes?: string[];
  unsafeSkipCAVerification?: boolean;
}
export interface JoinConfiguration {
  nodeRegistration?: NodeRegistration;
  caCertPath?: string;
  discovery?: { bootstrapToken?: BootstrapTokenDiscovery; file?: { kubeConfigPath?: string; kubeConfig?: Obj }; tlsBootstrapToken?: string };
  controlPlane?: { localAPIEndpoint?: { advertiseAddress?: string; bindPort?: number } };
  skipPhases?: string[];
  patches?: { directory?: string };
  timeouts?: Timeouts;
}

/** What CABPK adds to the ClusterConfiguration from the Cluster and Machine (`upstream.AdditionalData`). */
export interface AdditionalData {
  clusterName?: string;
  kubernetesVersion?: string;
  dnsDomain?: string;
  serviceSubnet?: string;
  podSubnet?: string;
  controlPlaneComponentHealthCheckSeconds?: number;
}

export class KubeadmVersionError extends Error {}

/** Major, minor, patch of a (tolerantly parsed: `v` prefix, missing parts) Kubernetes version. */
export function parseVersion(v: string): [number, number, number] {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?$/.exec(v.trim());
  if (!m) throw new KubeadmVersionError(`failed to parse kubernetes version "${v}"`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

export function kubeadmApiVersion(kubernetesVersion: string): KubeadmApiVersion {
  const [major, minor] = parseVersion(kubernetesVersion);
  const at = (a: number, b: number) => major > a || (major === a && minor >= b);
  if (!at(1, 22)) throw new KubeadmVersionError("the bootstrap provider for kubeadm doesn't support Kubernetes version lower than v1.22.0");
  return at(1, 31) ? "kubeadm.k8s.io/v1beta4" : "kubeadm.k8s.io/v1beta3";
}

/** Go's time.Duration text of whole seconds (`50s`, `4m0s`, `87600h0m0s`). */
export function goDuration(seconds: number): string {
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Drops undefined, empty strings/lists/maps and false (Go's omitempty), keeping the listed keys. */
function omitEmpty(o: Obj, keep: string[] = []): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    if (keep.includes(k)) {
      out[k] = v === undefined ? null : v;
      continue;
    }
    if (v === undefined || v === null || v === "" || v === false || v === 0) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === "object" && !Array.isArray(v) && Object.keys(v as Obj).length === 0 && !STRUCT.has(v as Obj)) continue;
    out[k] = v;
  }
  return out;
}

/** Objects standing for Go struct values (not pointers): emitted even when empty. */
const STRUCT = new WeakSet<Obj>();
function struct(o: Obj): Obj {
  STRUCT.add(o);
  return o;
}

function argsMap(args: Arg[] | undefined): Record<string, string> | undefined {
  if (!args?.length) return undefined;
  const out: Record<string, string> = {};
  for (const a of args) out[a.name] = a.value;
  return out;
}

function args(v: KubeadmApiVersion, list: Arg[] | undefined): unknown {
  if (v === "kubeadm.k8s.io/v1beta3") return argsMap(list);
  return list?.map((a) => ({ name: a.name, value: a.value }));
}

function volumes(list: Obj[] | undefined): Obj[] | undefined {
  return list?.map((m) => omitEmpty({ name: m.name ?? "", hostPath: m.hostPath ?? "", mountPath: m.mountPath ?? "", readOnly: m.readOnly, pathType: m.pathType }, ["name", "hostPath", "mountPath"]));
}

function component(v: KubeadmApiVersion, c: Component | undefined, extra: Obj = {}): Obj {
  return struct(
    omitEmpty({
      extraArgs: args(v, c?.extraArgs),
      extraVolumes: volumes(c?.extraVolumes),
      ...(v === "kubeadm.k8s.io/v1beta4" ? { extraEnvs: c?.extraEnvs } : {}),
      ...extra,
    }),
  );
}

function etcd(v: KubeadmApiVersion, e: ClusterConfiguration["etcd"]): Obj {
  const out: Obj = {};
  const local = e?.local;
  if (local && Object.keys(local).length) {
    out.local = omitEmpty(
      {
        imageRepository: local.imageRepository,
        imageTag: local.imageTag,
        dataDir: local.dataDir ?? "",
        extraArgs: args(v, local.extraArgs),
        ...(v === "kubeadm.k8s.io/v1beta4" ? { extraEnvs: local.extraEnvs } : {}),
        serverCertSANs: local.serverCertSANs,
        peerCertSANs: local.peerCertSANs,
      },
      ["dataDir"],
    );
  }
  const ext = e?.external;
  if (ext && Object.keys(ext).length) {
    out.external = { endpoints: ext.endpoints ?? null, caFile: ext.caFile ?? "", certFile: ext.certFile ?? "", keyFile: ext.keyFile ?? "" };
  }
  return struct(out);
}

function nodeRegistration(v: KubeadmApiVersion, n: NodeRegistration | undefined): Obj {
  return struct(
    omitEmpty(
      {
        name: n?.name,
        criSocket: n?.criSocket,
        taints: n?.taints ? n.taints.map((t) => omitEmpty({ key: t.key ?? "", value: t.value, effect: t.effect ?? "", timeAdded: t.timeAdded }, ["key", "effect"])) : null,
        kubeletExtraArgs: args(v, n?.kubeletExtraArgs),
        ignorePreflightErrors: n?.ignorePreflightErrors,
        imagePullPolicy: n?.imagePullPolicy,
        ...(v === "kubeadm.k8s.io/v1beta4" ? { imagePullSerial: n?.imagePullSerial } : {}),
      },
      // A *bool: false is written when set.
      v === "kubeadm.k8s.io/v1beta4" && n?.imagePullSerial !== undefined ? ["taints", "imagePullSerial"] : ["taints"],
    ),
  );
}

function timeouts(t: Timeouts | undefined): Obj | undefined {
  if (!t) return undefined;
  const d = (s: number | undefined) => (s === undefined ? undefined : goDuration(s));
  const out = omitEmpty({
    controlPlaneComponentHealthCheck: d(t.controlPlaneComponentHealthCheckSeconds),
    kubeletHealthCheck: d(t.kubeletHealthCheckSeconds),
    kubernetesAPICall: d(t.kubernetesAPICallSeconds),
    etcdAPICall: d(t.etcdAPICallSeconds),
    tlsBootstrap: d(t.tlsBootstrapSeconds),
    discovery: d(t.discoverySeconds),
  });
  return Object.keys(out).length ? out : undefined;
}

function patches(p: { directory?: string } | undefined): Obj | undefined {
  return p?.directory ? { directory: p.directory } : undefined;
}

function endpoint(e: { advertiseAddress?: string; bindPort?: number } | undefined): Obj {
  return struct(omitEmpty({ advertiseAddress: e?.advertiseAddress, bindPort: e?.bindPort }));
}

/** As sigs.k8s.io/yaml writes it: keys sorted, sequences not indented under their key. */
export function toYaml(o: Obj): string {
  return stringify(o, { sortMapEntries: true, indentSeq: false, lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false });
}

export function clusterConfigurationYaml(cc: ClusterConfiguration | undefined, kubernetesVersion: string, data: AdditionalData): string {
  const v = kubeadmApiVersion(kubernetesVersion);
  const c = cc ?? {};
  const v4 = v === "kubeadm.k8s.io/v1beta4";
  const days = (n: number | undefined) => (n ? goDuration(n * 24 * 3600) : undefined);
  const timeoutForControlPlane = !v4 && data.controlPlaneComponentHealthCheckSeconds !== undefined ? { timeoutForControlPlane: goDuration(data.controlPlaneComponentHealthCheckSeconds) } : {};
  const out = omitEmpty({
    apiVersion: v,
    kind: "ClusterConfiguration",
    etcd: etcd(v, c.etcd),
    networking: struct(omitEmpty({ serviceSubnet: data.serviceSubnet, podSubnet: data.podSubnet, dnsDomain: data.dnsDomain })),
    kubernetesVersion: data.kubernetesVersion,
    controlPlaneEndpoint: c.controlPlaneEndpoint,
    apiServer: component(v, c.apiServer, { certSANs: c.apiServer?.certSANs, ...timeoutForControlPlane }),
    controllerManager: component(v, c.controllerManager),
    scheduler: component(v, c.scheduler),
    dns: struct(omitEmpty({ imageRepository: c.dns?.imageRepository, imageTag: c.dns?.imageTag })),
    ...(v4 ? { proxy: struct({}) } : {}),
    certificatesDir: c.certificatesDir,
    imageRepository: c.imageRepository,
    featureGates: c.featureGates && Object.keys(c.featureGates).length ? c.featureGates : undefined,
    clusterName: data.clusterName,
    ...(v4
      ? {
          encryptionAlgorithm: c.encryptionAlgorithm,
          certificateValidityPeriod: days(c.certificateValidityPeriodDays),
          caCertificateValidityPeriod: days(c.caCertificateValidityPeriodDays),
        }
      : {}),
  });
  return toYaml(out);
}

export function initConfigurationYaml(ic: InitConfiguration | undefined, kubernetesVersion: string): string {
  const v = kubeadmApiVersion(kubernetesVersion);
  const c = ic ?? {};
  const out = omitEmpty({
    apiVersion: v,
    kind: "InitConfiguration",
    bootstrapTokens: c.bootstrapTokens?.map((t) =>
      omitEmpty(
        {
          token: t.token || null,
          description: t.description,
          ttl: t.ttlSeconds === undefined ? undefined : goDuration(t.ttlSeconds),
          expires: t.expires,
          usages: t.usages,
          groups: t.groups,
        },
        ["token"],
      ),
    ),
    nodeRegistration: nodeRegistration(v, c.nodeRegistration),
    localAPIEndpoint: endpoint(c.localAPIEndpoint),
    skipPhases: c.skipPhases,
    patches: patches(c.patches),
    ...(v === "kubeadm.k8s.io/v1beta4" ? { timeouts: timeouts(c.timeouts) } : {}),
  });
  return toYaml(out);
}

export function joinConfigurationYaml(jc: JoinConfiguration | undefined, kubernetesVersion: string): string {
  const v = kubeadmApiVersion(kubernetesVersion);
  const c = jc ?? {};
  const v4 = v === "kubeadm.k8s.io/v1beta4";
  const bt = c.discovery?.bootstrapToken;
  const file = c.discovery?.file;
  const discovery = struct(
    omitEmpty({
      bootstrapToken:
        bt && Object.values(bt).some((x) => x !== undefined)
          ? omitEmpty({ token: bt.token ?? "", apiServerEndpoint: bt.apiServerEndpoint, caCertHashes: bt.caCertHashes, unsafeSkipCAVerification: bt.unsafeSkipCAVerification }, ["token"])
          : undefined,
      file: file && (file.kubeConfigPath || file.kubeConfig) ? { kubeConfigPath: file.kubeConfigPath ?? "" } : undefined,
      tlsBootstrapToken: c.discovery?.tlsBootstrapToken,
      ...(!v4 && c.timeouts?.tlsBootstrapSeconds !== undefined ? { timeout: goDuration(c.timeouts.tlsBootstrapSeconds) } : {}),
    }),
  );
  const out = omitEmpty(
    {
      apiVersion: v,
      kind: "JoinConfiguration",
      nodeRegistration: nodeRegistration(v, c.nodeRegistration),
      caCertPath: c.caCertPath,
      discovery,
      controlPlane: c.controlPlane ? struct({ ...omitEmpty({ localAPIEndpoint: endpoint(c.controlPlane.localAPIEndpoint) }) }) : undefined,
      skipPhases: c.skipPhases,
      patches: patches(c.patches),
      ...(v4 ? { timeouts: timeouts(c.timeouts) } : {}),
    },
    ["discovery"],
  );
  return toYaml(out);
}
