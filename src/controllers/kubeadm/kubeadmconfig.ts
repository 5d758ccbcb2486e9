/**
 * The KubeadmConfig controller (CABPK's role, upstream
 * `bootstrap/kubeadm/reconcilers/kubeadmconfig/kubeadmconfig_controller.go`). For a KubeadmConfig
 * owned by a Machine, once the Cluster's infrastructure is provisioned:
 * - while the control plane is not initialized, the one control-plane Machine holding the init lock
 *   (`<cluster>-lock`) gets `kubeadm init` data with the cluster certificates (generated once when
 *   no control-plane provider manages them); every other Machine waits;
 * - afterwards control-plane Machines get `kubeadm join --control-plane` data with the
 *   certificates, workers plain join data; both discover the cluster with a bootstrap token this
 *   controller creates in the workload cluster (kept in `joinConfiguration.discovery.bootstrapToken`
 *   with the CA hashes and the API endpoint, as upstream) and refreshes until the Machine has a Node.
 * The cloud-config goes into Secret `<config name>` (keys `value`, `format`), owned by the
 * KubeadmConfig; written once. `format: ignition` is not supported: a clear condition says so.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { bootstrapTokenSecretData, EXPIRATION_KEY, generateBootstrapToken, rfc3339, tokenSecretName } from "../../providers/kubeadm/bootstrap-token.ts";
import { caCertHashes, certificateFiles, type ClusterCertificates, type EncryptionAlgorithm } from "../../providers/kubeadm/certificates.ts";
import { initControlPlaneCloudConfig, joinControlPlaneCloudConfig, nodeCloudConfig, type DiskSetup, type NTP } from "../../providers/kubeadm/cloud-init.ts";
import {
  clusterConfigurationYaml,
  initConfigurationYaml,
  joinConfigurationYaml,
  KubeadmVersionError,
  type AdditionalData,
  type ClusterConfiguration,
  type InitConfiguration,
  type JoinConfiguration,
} from "../../providers/kubeadm/kubeadm-api.ts";
import type { Client } from "../../runtime/client.ts";
import { Controller, type ReconcileContext, type Request, type Result } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import { CAPI_GROUP, CAPI_VERSION, CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL, clusterInfrastructureProvisioned, endpointValid, isPaused, ownerOfKind } from "../core/contract.ts";
import { clusterControlPlaneInitialized } from "../core/machine-api.ts";
import { CertificateError, CLUSTER_SECRET_TYPE, CONTROL_PLANE_PURPOSES, ensureAllExist, lookupCertificates, lookupOrGenerateCertificates } from "./cluster-certificates.ts";
import { acquireInitLock, releaseInitLock } from "./init-lock.ts";
import { discoveryKubeconfigFile, InputError, resolveFiles, resolveUsers, type DiscoveryKubeConfig, type SpecFile, type SpecUser } from "./inputs.ts";
import { certificatesAvailable, certificatesFailed, dataSecretAvailable, dataSecretNotAvailable, summarizeReady } from "./status.ts";
import { WorkloadSecretError, type WorkloadSecretAccess, type WorkloadSecretClient } from "./workload-secrets.ts";
import { cloneData } from "../../lib/clone.ts";

export const BOOTSTRAP_GROUP = "bootstrap.cluster.x-k8s.io";
export const KUBEADMCONFIG_VERSION = `${BOOTSTRAP_GROUP}/v1beta2`;
/** Upstream DefaultTokenTTL. */
export const DEFAULT_TOKEN_TTL_MS = 15 * 60 * 1000;

export interface KubeadmConfigSpec {
  clusterConfiguration?: ClusterConfiguration;
  initConfiguration?: InitConfiguration;
  joinConfiguration?: JoinConfiguration & { discovery?: { file?: { kubeConfigPath?: string; kubeConfig?: DiscoveryKubeConfig } } };
  files?: SpecFile[];
  users?: SpecUser[];
  ntp?: NTP;
  diskSetup?: DiskSetup;
  mounts?: string[][];
  bootCommands?: string[];
  preKubeadmCommands?: string[];
  postKubeadmCommands?: string[];
  verbosity?: number;
  format?: string;
}

