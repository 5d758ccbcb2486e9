/**
 * Hand-written, schema-valid objects with (nearly) every field set, for every kind and served
 * version: the round-trip and mapping tests start from these.
 * @module
 */
import type { KObject } from "../../../lib/kobject.ts";

const T1 = "2025-01-01T00:00:00Z";
const T2 = "2025-02-01T10:20:30Z";
const NS = "ns1";

const legacyConditions = [
  { type: "Ready", status: "False", severity: "Warning", lastTransitionTime: T1, reason: "NotReady", message: "waiting" },
  { type: "InfrastructureReady", status: "True", lastTransitionTime: T2 },
];
const newConditions = [
  { type: "Available", status: "True", observedGeneration: 4, lastTransitionTime: T1, reason: "Available", message: "" },
  { type: "Paused", status: "False", lastTransitionTime: T2, reason: "NotPaused", message: "" },
];

const taints = [
  { key: "dedicated", value: "gpu", effect: "NoSchedule", propagation: "Always" },
  { key: "init", effect: "PreferNoSchedule", propagation: "OnInitialization" },
];
const readinessGates = [{ conditionType: "example.com/Ready" }, { conditionType: "Other", polarity: "Negative" }];
const nodeInfo = {
  architecture: "amd64",
  bootID: "b",
  containerRuntimeVersion: "containerd://2.0.0",
  kernelVersion: "6.8.0",
  kubeProxyVersion: "v1.32.0",
  kubeletVersion: "v1.32.0",
  machineID: "m",
  operatingSystem: "linux",
  osImage: "Ubuntu 24.04",
  systemUUID: "u",
};

// ---- Cluster -----------------------------------------------------------------------------------

