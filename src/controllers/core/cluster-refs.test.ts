/**
 * A file applied with the Cluster first (as upstream templates are ordered): the Cluster finds
 * its infrastructure missing, and looks again as soon as the ProxmoxCluster appears rather than
 * after upstream's 30 s requeue.
 */
import { afterEach, expect, it } from "bun:test";
import { getCondition, getV1Beta1Condition } from "../../runtime/conditions.ts";
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
  // the v1beta1 view (status.conditions of clusters.v1beta1) says Ready too
  await waitFor("v1beta1 Ready", () => getV1Beta1Condition(cl()!, "Ready")?.status === "True");
  expect(getV1Beta1Condition(cl()!, "InfrastructureReady")?.status).toBe("True");
});

it("v1beta1 conditions say what is missing while the infrastructure is not ready", async () => {
  env = await startProxmoxEnv();
  const e = env;
  const [cluster] = clusterObjects();
  await e.client.create(cluster!);
  const cl = () => e.client.get({ apiVersion: CAPI_VERSION, kind: "Cluster", namespace: NS, name: CLUSTER });
  await waitFor("v1beta1 Ready", () => getV1Beta1Condition(cl()!, "Ready"));
  expect(getV1Beta1Condition(cl()!, "Ready")).toMatchObject({ status: "False", severity: "Info", reason: "WaitingForInfrastructure" });
  expect(getV1Beta1Condition(cl()!, "ControlPlaneInitialized")).toMatchObject({ status: "False", reason: "WaitingForControlPlaneProviderInitialized" });
});
