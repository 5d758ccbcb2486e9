/**
 * Hand-written, schema-valid objects of the kubeadm and addons kinds with (nearly) every field set,
 * in both served versions: the round-trip and mapping tests start from these.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";
import { ADDONS_GROUP, BOOTSTRAP_GROUP, CONTROL_PLANE_GROUP } from "./common.ts";

const NS = "ns1";
const T1 = "2026-01-01T00:00:00Z";
const T2 = "2026-02-01T10:20:30Z";

const meta = (name: string) => ({ name, namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": "c1" }, annotations: { "example.com/note": "kept" } });

export const v1beta1Conditions = [
  { type: "Ready", status: "False", severity: "Warning", lastTransitionTime: T1, reason: "WaitingForControlPlane", message: "waiting" },
  { type: "DataSecretAvailable", status: "True", lastTransitionTime: T2 },
];
export const metav1Conditions = [
  { type: "Ready", status: "True", observedGeneration: 2, lastTransitionTime: T1, reason: "Ready", message: "" },
  { type: "Available", status: "True", observedGeneration: 2, lastTransitionTime: T2, reason: "Available", message: "ok" },
];

const taints = [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }];
const files = [
  { path: "/etc/kubernetes/manifests/kube-vip.yaml", owner: "root:root", permissions: "0644", content: "apiVersion: v1\nkind: Pod\n" },
  { path: "/etc/secret.conf", contentFrom: { secret: { name: "s1", key: "conf" } }, encoding: "base64", append: true },
];
const users = [
  { name: "capi", sudo: "ALL=(ALL) NOPASSWD:ALL", sshAuthorizedKeys: ["ssh-ed25519 AAAA admin@lab"], groups: "wheel", shell: "/bin/bash", lockPassword: false },
  { name: "ops", passwdFrom: { secret: { name: "pw", key: "ops" } }, homeDir: "/home/ops", inactive: false },
];
const common = {
  files,
  users,
  preKubeadmCommands: ["echo pre"],
  postKubeadmCommands: ["echo post"],
  bootCommands: ["echo boot"],
  ntp: { enabled: true, servers: ["0.pool.ntp.org", "1.pool.ntp.org"] },
  diskSetup: {
    partitions: [{ device: "/dev/sdb", layout: true, overwrite: false, tableType: "gpt" }],
    filesystems: [{ device: "/dev/sdb1", filesystem: "ext4", label: "data", extraOpts: ["-F"] }],
  },
  mounts: [["LABEL=data", "/var/lib/data"]],
  verbosity: 5,
  format: "cloud-config",
};

/** A v1beta1 KubeadmConfigSpec using the fields that move or change shape. */
export const kubeadmSpecV1Beta1 = {
  ...common,
  clusterConfiguration: {
    apiServer: {
      certSANs: ["10.10.0.5", "api.example.com"],
      extraArgs: { "audit-log-path": "/var/log/audit.log", "authorization-mode": "Node,RBAC" },
      extraEnvs: [{ name: "HTTP_PROXY", value: "http://proxy:3128" }],
      extraVolumes: [{ name: "audit", hostPath: "/var/log", mountPath: "/var/log", readOnly: true, pathType: "DirectoryOrCreate" }],
      timeoutForControlPlane: "10m0s",
    },
    controllerManager: { extraArgs: { "bind-address": "0.0.0.0" } },
    scheduler: { extraArgs: { "bind-address": "0.0.0.0" }, extraEnvs: [] },
    etcd: { local: { dataDir: "/var/lib/etcd", extraArgs: { "listen-metrics-urls": "http://0.0.0.0:2381" }, imageTag: "3.5.16-0" } },
    dns: { imageRepository: "registry.k8s.io/coredns", imageTag: "v1.11.3" },
    imageRepository: "registry.k8s.io",
    featureGates: { EtcdLearnerMode: true },
    certificatesDir: "/etc/kubernetes/pki",
    controlPlaneEndpoint: "10.10.0.5:6443",
    clusterName: "c1",
    kubernetesVersion: "v1.32.0",
    networking: { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", dnsDomain: "cluster.local" },
  },
  initConfiguration: {
    bootstrapTokens: [{ token: "abcdef.0123456789abcdef", ttl: "24h0m0s", usages: ["signing", "authentication"], groups: ["system:bootstrappers:kubeadm:default-node-token"] }],
    nodeRegistration: {
      name: "{{ ds.meta_data.local_hostname }}",
      kubeletExtraArgs: { "provider-id": "proxmox://{{ ds.meta_data.instance_id }}", "node-ip": "10.10.0.20" },
      taints,
      imagePullPolicy: "IfNotPresent",
      ignorePreflightErrors: ["Swap"],
    },
    localAPIEndpoint: { advertiseAddress: "10.10.0.20", bindPort: 6443 },
    skipPhases: ["addon/kube-proxy"],
    patches: { directory: "/etc/kubernetes/patches" },
  },
  joinConfiguration: {
    nodeRegistration: { kubeletExtraArgs: { "provider-id": "proxmox://{{ ds.meta_data.instance_id }}" }, taints: [] },
    discovery: {
      bootstrapToken: { apiServerEndpoint: "10.10.0.5:6443", token: "abcdef.0123456789abcdef", caCertHashes: ["sha256:abc"], unsafeSkipCAVerification: true },
      timeout: "5m0s",
    },
    controlPlane: { localAPIEndpoint: { advertiseAddress: "10.10.0.21", bindPort: 6443 } },
    caCertPath: "/etc/kubernetes/pki/ca.crt",
  },
  useExperimentalRetryJoin: true,
};

/** A v1beta2 KubeadmConfigSpec using the fields that move or change shape. */
export const kubeadmSpecV1Beta2 = {
  ...common,
  clusterConfiguration: {
    apiServer: {
      certSANs: ["10.10.0.5"],
      extraArgs: [
        { name: "audit-log-path", value: "/var/log/audit.log" },
        { name: "authorization-mode", value: "Node,RBAC" },
      ],
      extraEnvs: [{ name: "HTTP_PROXY", value: "http://proxy:3128" }],
    },
    controllerManager: { extraArgs: [{ name: "bind-address", value: "0.0.0.0" }] },
    scheduler: { extraArgs: [{ name: "bind-address", value: "0.0.0.0" }] },
    etcd: { local: { dataDir: "/var/lib/etcd", extraArgs: [{ name: "listen-metrics-urls", value: "http://0.0.0.0:2381" }] } },
    certificateValidityPeriodDays: 365,
    caCertificateValidityPeriodDays: 3650,
    encryptionAlgorithm: "ECDSA-P256",
  },
  initConfiguration: {
    bootstrapTokens: [{ token: "abcdef.0123456789abcdef", ttlSeconds: 86400, usages: ["signing"] }],
    nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "proxmox://{{ ds.meta_data.instance_id }}" }], taints: [] },
    timeouts: {
      controlPlaneComponentHealthCheckSeconds: 600,
      kubeletHealthCheckSeconds: 240,
      kubernetesAPICallSeconds: 60,
      etcdAPICallSeconds: 120,
      tlsBootstrapSeconds: 300,
      discoverySeconds: 300,
    },
  },
  joinConfiguration: {
    nodeRegistration: { kubeletExtraArgs: [{ name: "provider-id", value: "proxmox://{{ ds.meta_data.instance_id }}" }] },
    discovery: { bootstrapToken: { apiServerEndpoint: "10.10.0.5:6443", token: "abcdef.0123456789abcdef", unsafeSkipCAVerification: false } },
    timeouts: { controlPlaneComponentHealthCheckSeconds: 600, tlsBootstrapSeconds: 90, discoverySeconds: 300 },
  },
};