interface KubeadmConfigStatus {
  dataSecretName?: string;
  initialization?: { dataSecretCreated?: boolean };
  observedGeneration?: number;
}

export interface KubeadmConfigControllerOptions {
  workloads: WorkloadSecretAccess;
  /** How long a Machine waits before checking again (upstream 30s; tests shorter). */
  requeueMs?: number;
  /** Bootstrap token TTL (upstream 15m): refreshed when less than 5/6 of it is left, checked every third. */
  tokenTtlMs?: number;
}

interface Scope {
  client: Client;
  recorder: EventRecorder;
  opts: Required<KubeadmConfigControllerOptions>;
  cfg: KObject;
  spec: KubeadmConfigSpec;
  status: KubeadmConfigStatus;
  machine: KObject;
  cluster: KObject;
  ctx: ReconcileContext;
}

export function setupKubeadmConfigController(m: Manager, options: KubeadmConfigControllerOptions): Controller | undefined {
  const configs = m.informers.forKind(KUBEADMCONFIG_VERSION, "KubeadmConfig");
  if (!configs) return undefined;
  const client = m.client("kubeadmconfig-controller");
  const recorder = m.recorder("kubeadmconfig-controller");
  const opts = { requeueMs: 30_000, tokenTtlMs: DEFAULT_TOKEN_TTL_MS, ...options };
  const c = new Controller("kubeadmconfig", (req, ctx) => reconcile(client, recorder, opts, req, ctx), 2);
  c.watchFor(configs);
  const configOf = (o: KObject) => {
    const ref = (o.spec as { bootstrap?: { configRef?: { apiGroup?: string; kind?: string; name?: string } } } | undefined)?.bootstrap?.configRef;
    return ref?.kind === "KubeadmConfig" && ref.apiGroup === BOOTSTRAP_GROUP && ref.name ? [{ namespace: o.metadata.namespace, name: ref.name }] : [];
  };
  const machines = m.informers.forKind(CAPI_VERSION, "Machine");
  if (machines) c.watchMapped(machines, configOf);
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (clusters) {
    c.watchMapped(clusters, (o) =>
      client.listShared(CAPI_VERSION, "Machine", o.metadata.namespace, { labelSelector: `${CLUSTER_NAME_LABEL}=${o.metadata.name}` }).flatMap((mm) => configOf(mm as KObject)),
    );
  }
  m.add(c);
  return c;
}


function isControlPlaneMachine(machine: KObject): boolean {
  return CONTROL_PLANE_LABEL in (machine.metadata.labels ?? {});
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function reconcile(client: Client, recorder: EventRecorder, opts: Required<KubeadmConfigControllerOptions>, req: Request, ctx: ReconcileContext): Promise<Result | void> {
  const current = client.get({ apiVersion: KUBEADMCONFIG_VERSION, kind: "KubeadmConfig", namespace: req.namespace, name: req.name });
  if (!current || current.metadata.deletionTimestamp) return;
  const ns = current.metadata.namespace!;
  const ownerRef = ownerOfKind(current, "Machine", CAPI_GROUP);
  if (!ownerRef) return;
  const machine = client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: ns, name: ownerRef.name });
  if (!machine) return;
  const clusterName = (machine.spec as { clusterName?: string }).clusterName ?? machine.metadata.labels?.[CLUSTER_NAME_LABEL];
  const cluster = clusterName ? client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: ns, name: clusterName }) : undefined;
  if (!cluster) {
    ctx.log.debug({ cluster: clusterName }, "Cluster does not exist yet, waiting until it is created");
    return;
  }
  if (isPaused(cluster, current)) return;

  const cfg = cloneData(current);
  const s: Scope = {
    client,
    recorder,
    opts,
    cfg,
    spec: (cfg.spec ??= {}) as KubeadmConfigSpec,
    status: (cfg.status ??= {}) as KubeadmConfigStatus,
    machine,
    cluster,
    ctx,
  };
  let ok = false;
  try {
    const r = await reconcileConfig(s);
    ok = true;
    return r;
  } finally {
    summarizeReady(cfg);
    if (ok) s.status.observedGeneration = cfg.metadata.generation;
    await patchObject(client, current, cfg);
  }
}

