import { afterEach, describe, expect, test } from "bun:test";
import { ApiError, type StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { setFeatureGates } from "./features.ts";
import { mutateMachineDeployment, validateMachineDeployment } from "./machinedeployment.ts";

const MIN = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size";
const MAX = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size";
const CN = "cluster.x-k8s.io/cluster-name";
const DN = "cluster.x-k8s.io/deployment-name";

const LABEL_VALUE_REGEX_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** A MachineDeployment as a user writes it (before defaulting). */
function rawMD(overrides: { metadata?: Record<string, unknown>; spec?: Record<string, unknown> } = {}): KObject {
  return {
    apiVersion: "cluster.x-k8s.io/v1beta2",
    kind: "MachineDeployment",
    metadata: { name: "md", namespace: "default", ...overrides.metadata },
    spec: {
      clusterName: "c1",
      template: {
        spec: {
          clusterName: "c1",
          version: "v1.30.2",
          bootstrap: { configRef: { apiGroup: "bootstrap.cluster.x-k8s.io", kind: "KubeadmConfigTemplate", name: "md" } },
          infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxMachineTemplate", name: "md" },
        },
      },
      ...overrides.spec,
    },
  };
}

/** The same object after defaulting (a valid MachineDeployment). */
function validMD(overrides: Parameters<typeof rawMD>[0] = {}): KObject {
  const md = rawMD(overrides);
  mutateMachineDeployment(md, undefined);
  return md;
}

const spec = (o: KObject) => o.spec as Record<string, any>;

describe("MachineDeployment defaulting", () => {
  test("minimal object gets every upstream default", () => {
    const md = rawMD({ spec: { selector: {}, template: { spec: { clusterName: "c1", version: "1.30.2", bootstrap: { dataSecretName: "s" } } } } });
    mutateMachineDeployment(md, undefined);
    expect(md.metadata.labels).toEqual({ [CN]: "c1" });
    expect(spec(md).replicas).toBe(1);
    expect(spec(md).rollout).toEqual({ strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
    expect(spec(md).selector).toEqual({ matchLabels: { [DN]: "md", [CN]: "c1" } });
    expect(spec(md).template.metadata).toEqual({ labels: { [DN]: "md", [CN]: "c1" } });
    expect(spec(md).template.spec.version).toBe("v1.30.2");
  });

  const cases: {
    name: string;
    input: Parameters<typeof rawMD>[0];
    old?: KObject;
    check: (md: KObject) => void;
  }[] = [
    {
      name: "replicas already set are kept",
      input: { spec: { replicas: 0 } },
      check: (md) => expect(spec(md).replicas).toBe(0),
    },
    {
      name: "only the min-size annotation: replicas fall back to 1",
      input: { metadata: { annotations: { [MIN]: "3" } } },
      check: (md) => expect(spec(md).replicas).toBe(1),
    },
    {
      name: "only the max-size annotation: replicas fall back to 1",
      input: { metadata: { annotations: { [MAX]: "3" } } },
      check: (md) => expect(spec(md).replicas).toBe(1),
    },
    {
      name: "new MD with both autoscaler annotations: min size",
      input: { metadata: { annotations: { [MIN]: "3", [MAX]: "7" } } },
      check: (md) => expect(spec(md).replicas).toBe(3),
    },
    {
      name: "update, old MD without replicas: min size",
      input: { metadata: { annotations: { [MIN]: "3", [MAX]: "7" } } },
      old: rawMD(),
      check: (md) => expect(spec(md).replicas).toBe(3),
    },
    {
      name: "update, old replicas below min: min size",
      input: { metadata: { annotations: { [MIN]: "3", [MAX]: "7" } } },
      old: rawMD({ spec: { replicas: 1 } }),
      check: (md) => expect(spec(md).replicas).toBe(3),
    },
    {
      name: "update, old replicas above max: max size",
      input: { metadata: { annotations: { [MIN]: "3", [MAX]: "7" } } },
      old: rawMD({ spec: { replicas: 9 } }),
      check: (md) => expect(spec(md).replicas).toBe(7),
    },
    {
      name: "update, old replicas within [min, max]: kept",
      input: { metadata: { annotations: { [MIN]: "3", [MAX]: "7" } } },
      old: rawMD({ spec: { replicas: 5 } }),
      check: (md) => expect(spec(md).replicas).toBe(5),
    },
    {
      name: "OnDelete strategy gets no rollingUpdate defaults",
      input: { spec: { rollout: { strategy: { type: "OnDelete" } } } },
      check: (md) => expect(spec(md).rollout).toEqual({ strategy: { type: "OnDelete" } }),
    },
    {
      name: "percentages and a set maxUnavailable are kept; only the missing value is defaulted",
      input: { spec: { rollout: { strategy: { rollingUpdate: { maxUnavailable: "25%" } } } } },
      check: (md) =>
        expect(spec(md).rollout.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: "25%" } }),
    },
    {
      name: "a selector with matchExpressions only is not given the deployment-name label",
      input: { spec: { selector: { matchExpressions: [{ key: "pool", operator: "In", values: ["a"] }] } } },
      check: (md) => {
        expect(spec(md).selector).toEqual({ matchExpressions: [{ key: "pool", operator: "In", values: ["a"] }], matchLabels: { [CN]: "c1" } });
        expect(spec(md).template.metadata.labels).toEqual({ [CN]: "c1" });
      },
    },
    {
      name: "existing matchLabels are kept and get the cluster-name label",
      input: { spec: { selector: { matchLabels: { pool: "a" } }, template: { metadata: { labels: { pool: "a" } }, spec: { clusterName: "c1" } } } },
      check: (md) => {
        expect(spec(md).selector.matchLabels).toEqual({ pool: "a", [CN]: "c1" });
        expect(spec(md).template.metadata.labels).toEqual({ pool: "a", [CN]: "c1" });
      },
    },
    {
      name: "cluster-name label overrides a wrong value on the object, selector and template",
      input: {
        metadata: { labels: { [CN]: "other", keep: "me" } },
        spec: { selector: { matchLabels: { [CN]: "other" } }, template: { metadata: { labels: { [CN]: "other" } }, spec: { clusterName: "c1" } } },
      },
      check: (md) => {
        expect(md.metadata.labels).toEqual({ [CN]: "c1", keep: "me" });
        expect(spec(md).selector.matchLabels).toEqual({ [CN]: "c1" });
        expect(spec(md).template.metadata.labels).toEqual({ [CN]: "c1" });
      },
    },
    {
      name: "a version that already starts with v is untouched; an empty one stays empty",
      input: { spec: { template: { spec: { clusterName: "c1", version: "" } } } },
      check: (md) => expect(spec(md).template.spec.version).toBe(""),
    },
    {
      name: "template.spec.clusterName is not defaulted (upstream validates it instead)",
      input: { spec: { template: { spec: {} } } },
      check: (md) => expect(spec(md).template.spec.clusterName).toBeUndefined(),
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const md = rawMD(c.input);
      mutateMachineDeployment(md, c.old);
      c.check(md);
    });
  }

  test("defaulting is idempotent", () => {
    const once = validMD();
    const twice = structuredClone(once);
    mutateMachineDeployment(twice, once);
    expect(twice).toEqual(once);
  });

  test("an unparsable autoscaler annotation fails the request like upstream's defaulter (403)", () => {
    const md = rawMD({ metadata: { annotations: { [MIN]: "abc", [MAX]: "3" } } });
    let err: unknown;
    try {
      mutateMachineDeployment(md, undefined);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(403);
    expect((err as ApiError).message).toBe(
      `admission webhook "default.machinedeployment.cluster.x-k8s.io" denied the request: failed to caculate MachineDeployment replicas value: could not parse the value of the "${MIN}" annotation: strconv.ParseInt: parsing "abc": invalid syntax`,
    );
    const big = rawMD({ metadata: { annotations: { [MIN]: "1", [MAX]: "4294967296" } } });
    expect(() => mutateMachineDeployment(big, undefined)).toThrow(
      `could not parse the value of the "${MAX}" annotation: strconv.ParseInt: parsing "4294967296": value out of range`,
    );
  });
});

describe("MachineDeployment validation", () => {
  afterEach(() => setFeatureGates({ MachineTaintPropagation: true, MachineSetPreflightChecks: true }));

  test("a defaulted object is valid", () => {
    expect(validateMachineDeployment(validMD(), undefined)).toEqual([]);
  });

  const inv = (field: string, message: string): StatusCause => ({ reason: "FieldValueInvalid", field, message });
  const forb = (field: string, message: string): StatusCause => ({ reason: "FieldValueForbidden", field, message });

  const cases: { name: string; edit: (md: KObject) => void; old?: (md: KObject) => void; want: StatusCause[] }[] = [
    {
      name: "name longer than 63 characters",
      edit: (md) => (md.metadata.name = "a".repeat(64)),
      want: [inv("metadata.name", `Invalid value: "${"a".repeat(64)}": must be a valid label value: must be no more than 63 bytes`)],
    },
    {
      name: "name ending with a non-alphanumeric character",
      edit: (md) => (md.metadata.name = "md-"),
      want: [inv("metadata.name", `Invalid value: "md-": must be a valid label value: ${LABEL_VALUE_REGEX_MSG}`)],
    },
    {
      name: "neither bootstrap configRef nor dataSecretName",
      edit: (md) => (spec(md).template.spec.bootstrap = {}),
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
      name: "an empty dataSecretName counts as set",
      edit: (md) => (spec(md).template.spec.bootstrap = { dataSecretName: "" }),
      want: [],
    },
    {
      name: "template labels must match the selector",
      edit: (md) => (spec(md).template.metadata.labels = { [CN]: "c1" }),
      want: [
        forb("spec.template.metadata.labels", `Forbidden: must match spec.selector "${CN}=c1,${DN}=md"`),
      ],
    },
    {
      name: "invalid selector operator",
      edit: (md) => (spec(md).selector.matchExpressions = [{ key: "a", operator: "Bogus", values: ["x"] }]),
      want: [
        inv(
          "spec.selector",
          `Invalid value: {"matchLabels":{"${CN}":"c1","${DN}":"md"},"matchExpressions":[{"key":"a","operator":"Bogus","values":["x"]}]}: "Bogus" is not a valid label selector operator`,
        ),
      ],
    },
    {
      name: "unknown skipped preflight check",
      edit: (md) => (md.metadata.annotations = { "machineset.cluster.x-k8s.io/skip-preflight-checks": "All, Foo" }),
      want: [
        inv(
          "metadata.annotations.machineset.cluster.x-k8s.io/skip-preflight-checks",
          'Invalid value: ["Foo"]: skipped preflight check(s) must be among: [All ControlPlaneIsStable ControlPlaneVersionSkew KubeadmVersionSkew KubernetesVersionSkew]',
        ),
      ],
    },
    {
      name: "clusterName is immutable",
      edit: (md) => {
        spec(md).clusterName = "c2";
        spec(md).template.spec.clusterName = "c2";
        spec(md).selector.matchLabels[CN] = "c2";
        spec(md).template.metadata.labels[CN] = "c2";
      },
      old: () => {},
      want: [forb("spec.clusterName", "Forbidden: field is immutable")],
    },
    {
      name: "template clusterName must equal spec.clusterName",
      edit: (md) => (spec(md).template.spec.clusterName = "other"),
      want: [inv("spec.clusterName", 'Invalid value: "c1": spec.clusterName and spec.template.spec.clusterName must be set to the same value')],
    },
    {
      name: "maxSurge that is not a percentage",
      edit: (md) => (spec(md).rollout.strategy.rollingUpdate.maxSurge = "abc"),
      want: [
        inv(
          "spec.rollout.strategy.rollingUpdate.maxSurge",
          'Invalid value: "abc": must be either an int or a percentage: invalid value for IntOrString: invalid type: string is not a percentage',
        ),
      ],
    },
    {
      name: "maxUnavailable with a non-numeric percentage",
      edit: (md) => (spec(md).rollout.strategy.rollingUpdate.maxUnavailable = "x%"),
      want: [
        inv(
          "spec.rollout.strategy.rollingUpdate.maxUnavailable",
          'Invalid value: "x%": must be either an int or a percentage: invalid value for IntOrString: invalid value "x%": strconv.Atoi: parsing "x": invalid syntax',
        ),
      ],
    },
    {
      name: "maxSurge and maxUnavailable both 0",
      edit: (md) => (spec(md).rollout.strategy.rollingUpdate = { maxSurge: 0, maxUnavailable: 0 }),
      want: [inv("spec.rollout.strategy.rollingUpdate", 'Invalid value: "0": maxUnavailable and maxSurge cannot both be 0')],
    },
    {
      name: "0% and 0 is allowed (only two integer zeros are rejected)",
      edit: (md) => (spec(md).rollout.strategy.rollingUpdate = { maxSurge: "0%", maxUnavailable: 0 }),
      want: [],
    },
    {
      name: "percentage maxSurge / maxUnavailable are valid",
      edit: (md) => (spec(md).rollout.strategy.rollingUpdate = { maxSurge: "25%", maxUnavailable: "10%" }),
      want: [],
    },
    {
      name: "remediation.maxInFlight must be an int or a percentage",
      edit: (md) => (spec(md).remediation = { maxInFlight: "1" }),
      want: [
        inv(
          "spec.remediation.maxInFlight",
          'Invalid value: "1": must be either an int or a percentage: invalid value for IntOrString: invalid type: string is not a percentage',
        ),
      ],
    },
    {
      name: "remediation.maxInFlight int and percentage are valid",
      edit: (md) => (spec(md).remediation = { maxInFlight: "20%" }),
      want: [],
    },
    {
      name: "version without v (defaulting skipped) and not semver",
      edit: (md) => (spec(md).template.spec.version = "1.30"),
      want: [
        inv("spec.template.spec.version", 'Invalid value: "1.30": must start with v'),
        inv("spec.template.spec.version", 'Invalid value: "1.30": must be a valid semantic version'),
      ],
    },
    {
      name: "version with leading zeros is not semver",
      edit: (md) => (spec(md).template.spec.version = "v1.030.0"),
      want: [inv("spec.template.spec.version", 'Invalid value: "v1.030.0": must be a valid semantic version')],
    },
    {
      name: "pre-release and build metadata are valid semver",
      edit: (md) => (spec(md).template.spec.version = "v1.31.0-rc.1+build.5"),
      want: [],
    },
    {
      name: "machineNaming without {{ .random }}",
      edit: (md) => (spec(md).machineNaming = { template: "{{ .machineSet.name }}" }),
      want: [inv("spec.machineNaming.template", 'Invalid value: "{{ .machineSet.name }}": invalid template, {{ .random }} is missing')],
    },
    {
      name: "machineNaming rendering to an invalid object name",
      edit: (md) => (spec(md).machineNaming = { template: "{{ .machineSet.name }}-{{ .random }}-" }),
      want: [
        inv(
          "spec.machineNaming.template",
          `Invalid value: "{{ .machineSet.name }}-{{ .random }}-": invalid template, generated names would not be valid Kubernetes object names: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
        ),
      ],
    },
    {
      name: "machineNaming referencing a missing key",
      edit: (md) => (spec(md).machineNaming = { template: "{{ .machineDeployment.name }}-{{ .random }}" }),
      want: [
        inv(
          "spec.machineNaming.template",
          'Invalid value: "{{ .machineDeployment.name }}-{{ .random }}": invalid template: rendering template: template: template name generator:1:3: executing "template name generator" at <.machineDeployment.name>: map has no entry for key "machineDeployment"',
        ),
      ],
    },
    {
      name: "machineNaming with a cluster prefix is valid",
      edit: (md) => (spec(md).machineNaming = { template: "{{ .cluster.name }}-{{ .machineSet.name }}-{{ .random }}" }),
      want: [],
    },
    {
      name: "reserved and worker-forbidden taint keys",
      edit: (md) =>
        (spec(md).template.spec.taints = [
          { key: "node.cluster.x-k8s.io/uninitialized", effect: "NoSchedule", propagation: "Always" },
          { key: "node.kubernetes.io/not-ready", effect: "NoSchedule", propagation: "Always" },
          { key: "node.kubernetes.io/out-of-service", effect: "NoExecute", propagation: "Always" },
          { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule", propagation: "Always" },
        ]),
      want: [
        inv("spec.template.spec.taints[0].key", 'Invalid value: "node.cluster.x-k8s.io/uninitialized": taint key is not allowed'),
        inv(
          "spec.template.spec.taints[1].key",
          'Invalid value: "node.kubernetes.io/not-ready": taint key must not have the prefix node.kubernetes.io/, except for node.kubernetes.io/out-of-service',
        ),
        inv("spec.template.spec.taints[3].key", 'Invalid value: "node-role.kubernetes.io/control-plane": taint is not allowed for worker Machines'),
      ],
    },
    {
      name: "template metadata: invalid label key and annotation key",
      edit: (md) => {
        spec(md).template.metadata.labels["bad key"] = "v";
        spec(md).template.metadata.annotations = { "/x": "y" };
      },
      want: [
        inv(
          "spec.template.metadata.labels",
          `Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
        ),
        inv("spec.template.metadata.annotations", 'Invalid value: "/x": prefix part must be non-empty'),
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const md = validMD();
      const old = c.old ? structuredClone(md) : undefined;
      c.edit(md);
      expect(validateMachineDeployment(md, old)).toEqual(c.want);
    });
  }

  test("taints are forbidden when MachineTaintPropagation is off (upstream default)", () => {
    setFeatureGates({ MachineTaintPropagation: false });
    const md = validMD();
    spec(md).template.spec.taints = [{ key: "a", effect: "NoSchedule", propagation: "Always" }];
    expect(validateMachineDeployment(md, undefined)).toEqual([
      forb("spec.template.spec.taints", "Forbidden: taints are not allowed to be set when the feature gate MachineTaintPropagation is disabled"),
    ]);
  });

  test("preflight annotation is not checked when MachineSetPreflightChecks is off", () => {
    setFeatureGates({ MachineSetPreflightChecks: false });
    const md = validMD({ metadata: { annotations: { "machineset.cluster.x-k8s.io/skip-preflight-checks": "Foo" } } });
    expect(validateMachineDeployment(md, undefined)).toEqual([]);
  });

  test("missing parts do not throw", () => {
    const md: KObject = { metadata: { name: "md" } };
    expect(() => mutateMachineDeployment(structuredClone(md), undefined)).not.toThrow();
    expect(validateMachineDeployment(md, undefined).map((c) => c.field)).toEqual(["spec.template.spec.bootstrap"]);
  });
});
