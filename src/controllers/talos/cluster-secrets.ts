/**
 * The per-cluster secrets of the Talos providers:
 * - `<cluster>-talos`: the Talos secrets bundle (key `bundle`, secrets.yaml text), made once and
 *   shared by every machine of the cluster;
 * - `<cluster>-ca`: the Kubernetes CA of that bundle (`tls.crt` / `tls.key`), what CAPI and the
 *   kubeconfig writer read;
 * - `<cluster>-talosconfig`: a talosctl client config (key `talosconfig`) with an admin client
 *   certificate of the bundle's OS CA (O=os:admin, ClientAuth only), endpoints = the addresses of
 *   the cluster's control-plane Machines (kept current).
 * All carry the cluster-name label and a (non-controller) owner reference to the Cluster.
 * @module
 */
import { memoByText } from "../../lib/memo.ts";
import { parse, stringify } from "yaml";
import type { KObject } from "../../lib/kobject.ts";
import type { Contract } from "../../providers/talos/contract.ts";
import { encodeSecretsBundle, generateSecretsBundle, parseSecretsBundle, type SecretsBundle } from "../../providers/talos/secrets.ts";
import type { Client } from "../../runtime/client.ts";
import { CAPI_VERSION, CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL, ownerRefTo } from "../core/contract.ts";
import { b64, compareAddresses, getSecret, isConflictOrExists, machineAddress, SECRET_TYPE, secretValue } from "./common.ts";

function secretShell(cluster: KObject, name: string, data: Record<string, string>, type = SECRET_TYPE): KObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    type,
    metadata: {
      name,
      namespace: cluster.metadata.namespace,
      labels: { [CLUSTER_NAME_LABEL]: cluster.metadata.name! },
      ownerReferences: [ownerRefTo(cluster)],
    },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  } as KObject;
}

/** Creates the secret, or returns the one a concurrent reconcile created first. */
async function createOrGet(client: Client, secret: KObject): Promise<KObject> {
  try {
    return await client.create(secret);
  } catch (e) {
    if (!isConflictOrExists(e)) throw e;
    const got = getSecret(client, secret.metadata.namespace!, secret.metadata.name!);
    if (!got) throw e;
    return got;
  }
}

/**
 * Bundles being generated and stored, by Secret: the reconciles of one cluster's TalosConfigs that
 * run at once (an HA control plane's) share one generation instead of each paying for an RSA-4096 key.
 */
const generating = new Map<string, Promise<SecretsBundle>>();

/** The cluster's stored secrets bundle (`<cluster>-talos`), if there is one yet. */
export function storedSecretsBundle(client: Client, cluster: KObject): SecretsBundle | undefined {
  const existing = getSecret(client, cluster.metadata.namespace!, `${cluster.metadata.name}-talos`);
  return existing && readSecretsBundle(secretValue(existing, "bundle"));
}

/** The cluster's secrets bundle, generated (for `contract`) and stored the first time. */
export async function ensureSecretsBundle(
  client: Client,
  cluster: KObject,
  contract: Contract,
  generate: (contract: Contract) => Promise<SecretsBundle> = generateSecretsBundle,
): Promise<SecretsBundle> {
  const ns = cluster.metadata.namespace!;
  const name = `${cluster.metadata.name}-talos`;
  const existing = storedSecretsBundle(client, cluster);
  if (existing) return existing;
  const key = `${ns}/${name}`;
  let pending = generating.get(key);
  if (!pending) {
    pending = (async () => {
      const bundle = await generate(contract);
      const stored = await createOrGet(client, secretShell(cluster, name, { bundle: encodeSecretsBundle(bundle) }, "Opaque"));
      return readSecretsBundle(secretValue(stored, "bundle"));
    })().finally(() => generating.delete(key));
    generating.set(key, pending);
  }
  return pending;
}

/** `<cluster>-ca` from the bundle's Kubernetes CA (left alone when it exists). */
export async function ensureClusterCA(client: Client, cluster: KObject, bundle: SecretsBundle): Promise<void> {
  const name = `${cluster.metadata.name}-ca`;
  if (getSecret(client, cluster.metadata.namespace!, name)) return;
  await createOrGet(client, secretShell(cluster, name, { "tls.crt": bundle.certs.k8s.crt, "tls.key": bundle.certs.k8s.key }));
}

/** Addresses of the cluster's control-plane Machines, in numeric order. */
export function controlPlaneEndpoints(client: Client, cluster: KObject): string[] {
  const machines = client.listShared(CAPI_VERSION, "Machine", cluster.metadata.namespace, {
    labelSelector: `${CLUSTER_NAME_LABEL}=${cluster.metadata.name},${CONTROL_PLANE_LABEL}`,
  });
  const out = new Set<string>();
  for (const m of machines) {
    if (m.metadata.deletionTimestamp) continue;
    const a = machineAddress(m as KObject);
    if (a) out.add(a);
  }
  return [...out].sort(compareAddresses);
}

export interface TalosconfigContext {
  endpoints: string[];
  nodes?: string[];
  ca: string;
  crt: string;
  key: string;
}

