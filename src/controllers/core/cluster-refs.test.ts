/**
 * A file applied with the Cluster first (as upstream templates are ordered): the Cluster finds
 * its infrastructure missing, and looks again as soon as the ProxmoxCluster appears rather than
 * after upstream's 30 s requeue.
 */
import { afterEach, expect, it } from "bun:test";
import { getCondition } from "../../runtime/conditions.ts";
import { CLUSTER, clusterObjects, NS, startProxmoxEnv, waitFor, type ProxmoxTestEnv } from "../proxmox/testenv.ts";
import { CAPI_VERSION } from "./contract.ts";

let env: ProxmoxTestEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

it("a Cluster created before its ProxmoxCluster sees it within seconds, not after 30 s", async () => {
  env = await startProxmoxEnv();
  const e = env;
  const [cluster, pc] = clusterObjects();
  await e.client.create(cluster!);
  const cl = () => e.client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER });
  await waitFor("the Cluster notices its infrastructure is missing", () => getCondition(cl()!, "InfrastructureReady")?.reason === "InfrastructureDoesNotExist");
  const created = Date.now();
  await e.client.create(pc!);
  await waitFor("InfrastructureReady", () => getCondition(cl()!, "InfrastructureReady")?.status === "True", 10_000);
  expect(Date.now() - created).toBeLessThan(10_000);
});
