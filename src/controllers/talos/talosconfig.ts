/**
 * The TalosConfig controller (CABPT's role): for a TalosConfig owned by a Machine, once the
 * Cluster's infrastructure is provisioned, make sure the cluster's secrets exist (bundle, CA,
 * talosconfig — see cluster-secrets.ts), generate the machine config for the Machine's Kubernetes
 * version and the TalosConfig's `talosVersion` (empty → the default contract, with an Event asking
 * to pin it), apply `configPatches` then `strategicPatches`, set the hostname (the Machine name, or
 * the infrastructure machine's name with `hostname.source: InfrastructureName`), add the fixed
 * Talos API name to `machine.certSANs`, and write `<machine>-bootstrap-data` (key `value`). Status
 * (v1beta1 hub): `dataSecretName`, `initialization.dataSecretCreated` (v1alpha3 `ready` by
 * conversion), a `DataSecretAvailable` condition and its deprecated v1beta1 twin.
 *
 * Bootstrap data are written once (as CABPT): later spec changes do not rewrite them — machines are
 * replaced instead (the control-plane controller rolls them).
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { buildBootstrapData } from "../../providers/talos/bootstrap-data.ts";
import { ContractError, DEFAULT_CONTRACT, contractString, parseContract } from "../../providers/talos/contract.ts";
import { GenerateError, type ConfigDocument } from "../../providers/talos/generate.ts";
import { PatchError, type JsonPatchOperation } from "../../providers/talos/patch.ts";
import { SecretsBundleError } from "../../providers/talos/secrets.ts";
import { encodeDocuments, YamlDocumentError } from "../../providers/talos/yaml.ts";
import type { Client } from "../../runtime/client.ts";
import { setCondition } from "../../runtime/conditions.ts";
import { Controller, type ReconcileContext, type Request, type Result } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import { CAPI_GROUP, CAPI_VERSION, CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL, clusterInfrastructureProvisioned, endpointValid, isPaused, ownerOfKind, ownerRefTo } from "../core/contract.ts";
import { ensureClusterCA, ensureSecretsBundle, ensureTalosconfig, storedSecretsBundle, syncTalosconfigEndpoints } from "./cluster-secrets.ts";
import { b64, BOOTSTRAP_GROUP, getSecret, isConflictOrExists, SECRET_TYPE, talosApiServerName, TALOSCONFIG_VERSION, upsertLegacyCondition, type LegacyCondition } from "./common.ts";
import { cloneData } from "../../lib/clone.ts";

export const DATA_SECRET_AVAILABLE = "DataSecretAvailable";

export interface TalosConfigSpec {
  generateType?: string;
  talosVersion?: string;
  data?: string;
  configPatches?: JsonPatchOperation[];
  strategicPatches?: string[];
  hostname?: { source?: string };
}

interface TalosConfigStatus {
  dataSecretName?: string;
  initialization?: { dataSecretCreated?: boolean };
  observedGeneration?: number;
  deprecated?: { v1beta?: { conditions?: LegacyCondition[]; failureReason?: string; failureMessage?: string } };
}

export interface TalosConfigControllerOptions {
  requeueMs?: number;
}

export function setupTalosConfigController(m: Manager, opts: TalosConfigControllerOptions = {}): Controller | undefined {
  const configs = m.informers.forKind(TALOSCONFIG_VERSION, "TalosConfig");
  if (!configs) return undefined;
  const client = m.client("talosconfig-controller");
  const recorder = m.recorder("talosconfig-controller");
  const requeueMs = opts.requeueMs ?? 10_000;
  const c = new Controller("talosconfig", (req, ctx) => reconcile(client, recorder, requeueMs, req, ctx), 2);
  c.watchFor(configs);
  const machines = m.informers.forKind(CAPI_VERSION, "Machine");
  if (machines) {
    c.watchMapped(machines, (o) => {
      const ref = (o.spec as { bootstrap?: { configRef?: { apiGroup?: string; kind?: string; name?: string } } } | undefined)?.bootstrap?.configRef;
      const mine = ref?.kind === "TalosConfig" && ref.apiGroup === BOOTSTRAP_GROUP && ref.name ? [{ namespace: o.metadata.namespace, name: ref.name }] : [];
      // Also on address changes: a control-plane Machine's TalosConfig refreshes the talosconfig endpoints.
      return mine;
    });
  }
  const clusters = m.informers.forKind(CAPI_VERSION, "Cluster");
  if (clusters) {
    c.watchMapped(clusters, (o) =>
      client
        .listShared(TALOSCONFIG_VERSION, "TalosConfig", o.metadata.namespace, { labelSelector: `${CLUSTER_NAME_LABEL}=${o.metadata.name}` })
        .filter((tc) => !(tc.status as TalosConfigStatus | undefined)?.dataSecretName)
        .map((tc) => ({ namespace: tc.metadata.namespace, name: tc.metadata.name! })),
    );
  }
  m.add(c);
  return c;
}

function setAvailable(tc: KObject, status: "True" | "False", reason: string, message = ""): void {
  setCondition(tc, { type: DATA_SECRET_AVAILABLE, status, reason, message });
  setCondition(tc, { type: "Ready", status, reason, message });
  const st = (tc.status ??= {}) as TalosConfigStatus;
  const v1beta = ((st.deprecated ??= {}).v1beta ??= {});
  const legacy: Omit<LegacyCondition, "lastTransitionTime"> = { type: DATA_SECRET_AVAILABLE, status, reason, message, severity: status === "True" ? "" : reason.endsWith("Failed") ? "Error" : "Info" };
  v1beta.conditions = upsertLegacyCondition(upsertLegacyCondition(v1beta.conditions, legacy), { ...legacy, type: "Ready" });
}


function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Adds `name` to the v1alpha1 document's `machine.certSANs` (returns new documents). */
export function withCertSAN(docs: ConfigDocument[], name: string): ConfigDocument[] {
  const out = cloneData(docs);
  const v1 = out.find((d) => d.version === "v1alpha1" && d.kind === undefined);
  if (!v1) return out;
  const machine = (v1.machine ??= {}) as { certSANs?: string[] };
  const sans = machine.certSANs ?? [];
  if (!sans.includes(name)) machine.certSANs = [...sans, name];
  return out;
}