async function reconcileConfig(s: Scope): Promise<Result | void> {
  await ensureBootstrapSecretOwner(s);
  const machineDataSecret = (s.machine.spec as { bootstrap?: { dataSecretName?: string } }).bootstrap?.dataSecretName;
  if (!clusterInfrastructureProvisioned(s.cluster)) {
    dataSecretNotAvailable(s.cfg, "Waiting for Cluster status.infrastructureReady to be true", "WaitingForClusterInfrastructure", "Info");
    return;
  }
  if (machineDataSecret && (!s.status.initialization?.dataSecretCreated || !s.status.dataSecretName)) {
    // Bootstrap data provided by the user on the Machine.
    s.status.initialization = { dataSecretCreated: true };
    s.status.dataSecretName = machineDataSecret;
    dataSecretAvailable(s.cfg);
    certificatesAvailable(s.cfg);
    return;
  }
  if (s.status.initialization?.dataSecretCreated) {
    dataSecretAvailable(s.cfg);
    certificatesAvailable(s.cfg);
    const bt = s.spec.joinConfiguration?.discovery?.bootstrapToken;
    const hasNode = Boolean((s.machine.status as { nodeRef?: { name?: string } } | undefined)?.nodeRef?.name);
    if (bt && Object.values(bt).some((v) => v !== undefined) && !hasNode) return refreshBootstrapToken(s);
    return;
  }
  if (s.spec.format === "ignition") {
    const msg = "format ignition is not supported by this appliance (the KubeadmBootstrapFormatIgnition feature is off): use format cloud-config";
    dataSecretNotAvailable(s.cfg, msg, "DataSecretGenerationFailed");
    s.recorder.warning(s.cfg, "DataSecretGenerationFailed", msg);
    return;
  }
  if (!clusterControlPlaneInitialized(s.cluster)) return handleClusterNotInitialized(s);
  await releaseInitLock(s.client, s.cluster);
  return isControlPlaneMachine(s.machine) ? joinControlPlane(s) : joinWorker(s);
}

/** Adopts an existing bootstrap data Secret of this config's name (ensureBootstrapSecretOwnersRef). */
async function ensureBootstrapSecretOwner(s: Scope): Promise<void> {
  const ns = s.cfg.metadata.namespace!;
  const secret = s.client.get({ apiVersion: "v1", kind: "Secret", namespace: ns, name: s.cfg.metadata.name! });
  if (!secret) return;
  const refs = secret.metadata.ownerReferences ?? [];
  if (refs.some((r) => r.uid === s.cfg.metadata.uid && r.controller && r.kind === "KubeadmConfig")) return;
  const other = refs.find((r) => r.controller);
  if (other && other.kind !== "KubeadmConfig") {
    throw new Error(`could not add KubeadmConfig ${s.cfg.metadata.name} as ownerReference to bootstrap Secret ${secret.metadata.name}, it is already controlled by ${other.kind} ${other.name}`);
  }
  const next = [...refs.filter((r) => !(r.kind === "KubeadmConfig" && r.name === s.cfg.metadata.name)), configOwnerRef(s.cfg)];
  await s.client.patch({ apiVersion: "v1", kind: "Secret", namespace: ns, name: secret.metadata.name! }, "merge", {
    metadata: { ownerReferences: next, resourceVersion: secret.metadata.resourceVersion },
  });
}