export interface Talosconfig {
  context: string;
  contexts: Record<string, TalosconfigContext>;
}

/** A talosconfig's YAML, parsed once per text (read on every reconcile); frozen. */
export const parseTalosconfig = memoByText((text: string) => parse(text) as Talosconfig);

/** A stored secrets bundle, parsed once per text; frozen. */
export const readSecretsBundle = memoByText(parseSecretsBundle);

/** Talos labels its Ed25519 keys `ED25519 PRIVATE KEY`; talosctl configs carry them that way. */
const talosKeyLabel = (pem: string) => pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "-----$1 ED25519 PRIVATE KEY-----");

/**
 * `<cluster>-talosconfig`: created with a fresh admin certificate; afterwards only its endpoints
 * follow the control-plane addresses (the certificate stays). Returns the talosconfig, or
 * undefined when it has to be created and `bundle` gives no bundle. The bundle may be given
 * lazily: reading and parsing it (its YAML is the largest a reconcile meets) is only needed for
 * the first write, not on the reconciles after it.
 */
export async function ensureTalosconfig(client: Client, cluster: KObject, bundle: SecretsBundle | (() => SecretsBundle | undefined)): Promise<Talosconfig | undefined> {
  const ns = cluster.metadata.namespace!;
  const clusterName = cluster.metadata.name!;
  const name = `${clusterName}-talosconfig`;
  const endpoints = controlPlaneEndpoints(client, cluster);
  const existing = getSecret(client, ns, name);
  if (existing) {
    const cfg = parseTalosconfig(secretValue(existing, "talosconfig"));
    const ctx = cfg.contexts?.[cfg.context];
    if (ctx && (ctx.endpoints ?? []).join(",") !== endpoints.join(",")) {
      const next: Talosconfig = { ...cfg, contexts: { ...cfg.contexts, [cfg.context]: { ...ctx, endpoints } } };
      const patched = await client.patch({ apiVersion: "v1", kind: "Secret", namespace: ns, name }, "merge", { data: { talosconfig: b64(stringify(next)) } });
      rememberEndpoints(client, patched, endpoints);
      return next;
    }
    if (ctx) rememberEndpoints(client, existing, endpoints);
    return cfg;
  }
  const given = typeof bundle === "function" ? bundle() : bundle;
  if (!given) return undefined;
  const { issueTalosAdminCertificate } = await import("../../providers/talos/api/pki.ts");
  const admin = await issueTalosAdminCertificate({ certPem: given.certs.os.crt, keyPem: given.certs.os.key });
  const cfg: Talosconfig = {
    context: clusterName,
    contexts: { [clusterName]: { endpoints, ca: b64(given.certs.os.crt), crt: b64(admin.certPem), key: b64(talosKeyLabel(admin.keyPem)) } },
  };
  const stored = await createOrGet(client, secretShell(cluster, name, { talosconfig: stringify(cfg) }));
  const written = parseTalosconfig(secretValue(stored, "talosconfig"));
  const ctx = written.contexts?.[written.context];
  if (ctx) rememberEndpoints(client, stored, ctx.endpoints ?? []);
  return written;
}

/**
 * Which endpoints each talosconfig Secret held at which resourceVersion, as last read or written:
 * a reconcile that only keeps the endpoints current skips reading and parsing the Secret while
 * neither changed. Past a few hundred clusters the parse memo no longer holds every talosconfig,
 * and hundreds of such reconciles queued behind key generation would each parse one at once.
 */
type KnownEndpoints = Map<string, { resourceVersion: string; endpoints: string }>;
const endpointsByStore = new WeakMap<object, KnownEndpoints>();
/** Per store (resourceVersions are), so the TalosConfig and TalosControlPlane controllers share what either learnt. */
function currentEndpointsOf(client: Client): KnownEndpoints {
  let known = endpointsByStore.get(client.deps.store);
  if (!known) endpointsByStore.set(client.deps.store, (known = new Map()));
  return known;
}

function rememberEndpoints(client: Client, secret: KObject, endpoints: string[]): void {
  const key = `${secret.metadata.namespace}/${secret.metadata.name}`;
  currentEndpointsOf(client).set(key, { resourceVersion: secret.metadata.resourceVersion!, endpoints: endpoints.join(",") });
}

/** ensureTalosconfig for callers that need no talosconfig back: a no-op while it is known current. */
export async function syncTalosconfigEndpoints(client: Client, cluster: KObject, bundle: () => SecretsBundle | undefined): Promise<void> {
  const ns = cluster.metadata.namespace!;
  const name = `${cluster.metadata.name}-talosconfig`;
  const key = `${ns}/${name}`;
  const stored = client.getCachedMetadata({ apiVersion: "v1", kind: "Secret", namespace: ns, name });
  const all = currentEndpointsOf(client);
  const known = all.get(key);
  if (!stored) all.delete(key);
  else if (known !== undefined && known.resourceVersion === stored.metadata.resourceVersion && known.endpoints === controlPlaneEndpoints(client, cluster).join(",")) return;
  await ensureTalosconfig(client, cluster, bundle);
}
