import { describe, expect, it } from "bun:test";
import { evalJsonPath, jsonPathFirst, setSimplePath, JsonPathError, compileJsonPath } from "./jsonpath.ts";

const machine = {
  metadata: {
    labels: { "cluster.x-k8s.io/cluster-name": "c1" },
    ownerReferences: [
      { kind: "MachineSet", name: "ms1" },
      { kind: "Machine", name: "m1" },
    ],
  },
  status: {
    conditions: [
      { type: "Ready", status: "True" },
      { type: "Available", status: "False" },
    ],
    addresses: [{ type: "InternalIP", address: "10.0.0.1" }],
    replicas: 3,
  },
};

describe("jsonpath", () => {
  it("reads dotted fields and escaped dots in label keys", () => {
    expect(jsonPathFirst(machine, ".status.replicas")).toBe(3);
    expect(jsonPathFirst(machine, ".metadata.labels.cluster\\.x-k8s\\.io/cluster-name")).toBe("c1");
    expect(jsonPathFirst(machine, ".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']")).toBe("c1");
  });

  it("filters list items as printer columns do", () => {
    expect(jsonPathFirst(machine, '.status.conditions[?(@.type=="Ready")].status')).toBe("True");
    expect(jsonPathFirst(machine, '.metadata.ownerReferences[?(@.kind=="Machine")].name')).toBe("m1");
    expect(evalJsonPath(machine, '.status.conditions[?(@.type=="Paused")].status')).toEqual([]);
  });

  it("supports indexes and wildcards", () => {
    expect(jsonPathFirst(machine, ".status.conditions[-1].type")).toBe("Available");
    expect(evalJsonPath(machine, ".status.conditions[*].type")).toEqual(["Ready", "Available"]);
  });

  it("returns nothing for missing paths and refuses syntax it does not support", () => {
    expect(jsonPathFirst(machine, ".spec.nothing")).toBeUndefined();
    expect(() => compileJsonPath(".a[?(@.x > 1)]")).toThrow(JsonPathError);
  });

  it("sets simple paths, creating parents", () => {
    const o: Record<string, unknown> = {};
    setSimplePath(o, ".spec.replicas", 5);
    expect(o).toEqual({ spec: { replicas: 5 } });
  });
});
