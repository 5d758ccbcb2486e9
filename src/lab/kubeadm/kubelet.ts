/**
 * What a kubeadm node does against its cluster's lab workload API server: checks that the server at
 * the endpoint serves with the cluster CA (over HTTPS through the lab LAN), token discovery
 * (`cluster-info` CA pinned by `caCertHashes`, the bootstrap-token Secret valid), the kubelet's
 * Node registration, and the kube-system objects `kubeadm init` uploads. The writes go through the
 * server's registry, as lab Talos kubelets do (src/lab/talos-nodes.ts).
 * @module
 */
import { stringify } from "yaml";
import { ApiError } from "../../lib/api-errors.ts";
import type { KObject } from "../../lib/kobject.ts";
import { caCertHashes } from "../../providers/kubeadm/certificates.ts";
import type { VmRecord } from "../../providers/proxmox/lab/state.ts";
import type { LabNetwork } from "../../providers/workload/dialer.ts";
import type { RequestContext } from "../../registry/rest/context.ts";
import { create } from "../../registry/rest/create.ts";
import { get } from "../../registry/rest/get.ts";
import { update } from "../../registry/rest/update.ts";
import type { WorkloadServer } from "../workload-server.ts";
import { kubeletNodeStatus, registerKubeletNode } from "../kubelet-registration.ts";
import { KubeadmError, type NodeRegistration } from "./config.ts";

type Obj = Record<string, unknown>;

function ctxOf(user: string): RequestContext {
  return { user: { name: user, groups: ["system:masters"] }, fieldManager: "kubeadm", fieldValidation: "Ignore", warnings: [] };
}

/** The API server at host:port answers over TLS with a certificate from `caPem`, as the kubelet checks it. */
export async function checkServingCa(network: LabNetwork, host: string, port: number, caPem: string): Promise<void> {
  const target = `Get "https://${host}:${port}/version"`;
  const route = network.lookup(host, port);
  if (!route) throw new KubeadmError(`${target}: dial tcp ${host}:${port}: connect: connection refused`);
  try {
    const res = await fetch(`https://${route.host}:${route.port}/version`, {
      tls: { ca: caPem, serverName: host, checkServerIdentity: () => undefined },
      signal: AbortSignal.timeout(10_000),
    } as RequestInit);
    await res.body?.cancel();
  } catch (e) {
    const msg = (e as Error).message;
    throw new KubeadmError(`${target}: ${/certificate|verify|self.signed|UNABLE_TO/i.test(msg) ? "tls: failed to verify certificate: x509: certificate signed by unknown authority" : msg}`);
  }
}

function upsert(server: WorkloadServer, resource: string, namespace: string, body: Obj): void {
  const res = server.rest.registry.resolve("", "v1", resource)!;
  const name = String((body.metadata as Obj).name);
  try {
    create(server.rest, res, namespace || undefined, body, ctxOf("kubernetes-admin"));
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 409) throw e;
    const cur = get(server.rest, res, namespace, name);
    update(server.rest, res, namespace, name, { ...cur, ...body, metadata: cur.metadata }, ctxOf("kubernetes-admin"));
  }
}

/** `kubeadm-config`, `kubelet-config` (kube-system) and `cluster-info` (kube-public), as the upload-config and bootstrap-token phases write them. */
export function createKubeadmObjects(server: WorkloadServer, o: { clusterConfiguration: Obj; endpoint: string; caPem: string; nodeName: string }): void {
  const cm = (namespace: string, name: string, data: Record<string, string>) => upsert(server, "configmaps", namespace, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace }, data });
  cm("kube-system", "kubeadm-config", { ClusterConfiguration: stringify(o.clusterConfiguration) });
  cm("kube-system", "kubelet-config", {
    kubelet: stringify({ apiVersion: "kubelet.config.k8s.io/v1beta1", kind: "KubeletConfiguration", cgroupDriver: "systemd", clusterDNS: ["10.96.0.10"], clusterDomain: "cluster.local", rotateCertificates: true, staticPodPath: "/etc/kubernetes/manifests" }),
  });
  const kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "", cluster: { "certificate-authority-data": Buffer.from(o.caPem).toString("base64"), server: `https://${o.endpoint}` } }],
    contexts: null,
    "current-context": "",
    preferences: {},
    users: null,
  };
  cm("kube-public", "cluster-info", { kubeconfig: stringify(kubeconfig) });
}

/**
 * The kubelet version of the lab's one image: what the machine asked for. A real template carries a
 * kubelet of one version; CAPMOX passes the Machine's version as meta-data `kubernetes-version`,
 * which the lab takes as the version the image was built with.
 */
