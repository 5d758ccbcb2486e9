import { describe, expect, it } from "bun:test";
import { parseApiPath } from "./request-info.ts";

describe("parseApiPath", () => {
  it("recognises discovery paths", () => {
    expect(parseApiPath("/api")).toEqual({ kind: "root", legacy: true });
    expect(parseApiPath("/apis")).toEqual({ kind: "root", legacy: false });
    expect(parseApiPath("/apis/cluster.x-k8s.io")).toEqual({ kind: "group", group: "cluster.x-k8s.io" });
    expect(parseApiPath("/api/v1")).toEqual({ kind: "group-version", group: "", version: "v1" });
  });

  it("splits namespaced resource paths with subresources", () => {
    expect(parseApiPath("/apis/cluster.x-k8s.io/v1beta2/namespaces/default/machinedeployments/md1/scale")).toEqual({
      kind: "resource",
      path: { group: "cluster.x-k8s.io", version: "v1beta2", namespace: "default", plural: "machinedeployments", name: "md1", subresource: "scale" },
    });
    expect(parseApiPath("/api/v1/namespaces/ns1/configmaps")).toEqual({
      kind: "resource",
      path: { group: "", version: "v1", namespace: "ns1", plural: "configmaps", name: undefined, subresource: undefined },
    });
  });

  it("treats /api/v1/namespaces/X[/status|/finalize] as the namespace object", () => {
    expect(parseApiPath("/api/v1/namespaces/ns1")).toMatchObject({ path: { plural: "namespaces", name: "ns1", namespace: undefined } });
    expect(parseApiPath("/api/v1/namespaces/ns1/finalize")).toMatchObject({ path: { plural: "namespaces", name: "ns1", subresource: "finalize" } });
  });

  it("rejects paths with too many segments", () => {
    expect(parseApiPath("/api/v1/namespaces/a/configmaps/b/status/extra")).toEqual({ kind: "unknown" });
    expect(parseApiPath("/foo")).toEqual({ kind: "unknown" });
  });
});
