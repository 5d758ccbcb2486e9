import { describe, expect, test } from "bun:test";
import type { KObject } from "../../../lib/kobject.ts";
import { validateIPAddressClaim } from "./ipaddressclaim.ts";

function claim(spec: Record<string, unknown>): KObject {
  return { apiVersion: "ipam.cluster.x-k8s.io/v1beta2", kind: "IPAddressClaim", metadata: { name: "claim", namespace: "default" }, spec };
}

const POOL = { apiGroup: "ipam.cluster.x-k8s.io", kind: "InClusterIPPool", name: "pool" };

describe("IPAddressClaim validation", () => {
  const cases: { name: string; obj: KObject; old?: KObject; want: ReturnType<typeof validateIPAddressClaim> }[] = [
    { name: "create: nothing checked", obj: claim({ poolRef: POOL }), want: [] },
    { name: "update without spec change", obj: claim({ poolRef: POOL, clusterName: "c1" }), old: claim({ poolRef: POOL, clusterName: "c1" }), want: [] },
    {
      name: "update changing the pool",
      obj: claim({ poolRef: { ...POOL, name: "other" } }),
      old: claim({ poolRef: POOL }),
      want: [
        {
          reason: "FieldValueForbidden",
          field: "spec",
          message: 'Forbidden: IPAddressClaim spec is immutable. Diff: - poolRef.name: "pool"\n+ poolRef.name: "other"',
        },
      ],
    },
    {
      name: "update setting clusterName",
      obj: claim({ poolRef: POOL, clusterName: "c1" }),
      old: claim({ poolRef: POOL }),
      want: [
        {
          reason: "FieldValueForbidden",
          field: "spec",
          message: 'Forbidden: IPAddressClaim spec is immutable. Diff: - clusterName: <unset>\n+ clusterName: "c1"',
        },
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => expect(validateIPAddressClaim(c.obj, c.old)).toEqual(c.want));
  }
});