const bootstrap = (v: string) => `${BOOTSTRAP_GROUP}/${v}`;
const controlPlane = (v: string) => `${CONTROL_PLANE_GROUP}/${v}`;
const addons = (v: string) => `${ADDONS_GROUP}/${v}`;

export const kubeadmConfigV1Beta1: KObject = {
  apiVersion: bootstrap("v1beta1"),
  kind: "KubeadmConfig",
  metadata: meta("cp-0"),
  spec: kubeadmSpecV1Beta1,
  status: {
    ready: true,
    dataSecretName: "cp-0",
    failureReason: "BootstrapFailed",
    failureMessage: "boom",
    observedGeneration: 3,
    conditions: v1beta1Conditions,
    v1beta2: { conditions: metav1Conditions },
  },
};

export const kubeadmConfigV1Beta2: KObject = {
  apiVersion: bootstrap("v1beta2"),
  kind: "KubeadmConfig",
  metadata: meta("cp-1"),
  spec: kubeadmSpecV1Beta2,
  status: {
    initialization: { dataSecretCreated: true },
    dataSecretName: "cp-1",
    observedGeneration: 4,
    conditions: metav1Conditions,
    deprecated: { v1beta1: { conditions: v1beta1Conditions, failureReason: "BootstrapFailed", failureMessage: "boom" } },
  },
};

