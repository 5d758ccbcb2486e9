/**
 * HTTP-level API semantics over real HTTPS: discovery, OpenAPI, authentication and
 * authorization, content types, limits, warnings, metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { parse } from "yaml";
import { createCA, issueCertificate } from "../../src/providers/pki/certs.ts";
import { Api, configMap } from "../harness/api.ts";
import { adminTls, startTestDaemon, type TestDaemon } from "../harness/daemon.ts";
import { TEST_CRDS } from "./fixtures.ts";

const ADMIN_TOKEN = "admin-token-0123456789abcdef";
const VIEWER_TOKEN = "viewer-token-0123456789abcdef";
const NOBODY_TOKEN = "nobody-token-0123456789abcdef";

let d: TestDaemon;
let api: Api;

beforeAll(async () => {
  d = await startTestDaemon({
    config: `storage:\n  synchronous: NORMAL\nauth:\n  tokens:\n    - {token: ${ADMIN_TOKEN}, user: alice, groups: ["system:masters"]}\n    - {token: ${VIEWER_TOKEN}, user: victor, groups: ["capx:viewers"]}\n    - {token: ${NOBODY_TOKEN}, user: nobody}\n`,
  });
  api = new Api(d);
  for (const doc of TEST_CRDS.split(/^---$/m)) {
    const r = await api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", parse(doc));
    expect(r.status).toBe(201);
  }
});

afterAll(async () => {
  await d?.stop();
  d?.cleanup();
});

const AGG = (v: string) => `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;

describe("discovery", () => {
  it("serves aggregated discovery v2 and v2beta1, recognised by Content-Type", async () => {
    for (const v of ["v2", "v2beta1"]) {
      const r = await api.get<{ kind: string; apiVersion: string; items: { metadata: { name: string }; versions: { version: string; resources: Record<string, unknown>[] }[] }[] }>(
        "/apis",
        { Accept: `${AGG(v)},application/json` },
      );
      expect(r.headers.get("content-type")).toBe(AGG(v));
      expect(r.body.apiVersion).toBe(`apidiscovery.k8s.io/${v}`);
      const e2e = r.body.items.find((g) => g.metadata.name === "e2e.capx.dev")!;
      expect(e2e.versions.map((x) => x.version)).toEqual(["v1beta2", "v1beta1"]);
      const md = e2e.versions[0]!.resources.find((x) => x.resource === "testmachinedeployments")!;
      expect(md).toMatchObject({ scope: "Namespaced", singularResource: "testmachinedeployment", shortNames: ["tmd"], categories: ["capx-e2e"] });
      expect(md.subresources).toEqual([
        { subresource: "status", responseKind: { group: "e2e.capx.dev", version: "v1beta2", kind: "TestMachineDeployment" }, verbs: ["get", "patch", "update"] },
        { subresource: "scale", responseKind: { group: "autoscaling", version: "v1", kind: "Scale" }, verbs: ["get", "patch", "update"] },
      ]);
      const core = await api.get<{ items: { metadata: { name: string } }[] }>("/api", { Accept: AGG(v) });
      expect(core.body.items.map((g) => g.metadata.name)).toEqual([""]);
    }
  });

  it("serves the legacy documents", async () => {
    expect((await api.get("/api")).body).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    const groups = await api.get<{ groups: { name: string; preferredVersion: { version: string } }[] }>("/apis");
    expect(groups.body.groups.find((g) => g.name === "e2e.capx.dev")?.preferredVersion.version).toBe("v1beta2");
    const rl = await api.get<{ resources: Record<string, unknown>[] }>("/apis/e2e.capx.dev/v1beta2");
    expect(rl.body.resources.map((r) => r.name)).toEqual([
      "testclusters",
      "testclusters/status",
      "testmachinedeployments",
      "testmachinedeployments/status",
      "testmachinedeployments/scale",
    ]);
    expect(rl.body.resources[4]).toMatchObject({ group: "autoscaling", version: "v1", kind: "Scale" });
    expect((await api.get("/apis/e2e.capx.dev")).body).toMatchObject({ kind: "APIGroup", name: "e2e.capx.dev" });
    expect((await api.get("/apis/nope.example.com/v1")).status).toBe(404);
  });
});

describe("OpenAPI", () => {
  it("publishes v3 documents kubectl's field validation and apply read", async () => {
    const index = await api.get<{ paths: Record<string, { serverRelativeURL: string }> }>("/openapi/v3");
    const ref = index.body.paths["apis/e2e.capx.dev/v1beta2"]!.serverRelativeURL;
    expect(ref).toMatch(/^\/openapi\/v3\/apis\/e2e\.capx\.dev\/v1beta2\?hash=[0-9A-F]+$/);
    const doc = await api.get<{ paths: Record<string, Record<string, { parameters?: { name: string }[]; requestBody?: { content: Record<string, unknown> }; "x-kubernetes-group-version-kind"?: unknown }>>; components: { schemas: Record<string, Record<string, unknown>> } }>(ref);
    expect(doc.headers.get("cache-control")).toBe("public, immutable");
    const patchOp = doc.body.paths["/apis/e2e.capx.dev/v1beta2/namespaces/{namespace}/testclusters/{name}"]!.patch!;
    expect(patchOp["x-kubernetes-group-version-kind"]).toEqual({ group: "e2e.capx.dev", version: "v1beta2", kind: "TestCluster" });
    expect(patchOp.parameters!.map((p) => p.name)).toContain("fieldValidation");
    expect(Object.keys(patchOp.requestBody!.content).sort()).toEqual(["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"]);
    expect(doc.body.components.schemas["dev.capx.e2e.v1beta2.TestCluster"]!["x-kubernetes-group-version-kind"]).toEqual([{ group: "e2e.capx.dev", version: "v1beta2", kind: "TestCluster" }]);
    const core = await api.get<{ paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>> }>(index.body.paths["api/v1"]!.serverRelativeURL);
    expect(Object.keys(core.body.paths["/api/v1/namespaces/{namespace}/configmaps/{name}"]!.patch!.requestBody!.content)).toContain("application/strategic-merge-patch+json");
  });

  it("changes the document hash when a CRD changes", async () => {
    const before = (await api.get<{ paths: Record<string, { serverRelativeURL: string }> }>("/openapi/v3")).body.paths["apis/e2e.capx.dev/v1beta2"]!.serverRelativeURL;
    type Crd = Record<string, unknown> & { spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } } }[] } };
    const crd = (await api.get<Crd>("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/testclusters.e2e.capx.dev")).body;
    crd.spec.versions[1]!.schema.openAPIV3Schema.properties.spec.properties.region = { type: "string" };
    expect((await api.put("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/testclusters.e2e.capx.dev", crd)).status).toBe(200);
    const after = (await api.get<{ paths: Record<string, { serverRelativeURL: string }> }>("/openapi/v3")).body.paths["apis/e2e.capx.dev/v1beta2"]!.serverRelativeURL;
    expect(after).not.toBe(before);
  });

  it("serves v2 as JSON and 404 for the protobuf form kubectl asks for", async () => {
    const json = await api.get<{ swagger: string; definitions: Record<string, unknown> }>("/openapi/v2", { Accept: "application/json" });
    expect(json.body.swagger).toBe("2.0");
    expect(json.body.definitions["io.k8s.api.core.v1.ConfigMap"]).toBeDefined();
    const pb = await fetch(`${d.url}/openapi/v2`, { headers: { Accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" }, tls: adminTls(d.dataDir) } as RequestInit);
    expect(pb.status).toBe(200);
    expect(pb.headers.get("content-type")).toBe("application/octet-stream");
    // Field 1 (swagger) = "2.0", then field 2 (info) naming the appliance.
    const bytes = new Uint8Array(await pb.arrayBuffer());
    expect([...bytes.slice(0, 5)]).toEqual([0x0a, 3, 0x32, 0x2e, 0x30]);
    expect(Buffer.from(bytes).toString("latin1")).toContain("capx-appliance");
  });
});

describe("authentication and authorization", () => {
  it("lets anonymous clients reach only health and version", async () => {
    const anon = new Api(d, { ca: adminTls(d.dataDir).ca });
    for (const p of ["/healthz", "/livez", "/readyz", "/version"]) expect((await anon.get(p)).status).toBe(200);
    for (const p of ["/api", "/apis", "/api/v1/namespaces", "/openapi/v3", "/metrics"]) {
      const r = await anon.get(p);
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 });
    }
  });

  it("accepts configured bearer tokens with their groups", async () => {
    const ca = adminTls(d.dataDir).ca;
    const admin = new Api(d, { ca }, ADMIN_TOKEN);
    expect((await admin.post("/api/v1/namespaces/default/configmaps", configMap("by-token"))).status).toBe(201);
    const viewer = new Api(d, { ca }, VIEWER_TOKEN);
    expect((await viewer.get("/api/v1/namespaces/default/configmaps/by-token")).status).toBe(200);
    const denied = await viewer.delete("/api/v1/namespaces/default/configmaps/by-token");
    expect(denied.status).toBe(403);
    expect(denied.body.message).toBe('configmaps "by-token" is forbidden: User "victor" cannot delete resource "configmaps" in API group "" in the namespace "default"');
    const nobody = new Api(d, { ca }, NOBODY_TOKEN);
    expect((await nobody.get("/api/v1/namespaces")).status).toBe(403);
    const ssar = await nobody.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { resourceAttributes: { verb: "list", resource: "configmaps" } } });
    expect(ssar.status).toBe(403);
    const wrong = new Api(d, { ca }, "wrong-token-0123456789abcdef");
    expect((await wrong.get("/healthz")).status).toBe(401);
  });

  it("rejects client certificates from another CA", async () => {
    const otherCa = await createCA("someone-else");
    const cert = await issueCertificate(otherCa, { commonName: "capx-admin", organizations: ["system:masters"], usage: "client", days: 1 });
    const foreign = new Api(d, { ca: adminTls(d.dataDir).ca, cert: cert.certPem, key: cert.keyPem });
    expect((await foreign.get("/api/v1/namespaces")).status).toBe(401);
  });

  it("answers SelfSubjectAccessReview for the caller", async () => {
    const r = await api.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { resourceAttributes: { verb: "create", resource: "testclusters", group: "e2e.capx.dev" } } });
    expect(r.status).toBe(201);
    expect((r.body.status as { allowed: boolean }).allowed).toBe(true);
    const viewer = new Api(d, { ca: adminTls(d.dataDir).ca }, VIEWER_TOKEN);
    const v = await viewer.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { resourceAttributes: { verb: "create", resource: "configmaps" } } });
    expect(v.status).toBe(403);
  });
});

describe("bodies, limits and errors", () => {
  it("accepts YAML bodies", async () => {
    const r = await api.post("/api/v1/namespaces/default/configmaps", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n", { "Content-Type": "application/yaml" });
    expect(r.status).toBe(201);
    expect(r.body.data).toEqual({ k: "v" });
  });

  it("answers 413 above 3 MiB and stores nothing", async () => {
    const big = configMap("too-big", { blob: "x".repeat(3 * 1024 * 1024 + 10) });
    const r = await api.post("/api/v1/namespaces/default/configmaps", big);
    expect(r.status).toBe(413);
    expect(r.body.reason).toBe("RequestEntityTooLarge");
    expect((await api.get("/api/v1/namespaces/default/configmaps/too-big")).status).toBe(404);
  });

  it("answers 415 for an unknown body type and 406 for an unacceptable Accept", async () => {
    const r = await api.post("/api/v1/namespaces/default/configmaps", "<xml/>", { "Content-Type": "application/xml" });
    expect(r.status).toBe(415);
    expect(r.body.reason).toBe("UnsupportedMediaType");
    const na = await api.get("/api/v1/namespaces/default/configmaps", { Accept: "application/vnd.kubernetes.protobuf" });
    expect(na.status).toBe(406);
  });

  it("names an unknown query parameter and a malformed value", async () => {
    const r = await api.get("/api/v1/namespaces/default/configmaps?frobnicate=1");
    expect(r.status).toBe(400);
    expect(r.body.message).toBe('unknown query parameter "frobnicate"');
    expect((await api.get("/api/v1/namespaces/default/configmaps?limit=abc")).status).toBe(400);
  });

  it("warns about unknown fields with fieldValidation=Warn and keeps the object", async () => {
    const body = { ...configMap("warned"), bogus: 1, metadata: { name: "warned", bogusMeta: 2 } };
    const r = await api.post("/api/v1/namespaces/default/configmaps?fieldValidation=Warn", body);
    expect(r.status).toBe(201);
    expect(r.headers.get("warning")).toContain('299 - "unknown field \\"bogus\\""');
    expect(r.headers.get("warning")).toContain('299 - "unknown field \\"metadata.bogusMeta\\""');
    const strict = await api.post("/api/v1/namespaces/default/configmaps?fieldValidation=Strict", { ...body, metadata: { name: "strict" } });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toBe('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "bogus"');
  });

  it("rejects a duplicate JSON field under Strict", async () => {
    const r = await api.post("/api/v1/namespaces/default/configmaps?fieldValidation=Strict", '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup2"}}');
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('duplicate field "metadata.name"');
  });

  it("answers 429 with Retry-After while the database is locked by another process", async () => {
    const other = new Database(join(d.dataDir, "state.db"));
    other.run("PRAGMA busy_timeout = 0");
    other.run("BEGIN IMMEDIATE");
    try {
      const r = await api.post("/api/v1/namespaces/default/configmaps", configMap("while-locked"));
      expect(r.status).toBe(429);
      expect(r.headers.get("retry-after")).toBe("1");
      expect(r.body.reason).toBe("TooManyRequests");
    } finally {
      other.run("ROLLBACK");
      other.close();
    }
    expect((await api.post("/api/v1/namespaces/default/configmaps", configMap("while-locked"))).status).toBe(201);
  });
});

describe("health and metrics", () => {
  it("prints verbose health and honours exclude", async () => {
    const r = await api.get("/readyz?verbose");
    expect(r.text).toContain("[+]ping ok");
    expect(r.text).toContain("[+]shutdown ok");
    expect(r.text).toContain("readyz check passed");
    expect((await api.get("/readyz/etcd")).text).toBe("ok");
    expect((await api.get("/livez?verbose&exclude=etcd")).text).toContain("[+]etcd excluded: ok");
  });

  it("exposes Prometheus metrics under the kube-apiserver names", async () => {
    await api.get("/api/v1/namespaces/default/configmaps");
    const m = (await api.get("/metrics")).text;
    expect(m).toMatch(/apiserver_request_total\{verb="LIST",group="",version="v1",resource="configmaps",subresource="",scope="namespace",component="apiserver",code="200"\} \d+/);
    expect(m).toContain("apiserver_request_duration_seconds_bucket");
    expect(m).toContain("apiserver_current_inflight_requests");
    expect(m).toContain("process_resident_memory_bytes");
  });
});
