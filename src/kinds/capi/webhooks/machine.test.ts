import { afterEach, describe, expect, test } from "bun:test";
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { setFeatureGates } from "./features.ts";
import { mutateMachine, validateMachine } from "./machine.ts";

const CN = "cluster.x-k8s.io/cluster-name";

function rawMachine(spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: "cluster.x-k8s.io/v1beta2",
    kind: "Machine",
    metadata: { name: "m1", namespace: "default", ...metadata },
    spec: {
      clusterName: "c1",
      bootstrap: { configRef: { apiGroup: "bootstrap.cluster.x-k8s.io", kind: "KubeadmConfig", name: "m1" } },
      infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachine", name: "m1" },
      ...spec,
    },
  };
}

const spec = (o: KObject) => o.spec as Record<string, any>;

describe("Machine defaulting", () => {
  const cases: { name: string; input: KObject; want: (m: KObject) => void }[] = [
    {
      name: "cluster-name label, v prefix, nodeDeletionTimeoutSeconds 10",
      input: rawMachine({ version: "1.31.0" }),
      want: (m) => {
        expect(m.metadata.labels).toEqual({ [CN]: "c1" });
        expect(spec(m).version).toBe("v1.31.0");
        expect(spec(m).deletion).toEqual({ nodeDeletionTimeoutSeconds: 10 });
      },
    },
    {
      name: "a set nodeDeletionTimeoutSeconds (0 included) is kept; other deletion fields untouched",
      input: rawMachine({ deletion: { nodeDeletionTimeoutSeconds: 0, nodeDrainTimeoutSeconds: 60 } }),
      want: (m) => expect(spec(m).deletion).toEqual({ nodeDeletionTimeoutSeconds: 0, nodeDrainTimeoutSeconds: 60 }),
    },
    {
      name: "no version: nothing added",
      input: rawMachine(),
      want: (m) => expect(spec(m).version).toBeUndefined(),
    },
    {
      name: "existing labels are kept, cluster-name overwritten",
      input: rawMachine({}, { labels: { a: "b", [CN]: "wrong" } }),
      want: (m) => expect(m.metadata.labels).toEqual({ a: "b", [CN]: "c1" }),
    },
    {
      name: "missing spec is tolerated (label with empty cluster name, as upstream)",
      input: { metadata: { name: "m" } },
      want: (m) => {
        expect(m.metadata.labels).toEqual({ [CN]: "" });
        expect(spec(m).deletion).toEqual({ nodeDeletionTimeoutSeconds: 10 });
      },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      mutateMachine(c.input, undefined);
      c.want(c.input);
    });
  }
});

describe("Machine validation", () => {
  afterEach(() => setFeatureGates({ MachineTaintPropagation: true }));
  const required: StatusCause = {
    reason: "FieldValueRequired",
    field: "spec.bootstrap",
    message: "Required value: expected either spec.bootstrap.dataSecretName or spec.bootstrap.configRef to be populated",
  };

  const cases: { name: string; obj: KObject; old?: KObject; want: StatusCause[] }[] = [
    { name: "valid with configRef", obj: rawMachine({ version: "v1.31.0" }), want: [] },
    { name: "valid with dataSecretName", obj: rawMachine({ bootstrap: { dataSecretName: "s" } }), want: [] },
    { name: "no bootstrap source", obj: rawMachine({ bootstrap: {} }), want: [required] },
    {
      name: "MachinePool machines (pool-name label) need no bootstrap",
      obj: rawMachine({ bootstrap: {} }, { labels: { "cluster.x-k8s.io/pool-name": "mp" } }),
      want: [],
    },
    {
      name: "MachinePool machines (MachinePool owner) need no bootstrap",
      obj: rawMachine({ bootstrap: {} }, { ownerReferences: [{ apiVersion: "cluster.x-k8s.io/v1beta2", kind: "MachinePool", name: "mp", uid: "u" }] }),
      want: [],
    },
    {
      name: "clusterName is immutable",
      obj: rawMachine({ clusterName: "c2" }),
      old: rawMachine(),
      want: [{ reason: "FieldValueForbidden", field: "spec.clusterName", message: "Forbidden: field is immutable" }],
    },
    {
      name: "other spec fields may change on update (upstream guards only clusterName)",
      obj: rawMachine({
        version: "v1.32.0",
        providerID: "proxmox://x",
        failureDomain: "fd2",
        infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachine", name: "other" },
      }),
      old: rawMachine({ version: "v1.31.0", failureDomain: "fd1" }),
      want: [],
    },
    {
      name: "version checks",
      obj: rawMachine({ version: "1.31" }),
      want: [
        { reason: "FieldValueInvalid", field: "spec.version", message: 'Invalid value: "1.31": must start with v' },
        { reason: "FieldValueInvalid", field: "spec.version", message: 'Invalid value: "1.31": must be a valid semantic version' },
      ],
    },
    {
      name: "control-plane taint on a worker Machine",
      obj: rawMachine({ taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule", propagation: "Always" }] }),
      want: [
        {
          reason: "FieldValueInvalid",
          field: "spec.taints[0].key",
          message: 'Invalid value: "node-role.kubernetes.io/control-plane": taint is not allowed for worker Machines',
        },
      ],
    },
    {
      name: "control-plane taint on a control-plane Machine",
      obj: rawMachine(
        { taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule", propagation: "Always" }] },
        { labels: { "cluster.x-k8s.io/control-plane": "" } },
      ),
      want: [],
    },
    {
      name: "deprecated master taint, cloudprovider prefix and a bad key",
      obj: rawMachine({
        taints: [
          { key: "node-role.kubernetes.io/master", effect: "NoSchedule", propagation: "Always" },
          { key: "node.cloudprovider.kubernetes.io/uninitialized", effect: "NoSchedule", propagation: "Always" },
          { key: "a/b/c", effect: "NoSchedule", propagation: "Always" },
          { key: "node.cluster.x-k8s.io/outdated-revision", effect: "PreferNoSchedule", propagation: "Always" },
        ],
      }),
      want: [
        {
          reason: "FieldValueInvalid",
          field: "spec.taints[0].key",
          message: 'Invalid value: "node-role.kubernetes.io/master": taint is deprecated since 1.24 and should not be used anymore',
        },
        {
          reason: "FieldValueInvalid",
          field: "spec.taints[1].key",
          message:
            'Invalid value: "node.cloudprovider.kubernetes.io/uninitialized": taint key must not have the prefix node.cloudprovider.kubernetes.io/',
        },
        {
          reason: "FieldValueInvalid",
          field: "spec.taints[2].key",
          message:
            "Invalid value: \"a/b/c\": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        },
        {
          reason: "FieldValueInvalid",
          field: "spec.taints[3].key",
          message: 'Invalid value: "node.cluster.x-k8s.io/outdated-revision": taint key is not allowed',
        },
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => expect(validateMachine(c.obj, c.old)).toEqual(c.want));
  }

  test("with MachineTaintPropagation off, any taint is forbidden and the worker check is skipped", () => {
    setFeatureGates({ MachineTaintPropagation: false });
    const m = rawMachine({ taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule", propagation: "Always" }] });
    expect(validateMachine(m, undefined)).toEqual([
      {
        reason: "FieldValueForbidden",
        field: "spec.taints",
        message: "Forbidden: taints are not allowed to be set when the feature gate MachineTaintPropagation is disabled",
      },
    ]);
  });
});
