import { describe, expect, test } from "bun:test";
import { plan, resolveMaxSurge, selectForScaleDown, type MachineView } from "./kcp-plan.ts";
import { kubeadmConfigSpecFor, type KcpSpec } from "./kcp-machines.ts";

const m = (name: string, created: number, over: Partial<MachineView> = {}): MachineView => ({ name, created, ready: true, upToDate: true, deleting: false, leaving: false, ...over });

describe("KubeadmControlPlane plan", () => {
  test("first machine is the init one; later ones join, only when every machine is ready", () => {
    expect(plan({ replicas: 3, maxSurge: 1, machines: [] })).toEqual({ kind: "create", init: true, reason: "initializing the control plane" });
    expect(plan({ replicas: 3, maxSurge: 1, machines: [m("a", 1, { ready: false })] }).kind).toBe("wait");
    expect(plan({ replicas: 3, maxSurge: 1, machines: [m("a", 1)] })).toMatchObject({ kind: "create", init: false });
  });

  test("scale down prefers out-of-date, then the delete annotation, then the fullest failure domain's oldest", () => {
    expect(selectForScaleDown([m("a", 1), m("b", 2, { upToDate: false }), m("c", 3)])?.name).toBe("b");
    expect(selectForScaleDown([m("a", 1), m("b", 2), m("c", 3, { annotations: { "cluster.x-k8s.io/delete-machine": "" } })])?.name).toBe("c");
    expect(selectForScaleDown([m("a", 1, { failureDomain: "x" }), m("b", 2, { failureDomain: "y" }), m("c", 3, { failureDomain: "y" })])?.name).toBe("b");
  });

  test("rollout: maxSurge 1 surges first, maxSurge 0 removes first; a removal begun is finished first", () => {
    const ms = [m("a", 1, { upToDate: false }), m("b", 2, { upToDate: false }), m("c", 3, { upToDate: false })];
    expect(plan({ replicas: 3, maxSurge: 1, machines: ms })).toMatchObject({ kind: "create", init: false });
    expect(plan({ replicas: 3, maxSurge: 0, machines: ms })).toMatchObject({ kind: "scaleDown", machine: "a" });
    expect(plan({ replicas: 3, maxSurge: 1, machines: [...ms, m("d", 4)] })).toMatchObject({ kind: "scaleDown", machine: "a" });
    expect(plan({ replicas: 3, maxSurge: 1, machines: [m("a", 1), m("b", 2, { leaving: true, ready: false })] })).toMatchObject({ kind: "scaleDown", machine: "b" });
    expect(plan({ replicas: 1, maxSurge: 1, machines: [m("a", 1), m("b", 2, { deleting: true })] }).kind).toBe("wait");
    expect(resolveMaxSurge("50%", 3)).toBe(2);
    expect(resolveMaxSurge(undefined, 3)).toBe(1);
  });
});

describe("KubeadmConfig spec of a control-plane machine", () => {
  test("init keeps initConfiguration only, join joinConfiguration only; empty ones are left out (the schema wants a property)", () => {
    const spec = { version: "v1.33.1", kubeadmConfigSpec: { clusterConfiguration: { apiServer: { certSANs: ["a"] } }, initConfiguration: {}, joinConfiguration: { nodeRegistration: { name: "n" } } } } as unknown as KcpSpec;
    expect(kubeadmConfigSpecFor(spec, true)).toEqual({ clusterConfiguration: { apiServer: { certSANs: ["a"] } } });
    expect(kubeadmConfigSpecFor(spec, false)).toEqual({ clusterConfiguration: { apiServer: { certSANs: ["a"] } }, joinConfiguration: { nodeRegistration: { name: "n" } } });
    expect(kubeadmConfigSpecFor({ version: "v1.33.1", kubeadmConfigSpec: { users: [{ name: "root" }] } } as unknown as KcpSpec, false)).toEqual({ users: [{ name: "root" }] });
  });
});
