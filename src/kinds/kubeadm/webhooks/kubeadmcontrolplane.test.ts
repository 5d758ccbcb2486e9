import { describe, expect, test } from "bun:test";
import type { KObject } from "../../../lib/kobject.ts";
import {
  CLUSTER_TOPOLOGY_DISABLED_MSG,
  mergePatchPaths,
  mutateKubeadmControlPlane,
  validateKubeadmControlPlane,
  validateKubeadmControlPlaneTemplate,
} from "./kubeadmcontrolplane.ts";

type Any = Record<string, any>;

const kcp = (spec: Any = {}): KObject => ({
  apiVersion: "controlplane.cluster.x-k8s.io/v1beta2",
  kind: "KubeadmControlPlane",
  metadata: { name: "kcp", namespace: "default" },
  spec: {
    replicas: 3,
    version: "v1.32.0",
    machineTemplate: { spec: { infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachineTemplate", name: "cp" } } },
    kubeadmConfigSpec: {},
    rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } },
    ...spec,
  },
});
const fields = (o: KObject, old?: KObject) => validateKubeadmControlPlane(o, old).map((c) => `${c.field}: ${c.message}`);

describe("KubeadmControlPlane defaulting", () => {
  test("replicas 1, a v prefix, RollingUpdate with maxSurge 1", () => {
    const o: KObject = { apiVersion: "x", kind: "KubeadmControlPlane", metadata: { name: "k" }, spec: { version: "1.32.0" } };
    mutateKubeadmControlPlane(o, undefined);
    expect(o.spec).toEqual({ replicas: 1, version: "v1.32.0", rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } } });
  });
  test("set values stay; the strategy type is always RollingUpdate", () => {
    const o = kcp({ replicas: 5, rollout: { strategy: { type: "Other", rollingUpdate: { maxSurge: 0 } } } });
    mutateKubeadmControlPlane(o, undefined);
    expect((o.spec as Any).replicas).toBe(5);
    expect((o.spec as Any).rollout.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 0 } });
  });
});

describe("KubeadmControlPlane validation on create", () => {
  test("a valid object passes", () => {
    expect(fields(kcp())).toEqual([]);
  });
  test("replicas: required, > 0, odd with stacked etcd; even is fine with external etcd", () => {
    expect(fields(kcp({ replicas: undefined }))).toEqual(["spec.replicas: Required value: is required"]);
    expect(fields(kcp({ replicas: 0 }))).toEqual(["spec.replicas: Forbidden: cannot be less than or equal to 0", "spec.replicas: Forbidden: cannot be an even number when etcd is stacked"]);
    expect(fields(kcp({ replicas: 2 }))).toEqual(["spec.replicas: Forbidden: cannot be an even number when etcd is stacked"]);
    const external = { clusterConfiguration: { etcd: { external: { endpoints: ["https://e:2379"], caFile: "a", certFile: "b", keyFile: "c" } } } };
    expect(fields(kcp({ replicas: 2, kubeadmConfigSpec: external }))).toEqual([]);
  });
  test("version must be v-prefixed semver", () => {
    expect(fields(kcp({ version: "1.32" }))).toEqual([
      'spec.version: Invalid value: "1.32": must start with v',
      'spec.version: Invalid value: "1.32": must be a valid semantic version',
    ]);
  });
  test("rollout: maxSurge 0 or 1, and 0 needs at least 3 replicas", () => {
    expect(fields(kcp({ rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 2 } } } }))).toEqual([
      "spec.rollout.strategy.rollingUpdate.maxSurge: Required value: value must be 1 or 0",
    ]);
    expect(fields(kcp({ replicas: 1, rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0 } } } }))).toEqual([
      "spec.rollout.strategy.rollingUpdate: Required value: when KubeadmControlPlane is configured to scale-in, replica count needs to be at least 3",
    ]);
  });
  test("the infrastructure reference must be complete; local and external etcd exclude each other", () => {
    const both = { clusterConfiguration: { etcd: { local: { dataDir: "/d" }, external: { endpoints: ["x"], caFile: "a", certFile: "b", keyFile: "c" } } } };
    expect(fields(kcp({ machineTemplate: { spec: { infrastructureRef: { kind: "K", name: "n" } } }, kubeadmConfigSpec: both, replicas: 1 }))).toEqual([
      'spec.machineTemplate.infrastructure.apiGroup: Invalid value: "": cannot be empty',
      "spec.kubeadmConfigSpec.clusterConfiguration.etcd.local: Forbidden: cannot have both external and local etcd",
    ]);
  });
  test("certificate validity and machine naming", () => {
    const spec = { kubeadmConfigSpec: { clusterConfiguration: { certificateValidityPeriodDays: 4000 } }, machineNaming: { template: "{{ .kubeadmControlPlane.name }}" } };
    expect(fields(kcp(spec))).toEqual([
      "spec.kubeadmConfigSpec.clusterConfiguration.certificateValidityPeriodDays: Invalid value: 4000: must be less than or equal to the default value of caCertificateValidityPeriodDays (3650)",
      'spec.machineNaming.template: Invalid value: "{{ .kubeadmControlPlane.name }}": invalid template, {{ .random }} is missing',
    ]);
  });
});

