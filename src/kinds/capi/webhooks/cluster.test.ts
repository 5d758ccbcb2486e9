import { describe, expect, test } from "bun:test";
import type { StatusCause } from "../../../lib/api-errors.ts";
import type { KObject } from "../../../lib/kobject.ts";
import { isGoCIDR, TOPOLOGY_NOT_SUPPORTED, validateCluster } from "./cluster.ts";
import { capiWebhooks } from "./index.ts";

const CP = { apiGroup: "controlplane.cluster.x-k8s.io", kind: "KubeadmControlPlane", name: "c1" };
const INFRA = { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "ProxmoxCluster", name: "c1" };

function cluster(spec: Record<string, unknown> = {}, name = "c1"): KObject {
  return {
    apiVersion: "cluster.x-k8s.io/v1beta2",
    kind: "Cluster",
    metadata: { name, namespace: "default" },
    spec: {
      clusterNetwork: { pods: { cidrBlocks: ["192.168.0.0/16"] }, services: { cidrBlocks: ["10.128.0.0/12"] } },
      controlPlaneRef: CP,
      infrastructureRef: INFRA,
      ...spec,
    },
  };
}

const LABEL_VALUE_REGEX_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

describe("Cluster admission", () => {
  test("no defaulting webhook is registered without topology support", () => {
    expect(capiWebhooks["cluster.x-k8s.io/Cluster"].mutate).toBeUndefined();
    expect(capiWebhooks["cluster.x-k8s.io/Cluster"].validate).toBe(validateCluster);
  });

  const inv = (field: string, message: string): StatusCause => ({ reason: "FieldValueInvalid", field, message });
  const forb = (field: string, message: string): StatusCause => ({ reason: "FieldValueForbidden", field, message });
  const cases: { name: string; obj: KObject; old?: KObject; want: StatusCause[] }[] = [
    { name: "valid", obj: cluster(), want: [] },
    { name: "only an infrastructureRef", obj: cluster({ controlPlaneRef: undefined }), want: [] },
    { name: "only a controlPlaneRef", obj: cluster({ infrastructureRef: undefined }), want: [] },
    { name: "no clusterNetwork", obj: cluster({ clusterNetwork: undefined }), want: [] },
    {
      name: "name that is not a label value (note: no colon, as upstream)",
      obj: cluster({}, `${"c".repeat(63)}x`),
      want: [inv("metadata.name", `Invalid value: "${"c".repeat(63)}x": must be a valid label value must be no more than 63 bytes`)],
    },
    {
      name: "name with a trailing dot",
      obj: cluster({}, "c1."),
      want: [inv("metadata.name", `Invalid value: "c1.": must be a valid label value ${LABEL_VALUE_REGEX_MSG}`)],
    },
    {
      name: "no refs and no topology",
      obj: cluster({ controlPlaneRef: undefined, infrastructureRef: {} }),
      want: [forb("spec", "Forbidden: one of spec.controlPlaneRef, spec.infrastructureRef or spec.topology must be set")],
    },
    {
      name: "infrastructureRef cannot be removed",
      obj: cluster({ infrastructureRef: undefined }),
      old: cluster(),
      want: [forb("spec.infrastructureRef", "Forbidden: cannot be removed")],
    },
    {
      name: "controlPlaneRef cannot be removed",
      obj: cluster({ controlPlaneRef: undefined }),
      old: cluster(),
      want: [forb("spec.controlPlaneRef", "Forbidden: cannot be removed")],
    },
    {
      name: "refs may be added and changed once set (upstream only forbids removal)",
      obj: cluster({ controlPlaneRef: { ...CP, name: "other" } }),
      old: cluster({ infrastructureRef: undefined }),
      want: [],
    },
    {
      name: "invalid pod and service CIDRs",
      obj: cluster({
        clusterNetwork: {
          pods: { cidrBlocks: ["192.168.0.0/16", "10.0.0.0/33", "10.0.0.0"] },
          services: { cidrBlocks: ["fd00::/129", "010.0.0.0/8", "fd00::/108"] },
        },
      }),
      want: [
        inv("spec.clusterNetwork.pods.cidrBlocks[1]", 'Invalid value: "10.0.0.0/33": invalid CIDR address: 10.0.0.0/33'),
        inv("spec.clusterNetwork.pods.cidrBlocks[2]", 'Invalid value: "10.0.0.0": invalid CIDR address: 10.0.0.0'),
        inv("spec.clusterNetwork.services.cidrBlocks[0]", 'Invalid value: "fd00::/129": invalid CIDR address: fd00::/129'),
        inv("spec.clusterNetwork.services.cidrBlocks[1]", 'Invalid value: "010.0.0.0/8": invalid CIDR address: 010.0.0.0/8'),
      ],
    },
    {
      name: "spec.topology is not supported by capx-appliance",
      obj: cluster({ topology: { classRef: { name: "quick-start" }, version: "v1.31.0" } }),
      want: [inv("spec.topology", `Invalid value: "object": ${TOPOLOGY_NOT_SUPPORTED}`)],
    },
    {
      name: "spec.topology alone satisfies the one-of rule but is still rejected",
      obj: cluster({ topology: { classRef: { name: "quick-start" } }, controlPlaneRef: undefined, infrastructureRef: undefined }),
      want: [inv("spec.topology", `Invalid value: "object": ${TOPOLOGY_NOT_SUPPORTED}`)],
    },
    {
      name: "a zero topology (only empty nested objects / strings) is not a topology",
      obj: cluster({ topology: { classRef: { name: "" }, controlPlane: {} } }),
      want: [],
    },
    {
      name: "removing a topology stays possible",
      obj: cluster(),
      old: cluster({ topology: { classRef: { name: "quick-start" } } }),
      want: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => expect(validateCluster(c.obj, c.old)).toEqual(c.want));
  }

  test("net.ParseCIDR acceptance", () => {
    for (const ok of ["0.0.0.0/0", "10.0.0.0/8", "10.0.0.1/32", "10.0.0.0/08", "::/0", "fd00::/8", "::ffff:10.0.0.0/104", "2001:db8::1/128"]) {
      expect(isGoCIDR(ok)).toBe(true);
    }
    for (const bad of ["10.0.0.0", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "1.2.3/8", "fe80::1%eth0/64", "10.0.0.0/8/8", " 10.0.0.0/8", "::/129"]) {
      expect(isGoCIDR(bad)).toBe(false);
    }
  });
});