function configOwnerRef(cfg: KObject) {
  return { apiVersion: KUBEADMCONFIG_VERSION, kind: "KubeadmConfig", name: cfg.metadata.name!, uid: cfg.metadata.uid!, controller: true };
}

function machineVersion(s: Scope): string {
  return (s.machine.spec as { version?: string }).version ?? "";
}

/** Generation failures that retrying will not fix by itself: a condition says why, then retry with backoff. */
function failGeneration(s: Scope, e: unknown): never {
  const msg = errorMessage(e);
  if (e instanceof InputError) dataSecretNotAvailable(s.cfg, msg.startsWith("failed to resolve passwd") ? "Failed to read password from secrets for spec.users" : `Failed to prepare spec.files: ${msg}`, "DataSecretGenerationFailed");
  else dataSecretNotAvailable(s.cfg, msg, "DataSecretGenerationFailed");
  throw e;
}

function baseInput(s: Scope) {
  let files;
  let users;
  try {
    files = resolveFiles(s.client, s.cfg, s.cluster, s.spec.files);
    users = resolveUsers(s.client, s.cfg, s.spec.users);
  } catch (e) {
    failGeneration(s, e);
  }
  return {
    additionalFiles: files,
    users,
    ntp: s.spec.ntp && (s.spec.ntp.enabled !== undefined || s.spec.ntp.servers?.length) ? s.spec.ntp : undefined,
    diskSetup: s.spec.diskSetup && (s.spec.diskSetup.partitions?.length || s.spec.diskSetup.filesystems?.length) ? s.spec.diskSetup : undefined,
    mounts: s.spec.mounts,
    bootCommands: s.spec.bootCommands,
    preKubeadmCommands: s.spec.preKubeadmCommands,
    postKubeadmCommands: s.spec.postKubeadmCommands,
    verbosity: s.spec.verbosity,
  };
}

function endpointString(cluster: KObject): string | undefined {
  const ep = (cluster.spec as { controlPlaneEndpoint?: { host?: string; port?: number } } | undefined)?.controlPlaneEndpoint;
  if (!endpointValid(ep)) return undefined;
  return `${ep!.host!.includes(":") ? `[${ep!.host}]` : ep!.host}:${ep!.port}`;
}

/** What CABPK fills into the ClusterConfiguration (computeClusterConfigurationAndAdditionalData). */
function additionalData(s: Scope): AdditionalData {
  const cc = (s.spec.clusterConfiguration ??= {});
  const ep = endpointString(s.cluster);
  if (!cc.controlPlaneEndpoint && ep) cc.controlPlaneEndpoint = ep;
  const net = (s.cluster.spec as { clusterNetwork?: { pods?: { cidrBlocks?: string[] }; services?: { cidrBlocks?: string[] }; serviceDomain?: string } }).clusterNetwork;
  const version = machineVersion(s);
  const health = s.spec.initConfiguration?.timeouts?.controlPlaneComponentHealthCheckSeconds;
  return {
    clusterName: s.cluster.metadata.name,
    ...(net?.serviceDomain ? { dnsDomain: net.serviceDomain } : {}),
    ...(net?.services?.cidrBlocks?.length ? { serviceSubnet: net.services.cidrBlocks.join(",") } : {}),
    ...(net?.pods?.cidrBlocks?.length ? { podSubnet: net.pods.cidrBlocks.join(",") } : {}),
    ...(version ? { kubernetesVersion: version } : {}),
    ...(health !== undefined ? { controlPlaneComponentHealthCheckSeconds: health } : {}),
  };
}

