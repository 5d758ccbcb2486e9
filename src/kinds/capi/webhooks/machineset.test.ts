import { describe, expect, test } from "bun:test";
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { mustFormatLabelValue, mutateMachineSet, validateMachineSet } from "./machineset.ts";

const MIN = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size";
const MAX = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size";
const CN = "cluster.x-k8s.io/cluster-name";
const SN = "cluster.x-k8s.io/set-name";

function rawMS(overrides: { metadata?: Record<string, unknown>; spec?: Record<string, unknown> } = {}): KObject {
  return {
    apiVersion: "cluster.x-k8s.io/v1beta2",
    kind: "MachineSet",
    metadata: { name: "ms", namespace: "default", ...overrides.metadata },
    spec: {
      clusterName: "c1",
      template: {
        spec: {
          clusterName: "c1",
          version: "v1.30.2",
          bootstrap: { dataSecretName: "bootstrap" },
          infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachineTemplate", name: "ms" },
        },
      },
      ...overrides.spec,
    },
  };
}

function validMS(overrides: Parameters<typeof rawMS>[0] = {}): KObject {
  const ms = rawMS(overrides);
  mutateMachineSet(ms, undefined);
  return ms;
}

const spec = (o: KObject) => o.spec as Record<string, any>;

describe("MachineSet defaulting", () => {
  test("minimal object", () => {
    const ms = rawMS({ spec: { selector: {}, template: { spec: { clusterName: "c1", version: "1.30.2" } } } });
    mutateMachineSet(ms, undefined);
    expect(ms.metadata.labels).toEqual({ [CN]: "c1" });
    expect(spec(ms).replicas).toBe(1);
    // Upstream adds the cluster-name label to the object only, not to selector / template.
    expect(spec(ms).selector).toEqual({ matchLabels: { [SN]: "ms" } });
    expect(spec(ms).template.metadata).toEqual({ labels: { [SN]: "ms" } });
    expect(spec(ms).template.spec.version).toBe("v1.30.2");
  });

  const cases: { name: string; input: Parameters<typeof rawMS>[0]; old?: KObject; check: (ms: KObject) => void }[] = [
    {
      name: "replicas kept when set",
      input: { spec: { replicas: 4 } },
      check: (ms) => expect(spec(ms).replicas).toBe(4),
    },
    {
      name: "autoscaler annotations on create: min size",
      input: { metadata: { annotations: { [MIN]: "2", [MAX]: "5" } } },
      check: (ms) => expect(spec(ms).replicas).toBe(2),
    },
    {
      name: "autoscaler annotations on update: old replicas clamped to max",
      input: { metadata: { annotations: { [MIN]: "2", [MAX]: "5" } } },
      old: rawMS({ spec: { replicas: 8 } }),
      check: (ms) => expect(spec(ms).replicas).toBe(5),
    },
    {
      name: "autoscaler annotations on update: old replicas in range kept",
      input: { metadata: { annotations: { [MIN]: "2", [MAX]: "5" } } },
      old: rawMS({ spec: { replicas: 3 } }),
      check: (ms) => expect(spec(ms).replicas).toBe(3),
    },
    {
      name: "a non-empty selector is left alone (no set-name, no cluster-name)",
      input: { spec: { selector: { matchLabels: { pool: "a" } } } },
      check: (ms) => {
        expect(spec(ms).selector).toEqual({ matchLabels: { pool: "a" } });
        expect(spec(ms).template.metadata).toBeUndefined();
      },
    },
    {
      name: "a name that is not a valid label value is hashed",
      input: { metadata: { name: `${"a".repeat(64)}` } },
      check: (ms) => {
        expect(spec(ms).selector.matchLabels[SN]).toBe(mustFormatLabelValue("a".repeat(64)));
        expect(spec(ms).selector.matchLabels[SN]).toMatch(/^hash_[A-Za-z0-9_-]{6}_z$/);
      },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const ms = rawMS(c.input);
      mutateMachineSet(ms, c.old);
      c.check(ms);
    });
  }

  test("format.MustFormatValue: FNV-32a, URL-safe base64 without padding", () => {
    expect(mustFormatLabelValue("ms-1")).toBe("ms-1");
    // fnv32a("a" * 64) = 0xd96f0f85 (computed independently) → base64url "2W8PhQ".
    expect(mustFormatLabelValue("a".repeat(64))).toBe("hash_2W8PhQ_z");
  });
});

