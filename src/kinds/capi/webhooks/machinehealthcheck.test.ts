import { describe, expect, test } from "bun:test";
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { mutateMachineHealthCheck, validateMachineHealthCheck } from "./machinehealthcheck.ts";

const CN = "cluster.x-k8s.io/cluster-name";

function mhc(spec: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: "cluster.x-k8s.io/v1beta2",
    kind: "MachineHealthCheck",
    metadata: { name: "mhc", namespace: "default" },
    spec: {
      clusterName: "c1",
      selector: { matchLabels: { "cluster.x-k8s.io/deployment-name": "md" } },
      checks: { nodeStartupTimeoutSeconds: 600, unhealthyNodeConditions: [{ type: "Ready", status: "Unknown", timeoutSeconds: 300 }] },
      ...spec,
    },
  };
}

const spec = (o: KObject) => o.spec as Record<string, any>;

describe("MachineHealthCheck defaulting", () => {
  const cases: { name: string; input: KObject; want: (o: KObject) => void }[] = [
    {
      name: "cluster-name label and nodeStartupTimeoutSeconds 600",
      input: mhc({ checks: undefined }),
      want: (o) => {
        expect(o.metadata.labels).toEqual({ [CN]: "c1" });
        expect(spec(o).checks).toEqual({ nodeStartupTimeoutSeconds: 600 });
      },
    },
    {
      name: "0 (disabled) is kept",
      input: mhc({ checks: { nodeStartupTimeoutSeconds: 0 } }),
      want: (o) => expect(spec(o).checks.nodeStartupTimeoutSeconds).toBe(0),
    },
    {
      name: "a custom timeout is kept, conditions untouched",
      input: mhc({ checks: { nodeStartupTimeoutSeconds: 900, unhealthyNodeConditions: [{ type: "Ready", status: "False", timeoutSeconds: 60 }] } }),
      want: (o) =>
        expect(spec(o).checks).toEqual({ nodeStartupTimeoutSeconds: 900, unhealthyNodeConditions: [{ type: "Ready", status: "False", timeoutSeconds: 60 }] }),
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      mutateMachineHealthCheck(c.input, undefined);
      c.want(c.input);
    });
  }
});

describe("MachineHealthCheck validation", () => {
  const inv = (field: string, message: string): StatusCause => ({ reason: "FieldValueInvalid", field, message });
  const cases: { name: string; obj: KObject; old?: KObject; want: StatusCause[] }[] = [
    { name: "valid", obj: mhc(), want: [] },
    {
      name: "empty selector",
      obj: mhc({ selector: {} }),
      want: [{ reason: "FieldValueRequired", field: "spec.selector", message: "Required value: selector must not be empty" }],
    },
    {
      name: "missing selector counts as empty",
      obj: mhc({ selector: undefined }),
      want: [{ reason: "FieldValueRequired", field: "spec.selector", message: "Required value: selector must not be empty" }],
    },
    {
      name: "unparsable selector",
      obj: mhc({ selector: { matchExpressions: [{ key: "a", operator: "In" }] } }),
      want: [
        inv(
          "spec.selector",
          `Invalid value: {"matchExpressions":[{"key":"a","operator":"In"}]}: values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty`,
        ),
      ],
    },
    {
      name: "selector naming another cluster",
      obj: mhc({ selector: { matchLabels: { [CN]: "c2" } } }),
      want: [inv("spec.selector", `Invalid value: {"matchLabels":{"${CN}":"c2"}}: cannot specify a cluster selector other than the one specified by ClusterName`)],
    },
    { name: "selector naming its own cluster", obj: mhc({ selector: { matchLabels: { [CN]: "c1" } } }), want: [] },
    {
      name: "clusterName immutable",
      obj: mhc({ clusterName: "c2" }),
      old: mhc(),
      want: [{ reason: "FieldValueForbidden", field: "spec.clusterName", message: "Forbidden: field is immutable" }],
    },
    {
      name: "nodeStartupTimeoutSeconds below 30s",
      obj: mhc({ checks: { nodeStartupTimeoutSeconds: 10 } }),
      want: [inv("spec.checks.nodeStartupTimeoutSeconds", "Invalid value: 10: must be at least 30s")],
    },
    { name: "nodeStartupTimeoutSeconds 0 disables the check", obj: mhc({ checks: { nodeStartupTimeoutSeconds: 0 } }), want: [] },
    { name: "nodeStartupTimeoutSeconds exactly 30", obj: mhc({ checks: { nodeStartupTimeoutSeconds: 30 } }), want: [] },
    {
      name: "unhealthyLessThanOrEqualTo int and percent are valid",
      obj: mhc({ remediation: { triggerIf: { unhealthyLessThanOrEqualTo: "40%" } } }),
      want: [],
    },
    { name: "unhealthyLessThanOrEqualTo int", obj: mhc({ remediation: { triggerIf: { unhealthyLessThanOrEqualTo: 3 } } }), want: [] },
    {
      name: "unhealthyLessThanOrEqualTo string without %",
      obj: mhc({ remediation: { triggerIf: { unhealthyLessThanOrEqualTo: "3" } } }),
      want: [
        inv(
          "spec.remediation.triggerIf.unhealthyLessThanOrEqualTo",
          'Invalid value: "3": must be either an int or a percentage: invalid value for IntOrString: invalid type: string is not a percentage',
        ),
      ],
    },
    {
      name: "unhealthyLessThanOrEqualTo with a bad percentage",
      obj: mhc({ remediation: { triggerIf: { unhealthyLessThanOrEqualTo: "%" } } }),
      want: [
        inv(
          "spec.remediation.triggerIf.unhealthyLessThanOrEqualTo",
          'Invalid value: "%": must be either an int or a percentage: invalid value for IntOrString: invalid value "%": strconv.Atoi: parsing "": invalid syntax',
        ),
      ],
    },
    {
      name: "unhealthyInRange and a remediation templateRef are left to the schema",
      obj: mhc({
        remediation: {
          triggerIf: { unhealthyInRange: "[1-3]" },
          templateRef: { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha2", kind: "ProxmoxRemediationTemplate", name: "r" },
        },
      }),
      want: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => expect(validateMachineHealthCheck(c.obj, c.old)).toEqual(c.want));
  }
});