async function handleClusterNotInitialized(s: Scope): Promise<Result | void> {
  if (!s.cfg.status || !(s.cfg.status as { conditions?: { type: string }[] }).conditions?.some((c) => c.type === "DataSecretAvailable")) {
    dataSecretNotAvailable(s.cfg, "Waiting for Cluster control plane to be initialized", "WaitingForControlPlaneAvailable", "Info");
  }
  if (!isControlPlaneMachine(s.machine)) return { requeueAfter: s.opts.requeueMs };
  if (!(await acquireInitLock(s.client, s.cluster, s.machine))) return { requeueAfter: s.opts.requeueMs };
  try {
    s.ctx.log.info({}, "Creating BootstrapData for the first control plane");
    const version = machineVersion(s);
    let clusterData: string;
    let initData: string;
    try {
      // As upstream, the endpoint filled in here is kept in the spec.
      const data = additionalData(s);
      clusterData = clusterConfigurationYaml(s.spec.clusterConfiguration, version, data);
      initData = initConfigurationYaml(s.spec.initConfiguration, version);
    } catch (e) {
      if (e instanceof KubeadmVersionError) failGeneration(s, e);
      throw e;
    }
    const cc = s.spec.clusterConfiguration ?? {};
    let certs: ClusterCertificates;
    try {
      const hasControlPlane = Boolean((s.cluster.spec as { controlPlaneRef?: { name?: string } }).controlPlaneRef?.name);
      certs = hasControlPlane
        ? lookupCertificates(s.client, s.cluster.metadata.namespace!, s.cluster.metadata.name!, CONTROL_PLANE_PURPOSES)
        : await lookupOrGenerateCertificates(s.client, s.cluster, s.cfg, { algorithm: cc.encryptionAlgorithm as EncryptionAlgorithm | undefined, validityDays: cc.caCertificateValidityPeriodDays });
    } catch (e) {
      certificatesFailed(s.cfg, errorMessage(e));
      throw e;
    }
    certificatesAvailable(s.cfg);
    const userData = initControlPlaneCloudConfig({
      ...baseInput(s),
      certificateFiles: certificateFiles(certs, cc.certificatesDir),
      clusterConfiguration: clusterData,
      initConfiguration: initData,
    });
    await storeBootstrapData(s, userData);
  } catch (e) {
    await releaseInitLock(s.client, s.cluster);
    throw e;
  }
}

async function joinWorker(s: Scope): Promise<Result | void> {
  s.ctx.log.info({}, "Creating BootstrapData for the worker node");
  const certs = lookupCertificatesOrFail(s, ["ca"]);
  const wait = await reconcileDiscovery(s, certs);
  if (wait) return wait;
  const jc = cloneData(s.spec.joinConfiguration ?? {});
  const nr = (jc.nodeRegistration ??= {});
  if (!(nr.taints ?? []).some((t) => t.key === "node.cluster.x-k8s.io/uninitialized" && t.effect === "NoSchedule")) {
    nr.taints = [...(nr.taints ?? []), { key: "node.cluster.x-k8s.io/uninitialized", effect: "NoSchedule" }];
  }
  let joinData: string;
  try {
    joinData = joinConfigurationYaml(jc, machineVersion(s));
    if (s.spec.joinConfiguration?.controlPlane) throw new InputError("Machine is a Worker, but JoinConfiguration.ControlPlane is set in the KubeadmConfig object");
  } catch (e) {
    failGeneration(s, e);
  }
  const base = baseInput(s);
  const userData = nodeCloudConfig({ ...base, additionalFiles: [...(base.additionalFiles ?? []), ...discoveryFile(s)], joinConfiguration: joinData });
  await storeBootstrapData(s, userData);
  return { requeueAfter: s.opts.tokenTtlMs / 3 };
}

