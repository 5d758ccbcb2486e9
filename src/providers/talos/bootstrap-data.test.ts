import { describe, expect, it } from "bun:test";
import { buildBootstrapData, type BootstrapDataRequest } from "./bootstrap-data.ts";
import { GenerateError } from "./generate.ts";
import { PatchError } from "./patch.ts";
import { generateSecretsBundle } from "./secrets.ts";
import { decodeDocuments } from "./yaml.ts";

const bundle = await generateSecretsBundle({ major: 1, minor: 13 });
type Any = Record<string, any>;

function req(over: Partial<BootstrapDataRequest> = {}): BootstrapDataRequest {
  return { generateType: "controlplane", bundle, clusterName: "c1", endpoint: "https://10.0.0.5:6443", kubernetesVersion: "v1.33.1", ...over };
}

describe("CABPT-style bootstrap data", () => {
  it("defaults to contract 1.13 and applies cluster networking", () => {
    const out = buildBootstrapData(req({ podSubnets: ["10.10.0.0/16"], serviceSubnets: ["10.20.0.0/16"], dnsDomain: "c1.local" }));
    expect(out.contract).toEqual({ major: 1, minor: 13 });
    const m = out.documents[0] as Any;
    expect(m.cluster.network).toEqual({ dnsDomain: "c1.local", podSubnets: ["10.10.0.0/16"], serviceSubnets: ["10.20.0.0/16"] });
    expect(decodeDocuments(out.yaml)).toEqual(out.documents);
  });

  it("applies JSON patches on 1.11, then strategic patches, then the hostname", () => {
    const out = buildBootstrapData(
      req({
        talosVersion: "v1.11",
        generateType: "worker",
        configPatches: [{ op: "add", path: "/machine/install/disk", value: "/dev/vda" }],
        strategicPatches: ["machine:\n  install:\n    wipe: true\n"],
        hostname: "w-1",
      }),
    );
    const m = out.documents[0] as Any;
    expect(m.machine.install).toEqual({ disk: "/dev/vda", wipe: true });
    expect(m.machine.network).toEqual({ hostname: "w-1" });
  });

  it("refuses JSON patches on multi-document contracts", () => {
    expect(() => buildBootstrapData(req({ talosVersion: "v1.12", configPatches: [{ op: "add", path: "/machine/x", value: 1 }] }))).toThrow(PatchError);
  });

  it("sets the hostname as a HostnameConfig for the default contract (no CABPT legacy-path bug)", () => {
    const out = buildBootstrapData(req({ hostname: "cp-1" }));
    expect(out.documents.filter((d) => d.kind === "HostnameConfig")).toEqual([{ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off", hostname: "cp-1" }]);
    expect((out.documents[0] as Any).machine.network).toBeUndefined();
  });

  it("generates init as a control plane of type init", () => {
    const m = buildBootstrapData(req({ generateType: "init" })).documents[0] as Any;
    expect(m.machine.type).toBe("init");
    expect(m.cluster.etcd).toBeDefined();
  });

  it("re-encodes user data for none, with patches, and refuses unknown types", () => {
    const data = "# user config\nversion: v1alpha1\nmachine:\n  type: worker\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n";
    const out = buildBootstrapData(req({ generateType: "none", data, strategicPatches: ["apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: x\n"] }));
    expect(out.yaml).not.toContain("#");
    expect(out.documents).toEqual([
      { version: "v1alpha1", machine: { type: "worker" } },
      { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off", hostname: "x" },
    ]);
    expect(() => buildBootstrapData(req({ generateType: "none" }))).toThrow("failed to specify config data with none generate type");
    expect(() => buildBootstrapData(req({ generateType: "master" }))).toThrow(GenerateError);
    expect(() => buildBootstrapData(req({ generateType: "master" }))).toThrow('unknown generate type specified: "master"');
  });
});