describe("MachineSet validation", () => {
  const inv = (field: string, message: string): StatusCause => ({ reason: "FieldValueInvalid", field, message });

  test("a defaulted object is valid; long names are fine (the label value is hashed)", () => {
    expect(validateMachineSet(validMS(), undefined)).toEqual([]);
    expect(validateMachineSet(validMS({ metadata: { name: "a".repeat(70) } }), undefined)).toEqual([]);
  });

  const cases: { name: string; edit: (ms: KObject) => void; withOld?: boolean; want: StatusCause[] }[] = [
    {
      name: "bootstrap missing",
      edit: (ms) => delete spec(ms).template.spec.bootstrap,
      want: [
        {
          reason: "FieldValueRequired",
          field: "spec.template.spec.bootstrap",
          message:
            "Required value: expected either spec.template.spec.bootstrap.dataSecretName or spec.template.spec.bootstrap.configRef to be populated",
        },
      ],
    },
    {
      name: "template labels must match the selector (Invalid with the labels as value)",
      edit: (ms) => (spec(ms).template.metadata.labels = { [SN]: "other", z: "1" }),
      want: [inv("spec.template.metadata.labels", `Invalid value: {"${SN}":"other","z":"1"}: must match spec.selector "${SN}=ms"`)],
    },
    {
      name: "template without labels",
      edit: (ms) => delete spec(ms).template.metadata,
      want: [inv("spec.template.metadata.labels", `Invalid value: null: must match spec.selector "${SN}=ms"`)],
    },
    {
      name: "selector with an invalid label value",
      edit: (ms) => (spec(ms).selector = { matchLabels: { a: "-x" } }),
      want: [
        inv(
          "spec.selector",
          `Invalid value: {"matchLabels":{"a":"-x"}}: values[0][a]: Invalid value: "-x": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
        ),
      ],
    },
    {
      name: "clusterName immutable",
      edit: (ms) => {
        spec(ms).clusterName = "c2";
        spec(ms).template.spec.clusterName = "c2";
      },
      withOld: true,
      want: [{ reason: "FieldValueForbidden", field: "spec.clusterName", message: "Forbidden: field is immutable" }],
    },
    {
      name: "clusterName mismatch",
      edit: (ms) => (spec(ms).template.spec.clusterName = "c2"),
      want: [inv("spec.clusterName", 'Invalid value: "c1": spec.clusterName and spec.template.spec.clusterName must be set to the same value')],
    },
    {
      name: "version",
      edit: (ms) => (spec(ms).template.spec.version = "v1.2.3.4"),
      want: [inv("spec.template.spec.version", 'Invalid value: "v1.2.3.4": must be a valid semantic version')],
    },
    {
      name: "preflight checks annotation",
      edit: (ms) => (ms.metadata.annotations = { "machineset.cluster.x-k8s.io/skip-preflight-checks": "KubeadmVersionSkew,," }),
      want: [
        inv(
          "metadata.annotations.machineset.cluster.x-k8s.io/skip-preflight-checks",
          'Invalid value: ["",""]: skipped preflight check(s) must be among: [All ControlPlaneIsStable ControlPlaneVersionSkew KubeadmVersionSkew KubernetesVersionSkew]',
        ),
      ],
    },
    {
      name: "machine naming template with a parse error",
      edit: (ms) => (spec(ms).machineNaming = { template: "{{ .machineSet.name }-{{ .random }}" }),
      want: [
        inv(
          "spec.machineNaming.template",
          `Invalid value: "{{ .machineSet.name }-{{ .random }}": invalid template: parsing template "{{ .machineSet.name }-{{ .random }}": template: template name generator:1: unrecognized character in action: U+007D '}'`,
        ),
      ],
    },
    {
      name: "template annotations over 256 KiB",
      edit: (ms) => (spec(ms).template.metadata.annotations = { big: "x".repeat(256 * 1024) }),
      want: [{ reason: "FieldValueTooLong", field: "spec.template.metadata.annotations", message: "Too long: may not be more than 262144 bytes" }],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const ms = validMS();
      const old = c.withOld ? structuredClone(ms) : undefined;
      c.edit(ms);
      expect(validateMachineSet(ms, old)).toEqual(c.want);
    });
  }
});
