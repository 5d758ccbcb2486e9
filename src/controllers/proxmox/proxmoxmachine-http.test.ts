/**
 * The controllers over the http backend (proxmox-api to the lab PVE's HTTPS API), as CAPMOX
 * talks to a remote PVE: bootstrap data as a NoCloud ISO on ide0 (boot order, `cloud-init`
 * tag), read by the guest; once the Machine is Available with its Node, the ISO is ejected and
 * deleted.
 */
import "reflect-metadata";
import { afterEach, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { KObject } from "../../lib/kobject.ts";
import { createCA } from "../../providers/pki/certs.ts";
import { systemContext } from "../../registry/rest/context.ts";
import { create } from "../../registry/rest/create.ts";
import { CAPI_VERSION } from "../core/contract.ts";
import { BOOTSTRAP_ANNOTATION } from "./constants.ts";
import { CLUSTER, clusterObjects, createAll, machineObjects, NS, pmOf, startProxmoxEnv, waitFor, type ProxmoxTestEnv } from "./testenv.ts";
import type { ProxmoxMachineSpec, ProxmoxMachineStatus } from "./types.ts";

let env: ProxmoxTestEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

it("over HTTPS: a NoCloud ISO on ide0 that the guest boots from, ejected once the Machine is Available", async () => {
  env = await startProxmoxEnv({ backend: "http", labWorkloads: true });
  const e = env;
  expect(e.backend.name).toBe("http");
  const ca = await createCA("kubernetes");
  await e.client.create({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `${CLUSTER}-ca`, namespace: NS },
    data: { "tls.crt": Buffer.from(ca.certPem).toString("base64"), "tls.key": Buffer.from(ca.keyPem).toString("base64") },
  } as KObject);
  await createAll(e.client, clusterObjects());
  await createAll(e.client, machineObjects("c1-cp-0", {}, { controlPlane: true }));
  const pm = await waitFor("provisioned", () => {
    const o = pmOf(e.client, "c1-cp-0");
    return (o?.status as ProxmoxMachineStatus | undefined)?.initialization?.provisioned ? o : undefined;
  }, 30_000);
  const vmid = (pm.spec as ProxmoxMachineSpec).virtualMachineID!;
  const node = (pm.status as ProxmoxMachineStatus).proxmoxNode!;
  const config = (await e.backend.vmConfig(node, vmid))!;
  expect(config.ide0).toMatch(new RegExp(`^(local|shared):iso/user-data-${vmid}\\.iso,media=cdrom`));
  expect(config.boot).toMatch(/order=.*ide0/);
  expect(config.tags!.split(";")).toContain("cloud-init");
  const ip = (pm.status as ProxmoxMachineStatus).addresses!.find((a) => a.type === "InternalIP")!.address;
  const ifaces = await e.backend.agentNetworkInterfaces(node, vmid);
  expect(ifaces.flatMap((i) => i.addresses.map((a) => a.ip))).toContain(ip);

  // The Node registers (without a providerID, as Talos): it gets one, the Machine becomes Available.
  const server = await waitFor("the workload API server", () => e.workloadServers?.server(NS, CLUSTER));
  create(
    server.rest,
    server.rest.registry.resolve("", "v1", "nodes")!,
    undefined,
    {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "c1-cp-0", labels: { "kubernetes.io/hostname": "c1-cp-0" } },
      spec: {},
      status: {
        addresses: [{ type: "InternalIP", address: ip }],
        conditions: [
          { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" },
          { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory" },
          { type: "DiskPressure", status: "False", reason: "KubeletHasNoDiskPressure" },
          { type: "PIDPressure", status: "False", reason: "KubeletHasSufficientPID" },
        ],
      },
    },
    systemContext("kubelet"),
  );
  await waitFor("Machine Available", () => {
    const m = e.client.get({ apiVersion: CAPI_VERSION, kind: "Machine", namespace: NS, name: "c1-cp-0" });
    return (m?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some((c) => c.type === "Available" && c.status === "True");
  }, 30_000);
  const ejected = await waitFor("ISO ejected", async () => {
    const c = (await e.backend.vmConfig(node, vmid))!;
    return c.ide0 === undefined ? c : undefined;
  });
  expect(ejected.tags!.split(";")).not.toContain("cloud-init");
  const volume = /^([^:]+):(iso\/[^,]+)/.exec(config.ide0!)!;
  // The ISO itself is deleted from its storage.
  await waitFor("ISO deleted", () => !existsSync(join(e.lab.storagePath(node, volume[1]!), "template", volume[2]!)));
  const recorded = await waitFor("the ejection recorded", () => {
    const r = JSON.parse(pmOf(e.client, "c1-cp-0")!.metadata.annotations![BOOTSTRAP_ANNOTATION]!);
    return r.ejected ? r : undefined;
  });
  expect(recorded).toMatchObject({ kind: "iso", volumes: [`${volume[1]}:${volume[2]}`] });
});