async function reconcile(client: Client, recorder: EventRecorder, requeueMs: number, req: Request, ctx: ReconcileContext): Promise<Result | void> {
  const current = client.get({ apiVersion: TALOSCONFIG_VERSION, kind: "TalosConfig", namespace: req.namespace, name: req.name });
  if (!current || current.metadata.deletionTimestamp) return;
  const ns = current.metadata.namespace!;
  const ownerRef = ownerOfKind(current, "Machine", CAPI_GROUP);
  if (!ownerRef) {
    ctx.log.debug({}, "waiting for the owner Machine");
    return;
  }
  const machine = client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: ns, name: ownerRef.name });
  if (!machine) return;
  const clusterName = (machine.spec as { clusterName?: string }).clusterName ?? machine.metadata.labels?.[CLUSTER_NAME_LABEL];
  if (!clusterName) return;
  const cluster = client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: ns, name: clusterName });
  if (!cluster) {
    ctx.log.debug({ cluster: clusterName }, "waiting for the Cluster");
    return { requeueAfter: requeueMs };
  }
  if (isPaused(cluster, current)) return;

  const tc = cloneData(current);
  const status = (tc.status ??= {}) as TalosConfigStatus;
  const spec = (tc.spec ?? {}) as TalosConfigSpec;
  const save = async () => {
    status.observedGeneration = tc.metadata.generation;
    await patchObject(client, current, tc);
  };
  if (!tc.metadata.labels?.[CLUSTER_NAME_LABEL]) (tc.metadata.labels ??= {})[CLUSTER_NAME_LABEL] = clusterName;

  // Already written: keep the shared talosconfig endpoints current, nothing else.
  if (status.dataSecretName && client.getCachedMetadata({ apiVersion: "v1", kind: "Secret", namespace: ns, name: status.dataSecretName })) {
    if (machine.metadata.labels && CONTROL_PLANE_LABEL in machine.metadata.labels) {
      await syncTalosconfigEndpoints(client, cluster, () => storedSecretsBundle(client, cluster));
    }
    if (!status.initialization?.dataSecretCreated) {
      status.initialization = { dataSecretCreated: true };
      setAvailable(tc, "True", "Available");
      await save();
    }
    return;
  }

  if (!clusterInfrastructureProvisioned(cluster)) {
    setAvailable(tc, "False", "WaitingForClusterInfrastructure", "waiting for the cluster infrastructure to be provisioned");
    await save();
    return;
  }
  const ep = (cluster.spec as { controlPlaneEndpoint?: { host?: string; port?: number } }).controlPlaneEndpoint;
  if (!endpointValid(ep)) {
    setAvailable(tc, "False", "WaitingForControlPlaneEndpoint", "waiting for the Cluster's controlPlaneEndpoint");
    await save();
    return { requeueAfter: requeueMs };
  }
  const version = (machine.spec as { version?: string }).version;
  if (spec.generateType !== "none" && !version) {
    setAvailable(tc, "False", "DataSecretGenerationFailed", "the Machine has no spec.version (Kubernetes version) to generate the config for");
    await save();
    return;
  }

  let contractForBundle = DEFAULT_CONTRACT;
  try {
    if (spec.talosVersion) contractForBundle = parseContract(spec.talosVersion);
  } catch (e) {
    setAvailable(tc, "False", "DataSecretGenerationFailed", errorMessage(e));
    await save();
    return;
  }
  if (!spec.talosVersion) {
    recorder.warning(
      tc,
      "TalosVersionNotSet",
      `spec.talosVersion is empty: generating for Talos ${contractString(DEFAULT_CONTRACT)}; pin talosVersion to the Talos release the machines boot so a later default does not change their config`,
    );
  }

  const bundle = await ensureSecretsBundle(client, cluster, contractForBundle);
  await ensureClusterCA(client, cluster, bundle);
  await ensureTalosconfig(client, cluster, bundle);

  const net = (cluster.spec as { clusterNetwork?: { pods?: { cidrBlocks?: string[] }; services?: { cidrBlocks?: string[] }; serviceDomain?: string } }).clusterNetwork;
  const infraName = (machine.spec as { infrastructureRef?: { name?: string } }).infrastructureRef?.name;
  const hostname = spec.hostname?.source === "InfrastructureName" && infraName ? infraName : machine.metadata.name!;
  let yaml: string;
  try {
    const data = buildBootstrapData({
      generateType: spec.generateType ?? "",
      talosVersion: spec.talosVersion,
      data: spec.data,
      bundle,
      clusterName,
      endpoint: `https://${ep!.host!.includes(":") ? `[${ep!.host}]` : ep!.host}:${ep!.port}`,
      kubernetesVersion: version ?? "",
      dnsDomain: net?.serviceDomain,
      podSubnets: net?.pods?.cidrBlocks,
      serviceSubnets: net?.services?.cidrBlocks,
      configPatches: spec.configPatches,
      strategicPatches: spec.strategicPatches,
      hostname,
    });
    yaml = encodeDocuments(withCertSAN(data.documents, talosApiServerName(clusterName)));
  } catch (e) {
    if (e instanceof GenerateError || e instanceof PatchError || e instanceof ContractError || e instanceof YamlDocumentError || e instanceof SecretsBundleError) {
      setAvailable(tc, "False", "DataSecretGenerationFailed", errorMessage(e));
      recorder.warning(tc, "DataSecretGenerationFailed", errorMessage(e));
      await save();
      return;
    }
    throw e;
  }

  const secretName = `${machine.metadata.name}-bootstrap-data`;
  const secret: KObject = {
    apiVersion: "v1",
    kind: "Secret",
    type: SECRET_TYPE,
    metadata: { name: secretName, namespace: ns, labels: { [CLUSTER_NAME_LABEL]: clusterName }, ownerReferences: [ownerRefTo(tc, true)] },
    data: { value: b64(yaml) },
  } as KObject;
  try {
    await client.create(secret);
  } catch (e) {
    if (!isConflictOrExists(e)) throw e;
    const other = getSecret(client, ns, secretName);
    if (!other?.metadata.ownerReferences?.some((r) => r.uid === tc.metadata.uid)) {
      setAvailable(tc, "False", "DataSecretGenerationFailed", `secret ${secretName} exists and is not owned by this TalosConfig`);
      await save();
      return;
    }
  }
  status.dataSecretName = secretName;
  status.initialization = { dataSecretCreated: true };
  setAvailable(tc, "True", "Available");
  await save();
  recorder.normal(tc, "BootstrapDataGenerated", `bootstrap data (${(tc.spec as { generateType?: string } | undefined)?.generateType ?? "machine"} config) written to Secret ${secretName}`);
  ctx.log.info({ secret: secretName }, "wrote bootstrap data");
}