async function joinControlPlane(s: Scope): Promise<Result | void> {
  s.ctx.log.info({}, "Creating BootstrapData for the joining control plane");
  const jcSpec = (s.spec.joinConfiguration ??= {});
  jcSpec.controlPlane ??= {};
  const certs = lookupCertificatesOrFail(s, CONTROL_PLANE_PURPOSES);
  const wait = await reconcileDiscovery(s, certs);
  if (wait) return wait;
  let joinData: string;
  try {
    joinData = joinConfigurationYaml(s.spec.joinConfiguration, machineVersion(s));
  } catch (e) {
    failGeneration(s, e);
  }
  const base = baseInput(s);
  const userData = joinControlPlaneCloudConfig({
    ...base,
    additionalFiles: [...(base.additionalFiles ?? []), ...discoveryFile(s)],
    certificateFiles: certificateFiles(certs, s.spec.clusterConfiguration?.certificatesDir),
    joinConfiguration: joinData,
  });
  await storeBootstrapData(s, userData);
  return { requeueAfter: s.opts.tokenTtlMs / 3 };
}

function lookupCertificatesOrFail(s: Scope, purposes: typeof CONTROL_PLANE_PURPOSES): ClusterCertificates {
  try {
    const certs = lookupCertificates(s.client, s.cluster.metadata.namespace!, s.cluster.metadata.name!, purposes);
    ensureAllExist(certs, purposes);
    certificatesAvailable(s.cfg);
    return certs;
  } catch (e) {
    if (e instanceof CertificateError) certificatesFailed(s.cfg, errorMessage(e));
    throw e;
  }
}

function discoveryFile(s: Scope) {
  const file = s.spec.joinConfiguration?.discovery?.file;
  if (!file?.kubeConfig || !Object.keys(file.kubeConfig).length) return [];
  return [discoveryKubeconfigFile(file.kubeConfigPath ?? "", file.kubeConfig)];
}

/**
 * Fills the join discovery (reconcileDiscovery): for file discovery the kubeconfig's server and CA;
 * for token discovery the CA hashes, the API endpoint and a new bootstrap token in the workload
 * cluster. Writes them into the spec (saved with the config). A Result means "not yet".
 */
async function reconcileDiscovery(s: Scope, certs: ClusterCertificates): Promise<Result | undefined> {
  const jc = (s.spec.joinConfiguration ??= {});
  const discovery = (jc.discovery ??= {});
  const file = discovery.file;
  if (file && (file.kubeConfigPath || file.kubeConfig)) {
    const kc = file.kubeConfig;
    if (!kc || !Object.keys(kc).length) return undefined;
    const cluster = (kc.cluster ??= {});
    if (!cluster.server) {
      const ep = endpointString(s.cluster);
      if (!ep) return { requeueAfter: 10_000 };
      cluster.server = `https://${ep}`;
    }
    if (!cluster.certificateAuthorityData) {
      if (!certs.ca?.cert) throw new Error("failed to retrieve Cluster CA");
      cluster.certificateAuthorityData = Buffer.from(certs.ca.cert).toString("base64");
    }
    return undefined;
  }
  const bt = (discovery.bootstrapToken ??= {});
  if (!bt.caCertHashes?.length) bt.caCertHashes = caCertHashes(certs.ca!.cert);
  if (!bt.apiServerEndpoint) {
    const ep = endpointString(s.cluster);
    if (!ep) return { requeueAfter: 10_000 };
    bt.apiServerEndpoint = ep;
  }
  if (!bt.token) {
    const remote = await workloadClient(s);
    if (!remote) return { requeueAfter: s.opts.requeueMs };
    try {
      bt.token = await createToken(remote, s.opts.tokenTtlMs);
    } catch (e) {
      if (e instanceof WorkloadSecretError) throw e;
      s.ctx.log.info({ err: errorMessage(e) }, "workload cluster not reachable to create the bootstrap token; retrying");
      return { requeueAfter: s.opts.requeueMs };
    }
  }
  if (!bt.caCertHashes?.length) bt.unsafeSkipCAVerification = true;
  return undefined;
}

async function workloadClient(s: Scope): Promise<WorkloadSecretClient | undefined> {
  const remote = await s.opts.workloads.forCluster(s.cluster.metadata.namespace!, s.cluster.metadata.name!);
  if (!remote) s.ctx.log.info({}, "no kubeconfig for the workload cluster yet; waiting to manage bootstrap tokens");
  return remote;
}

