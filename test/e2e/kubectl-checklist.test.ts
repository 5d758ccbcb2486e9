/**
 * The kubectl conformance checklist (shared/reference/k8s-api/notes.md §h), driven with the real
 * kubectl 1.32 over HTTPS with the admin client-certificate kubeconfig. Cluster-API-shaped lines
 * use the test kinds TestCluster (tcl) and TestMachineDeployment (tmd).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { adminFetch, startTestDaemon, tempDir, type TestDaemon } from "../harness/daemon.ts";
import { Kubectl, kubectlOrSkip } from "../harness/kubectl.ts";
import { TEST_CRDS, testCluster, testMachineDeployment } from "./fixtures.ts";

const binary = kubectlOrSkip("kubectl checklist");
const suite = describe.skipIf(!binary);

let d: TestDaemon;
let k: Kubectl;
const files = tempDir("capx-e2e-files-");

function file(name: string, content: string): string {
  const p = join(files, name);
  writeFileSync(p, content);
  return p;
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

suite("kubectl checklist (notes §h)", () => {
  beforeAll(async () => {
    d = await startTestDaemon({ env: { CAPX_FAULTS: "watch-expired:1" }, config: "storage:\n  synchronous: NORMAL\n" });
    k = new Kubectl(binary!, d.kubeconfig);
    await k.ok(["apply", "-f", file("crds.yaml", TEST_CRDS)]);
    await k.ok(["wait", "--for=condition=Established", "crd/testclusters.e2e.capx.dev", "crd/testmachinedeployments.e2e.capx.dev", "--timeout=10s"]);
  });

  afterAll(async () => {
    await d?.stop();
    d?.cleanup();
  });

  it("1. version reports v1.32 without a skew warning; api-versions lists the groups", async () => {
    const r = await k.run(["version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Server Version: v1.32.");
    expect(r.stderr).not.toContain("WARNING");
    const versions = await k.ok(["api-versions"]);
    for (const v of ["v1", "e2e.capx.dev/v1beta2", "e2e.capx.dev/v1beta1", "authorization.k8s.io/v1", "apiextensions.k8s.io/v1", "coordination.k8s.io/v1", "events.k8s.io/v1"]) {
      expect(versions.split("\n")).toContain(v);
    }
  });

  it("2. api-resources shows names, short names, categories and verbs", async () => {
    expect((await k.ok(["api-resources", "--api-group=e2e.capx.dev", "-o", "name"])).trim().split("\n")).toEqual([
      "testclusters.e2e.capx.dev",
      "testmachinedeployments.e2e.capx.dev",
    ]);
    const wide = await k.ok(["api-resources", "--api-group=e2e.capx.dev", "-o", "wide"]);
    expect(wide).toMatch(/testclusters\s+tcl\s+e2e\.capx\.dev\/v1beta2\s+true\s+TestCluster\s+create,delete,deletecollection,get,list,patch,update,watch\s+capx-e2e/);
  });

  it("3. create ns (protobuf body) and get ns", async () => {
    expect(await k.ok(["create", "ns", "capx-test"])).toBe("namespace/capx-test created\n");
    expect(await k.ok(["get", "ns"])).toMatch(/capx-test\s+Active\s+\d+s/);
  });

  it("4. create -f, and again gives AlreadyExists", async () => {
    const f = file("c1.yaml", testCluster("c1", { labels: { tier: "a", app: "capx" } }));
    expect(await k.ok(["create", "-f", f])).toBe("testcluster.e2e.capx.dev/c1 created\n");
    const again = await k.run(["create", "-f", f]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Error from server (AlreadyExists): error when creating');
    expect(again.stderr).toContain('testclusters.e2e.capx.dev "c1" already exists');
  });

  it("5. an unknown field is a strict decoding error; --validate=false prunes it", async () => {
    const f = file("bad.yaml", testCluster("c-unknown", { extraSpec: "  foo: bar\n" }));
    const r = await k.run(["create", "-f", f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("BadRequest");
    expect(r.stderr).toContain('strict decoding error: unknown field "spec.foo"');
    await k.ok(["create", "-f", f, "--validate=false"]);
    expect(await k.ok(["get", "tcl", "c-unknown", "-o", "jsonpath={.spec}"])).not.toContain("foo");
    await k.ok(["delete", "tcl", "c-unknown"]);
  });

  it("6. get by plural, short and singular name, with -A, -o wide and --show-labels", async () => {
    for (const name of ["testclusters", "tcl", "testcluster"]) {
      const out = await k.ok(["get", name]);
      expect(out).toMatch(/^NAME\s+PHASE\s+AGE\n/);
      expect(out).toMatch(/\nc1\s+\d+s\n/);
    }
    expect(await k.ok(["get", "tcl", "-A"])).toMatch(/NAMESPACE\s+NAME\s+PHASE\s+AGE\ndefault\s+c1/);
    expect(await k.ok(["get", "tcl", "-o", "wide"])).toMatch(/NAME\s+PHASE\s+ENDPOINT\s+AGE\nc1\s+10\.0\.0\.10\s+\d+s/);
    expect(await k.ok(["get", "tcl", "--show-labels"])).toMatch(/c1\s+\d+s\s+app=capx,tier=a/);
  });

  it("7. get by category lists every member", async () => {
    await k.ok(["apply", "-f", file("md1.yaml", testMachineDeployment("md1", "c1", 2))]);
    const out = await k.ok(["get", "capx-e2e"]);
    expect(out).toContain("testcluster.e2e.capx.dev/c1");
    expect(out).toContain("testmachinedeployment.e2e.capx.dev/md1");
  });

  it("7b. get all: nothing in a fresh namespace, then a Service with defaults and kubectl's columns", async () => {
    await k.ok(["create", "namespace", "getall"]);
    const empty = await k.run(["get", "all", "-n", "getall"]);
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain("No resources found in getall namespace.");
    await k.ok(["create", "service", "clusterip", "web", "--tcp=80:8080", "-n", "getall"]);
    await k.ok(["create", "service", "externalname", "db", "--external-name=db.example.com", "-n", "getall"]);
    const out = await k.ok(["get", "all", "-n", "getall", "-o", "wide"]);
    expect(out).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\s+SELECTOR\n/);
    // One kind in the category, so kubectl prints bare names (no `service/` prefix).
    expect(out).toMatch(/\nweb\s+ClusterIP\s+<none>\s+<none>\s+80\/TCP\s+\d+s\s+app=web\n/);
    expect(out).toMatch(/\ndb\s+ExternalName\s+<none>\s+db\.example\.com\s+<none>\s+\d+s\s+app=db\n/);
    const spec = JSON.parse(await k.ok(["get", "svc", "web", "-n", "getall", "-o", "jsonpath={.spec}"]));
    expect(spec).toMatchObject({ type: "ClusterIP", sessionAffinity: "None", ports: [{ name: "80-8080", port: 80, protocol: "TCP", targetPort: 8080 }] });
    // apply merges ports by port (strategic merge patch), server-side apply keys them by port and protocol.
    const svc = (targetPort: number, extra: object[] = []) =>
      JSON.stringify({ apiVersion: "v1", kind: "Service", metadata: { name: "api", namespace: "getall" }, spec: { selector: { app: "api" }, ports: [{ name: "https", port: 443, targetPort }, ...extra] } });
    expect(await k.ok(["apply", "-f", "-"], { input: svc(6443) })).toContain("service/api created");
    expect(await k.ok(["apply", "-f", "-"], { input: svc(8443, [{ name: "dns", port: 53, protocol: "UDP" }]) })).toContain("service/api configured");
    const ports = () => k.ok(["get", "svc", "api", "-n", "getall", "-o", "jsonpath={.spec.ports}"]).then((o) => JSON.parse(o));
    expect(await ports()).toEqual([
      { name: "https", port: 443, protocol: "TCP", targetPort: 8443 },
      { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
    ]);
    // Two server-side appliers each own their port of one Service.
    const ssa = (manager: string, port: object) =>
      k.ok(["apply", "--server-side", `--field-manager=${manager}`, "-f", "-"], {
        input: JSON.stringify({ apiVersion: "v1", kind: "Service", metadata: { name: "shared", namespace: "getall" }, spec: { ports: [port] } }),
      });
    await ssa("web-team", { name: "http", port: 80, targetPort: 8080 });
    await ssa("dns-team", { name: "dns", port: 53, protocol: "UDP" });
    const shared = JSON.parse(await k.ok(["get", "svc", "shared", "-n", "getall", "-o", "jsonpath={.spec.ports}"]));
    expect(shared.map((p: { name: string; port: number; protocol: string }) => `${p.name} ${p.port}/${p.protocol}`)).toEqual(["http 80/TCP", "dns 53/UDP"]);
    const bad = await k.run(["create", "-n", "getall", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "Service", metadata: { name: "bad" }, spec: { type: "Nodeport", ports: [{ port: 70000 }] } }) });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('spec.type: Unsupported value: "Nodeport"');
    expect(bad.stderr).toContain("spec.ports[0].port: Invalid value: 70000");
    expect((await k.run(["get", "svc", "bad", "-n", "getall"])).code).not.toBe(0);
  });

  it("8. jsonpath shows a UUID uid and generation 1", async () => {
    const out = await k.ok(["get", "tcl", "c1", "-o", "jsonpath={.metadata.uid} {.metadata.generation}"]);
    expect(out).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12} 1$/);
  });

  it("9. -o yaml hides managedFields unless asked", async () => {
    expect(await k.ok(["get", "tcl", "c1", "-o", "yaml"])).not.toContain("managedFields");
    const shown = await k.ok(["get", "tcl", "c1", "-o", "yaml", "--show-managed-fields"]);
    expect(shown).toContain("managedFields:");
    expect(shown).toContain("manager: kubectl-create");
  });

  it("10. --chunk-size=1 pages with limit and continue and shows every row", async () => {
    await k.ok(["create", "-f", file("c2.yaml", testCluster("c2", { labels: { tier: "b", app: "capx" } }))]);
    await k.ok(["create", "-f", file("c3.yaml", testCluster("c3", { labels: { tier: "c", app: "x" } }))]);
    const r = await k.run(["get", "tcl", "--chunk-size=1", "-v=6"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/c1[\s\S]*c2[\s\S]*c3/);
    expect(r.stderr).toContain("limit=1");
    expect(r.stderr).toMatch(/continue=[^&\s]+&limit=1/);
  });

  it("11. label and field selectors filter; an unsupported field is an error", async () => {
    const sel = await k.ok(["get", "tcl", "-l", "tier in (a,b),app!=x", "-o", "name"]);
    expect(sel.trim().split("\n")).toEqual(["testcluster.e2e.capx.dev/c1", "testcluster.e2e.capx.dev/c2"]);
    expect((await k.ok(["get", "tcl", "--field-selector", "metadata.name=c1", "-o", "name"])).trim()).toBe("testcluster.e2e.capx.dev/c1");
    const bad = await k.run(["get", "tcl", "--field-selector", "spec.x=1"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("field label not supported: spec.x");
  });

  it("12. apply: created, configured, unchanged (no PATCH sent)", async () => {
    const f = file("a1.yaml", testCluster("a1", { labels: { tier: "a" } }));
    expect(await k.ok(["apply", "-f", f])).toBe("testcluster.e2e.capx.dev/a1 created\n");
    writeFileSync(f, testCluster("a1", { labels: { tier: "b" }, host: "10.0.0.11" }));
    expect(await k.ok(["apply", "-f", f])).toBe("testcluster.e2e.capx.dev/a1 configured\n");
    const r = await k.run(["apply", "-f", f, "-v=6"]);
    expect(r.stdout).toBe("testcluster.e2e.capx.dev/a1 unchanged\n");
    expect(r.stderr).not.toMatch(/PATCH https/);
    expect(await k.ok(["get", "tcl", "a1", "-o", "jsonpath={.spec.controlPlaneEndpoint.host} {.metadata.labels.tier}"])).toBe("10.0.0.11 b");
  });

  it("13. apply of a ConfigMap with a key removed removes the key", async () => {
    const f = file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm1\ndata:\n  a: '1'\n  b: '2'\n");
    await k.ok(["apply", "-f", f]);
    writeFileSync(f, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm1\ndata:\n  a: '1'\n  c: '3'\n");
    expect(await k.ok(["apply", "-f", f])).toBe("configmap/cm1 configured\n");
    expect(await k.ok(["get", "cm", "cm1", "-o", "jsonpath={.data}"])).toBe('{"a":"1","c":"3"}');
  });

  it("14. server-side apply: applied, conflict with a second manager, force, and over a client-side-applied object", async () => {
    const f = file("ssa-md.yaml", testMachineDeployment("ssa-md", "c1", 1));
    expect(await k.ok(["apply", "--server-side", "-f", f])).toBe("testmachinedeployment.e2e.capx.dev/ssa-md serverside-applied\n");
    expect(await k.ok(["apply", "--server-side", "-f", f])).toBe("testmachinedeployment.e2e.capx.dev/ssa-md serverside-applied\n");
    const other = file("ssa-md-2.yaml", testMachineDeployment("ssa-md", "c1", 4));
    const conflict = await k.run(["apply", "--server-side", "--field-manager=other", "-f", other]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain("Apply failed with 1 conflict");
    expect(conflict.stderr).toContain('conflict with "kubectl"');
    expect(conflict.stderr).toContain(".spec.replicas");
    await k.ok(["apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", other]);
    expect(await k.ok(["get", "tmd", "ssa-md", "-o", "jsonpath={.spec.replicas}"])).toBe("4");
    // md1 was created by client-side apply in test 7.
    expect(await k.ok(["apply", "--server-side", "-f", file("md1-ssa.yaml", testMachineDeployment("md1", "c1", 2))])).toBe(
      "testmachinedeployment.e2e.capx.dev/md1 serverside-applied\n",
    );
  });

  it("15. label, unlabel, annotate; a stale --resource-version conflicts", async () => {
    expect(await k.ok(["label", "tcl", "c1", "env=dev"])).toBe("testcluster.e2e.capx.dev/c1 labeled\n");
    expect(await k.ok(["get", "tcl", "c1", "-o", "jsonpath={.metadata.labels.env}"])).toBe("dev");
    expect(await k.ok(["label", "tcl", "c1", "env-"])).toBe("testcluster.e2e.capx.dev/c1 unlabeled\n");
    expect(await k.ok(["annotate", "tcl", "c1", "n=x"])).toBe("testcluster.e2e.capx.dev/c1 annotated\n");
    const r = await k.run(["label", "tcl", "c1", "z=1", "--resource-version=1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Conflict");
    expect(r.stderr).toContain("the object has been modified");
  });

  it("16. patch: merge bumps generation, json works, strategic is refused for custom resources", async () => {
    const gen = Number(await k.ok(["get", "tcl", "c1", "-o", "jsonpath={.metadata.generation}"]));
    expect(await k.ok(["patch", "tcl", "c1", "--type", "merge", "-p", '{"spec":{"paused":true}}'])).toBe("testcluster.e2e.capx.dev/c1 patched\n");
    expect(Number(await k.ok(["get", "tcl", "c1", "-o", "jsonpath={.metadata.generation}"]))).toBe(gen + 1);
    await k.ok(["patch", "tcl", "c1", "--type", "json", "-p", '[{"op":"replace","path":"/spec/paused","value":false}]']);
    expect(await k.ok(["get", "tcl", "c1", "-o", "jsonpath={.spec.paused}"])).toBe("false");
    const r = await k.run(["patch", "tcl", "c1", "-p", '{"spec":{"paused":true}}']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("application/strategic-merge-patch+json is not supported by e2e.capx.dev/v1beta2, Kind=TestCluster");
  });

  it("17. status subresource: set through /status, ignored on the main resource", async () => {
    const gen = await k.ok(["get", "tcl", "c1", "-o", "jsonpath={.metadata.generation}"]);
    await k.ok(["patch", "tcl", "c1", "--subresource=status", "--type", "merge", "-p", '{"status":{"phase":"Provisioned"}}']);
    expect(await k.ok(["get", "tcl", "c1", "-o", "jsonpath={.status.phase} {.metadata.generation}"])).toBe(`Provisioned ${gen}`);
    await k.ok(["patch", "tcl", "c1", "--type", "merge", "-p", '{"status":{"phase":"Hacked"}}']);
    expect(await k.ok(["get", "tcl", "c1", "-o", "jsonpath={.status.phase}"])).toBe("Provisioned");
  });

  it("18. replace, and raw PUTs with a stale or missing resourceVersion", async () => {
    const yaml = await k.ok(["get", "tcl", "c2", "-o", "yaml"]);
    const f = file("c2-replace.yaml", yaml.replace("10.0.0.10", "10.0.0.20"));
    expect(await k.ok(["replace", "-f", f])).toBe("testcluster.e2e.capx.dev/c2 replaced\n");
    const obj = JSON.parse(await k.ok(["get", "tcl", "c2", "-o", "json"]));
    const path = "/apis/e2e.capx.dev/v1beta2/namespaces/default/testclusters/c2";
    const stale = await adminFetch(d, path, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: "1" } }) });
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { reason: string }).reason).toBe("Conflict");
    const { resourceVersion: _rv, ...metaNoRv } = obj.metadata;
    const missing = await adminFetch(d, path, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ...obj, metadata: metaNoRv }) });
    expect(missing.status).toBe(422);
    expect(((await missing.json()) as { message: string }).message).toContain("metadata.resourceVersion: Invalid value: 0x0: must be specified for an update");
  });

  it("19. scale through the scale subresource; --current-replicas mismatch fails", async () => {
    expect(await k.ok(["scale", "tmd", "md1", "--replicas=3"])).toBe("testmachinedeployment.e2e.capx.dev/md1 scaled\n");
    expect(await k.ok(["get", "tmd", "md1", "-o", "jsonpath={.spec.replicas}"])).toBe("3");
    const r = await k.run(["scale", "tmd", "md1", "--current-replicas=2", "--replicas=5"]);
    expect(r.code).toBe(1);
    expect(await k.ok(["get", "tmd", "md1", "-o", "jsonpath={.spec.replicas}"])).toBe("3");
    expect(await k.ok(["scale", "tmd", "md1", "--current-replicas=3", "--replicas=4"])).toBe("testmachinedeployment.e2e.capx.dev/md1 scaled\n");
  });

  it("20. get -w shows one row per change, --output-watch-events names them", async () => {
    const watcher = k.run(["get", "tcl", "-w", "--output-watch-events", "--request-timeout=6s"], { timeoutMs: 20_000 });
    await Bun.sleep(1500);
    await k.ok(["create", "-f", file("w1.yaml", testCluster("w1"))]);
    await k.ok(["patch", "tcl", "w1", "--type", "merge", "-p", '{"spec":{"paused":true}}']);
    await k.ok(["delete", "tcl", "w1"]);
    const r = await watcher;
    expect(r.stdout).toMatch(/ADDED\s+c1/);
    expect(r.stdout).toMatch(/ADDED\s+w1[\s\S]*MODIFIED\s+w1[\s\S]*DELETED\s+w1/);
  });

  it("21. wait on a condition that is already true returns at once", async () => {
    await k.ok(["patch", "tcl", "c1", "--subresource=status", "--type", "merge", "-p", '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}']);
    const start = Date.now();
    expect(await k.ok(["wait", "--for=condition=Ready", "tcl/c1", "--timeout=10s"])).toBe("testcluster.e2e.capx.dev/c1 condition met\n");
    expect(Date.now() - start).toBeLessThan(5000);
  });

  it("22. wait for a condition that turns true later survives an injected 410", async () => {
    const waiting = k.run(["wait", "--for=condition=Ready", "tcl/c3", "--timeout=20s"], { timeoutMs: 30_000 });
    await Bun.sleep(2000);
    await k.ok(["patch", "tcl", "c3", "--subresource=status", "--type", "merge", "-p", '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}']);
    const r = await waiting;
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("testcluster.e2e.capx.dev/c3 condition met\n");
  });

  it("23. wait for a jsonpath value, and for the deletion of something absent", async () => {
    expect(await k.ok(["wait", "--for=jsonpath={.status.phase}=Provisioned", "tcl/c1", "--timeout=10s"])).toBe("testcluster.e2e.capx.dev/c1 condition met\n");
    const r = await k.run(["wait", "--for=delete", "tcl/none", "--timeout=2s"]);
    expect(r.code).toBe(0);
  });

  it("24. a finalizer holds a deleted object until it is removed", async () => {
    await k.ok(["create", "-f", file("f1.yaml", testCluster("f1"))]);
    await k.ok(["patch", "tcl", "f1", "--type", "merge", "-p", '{"metadata":{"finalizers":["e2e.capx.dev/hold"]}}']);
    expect(await k.ok(["delete", "tcl", "f1", "--wait=false"])).toBe('testcluster.e2e.capx.dev "f1" deleted\n');
    expect(await k.ok(["get", "tcl", "f1", "-o", "jsonpath={.metadata.deletionTimestamp}"])).toMatch(/^\d{4}-\d\d-\d\dT/);
    const timeout = await k.run(["delete", "tcl", "f1", "--timeout=2s"]);
    expect(timeout.code).toBe(1);
    expect(timeout.stderr).toContain("timed out waiting for the condition");
    const waiter = k.run(["wait", "--for=delete", "tcl/f1", "--timeout=15s"], { timeoutMs: 20_000 });
    await Bun.sleep(500);
    await k.ok(["patch", "tcl", "f1", "--type", "json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]']);
    expect((await waiter).code).toBe(0);
    expect((await k.run(["get", "tcl", "f1"])).code).toBe(1);
  });

  async function ownedMd(name: string, owner: string): Promise<void> {
    const uid = await k.ok(["get", "tcl", owner, "-o", "jsonpath={.metadata.uid}"]);
    const doc = testMachineDeployment(name, owner).replace(
      `  namespace: default\n`,
      `  namespace: default\n  ownerReferences:\n    - {apiVersion: e2e.capx.dev/v1beta2, kind: TestCluster, name: ${owner}, uid: ${uid}, blockOwnerDeletion: true}\n`,
    );
    await k.ok(["create", "-f", file(`${name}.yaml`, doc)]);
  }

  it("25. garbage collection: background, orphan and foreground", async () => {
    await k.ok(["create", "-f", file("g1.yaml", testCluster("g1"))]);
    await ownedMd("g1-md", "g1");
    await k.ok(["delete", "tcl", "g1"]);
    await until("g1-md collected", async () => (await k.run(["get", "tmd", "g1-md"])).code === 1);

    await k.ok(["create", "-f", file("g2.yaml", testCluster("g2"))]);
    await ownedMd("g2-md", "g2");
    await k.ok(["delete", "tcl", "g2", "--cascade=orphan"]);
    await until("g2 gone", async () => (await k.run(["get", "tcl", "g2"])).code === 1);
    expect(await k.ok(["get", "tmd", "g2-md", "-o", "jsonpath={.metadata.ownerReferences}"])).toBe("");

    await k.ok(["create", "-f", file("g3.yaml", testCluster("g3"))]);
    await ownedMd("g3-md", "g3");
    await k.ok(["patch", "tmd", "g3-md", "--type", "merge", "-p", '{"metadata":{"finalizers":["e2e.capx.dev/slow"]}}']);
    await k.ok(["delete", "tcl", "g3", "--cascade=foreground", "--wait=false"]);
    await until("g3-md terminating", async () => (await k.ok(["get", "tmd", "g3-md", "-o", "jsonpath={.metadata.deletionTimestamp}"])) !== "");
    expect(await k.ok(["get", "tcl", "g3", "-o", "jsonpath={.metadata.finalizers}"])).toContain("foregroundDeletion");
    await k.ok(["patch", "tmd", "g3-md", "--type", "json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]']);
    await until("g3 gone after its dependent", async () => (await k.run(["get", "tcl", "g3"])).code === 1);

    // An owner of a kind the server does not serve cannot be proven gone: the dependent stays.
    const orphanish = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: g4\n  ownerReferences: [{apiVersion: widgets.example.com/v1, kind: Widget, name: w, uid: 7d1e1b8e-3d47-4f0e-9a51-000000000004}]\n`;
    await k.ok(["create", "-f", file("g4.yaml", orphanish)]);
    await k.ok(["create", "-f", file("g5.yaml", orphanish.replace("name: g4", "name: g5").replace("widgets.example.com/v1, kind: Widget", "e2e.capx.dev/v1beta2, kind: TestCluster"))]);
    await until("g5 collected (its served owner is absent)", async () => (await k.run(["get", "cm", "g5"])).code === 1);
    expect((await k.run(["get", "cm", "g4"])).code).toBe(0);
  });

  it("26. delete --dry-run=server changes nothing", async () => {
    expect(await k.ok(["delete", "tcl", "c2", "--dry-run=server"])).toBe('testcluster.e2e.capx.dev "c2" deleted (server dry run)\n');
    expect((await k.run(["get", "tcl", "c2"])).code).toBe(0);
  });

  it("27. diff shows the change and exits 1 without changing the object", async () => {
    const yaml = testCluster("c2", { labels: { tier: "b", app: "capx" }, host: "10.9.9.9" });
    const r = await k.run(["diff", "-f", file("c2-diff.yaml", yaml)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("+    host: 10.9.9.9");
    expect(await k.ok(["get", "tcl", "c2", "-o", "jsonpath={.spec.controlPlaneEndpoint.host}"])).toBe("10.0.0.20");
  });

  it("28-29. describe shows matching Events; events --for and involvedObject field selectors find them", async () => {
    const uid = await k.ok(["get", "tcl", "c1", "-o", "jsonpath={.metadata.uid}"]);
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await k.ok([
      "create",
      "-f",
      file(
        "ev.yaml",
        `apiVersion: v1\nkind: Event\nmetadata:\n  name: c1.e2e\n  namespace: default\ninvolvedObject:\n  apiVersion: e2e.capx.dev/v1beta2\n  kind: TestCluster\n  name: c1\n  namespace: default\n  uid: ${uid}\nreason: Provisioned\nmessage: the test cluster is ready\ntype: Normal\nsource:\n  component: e2e-test\nfirstTimestamp: ${now}\nlastTimestamp: ${now}\ncount: 1\n`,
      ),
    ]);
    const desc = await k.ok(["describe", "tcl", "c1"]);
    expect(desc).toContain("Name:         c1");
    expect(desc).toMatch(/Events:[\s\S]*Normal\s+Provisioned\s+\S+\s+e2e-test\s+the test cluster is ready/);
    expect(await k.ok(["events", "--for", "testcluster/c1"])).toMatch(/Normal\s+Provisioned\s+TestCluster\/c1\s+the test cluster is ready/);
    expect(await k.ok(["get", "events", "--field-selector", "involvedObject.name=c1"])).toMatch(/Normal\s+Provisioned\s+testcluster\/c1\s+the test cluster is ready/);
  });

  it("30. create secret generic and configmap (protobuf bodies)", async () => {
    expect(await k.ok(["create", "secret", "generic", "s1", "--from-literal=a=b"])).toBe("secret/s1 created\n");
    expect(await k.ok(["get", "secret", "s1", "-o", "jsonpath={.data.a}"])).toBe("Yg==");
    expect(await k.ok(["create", "configmap", "cm2", "--from-literal=k=v"])).toBe("configmap/cm2 created\n");
    expect(await k.ok(["get", "secrets"])).toMatch(/s1\s+Opaque\s+1\s+\d+s/);
  });

  it("31. auth can-i", async () => {
    expect(await k.ok(["auth", "can-i", "create", "testclusters"])).toBe("yes\n");
  });

  it("32. explain reads the OpenAPI v3 schema", async () => {
    const out = await k.ok(["explain", "testcluster.spec"]);
    expect(out).toContain("GROUP:      e2e.capx.dev");
    expect(out).toContain("KIND:       TestCluster");
    expect(out).toContain("VERSION:    v1beta2");
    expect(out).toContain("FIELD: spec <Object>");
    expect(out).toContain("controlPlaneEndpoint\t<Object>");
  });

  it("33. edit through KUBE_EDITOR", async () => {
    const r = await k.run(["edit", "tcl", "c1"], { env: { KUBE_EDITOR: "sed -i s/10.0.0.10/10.0.0.99/" } });
    expect(r.stdout).toBe("testcluster.e2e.capx.dev/c1 edited\n");
    expect(await k.ok(["get", "tcl", "c1", "-o", "jsonpath={.spec.controlPlaneEndpoint.host}"])).toBe("10.0.0.99");
  });

  it("34. deleting a namespace removes its contents; creating inside a terminating one is Forbidden", async () => {
    await k.ok(["create", "configmap", "inner", "-n", "capx-test", "--from-literal=x=y"]);
    await k.ok(["create", "-f", file("held.yaml", testCluster("held", { ns: "capx-test" }))]);
    await k.ok(["patch", "tcl", "held", "-n", "capx-test", "--type", "merge", "-p", '{"metadata":{"finalizers":["e2e.capx.dev/hold"]}}']);
    expect(await k.ok(["delete", "ns", "capx-test", "--wait=false"])).toBe('namespace "capx-test" deleted\n');
    await until("namespace terminating", async () => (await k.ok(["get", "ns", "capx-test", "-o", "jsonpath={.status.phase}"])) === "Terminating");
    const r = await k.run(["create", "configmap", "late", "-n", "capx-test"]);
    expect(r.code).toBe(1);
    // kubectl's generator wording wraps the server's 403 Forbidden Status message.
    expect(r.stderr).toContain('configmaps "late" is forbidden: unable to create new content in namespace capx-test because it is being terminated');
    await until("configmap removed", async () => (await k.run(["get", "cm", "inner", "-n", "capx-test"])).code === 1);
    await k.ok(["patch", "tcl", "held", "-n", "capx-test", "--type", "json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]']);
    await until("namespace gone", async () => (await k.run(["get", "ns", "capx-test"])).code === 1);
  });

  it("35. get of a missing object: NotFound, or nothing with --ignore-not-found", async () => {
    const r = await k.run(["get", "tcl", "nosuch"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error from server (NotFound): testclusters.e2e.capx.dev "nosuch" not found');
    const q = await k.run(["get", "tcl", "nosuch", "--ignore-not-found"]);
    expect(q.code).toBe(0);
    expect(q.stdout).toBe("");
  });

  it("36. a bad token is Unauthorized", async () => {
    const cfg = file(
      "bad-token.kubeconfig",
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "${d.url}", insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: not-a-valid-token}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`,
    );
    // With discovery cached (as in the reference capture) the 401 Status message is printed.
    const cached = new Kubectl(binary!, cfg, k.home);
    const r = await cached.run(["get", "ns"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: You must be logged in to the server (Unauthorized)");
    // On a cold cache discovery fails first; kubectl words that differently, as with kube-apiserver.
    const cold = await new Kubectl(binary!, cfg).run(["get", "ns"]);
    expect(cold.code).toBe(1);
    expect(cold.stderr).toContain("error: You must be logged in to the server");
  });

  it("37. get --raw /healthz", async () => {
    expect(await k.ok(["get", "--raw", "/healthz"])).toBe("ok");
  });

  it("38. what get -o yaml writes (a v1 List) applies back; a bad item is refused by the server", async () => {
    await k.ok(["create", "ns", "listed"]);
    await k.ok(["-n", "listed", "create", "configmap", "a", "--from-literal=k=1"]);
    await k.ok(["-n", "listed", "create", "configmap", "b", "--from-literal=k=2"]);
    const dump = await k.ok(["-n", "listed", "get", "configmap", "a", "b", "-o", "yaml"]);
    expect(dump).toContain("kind: List");
    await k.ok(["delete", "-n", "listed", "configmap", "a", "b"]);
    const stripped = dump.replace(/^\s+(resourceVersion|uid|creationTimestamp):.*\n/gm, "");
    expect(await k.ok(["apply", "-f", file("list.yaml", stripped)])).toBe("configmap/a created\nconfigmap/b created\n");
    const bad = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c, namespace: listed}\n  data: {k: v}\n  bogus: 1\n";
    const r = await k.run(["apply", "-f", file("bad-list.yaml", bad)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown field "bogus"');
  });
});
