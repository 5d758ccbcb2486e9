/**
 * Manifests for the Cluster API whole-process tests, written as a user would (v1beta2 unless a
 * test wants v1beta1), for the test provider's kinds.
 * @module
 */
import { BOOTSTRAP_GROUP, INFRA_GROUP } from "./test-provider.ts";

export const CAPI = "cluster.x-k8s.io/v1beta2";
export type Contract = "v1beta2" | "v1beta1";

const kinds = (contract: Contract) =>
  contract === "v1beta2"
    ? { config: "TestConfig", machine: "TestMachine" }
    : { config: "LegacyConfig", machine: "LegacyMachine" };

export function cluster(namespace: string, name: string, host: string, extra: Record<string, unknown> = {}) {
  return [
    { apiVersion: `${INFRA_GROUP}/v1beta1`, kind: "TestCluster", metadata: { name, namespace }, spec: {} },
    {
      apiVersion: CAPI,
      kind: "Cluster",
      metadata: { name, namespace },
      spec: { controlPlaneEndpoint: { host, port: 6443 }, infrastructureRef: { apiGroup: INFRA_GROUP, kind: "TestCluster", name }, ...extra },
    },
  ];
}

/** A stand-alone Machine with its own bootstrap config and infrastructure object. */
export function machine(namespace: string, clusterName: string, name: string, opts: { controlPlane?: boolean; version?: string; contract?: Contract; labels?: Record<string, string>; annotations?: Record<string, string> } = {}) {
  const k = kinds(opts.contract ?? "v1beta2");
  return [
    { apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`, kind: k.config, metadata: { name, namespace }, spec: {} },
    { apiVersion: `${INFRA_GROUP}/v1beta1`, kind: k.machine, metadata: { name, namespace }, spec: {} },
    {
      apiVersion: CAPI,
      kind: "Machine",
      metadata: {
        name,
        namespace,
        labels: { ...(opts.controlPlane ? { "cluster.x-k8s.io/control-plane": "" } : {}), ...opts.labels },
        ...(opts.annotations ? { annotations: opts.annotations } : {}),
      },
      spec: {
        clusterName,
        version: opts.version ?? "v1.31.0",
        bootstrap: { configRef: { apiGroup: BOOTSTRAP_GROUP, kind: k.config, name } },
        infrastructureRef: { apiGroup: INFRA_GROUP, kind: k.machine, name },
      },
    },
  ];
}

export function templates(namespace: string, name: string, contract: Contract = "v1beta2") {
  const k = kinds(contract);
  return [
    { apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`, kind: `${k.config}Template`, metadata: { name, namespace }, spec: { template: { spec: {} } } },
    { apiVersion: `${INFRA_GROUP}/v1beta1`, kind: `${k.machine}Template`, metadata: { name, namespace }, spec: { template: { spec: {} } } },
  ];
}

function machineTemplate(clusterName: string, templateName: string, labels: Record<string, string>, version: string, contract: Contract) {
  const k = kinds(contract);
  return {
    metadata: { labels },
    spec: {
      clusterName,
      version,
      bootstrap: { configRef: { apiGroup: BOOTSTRAP_GROUP, kind: `${k.config}Template`, name: templateName } },
      infrastructureRef: { apiGroup: INFRA_GROUP, kind: `${k.machine}Template`, name: templateName },
    },
  };
}

export function machineDeployment(namespace: string, clusterName: string, name: string, opts: { replicas: number; version?: string; template?: string; contract?: Contract; spec?: Record<string, unknown> }) {
  const labels = { pool: name };
  return {
    apiVersion: CAPI,
    kind: "MachineDeployment",
    metadata: { name, namespace },
    spec: {
      clusterName,
      replicas: opts.replicas,
      selector: { matchLabels: labels },
      template: machineTemplate(clusterName, opts.template ?? name, labels, opts.version ?? "v1.31.0", opts.contract ?? "v1beta2"),
      ...opts.spec,
    },
  };
}

export function machineSet(namespace: string, clusterName: string, name: string, opts: { replicas: number; order?: string; contract?: Contract }) {
  const labels = { pool: name };
  return {
    apiVersion: CAPI,
    kind: "MachineSet",
    metadata: { name, namespace },
    spec: {
      clusterName,
      replicas: opts.replicas,
      selector: { matchLabels: labels },
      ...(opts.order ? { deletion: { order: opts.order } } : {}),
      template: machineTemplate(clusterName, name, labels, "v1.31.0", opts.contract ?? "v1beta2"),
    },
  };
}

export function toYaml(objs: unknown[]): string {
  // kubectl reads a JSON List as well as YAML documents.
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: objs });
}