describe("KubeadmControlPlane validation on update", () => {
  test("replicas, version, rollout, files, machine template may change", () => {
    const old = kcp();
    const next = kcp({ replicas: 5, version: "v1.33.0", kubeadmConfigSpec: { files: [{ path: "/a", content: "x" }] } });
    expect(fields(next, old)).toEqual([]);
  });
  test("other kubeadm fields cannot be modified", () => {
    const old = kcp({ kubeadmConfigSpec: { clusterConfiguration: { certificatesDir: "/a" } } });
    const next = kcp({ kubeadmConfigSpec: { clusterConfiguration: { certificatesDir: "/b" } } });
    expect(fields(next, old)).toEqual(["spec.kubeadmConfigSpec.clusterConfiguration.certificatesDir: Forbidden: cannot be modified"]);
  });
  test("the Kubernetes version may move up one minor at a time", () => {
    expect(fields(kcp({ version: "v1.34.0" }), kcp())).toEqual(["spec.version: Forbidden: cannot update Kubernetes version from v1.32.0 to v1.34.0"]);
    expect(fields(kcp({ version: "v1.31.0" }), kcp())).toEqual([]);
  });
  test("etcd cannot switch between local and external", () => {
    const external = { clusterConfiguration: { etcd: { external: { endpoints: ["x"], caFile: "a", certFile: "b", keyFile: "c" } } } };
    expect(fields(kcp({ replicas: 3, kubeadmConfigSpec: external }), kcp())).toEqual([
      "spec.kubeadmConfigSpec.clusterConfiguration.etcd.external: Forbidden: cannot change between external and local etcd",
    ]);
  });
  test("merge-patch paths: changed leaves, removed keys, added objects' leaves", () => {
    expect(mergePatchPaths({ a: { b: 1, c: 2 } }, { a: { b: 1, c: 3, d: { e: 1 } } })).toEqual([["a", "c"], ["a", "d", "e"]]);
    expect(mergePatchPaths({ a: { b: 1 } }, { a: {} })).toEqual([["a", "b"]]);
  });
});

describe("KubeadmControlPlaneTemplate", () => {
  const tpl = (spec: Any): KObject => ({ apiVersion: "controlplane.cluster.x-k8s.io/v1beta2", kind: "KubeadmControlPlaneTemplate", metadata: { name: "t" }, spec: { template: { spec } } });
  test("creating one needs the ClusterTopology feature gate, which is off", () => {
    expect(validateKubeadmControlPlaneTemplate(tpl({}), undefined)).toEqual([
      { reason: "FieldValueForbidden", field: "spec", message: `Forbidden: ${CLUSTER_TOPOLOGY_DISABLED_MSG}` },
    ]);
  });
  test("spec.template.spec is immutable, except dropping the old default strategy", () => {
    const old = tpl({ rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } } });
    expect(validateKubeadmControlPlaneTemplate(tpl({}), old)).toEqual([]);
    const causes = validateKubeadmControlPlaneTemplate(tpl({ kubeadmConfigSpec: { verbosity: 2 } }), old);
    expect(causes.map((c) => c.field)).toEqual(["spec.template.spec"]);
    expect(causes[0]?.message).toContain("KubeadmControlPlaneTemplate spec.template.spec field is immutable");
  });
});