export const clusterV1Beta1: KObject = {
  apiVersion: "cluster.x-k8s.io/v1beta1",
  kind: "Cluster",
  metadata: { name: "c1", namespace: NS, labels: { team: "a" }, annotations: { note: "x" } },
  spec: {
    paused: true,
    clusterNetwork: {
      apiServerPort: 6443,
      services: { cidrBlocks: ["10.96.0.0/12"] },
      pods: { cidrBlocks: ["192.168.0.0/16", "fd00::/64"] },
      serviceDomain: "cluster.local",
    },
    controlPlaneEndpoint: { host: "10.0.0.10", port: 6443 },
    controlPlaneRef: {
      apiVersion: "controlplane.cluster.x-k8s.io/v1beta1",
      kind: "KubeadmControlPlane",
      name: "c1-cp",
      namespace: NS,
      uid: "6a1f0c3e-0000-4000-8000-000000000001",
    },
    infrastructureRef: { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1", kind: "ProxmoxCluster", name: "c1" },
    availabilityGates: [{ conditionType: "example.com/Gate", polarity: "Positive" }],
    topology: {
      class: "quick-start",
      classNamespace: "classes",
      version: "v1.32.0",
      rolloutAfter: T1,
      controlPlane: {
        metadata: { labels: { l: "v" }, annotations: { a: "v" } },
        replicas: 3,
        rollout: { after: T2 },
        machineHealthCheck: {
          enable: true,
          unhealthyConditions: [{ type: "Ready", status: "Unknown", timeout: "5m" }],
          unhealthyMachineConditions: [{ type: "example.com/Healthy", status: "False", timeout: "90s" }],
          maxUnhealthy: "40%",
          unhealthyRange: "[1-3]",
          nodeStartupTimeout: "10m",
          remediationTemplate: {
            apiVersion: "infrastructure.cluster.x-k8s.io/v1beta1",
            kind: "DockerMachineTemplate",
            name: "remediation",
            namespace: NS,
          },
        },
        nodeDrainTimeout: "1m30s",
        nodeVolumeDetachTimeout: "2m",
        nodeDeletionTimeout: "10s",
        taints,
        readinessGates,
        variables: { overrides: [{ name: "cpVar", value: 1, definitionFrom: "inline" }] },
      },
      workers: {
        machineDeployments: [
          {
            class: "default-worker",
            name: "md-0",
            metadata: { labels: { pool: "a" } },
            failureDomain: "fd1",
            replicas: 2,
            machineHealthCheck: {
              enable: false,
              unhealthyConditions: [{ type: "Ready", status: "False", timeout: "300s" }],
              maxUnhealthy: 1,
              nodeStartupTimeout: "20m",
            },
            nodeDrainTimeout: "30s",
            nodeVolumeDetachTimeout: "1h",
            nodeDeletionTimeout: "0s",
            taints,
            minReadySeconds: 5,
            readinessGates,
            rollout: { after: T2 },
            strategy: {
              type: "RollingUpdate",
              rollingUpdate: { maxUnavailable: 0, maxSurge: "25%", deletePolicy: "Oldest" },
              remediation: { maxInFlight: 2 },
            },
            variables: { overrides: [{ name: "mdVar", value: { nested: ["x"] } }] },
          },
          { class: "default-worker", name: "md-1", strategy: { remediation: { maxInFlight: "50%" } } },
        ],
        machinePools: [
          {
            class: "pool",
            name: "mp-0",
            metadata: { annotations: { a: "b" } },
            failureDomains: ["fd1", "fd2"],
            nodeDrainTimeout: "1m",
            nodeVolumeDetachTimeout: "2m",
            nodeDeletionTimeout: "3m",
            taints,
            minReadySeconds: 3,
            replicas: 1,
            variables: { overrides: [{ name: "mpVar", value: "s" }] },
          },
        ],
      },
      variables: [
        { name: "cni", value: { kind: "cilium" }, definitionFrom: "patch-a" },
        { name: "count", value: 3 },
      ],
    },
  },
  status: {
    failureDomains: { fd2: { attributes: { zone: "b" } }, fd1: { controlPlane: true, attributes: { zone: "a" } } },
    failureReason: "InvalidConfiguration",
    failureMessage: "boom",
    phase: "Provisioned",
    infrastructureReady: true,
    controlPlaneReady: false,
    conditions: legacyConditions,
    observedGeneration: 4,
    v1beta2: {
      conditions: newConditions,
      controlPlane: {
        desiredReplicas: 3,
        replicas: 3,
        upToDateReplicas: 2,
        readyReplicas: 3,
        availableReplicas: 3,
        versions: [{ version: "v1.32.0", replicas: 3 }],
        upgradePlan: [{ version: "v1.33.0" }],
      },
      workers: { desiredReplicas: 2, replicas: 2, upToDateReplicas: 2, readyReplicas: 1, availableReplicas: 1 },
    },
  },
};

export const clusterV1Beta2: KObject = {
  apiVersion: "cluster.x-k8s.io/v1beta2",
  kind: "Cluster",
  metadata: { name: "c2", namespace: NS, uid: "c2-uid", resourceVersion: "7", generation: 3 },
  spec: {
    paused: false,
    clusterNetwork: { apiServerPort: 443, services: { cidrBlocks: ["10.128.0.0/12"] }, serviceDomain: "corp.local" },
    controlPlaneEndpoint: { host: "cp.example.com", port: 6443 },
    controlPlaneRef: { apiGroup: "controlplane.cluster.x-k8s.io", kind: "KubeadmControlPlane", name: "c2-cp" },
    infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxCluster", name: "c2" },
    availabilityGates: [{ conditionType: "example.com/Gate" }],
    topology: {
      classRef: { name: "quick-start", namespace: "classes" },
      version: "v1.32.0",
      controlPlane: {
        metadata: { labels: { l: "v" } },
        replicas: 3,
        rollout: { after: T1 },
        healthCheck: {
          enabled: true,
          checks: {
            nodeStartupTimeoutSeconds: 600,
            unhealthyNodeConditions: [{ type: "Ready", status: "Unknown", timeoutSeconds: 300 }],
            unhealthyMachineConditions: [{ type: "example.com/Healthy", status: "False", timeoutSeconds: 0 }],
          },
          remediation: {
            triggerIf: { unhealthyLessThanOrEqualTo: "40%", unhealthyInRange: "[1-3]" },
            templateRef: { apiVersion: "infrastructure.cluster.x-k8s.io/v1beta2", kind: "DockerMachineTemplate", name: "r" },
          },
        },
        deletion: { nodeDrainTimeoutSeconds: 90, nodeVolumeDetachTimeoutSeconds: 120, nodeDeletionTimeoutSeconds: 0 },
        taints,
        readinessGates,
        variables: { overrides: [{ name: "cpVar", value: true }] },
      },
      workers: {
        machineDeployments: [
          {
            class: "default-worker",
            name: "md-0",
            metadata: { annotations: { a: "b" } },
            failureDomain: "fd1",
            replicas: 2,
            healthCheck: {
              enabled: false,
              checks: { unhealthyNodeConditions: [{ type: "Ready", status: "False", timeoutSeconds: 300 }] },
              remediation: { maxInFlight: 3, triggerIf: { unhealthyLessThanOrEqualTo: 2 } },
            },
            deletion: { order: "Newest", nodeDrainTimeoutSeconds: 3600 },
            taints,
            minReadySeconds: 0,
            readinessGates,
            rollout: {
              after: T2,
              strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
            },
            variables: { overrides: [{ name: "mdVar", value: [1, 2] }] },
          },
          { class: "w", name: "md-1", healthCheck: { remediation: { maxInFlight: "10%" } } },
        ],
        machinePools: [{ class: "pool", name: "mp-0", failureDomains: ["fd2"], deletion: { nodeDeletionTimeoutSeconds: 15 }, replicas: 0 }],
      },
      variables: [{ name: "cni", value: "calico" }],
    },
  },
  status: {
    conditions: newConditions,
    initialization: { infrastructureProvisioned: false, controlPlaneInitialized: true },
    controlPlane: { desiredReplicas: 3, replicas: 3, upToDateReplicas: 3, readyReplicas: 3, availableReplicas: 3, versions: [{ version: "v1.32.0", replicas: 3 }] },
    workers: { desiredReplicas: 0, replicas: 0 },
    failureDomains: [
      { name: "zone-b", controlPlane: false, attributes: { rack: "2" } },
      { name: "zone-a", controlPlane: true },
      { name: "zone-c" },
    ],
    phase: "Provisioning",
    observedGeneration: 3,
    deprecated: { v1beta1: { conditions: legacyConditions, failureReason: "CreateError", failureMessage: "x" } },
  },
};

// ---- Machine -----------------------------------------------------------------------------------

export const machineV1Beta1: KObject = {
  apiVersion: "cluster.x-k8s.io/v1beta1",
  kind: "Machine",
  metadata: { name: "m1", namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": "c1" } },
  spec: {
    clusterName: "c1",
    bootstrap: {
      configRef: { apiVersion: "bootstrap.cluster.x-k8s.io/v1beta1", kind: "KubeadmConfig", name: "m1", namespace: NS, uid: "u-1" },
      dataSecretName: "m1-bootstrap",
    },
    infrastructureRef: {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1",
      kind: "ProxmoxMachine",
      name: "m1",
      namespace: NS,
      uid: "u-2",
      resourceVersion: "42",
      fieldPath: "spec",
    },
    version: "v1.32.0",
    providerID: "proxmox://4d8b5a3e-6d8b-4b3b-9e0b-2a3e4f5a6b7c",
    failureDomain: "fd1",
    readinessGates,
    nodeDrainTimeout: "10m",
    nodeVolumeDetachTimeout: "5m30s",
    nodeDeletionTimeout: "1.5s",
    taints,
  },
  status: {
    nodeRef: { apiVersion: "v1", kind: "Node", name: "node-1", uid: "node-uid" },
    nodeInfo,
    lastUpdated: T1,
    failureReason: "UpdateError",
    failureMessage: "broken",
    addresses: [
      { type: "InternalIP", address: "10.0.0.11" },
      { type: "Hostname", address: "m1" },
    ],
    phase: "Running",
    certificatesExpiryDate: T2,
    bootstrapReady: true,
    infrastructureReady: false,
    observedGeneration: 2,
    conditions: legacyConditions,
    deletion: { nodeDrainStartTime: T1, waitForNodeVolumeDetachStartTime: T2 },
    v1beta2: { conditions: newConditions },
  },
};

export const machineV1Beta2: KObject = {
  apiVersion: "cluster.x-k8s.io/v1beta2",
  kind: "Machine",
  metadata: { name: "m2", namespace: NS },
  spec: {
    clusterName: "c2",
    bootstrap: { configRef: { apiGroup: "bootstrap.cluster.x-k8s.io", kind: "KubeadmConfig", name: "m2" } },
    infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachine", name: "m2" },
    version: "v1.32.0",
    providerID: "proxmox://4d8b5a3e-6d8b-4b3b-9e0b-2a3e4f5a6b7d",
    failureDomain: "fd2",
    minReadySeconds: 30,
    readinessGates,
    deletion: { nodeDrainTimeoutSeconds: 0, nodeVolumeDetachTimeoutSeconds: 330, nodeDeletionTimeoutSeconds: 10 },
    taints,
  },
  status: {
    conditions: newConditions,
    initialization: { infrastructureProvisioned: false, bootstrapDataSecretCreated: true },
    nodeRef: { name: "node-2" },
    nodeInfo,
    lastUpdated: T1,
    addresses: [{ type: "ExternalIP", address: "192.0.2.1" }],
    failureDomain: "fd2",
    phase: "Updating",
    certificatesExpiryDate: T2,
    observedGeneration: 5,
    deletion: { nodeDrainStartTime: T1, waitForPreDrainHookStartTime: T1, waitForPreTerminateHookStartTime: T2 },
    deprecated: { v1beta1: { conditions: legacyConditions, failureReason: "CreateError", failureMessage: "m" } },
  },
};

// ---- MachineSet --------------------------------------------------------------------------------

export const machineSetV1Beta1: KObject = {
  apiVersion: "cluster.x-k8s.io/v1beta1",
  kind: "MachineSet",
  metadata: { name: "ms1", namespace: NS },
  spec: {
    clusterName: "c1",
    replicas: 3,
    minReadySeconds: 10,
    deletePolicy: "Newest",
    selector: { matchLabels: { "cluster.x-k8s.io/set-name": "ms1" } },
    template: {
      metadata: { labels: { "cluster.x-k8s.io/set-name": "ms1" }, annotations: { a: "b" } },
      spec: {
        clusterName: "c1",
        bootstrap: { configRef: { apiVersion: "bootstrap.cluster.x-k8s.io/v1beta1", kind: "KubeadmConfigTemplate", name: "t" } },
        infrastructureRef: { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxMachineTemplate", name: "t", namespace: NS },
        version: "v1.32.0",
        failureDomain: "fd1",
        nodeDrainTimeout: "2m",
        taints,
      },
    },
    machineNamingStrategy: { template: "{{ .machineSet.name }}-{{ .random }}" },
  },
  status: {
    selector: "cluster.x-k8s.io/set-name=ms1",
    replicas: 3,
    fullyLabeledReplicas: 3,
    readyReplicas: 2,
    availableReplicas: 1,
    observedGeneration: 2,
    failureReason: "InvalidConfiguration",
    failureMessage: "x",
    conditions: legacyConditions,
    versions: [{ version: "v1.32.0", replicas: 3 }],
    v1beta2: { conditions: newConditions, readyReplicas: 3, availableReplicas: 2, upToDateReplicas: 3 },
  },
};

export const machineSetV1Beta2: KObject = {
  apiVersion: "cluster.x-k8s.io/v1beta2",
  kind: "MachineSet",
  metadata: { name: "ms2", namespace: NS },
  spec: {
    clusterName: "c2",
    replicas: 1,
    selector: { matchLabels: { a: "b" } },
    template: {
      metadata: { labels: { a: "b" } },
      spec: {
        clusterName: "c2",
        bootstrap: { dataSecretName: "s" },
        infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachine", name: "pm" },
        minReadySeconds: 0,
        deletion: { nodeDeletionTimeoutSeconds: 20 },
      },
    },
    machineNaming: { template: "{{ .machineSet.name }}-x-{{ .random }}" },
    deletion: { order: "Random" },
  },
  status: {
    conditions: newConditions,
    selector: "a=b",
    replicas: 1,
    readyReplicas: 1,
    availableReplicas: 0,
    upToDateReplicas: 1,
    versions: [{ version: "v1.32.0", replicas: 1 }],
    observedGeneration: 1,
    deprecated: {
      v1beta1: { conditions: legacyConditions, failureReason: "UpdateError", failureMessage: "y", fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1 },
    },
  },
};

// ---- MachineDeployment -------------------------------------------------------------------------

export const machineDeploymentV1Beta1: KObject = {
  apiVersion: "cluster.x-k8s.io/v1beta1",
  kind: "MachineDeployment",
  metadata: { name: "md1", namespace: NS },
  spec: {
    clusterName: "c1",
    replicas: 3,
    rolloutAfter: T2,
    selector: { matchLabels: { "cluster.x-k8s.io/deployment-name": "md1" } },
    template: {
      metadata: { labels: { "cluster.x-k8s.io/deployment-name": "md1" } },
      spec: {
        clusterName: "c1",
        bootstrap: { configRef: { apiVersion: "bootstrap.cluster.x-k8s.io/v1beta1", kind: "KubeadmConfigTemplate", name: "t" } },
        infrastructureRef: { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1", kind: "ProxmoxMachineTemplate", name: "t" },
        version: "v1.32.0",
        readinessGates,
        nodeDrainTimeout: "10m",
        nodeVolumeDetachTimeout: "3m",
        nodeDeletionTimeout: "45s",
      },
    },
    strategy: {
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1, deletePolicy: "Oldest" },
      remediation: { maxInFlight: "50%" },
    },
    machineNamingStrategy: { template: "{{ .machineSet.name }}-{{ .random }}" },
    minReadySeconds: 20,
    revisionHistoryLimit: 1,
    paused: true,
    progressDeadlineSeconds: 600,
  },
  status: {
    observedGeneration: 3,
    selector: "cluster.x-k8s.io/deployment-name=md1",
    replicas: 3,
    updatedReplicas: 2,
    readyReplicas: 3,
    availableReplicas: 3,
    unavailableReplicas: 0,
    phase: "Running",
    conditions: legacyConditions,
    versions: [{ version: "v1.32.0", replicas: 3 }],
    v1beta2: { conditions: newConditions, readyReplicas: 3, availableReplicas: 2, upToDateReplicas: 1 },
  },
};

export const machineDeploymentV1Beta2: KObject = {
  apiVersion: "cluster.x-k8s.io/v1beta2",
  kind: "MachineDeployment",
  metadata: { name: "md2", namespace: NS },
  spec: {
    clusterName: "c2",
    replicas: 2,
    rollout: {
      after: T1,
      strategy: { type: "OnDelete" },
    },
    selector: { matchLabels: { x: "y" } },
    template: {
      metadata: { labels: { x: "y" } },
      spec: {
        clusterName: "c2",
        bootstrap: { configRef: { apiGroup: "bootstrap.cluster.x-k8s.io", kind: "KubeadmConfigTemplate", name: "b" } },
        infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachineTemplate", name: "i" },
        version: "v1.32.0",
        minReadySeconds: 0,
        deletion: { nodeDrainTimeoutSeconds: 2147483647 },
        taints,
      },
    },
    machineNaming: { template: "{{ .machineSet.name }}-{{ .random }}" },
    remediation: { maxInFlight: 1 },
    deletion: { order: "Random" },
    paused: false,
  },
  status: {
    conditions: newConditions,
    observedGeneration: 2,
    selector: "x=y",
    replicas: 2,
    readyReplicas: 2,
    availableReplicas: 2,
    upToDateReplicas: 2,
    versions: [{ version: "v1.32.0", replicas: 2 }],
    phase: "ScalingUp",
    deprecated: {
      v1beta1: { conditions: legacyConditions, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 1, unavailableReplicas: 1 },
    },
  },
};

// ---- MachineHealthCheck ------------------------------------------------------------------------

export const machineHealthCheckV1Beta1: KObject = {
  apiVersion: "cluster.x-k8s.io/v1beta1",
  kind: "MachineHealthCheck",
  metadata: { name: "mhc1", namespace: NS },
  spec: {
    clusterName: "c1",
    selector: { matchLabels: { "cluster.x-k8s.io/deployment-name": "md1" } },
    unhealthyConditions: [
      { type: "Ready", status: "Unknown", timeout: "300s" },
      { type: "Ready", status: "False", timeout: "5m" },
    ],
    unhealthyMachineConditions: [{ type: "example.com/Healthy", status: "False", timeout: "1h30m" }],
    maxUnhealthy: "40%",
    unhealthyRange: "[1-4]",
    nodeStartupTimeout: "10m",
    remediationTemplate: {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1beta1",
      kind: "DockerMachineTemplate",
      name: "rem",
      namespace: "elsewhere",
      uid: "r-uid",
    },
  },
  status: {
    expectedMachines: 3,
    currentHealthy: 0,
    remediationsAllowed: 1,
    observedGeneration: 1,
    targets: ["m1", "m2", "m3"],
    conditions: legacyConditions,
    v1beta2: { conditions: newConditions },
  },
};

export const machineHealthCheckV1Beta2: KObject = {
  apiVersion: "cluster.x-k8s.io/v1beta2",
  kind: "MachineHealthCheck",
  metadata: { name: "mhc2", namespace: NS },
  spec: {
    clusterName: "c2",
    selector: { matchLabels: { a: "b" } },
    checks: {
      nodeStartupTimeoutSeconds: 0,
      unhealthyNodeConditions: [{ type: "Ready", status: "Unknown", timeoutSeconds: 300 }],
      unhealthyMachineConditions: [{ type: "example.com/Healthy", status: "False", timeoutSeconds: 60 }],
    },
    remediation: {
      triggerIf: { unhealthyLessThanOrEqualTo: 2, unhealthyInRange: "[0-2]" },
      templateRef: { apiVersion: "infrastructure.cluster.x-k8s.io/v1beta2", kind: "DockerMachineTemplate", name: "rem" },
    },
  },
  status: {
    conditions: newConditions,
    expectedMachines: 0,
    currentHealthy: 2,
    remediationsAllowed: 0,
    observedGeneration: 1,
    targets: ["a"],
    deprecated: { v1beta1: { conditions: legacyConditions } },
  },
};

// ---- IPAM --------------------------------------------------------------------------------------

const ipAddressSpecOld = {
  claimRef: { name: "claim-1" },
  poolRef: { apiGroup: "ipam.cluster.x-k8s.io", kind: "InClusterIPPool", name: "pool" },
  address: "10.0.0.20",
  prefix: 24,
  gateway: "10.0.0.1",
};

export const ipAddressV1Alpha1: KObject = {
  apiVersion: "ipam.cluster.x-k8s.io/v1alpha1",
  kind: "IPAddress",
  metadata: { name: "ip1", namespace: NS },
  spec: ipAddressSpecOld,
};

export const ipAddressV1Beta1: KObject = {
  apiVersion: "ipam.cluster.x-k8s.io/v1beta1",
  kind: "IPAddress",
  metadata: { name: "ip1b", namespace: NS },
  spec: { claimRef: { name: "claim-1b" }, poolRef: { apiGroup: "ipam.cluster.x-k8s.io", kind: "InClusterIPPool", name: "pool" }, address: "10.0.0.21", prefix: 0 },
};

export const ipAddressV1Beta2: KObject = {
  apiVersion: "ipam.cluster.x-k8s.io/v1beta2",
  kind: "IPAddress",
  metadata: { name: "ip2", namespace: NS },
  spec: {
    claimRef: { name: "claim-2" },
    poolRef: { apiGroup: "ipam.cluster.x-k8s.io", kind: "GlobalInClusterIPPool", name: "global" },
    address: "fd00::20",
    prefix: 64,
    gateway: "fd00::1",
  },
};

export const ipAddressClaimV1Alpha1: KObject = {
  apiVersion: "ipam.cluster.x-k8s.io/v1alpha1",
  kind: "IPAddressClaim",
  metadata: { name: "claim-1", namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": "c1" } },
  spec: { poolRef: { apiGroup: "ipam.cluster.x-k8s.io", kind: "InClusterIPPool", name: "pool" } },
  status: { addressRef: { name: "ip1" }, conditions: legacyConditions },
};

export const ipAddressClaimV1Beta1: KObject = {
  apiVersion: "ipam.cluster.x-k8s.io/v1beta1",
  kind: "IPAddressClaim",
  metadata: { name: "claim-1b", namespace: NS },
  spec: { clusterName: "c1", poolRef: { apiGroup: "ipam.cluster.x-k8s.io", kind: "InClusterIPPool", name: "pool" } },
  status: { addressRef: { name: "ip1b" }, conditions: legacyConditions, v1beta2: { conditions: newConditions } },
};

export const ipAddressClaimV1Beta2: KObject = {
  apiVersion: "ipam.cluster.x-k8s.io/v1beta2",
  kind: "IPAddressClaim",
  metadata: { name: "claim-2", namespace: NS },
  spec: { clusterName: "c2", poolRef: { apiGroup: "ipam.cluster.x-k8s.io", kind: "InClusterIPPool", name: "pool" } },
  status: { conditions: newConditions, addressRef: { name: "ip2" }, deprecated: { v1beta1: { conditions: legacyConditions } } },
};

/** Every fixture with the versions its kind is served in. */
export const FIXTURES: { name: string; object: KObject; versions: string[] }[] = [
  { name: "Cluster v1beta1", object: clusterV1Beta1, versions: ["v1beta1", "v1beta2"] },
  { name: "Cluster v1beta2", object: clusterV1Beta2, versions: ["v1beta1", "v1beta2"] },
  { name: "Machine v1beta1", object: machineV1Beta1, versions: ["v1beta1", "v1beta2"] },
  { name: "Machine v1beta2", object: machineV1Beta2, versions: ["v1beta1", "v1beta2"] },
  { name: "MachineSet v1beta1", object: machineSetV1Beta1, versions: ["v1beta1", "v1beta2"] },
  { name: "MachineSet v1beta2", object: machineSetV1Beta2, versions: ["v1beta1", "v1beta2"] },
  { name: "MachineDeployment v1beta1", object: machineDeploymentV1Beta1, versions: ["v1beta1", "v1beta2"] },
  { name: "MachineDeployment v1beta2", object: machineDeploymentV1Beta2, versions: ["v1beta1", "v1beta2"] },
  { name: "MachineHealthCheck v1beta1", object: machineHealthCheckV1Beta1, versions: ["v1beta1", "v1beta2"] },
  { name: "MachineHealthCheck v1beta2", object: machineHealthCheckV1Beta2, versions: ["v1beta1", "v1beta2"] },
  { name: "IPAddress v1alpha1", object: ipAddressV1Alpha1, versions: ["v1alpha1", "v1beta1", "v1beta2"] },
  { name: "IPAddress v1beta1", object: ipAddressV1Beta1, versions: ["v1alpha1", "v1beta1", "v1beta2"] },
  { name: "IPAddress v1beta2", object: ipAddressV1Beta2, versions: ["v1alpha1", "v1beta1", "v1beta2"] },
  { name: "IPAddressClaim v1alpha1", object: ipAddressClaimV1Alpha1, versions: ["v1alpha1", "v1beta1", "v1beta2"] },
  { name: "IPAddressClaim v1beta1", object: ipAddressClaimV1Beta1, versions: ["v1alpha1", "v1beta1", "v1beta2"] },
  { name: "IPAddressClaim v1beta2", object: ipAddressClaimV1Beta2, versions: ["v1alpha1", "v1beta1", "v1beta2"] },
];