export const kubeadmConfigTemplateV1Beta1: KObject = {
  apiVersion: bootstrap("v1beta1"),
  kind: "KubeadmConfigTemplate",
  metadata: meta("workers"),
  spec: { template: { metadata: { labels: { tier: "worker" } }, spec: { joinConfiguration: kubeadmSpecV1Beta1.joinConfiguration, files, users } } },
};

export const kubeadmConfigTemplateV1Beta2: KObject = {
  apiVersion: bootstrap("v1beta2"),
  kind: "KubeadmConfigTemplate",
  metadata: meta("workers2"),
  spec: { template: { metadata: { annotations: { a: "b" } }, spec: { joinConfiguration: kubeadmSpecV1Beta2.joinConfiguration, preKubeadmCommands: ["x"] } } },
};

const machineTemplateV1Beta1 = {
  metadata: { labels: { tier: "cp" } },
  infrastructureRef: { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxMachineTemplate", name: "cp", namespace: NS },
  nodeDrainTimeout: "10m0s",
  nodeVolumeDetachTimeout: "5m0s",
  nodeDeletionTimeout: "10s",
  readinessGates: [{ conditionType: "Custom" }],
};

export const kcpV1Beta1: KObject = {
  apiVersion: controlPlane("v1beta1"),
  kind: "KubeadmControlPlane",
  metadata: meta("kcp"),
  spec: {
    replicas: 3,
    version: "v1.32.0",
    machineTemplate: machineTemplateV1Beta1,
    kubeadmConfigSpec: kubeadmSpecV1Beta1,
    rolloutBefore: { certificatesExpiryDays: 21 },
    rolloutAfter: T2,
    rolloutStrategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } },
    remediationStrategy: { maxRetry: 5, retryPeriod: "2m0s", minHealthyPeriod: "2h0m0s" },
    machineNamingStrategy: { template: "{{ .kubeadmControlPlane.name }}-{{ .random }}" },
  },
  status: {
    selector: "cluster.x-k8s.io/cluster-name=c1,cluster.x-k8s.io/control-plane",
    replicas: 3,
    version: "v1.32.0",
    updatedReplicas: 3,
    readyReplicas: 2,
    unavailableReplicas: 1,
    initialized: true,
    ready: true,
    failureReason: "",
    failureMessage: "boom",
    observedGeneration: 7,
    conditions: v1beta1Conditions,
    lastRemediation: { machine: "kcp-abcde", timestamp: T1, retryCount: 1 },
    v1beta2: { conditions: metav1Conditions, readyReplicas: 2, availableReplicas: 2, upToDateReplicas: 3 },
  },
};

export const kcpV1Beta2: KObject = {
  apiVersion: controlPlane("v1beta2"),
  kind: "KubeadmControlPlane",
  metadata: meta("kcp2"),
  spec: {
    replicas: 1,
    version: "v1.33.1",
    machineTemplate: {
      metadata: { annotations: { x: "y" } },
      spec: {
        infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachineTemplate", name: "cp" },
        deletion: { nodeDrainTimeoutSeconds: 90, nodeVolumeDetachTimeoutSeconds: 30, nodeDeletionTimeoutSeconds: 10 },
        taints: [{ key: "example.com/t", effect: "NoSchedule", propagation: "Always" }],
      },
    },
    kubeadmConfigSpec: kubeadmSpecV1Beta2,
    rollout: { after: T2, before: { certificatesExpiryDays: 21 }, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } },
    remediation: { maxRetry: 3, retryPeriodSeconds: 120, minHealthyPeriodSeconds: 3600 },
    machineNaming: { template: "{{ .kubeadmControlPlane.name }}-{{ .random }}" },
  },
  status: {
    conditions: metav1Conditions,
    initialization: { controlPlaneInitialized: true },
    selector: "cluster.x-k8s.io/cluster-name=c1",
    replicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
    upToDateReplicas: 1,
    version: "v1.33.1",
    observedGeneration: 2,
    lastRemediation: { machine: "kcp2-abcde", time: T1, retryCount: 2 },
    deprecated: { v1beta1: { conditions: v1beta1Conditions, failureReason: "UpgradeFailed", failureMessage: "x", updatedReplicas: 1, readyReplicas: 1, unavailableReplicas: 0 } },
  },
};