export function imageKubeletVersion(fs: { readText(path: string): string | undefined }): string | undefined {
  try {
    const data = JSON.parse(fs.readText("/run/cloud-init/instance-data.json") ?? "{}") as { ds?: { meta_data?: Record<string, unknown> } };
    const v = data.ds?.meta_data?.["kubernetes-version"] ?? data.ds?.meta_data?.kubernetes_version;
    return typeof v === "string" && v ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Kubernetes version a joining node's kubelet runs: the cluster's, as kubeadm-config records
 * it (the lab has one image for every version; a real template carries the matching kubelet).
 */
export function clusterKubernetesVersion(server: WorkloadServer): string | undefined {
  try {
    const cm = get(server.rest, server.rest.registry.resolve("", "v1", "configmaps")!, "kube-system", "kubeadm-config") as { data?: { ClusterConfiguration?: string } };
    return /^kubernetesVersion:\s*"?(v?[0-9][^\s"]*)/m.exec(cm.data?.ClusterConfiguration ?? "")?.[1];
  } catch {
    return undefined;
  }
}

const unb64 = (v: unknown) => (typeof v === "string" ? Buffer.from(v, "base64").toString() : undefined);

/**
 * Token discovery: the cluster CA from `cluster-info`, pinned by `caCertHashes`, trusted once the
 * token's Secret proves it (the bootstrap signer signs cluster-info for live tokens only).
 */
export function discover(server: WorkloadServer, o: { token: string; caCertHashes: string[]; unsafeSkipCAVerification: boolean; now: Date }): string {
  const m = /^([a-z0-9]{6})\.([a-z0-9]{16})$/.exec(o.token);
  if (!m) throw new KubeadmError(`the bootstrap token "${o.token}" was not of the form "[a-z0-9]{6}.[a-z0-9]{16}"`);
  const [, id, secret] = m;
  let info: KObject;
  try {
    info = get(server.rest, server.rest.registry.resolve("", "v1", "configmaps")!, "kube-public", "cluster-info");
  } catch {
    throw new KubeadmError(`couldn't validate the identity of the API Server: configmaps "cluster-info" not found`);
  }
  let tokenSecret: KObject | undefined;
  try {
    tokenSecret = get(server.rest, server.rest.registry.resolve("", "v1", "secrets")!, "kube-system", `bootstrap-token-${id}`);
  } catch {
    tokenSecret = undefined;
  }
  const data = (tokenSecret?.data ?? {}) as Record<string, string>;
  const expiration = unb64(data.expiration);
  const expired = expiration !== undefined && Date.parse(expiration) <= o.now.getTime();
  if (!tokenSecret || expired || unb64(data["token-id"]) !== id) {
    throw new KubeadmError(`couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "${id}"`);
  }
  if (unb64(data["token-secret"]) !== secret) throw new KubeadmError("couldn't validate the identity of the API Server: failed to verify JWS signature of received cluster info object, can't trust this API Server");
  const kubeconfig = String(((info.data ?? {}) as Record<string, string>).kubeconfig ?? "");
  const caData = /certificate-authority-data:\s*(\S+)/.exec(kubeconfig)?.[1];
  const caPem = unb64(caData);
  if (!caPem) throw new KubeadmError("couldn't validate the identity of the API Server: the cluster-info ConfigMap has no certificate authority");
  if (!o.unsafeSkipCAVerification) {
    const hashes = caCertHashes(caPem);
    const pinned = o.caCertHashes.map((h) => h.toLowerCase());
    if (!pinned.length) throw new KubeadmError("discovery.bootstrapToken: Invalid value: \"\": using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue");
    if (!hashes.some((h) => pinned.includes(h))) {
      throw new KubeadmError(`couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${hashes.join(",")}" are pinned`);
    }
  }
  return caPem;
}

export interface NodeToRegister {
  name: string;
  address: string;
  controlPlane: boolean;
  reg: NodeRegistration;
  kubeletVersion: string;
  vm: VmRecord | undefined;
}

/** The kubelet's registration and first status: Ready (lab nodes need no CNI). */
export async function registerNode(server: WorkloadServer, n: NodeToRegister): Promise<void> {
  const taints = n.reg.taints ?? (n.controlPlane ? [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] : []);
  const node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: n.name,
      labels: {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": n.name,
        "kubernetes.io/os": "linux",
        ...n.reg.labels,
        ...(n.controlPlane ? { "node-role.kubernetes.io/control-plane": "", "node.kubernetes.io/exclude-from-external-load-balancers": "" } : {}),
      },
      annotations: { "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock", "node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true" },
    },
    spec: { ...(n.reg.providerId ? { providerID: n.reg.providerId } : {}), ...(taints.length ? { taints } : {}) },
  };
  const status = kubeletNodeStatus({
    vm: n.vm,
    address: n.address,
    hostname: n.name,
    kubeletVersion: n.kubeletVersion,
    machineSeed: n.name,
    image: { containerRuntimeVersion: "containerd://1.7.27", kernelVersion: "6.8.0-60-generic", osImage: "Ubuntu 24.04.2 LTS" },
  });
  await registerKubeletNode(server, node as unknown as KObject, status, ctxOf(`system:node:${n.name}`), { mergeSpec: true, error: (m) => new KubeadmError(m) });
}