async function createToken(remote: WorkloadSecretClient, ttlMs: number): Promise<string> {
  const token = generateBootstrapToken();
  const data = bootstrapTokenSecretData(token, new Date(Date.now() + ttlMs));
  await remote.create({
    apiVersion: "v1",
    kind: "Secret",
    type: "bootstrap.kubernetes.io/token",
    metadata: { name: tokenSecretName(token)!, namespace: "kube-system" },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
  } as KObject);
  return token;
}

/** Pushes the token's expiration out while the Machine has no Node (refreshBootstrapTokenIfNeeded). */
async function refreshBootstrapToken(s: Scope): Promise<Result | void> {
  const ttl = s.opts.tokenTtlMs;
  const token = s.spec.joinConfiguration?.discovery?.bootstrapToken?.token ?? "";
  const name = tokenSecretName(token);
  if (!name) throw new Error(`the bootstrap token "${token}" was not of the form "[a-z0-9]{6}.[a-z0-9]{16}"`);
  const remote = await workloadClient(s);
  if (!remote) return { requeueAfter: s.opts.requeueMs };
  try {
    const secret = await remote.get("kube-system", name);
    if (!secret) throw new WorkloadSecretError(404, `failed to get bootstrap token secret in order to refresh it: secrets "${name}" not found`);
    const data = (secret.data ?? {}) as Record<string, string>;
    const current = data[EXPIRATION_KEY] ? Buffer.from(data[EXPIRATION_KEY]!, "base64").toString() : "";
    if (current) {
      const expires = Date.parse(current);
      if (Number.isNaN(expires)) throw new Error(`can't parse expiration time of bootstrap token: ${current}`);
      if (expires > Date.now() + (ttl * 5) / 6) return { requeueAfter: ttl / 3 };
    }
    const next = rfc3339(new Date(Date.now() + ttl));
    s.ctx.log.info({ oldExpiration: current, newExpiration: next }, "Refreshing token until the infrastructure has a chance to consume it");
    await remote.update({ ...secret, data: { ...data, [EXPIRATION_KEY]: Buffer.from(next).toString("base64") } });
    return { requeueAfter: ttl / 3 };
  } catch (e) {
    if (e instanceof WorkloadSecretError) throw e;
    s.ctx.log.info({ err: errorMessage(e) }, "workload cluster not reachable to refresh the bootstrap token; retrying");
    return { requeueAfter: s.opts.requeueMs };
  }
}

/** Writes Secret `<config name>` (value, format: cloud-config) owned by the config, and the status. */
async function storeBootstrapData(s: Scope, data: string): Promise<void> {
  const ns = s.cfg.metadata.namespace!;
  const name = s.cfg.metadata.name!;
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    type: CLUSTER_SECRET_TYPE,
    metadata: { name, namespace: ns, labels: { [CLUSTER_NAME_LABEL]: s.cluster.metadata.name! }, ownerReferences: [configOwnerRef(s.cfg)] },
    data: { value: Buffer.from(data).toString("base64"), format: Buffer.from(s.spec.format || "cloud-config").toString("base64") },
  } as KObject;
  try {
    await s.client.create(secret);
  } catch (e) {
    if ((e as { code?: number }).code !== 409) throw e;
    const existing = s.client.get({ apiVersion: "v1", kind: "Secret", namespace: ns, name });
    if (!existing) throw e;
    await s.client.update({ ...secret, metadata: { ...existing.metadata, ...secret.metadata, resourceVersion: existing.metadata.resourceVersion } });
  }
  s.status.dataSecretName = name;
  s.status.initialization = { dataSecretCreated: true };
  dataSecretAvailable(s.cfg);
  s.recorder.normal(s.cfg, "BootstrapDataGenerated", `bootstrap data (${isControlPlaneMachine(s.machine) ? "control plane" : "worker"} cloud-config) written to Secret ${name}`);
}