export const kcpTemplateV1Beta1: KObject = {
  apiVersion: controlPlane("v1beta1"),
  kind: "KubeadmControlPlaneTemplate",
  metadata: meta("kcpt"),
  spec: {
    template: {
      metadata: { labels: { a: "b" } },
      spec: {
        machineTemplate: { metadata: { labels: { tier: "cp" } }, nodeDrainTimeout: "1m0s" },
        kubeadmConfigSpec: kubeadmSpecV1Beta1,
        rolloutStrategy: { rollingUpdate: { maxSurge: 1 } },
        remediationStrategy: { maxRetry: 2, retryPeriod: "0s" },
        rolloutBefore: { certificatesExpiryDays: 30 },
      },
    },
  },
};

export const kcpTemplateV1Beta2: KObject = {
  apiVersion: controlPlane("v1beta2"),
  kind: "KubeadmControlPlaneTemplate",
  metadata: meta("kcpt2"),
  spec: {
    template: {
      spec: {
        machineTemplate: { spec: { deletion: { nodeDrainTimeoutSeconds: 60 } } },
        kubeadmConfigSpec: kubeadmSpecV1Beta2,
        rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0 } } },
        machineNaming: { template: "{{ .kubeadmControlPlane.name }}-{{ .random }}" },
      },
    },
  },
};

const crsSpec = {
  clusterSelector: { matchLabels: { cni: "calico" } },
  resources: [
    { name: "calico", kind: "ConfigMap" },
    { name: "creds", kind: "Secret" },
  ],
  strategy: "Reconcile",
};

export const crsV1Beta1: KObject = {
  apiVersion: addons("v1beta1"),
  kind: "ClusterResourceSet",
  metadata: meta("crs"),
  spec: crsSpec,
  status: { observedGeneration: 2, conditions: v1beta1Conditions, v1beta2: { conditions: metav1Conditions } },
};

export const crsV1Beta2: KObject = {
  apiVersion: addons("v1beta2"),
  kind: "ClusterResourceSet",
  metadata: meta("crs2"),
  spec: crsSpec,
  status: { observedGeneration: 2, conditions: metav1Conditions, deprecated: { v1beta1: { conditions: v1beta1Conditions } } },
};

const bindingSpec = {
  clusterName: "c1",
  bindings: [
    {
      clusterResourceSetName: "crs",
      resources: [
        { name: "calico", kind: "ConfigMap", applied: true, hash: "sha256:abc", lastAppliedTime: T1 },
        { name: "creds", kind: "Secret", applied: false },
      ],
    },
  ],
};

export const crsBindingV1Beta1: KObject = { apiVersion: addons("v1beta1"), kind: "ClusterResourceSetBinding", metadata: meta("c1"), spec: bindingSpec };
export const crsBindingV1Beta2: KObject = { apiVersion: addons("v1beta2"), kind: "ClusterResourceSetBinding", metadata: meta("c1b"), spec: bindingSpec };

export const FIXTURES: { name: string; object: KObject }[] = [
  { name: "KubeadmConfig v1beta1", object: kubeadmConfigV1Beta1 },
  { name: "KubeadmConfig v1beta2", object: kubeadmConfigV1Beta2 },
  { name: "KubeadmConfigTemplate v1beta1", object: kubeadmConfigTemplateV1Beta1 },
  { name: "KubeadmConfigTemplate v1beta2", object: kubeadmConfigTemplateV1Beta2 },
  { name: "KubeadmControlPlane v1beta1", object: kcpV1Beta1 },
  { name: "KubeadmControlPlane v1beta2", object: kcpV1Beta2 },
  { name: "KubeadmControlPlaneTemplate v1beta1", object: kcpTemplateV1Beta1 },
  { name: "KubeadmControlPlaneTemplate v1beta2", object: kcpTemplateV1Beta2 },
  { name: "ClusterResourceSet v1beta1", object: crsV1Beta1 },
  { name: "ClusterResourceSet v1beta2", object: crsV1Beta2 },
  { name: "ClusterResourceSetBinding v1beta1", object: crsBindingV1Beta1 },
  { name: "ClusterResourceSetBinding v1beta2", object: crsBindingV1Beta2 },
];
