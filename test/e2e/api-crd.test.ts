/**
 * CustomResourceDefinitions applied by a user are served at once with upstream semantics:
 * conditions, structural schema checks, pruning, defaults, CEL with the rule's message,
 * int-or-string, list-map keys, several versions, deletion of instances with the CRD.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { parse } from "yaml";
import { Api } from "../harness/api.ts";
import { startTestDaemon, type TestDaemon } from "../harness/daemon.ts";
import { TEST_CRDS } from "./fixtures.ts";

let d: TestDaemon;
let api: Api;
const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const TC = "/apis/e2e.capx.dev/v1beta2/namespaces/default/testclusters";
const TMD = "/apis/e2e.capx.dev/v1beta2/namespaces/default/testmachinedeployments";

type Obj = Record<string, unknown> & { metadata: Record<string, unknown>; spec?: Record<string, unknown>; status?: Record<string, unknown> };
type Causes = { details: { causes: { reason: string; field: string; message: string }[] }; message: string };

beforeAll(async () => {
  d = await startTestDaemon({ config: "storage:\n  synchronous: NORMAL\n" });
  api = new Api(d);
});

afterAll(async () => {
  await d?.stop();
  d?.cleanup();
});

function tc(name: string, spec: Record<string, unknown>) {
  return { apiVersion: "e2e.capx.dev/v1beta2", kind: "TestCluster", metadata: { name }, spec };
}

describe("a CRD", () => {
  it("is Established and NamesAccepted in the response to its creation, and served at once", async () => {
    for (const doc of TEST_CRDS.split(/^---$/m)) {
      const r = await api.post<Obj>(CRDS, parse(doc));
      expect(r.status).toBe(201);
      const conds = (r.body.status as { conditions: { type: string; status: string; reason: string }[] }).conditions;
      expect(conds.find((c) => c.type === "Established")).toMatchObject({ status: "True", reason: "InitialNamesAccepted" });
      expect(conds.find((c) => c.type === "NamesAccepted")).toMatchObject({ status: "True", reason: "NoConflicts" });
    }
    expect((await api.get(TC)).status).toBe(200);
    expect((await api.get<Obj>(`${CRDS}/testclusters.e2e.capx.dev`)).body.status).toMatchObject({ storedVersions: ["v1beta2"], acceptedNames: { kind: "TestCluster", shortNames: ["tcl"] } });
  });

  it("with a name already used in its group is not accepted and not served", async () => {
    const crd = parse(TEST_CRDS.split(/^---$/m)[0]!);
    crd.metadata.name = "otherclusters.e2e.capx.dev";
    crd.spec.names = { kind: "OtherCluster", plural: "otherclusters", singular: "othercluster", shortNames: ["tcl"] };
    const r = await api.post<Obj>(CRDS, crd);
    expect(r.status).toBe(201);
    const conds = (r.body.status as { conditions: { type: string; status: string; message: string }[] }).conditions;
    expect(conds.find((c) => c.type === "NamesAccepted")).toMatchObject({ status: "False", message: '"tcl" is already in use' });
    expect(conds.find((c) => c.type === "Established")?.status).toBe("False");
    expect((await api.get("/apis/e2e.capx.dev/v1beta2/namespaces/default/otherclusters")).status).toBe(404);
    expect((await api.delete(`${CRDS}/otherclusters.e2e.capx.dev`)).status).toBe(200);
  });

  it("with a broken schema or rule is refused with the field at fault", async () => {
    const bad = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "bads.e2e.capx.dev" },
      spec: {
        group: "e2e.capx.dev",
        scope: "Namespaced",
        names: { kind: "Bad", plural: "bads" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", "x-kubernetes-validations": [{ rule: "self.nope >" }], properties: { a: {} } } } } },
          },
        ],
      },
    };
    const r = await api.post<Causes>(CRDS, bad);
    expect(r.status).toBe(422);
    const fields = r.body.details.causes.map((c) => c.field);
    expect(fields).toContain("spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[a].type");
    expect(fields.some((f) => f.includes("x-kubernetes-validations[0].rule"))).toBe(true);
    expect((await api.get(`${CRDS}/bads.e2e.capx.dev`)).status).toBe(404);
    const webhook = { ...bad, spec: { ...bad.spec, conversion: { strategy: "Webhook" }, versions: [{ ...bad.spec.versions[0], schema: { openAPIV3Schema: { type: "object" } } }] } };
    const w = await api.post<Causes>(CRDS, webhook);
    expect(w.status).toBe(422);
    expect(w.body.message).toContain('spec.conversion.strategy: Unsupported value: "Webhook"');
  });
});

describe("custom resources", () => {
  it("get schema defaults and lose unknown fields and nulls", async () => {
    const r = await api.post<Obj>(TC, { ...tc("defaults", { controlPlaneEndpoint: { host: "h" }, paused: null, extra: 1 }) });
    expect(r.status).toBe(201);
    expect(r.body.spec).toEqual({ controlPlaneEndpoint: { host: "h", port: 6443 } });
  });

  it("fail a CEL rule with the rule's message in the 422", async () => {
    const r = await api.post<Causes>(TC, tc("cel", { controlPlaneEndpoint: { host: "h", port: 0 } }));
    expect(r.status).toBe(422);
    expect(r.body.message).toBe('TestCluster.e2e.capx.dev "cel" is invalid: spec: Invalid value: "object": controlPlaneEndpoint.port must be positive');
    expect(r.body.details.causes).toEqual([{ reason: "FieldValueInvalid", field: "spec", message: 'Invalid value: "object": controlPlaneEndpoint.port must be positive' }]);
  });

  it("match Go-style (?i) patterns", async () => {
    expect((await api.post(TC, tc("pattern-ok", { topologyVersion: "V1.32.0" }))).status).toBe(201);
    const r = await api.post<Causes>(TC, tc("pattern-bad", { topologyVersion: "1.32" }));
    expect(r.status).toBe(422);
    expect(r.body.details.causes[0]).toMatchObject({ field: "spec.topologyVersion", reason: "FieldValueInvalid" });
    expect(r.body.details.causes[0]!.message).toContain("should match '^(?i)v[0-9]+\\.[0-9]+\\.[0-9]+$'");
  });

  it("validate minimum, required and int-or-string", async () => {
    const ok = await api.post<Obj>(TMD, { apiVersion: "e2e.capx.dev/v1beta2", kind: "TestMachineDeployment", metadata: { name: "ios" }, spec: { clusterName: "c", maxSurge: "25%" } });
    expect(ok.status).toBe(201);
    expect(ok.body.spec).toEqual({ clusterName: "c", maxSurge: "25%", replicas: 1 });
    const num = await api.post(TMD, { apiVersion: "e2e.capx.dev/v1beta2", kind: "TestMachineDeployment", metadata: { name: "ios2" }, spec: { clusterName: "c", maxSurge: 2 } });
    expect(num.status).toBe(201);
    const bad = await api.post<Causes>(TMD, { apiVersion: "e2e.capx.dev/v1beta2", kind: "TestMachineDeployment", metadata: { name: "bad" }, spec: { replicas: -1, maxSurge: true } });
    expect(bad.status).toBe(422);
    const got = bad.body.details.causes.map((c) => `${c.field}: ${c.message}`);
    expect(got).toContain("spec.clusterName: Required value");
    expect(got).toContain("spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0");
    expect(got.some((g) => g.startsWith("spec.maxSurge: Invalid value: \"boolean\""))).toBe(true);
  });

  it("keep list-map keys unique in status", async () => {
    await api.post(TC, tc("lm", {}));
    const r = await api.patch<Causes>(`${TC}/lm/status`, { status: { conditions: [{ type: "Ready", status: "True" }, { type: "Ready", status: "False" }] } }, "application/merge-patch+json");
    expect(r.status).toBe(422);
    expect(r.body.details.causes[0]).toMatchObject({ reason: "FieldValueDuplicate", field: "status.conditions[1]" });
  });

  it("are served in every version, converted by apiVersion", async () => {
    await api.post(TC, tc("versions", { controlPlaneEndpoint: { host: "v", port: 1 } }));
    const old = await api.get<Obj>("/apis/e2e.capx.dev/v1beta1/namespaces/default/testclusters/versions");
    expect(old.body.apiVersion).toBe("e2e.capx.dev/v1beta1");
    expect(old.body.spec).toEqual({ controlPlaneEndpoint: { host: "v", port: 1 } });
    const list = await api.get<{ apiVersion: string; kind: string }>("/apis/e2e.capx.dev/v1beta1/testclusters");
    expect(list.body).toMatchObject({ apiVersion: "e2e.capx.dev/v1beta1", kind: "TestClusterList" });
  });

  it("expose Table columns from additionalPrinterColumns, with includeObject", async () => {
    const accept = { Accept: "application/json;as=Table;v=v1;g=meta.k8s.io" };
    const t = await api.get<{ columnDefinitions: { name: string; type: string; priority: number }[]; rows: { cells: unknown[]; object: Obj }[] }>(`${TMD}?labelSelector=`, accept);
    expect(t.headers.get("content-type")).toBe("application/json;as=Table;v=v1;g=meta.k8s.io");
    expect(t.body.columnDefinitions.map((c) => c.name)).toEqual(["Name", "Cluster", "Desired", "Replicas", "Age"]);
    expect(t.body.rows[0]!.cells.slice(0, 4)).toEqual(["ios", "c", 1, null]);
    expect(t.body.rows[0]!.object.kind).toBe("PartialObjectMetadata");
    const full = await api.get<{ rows: { object: Obj }[] }>(`${TMD}?includeObject=Object`, accept);
    expect(full.body.rows[0]!.object.kind).toBe("TestMachineDeployment");
    const none = await api.get<{ rows: { object?: Obj }[] }>(`${TMD}?includeObject=None`, accept);
    expect(none.body.rows[0]!.object).toBeUndefined();
  });

  it("can be read as PartialObjectMetadata", async () => {
    const r = await api.get<{ kind: string; items: Obj[] }>(TMD, { Accept: "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io" });
    expect(r.body.kind).toBe("PartialObjectMetadataList");
    expect(r.body.items[0]).toMatchObject({ kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1" });
    expect(r.body.items[0]!.spec).toBeUndefined();
  });

  it("scale through autoscaling/v1 Scale with the selector string", async () => {
    await api.patch(`${TMD}/ios/status`, { status: { replicas: 1, selector: "app=x" } }, "application/merge-patch+json");
    const s = await api.get<Obj>(`${TMD}/ios/scale`);
    expect(s.body).toMatchObject({ kind: "Scale", apiVersion: "autoscaling/v1", spec: { replicas: 1 }, status: { replicas: 1, selector: "app=x" } });
    const put = await api.request<Obj>("PUT", `${TMD}/ios/scale`, JSON.stringify({ ...s.body, spec: { replicas: 7 } }), { "Content-Type": "" });
    expect(put.status).toBe(200);
    expect((await api.get<Obj>(`${TMD}/ios`)).body.spec!.replicas).toBe(7);
  });

  it("get generation +1 when a finalizer-blocked DELETE sets deletionTimestamp", async () => {
    const created = await api.post<Obj>(TC, { ...tc("held", {}), metadata: { name: "held", finalizers: ["e2e.capx.dev/hold"] } });
    expect(created.body.metadata.generation).toBe(1);
    const del = await api.delete<Obj>(`${TC}/held`);
    expect(del.status).toBe(200);
    expect(del.body.metadata).toMatchObject({ generation: 2, deletionGracePeriodSeconds: 0 });
    expect(typeof del.body.metadata.deletionTimestamp).toBe("string");
    const addFin = await api.patch(`${TC}/held`, { metadata: { finalizers: ["e2e.capx.dev/hold", "e2e.capx.dev/more"] } }, "application/merge-patch+json");
    expect(addFin.status).toBe(422);
    expect(addFin.body.message).toContain("no new finalizers can be added if the object is being deleted");
    expect((await api.patch(`${TC}/held`, { metadata: { finalizers: null } }, "application/merge-patch+json")).status).toBe(200);
    expect((await api.get(`${TC}/held`)).status).toBe(404);
  });

  it("answer 405 for a method the path does not allow", async () => {
    const r = await api.post(`${TC}/versions`, tc("x", {}));
    expect(r.status).toBe(405);
    expect(r.body.reason).toBe("MethodNotAllowed");
  });

  it("are deleted with their CRD, which is then no longer served", async () => {
    const r = await api.delete<Obj>(`${CRDS}/testmachinedeployments.e2e.capx.dev`);
    expect(r.status).toBe(200);
    for (let i = 0; i < 100 && (await api.get(`${CRDS}/testmachinedeployments.e2e.capx.dev`)).status === 200; i++) await Bun.sleep(50);
    expect((await api.get(`${CRDS}/testmachinedeployments.e2e.capx.dev`)).status).toBe(404);
    expect((await api.get(TMD)).status).toBe(404);
    // Re-creating the CRD serves an empty collection: the instances went with it.
    expect((await api.post(CRDS, parse(TEST_CRDS.split(/^---$/m)[1]!))).status).toBe(201);
    expect((await api.get<{ items: unknown[] }>(TMD)).body.items).toEqual([]);
  });
});
