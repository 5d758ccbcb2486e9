/**
 * providerID without a cloud-controller-manager, end to end: a lab workload API server on the
 * simulated LAN (as lab mode runs one), a Node registering there without `spec.providerID` (as
 * Talos nodes do) gets `proxmox://<smbios uuid>` from its ProxmoxMachine, after which CAPI pairs
 * it with the Machine; a Node that already has another providerID is left alone.
 */
import "reflect-metadata";
import { afterEach, expect, it } from "bun:test";
import type { KObject } from "../../lib/kobject.ts";
import { createCA } from "../../providers/pki/certs.ts";
import { systemContext } from "../../registry/rest/context.ts";
import { create } from "../../registry/rest/create.ts";
import { get } from "../../registry/rest/get.ts";
import type { RestDeps } from "../../registry/rest/deps.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { CLUSTER, clusterObjects, createAll, machineObjects, NS, pmOf, startProxmoxEnv, waitFor, type ProxmoxTestEnv } from "./testenv.ts";
import type { ProxmoxMachineSpec, ProxmoxMachineStatus } from "./types.ts";

let env: ProxmoxTestEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

function registerNode(rest: RestDeps, name: string, ip: string, providerID?: string): void {
  const node: KObject = {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name } },
    spec: providerID ? { providerID } : {},
    status: { addresses: [{ type: "InternalIP", address: ip }, { type: "Hostname", address: name }], conditions: [{ type: "Ready", status: "True", reason: "KubeletReady" }] },
  };
  create(rest, rest.registry.resolve("", "v1", "nodes")!, undefined, node, systemContext("kubelet"));
}

function nodeProviderId(rest: RestDeps, name: string): string | undefined {
  return (get(rest, rest.registry.resolve("", "v1", "nodes")!, "", name).spec as { providerID?: string } | undefined)?.providerID;
}

it("sets the providerID of a Node that registered without one; never changes another one", async () => {
  env = await startProxmoxEnv({ labWorkloads: true });
  const e = env;
  const ca = await createCA("kubernetes");
  await e.client.create({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `${CLUSTER}-ca`, namespace: NS, labels: { "cluster.x-k8s.io/cluster-name": CLUSTER } },
    type: "cluster.x-k8s.io/secret",
    data: { "tls.crt": Buffer.from(ca.certPem).toString("base64"), "tls.key": Buffer.from(ca.keyPem).toString("base64") },
  } as KObject);
  await createAll(e.client, clusterObjects());
  await createAll(e.client, machineObjects("c1-cp-0", {}, { controlPlane: true }));
  await createAll(e.client, machineObjects("c1-cp-1", {}, { controlPlane: true }));
  const [a, b] = await Promise.all(
    ["c1-cp-0", "c1-cp-1"].map((n) =>
      waitFor(`${n} provisioned`, () => {
        const o = pmOf(e.client, n);
        return (o?.status as ProxmoxMachineStatus | undefined)?.initialization?.provisioned ? o : undefined;
      }),
    ),
  );
  const server = await waitFor("the workload API server", () => e.workloadServers?.server(NS, CLUSTER));
  const ipOf = (pm: KObject) => (pm.status as ProxmoxMachineStatus).addresses!.find((x) => x.type === "InternalIP")!.address;

  registerNode(server.rest, "c1-cp-0", ipOf(a!));
  registerNode(server.rest, "c1-cp-1", ipOf(b!), "talos://nocloud/elsewhere");
  const want = (a!.spec as ProxmoxMachineSpec).providerID!;
  await waitFor("the Node's providerID", () => nodeProviderId(server.rest, "c1-cp-0") === want);
  // CAPI now finds the Node by providerID.
  await waitFor("Machine nodeRef", () => {
    const m = e.client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name: "c1-cp-0" });
    return (m?.status as { nodeRef?: { name?: string } } | undefined)?.nodeRef?.name === "c1-cp-0";
  });
  await waitFor("a warning about the other Node", () =>
    e.client.list("v1", "Event", NS).some((ev) => (ev as { reason?: string; involvedObject?: { name?: string } }).reason === "ProviderIDMismatch" && (ev as { involvedObject?: { name?: string } }).involvedObject?.name === "c1-cp-1"),
  );
  expect(nodeProviderId(server.rest, "c1-cp-1")).toBe("talos://nocloud/elsewhere");
});
