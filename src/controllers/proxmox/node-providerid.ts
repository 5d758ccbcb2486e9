/**
 * providerID without a cloud-controller-manager: Talos nodes register without
 * `spec.providerID`, so CAPI could never pair them with their Machine. For a provisioned
 * ProxmoxMachine, find its Node in the workload cluster — hostname = the machine's name and an
 * InternalIP among the machine's addresses — and set `proxmox://<smbios uuid>` as a CCM would.
 * A Node that already has a providerID is never changed (the field is immutable once set).
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { WorkloadClient, WorkloadClusters } from "../../providers/workload/types.ts";
import type { Client } from "../../runtime/client.ts";
import { Controller, type ReconcileContext, type Request, type Result } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import { CLUSTER_NAME_LABEL } from "../core/contract.ts";
import { INFRA_VERSION } from "./constants.ts";
import type { ProxmoxMachineSpec, ProxmoxMachineStatus } from "./types.ts";

const RETRY_MS = 30_000;
const HOSTNAME_LABEL = "kubernetes.io/hostname";
/** CAPI's `<cluster>-kubeconfig` Secret: the workload cluster becomes reachable with it. */
const KUBECONFIG_SUFFIX = "-kubeconfig";

type NodeFields = { spec?: { providerID?: string }; status?: { addresses?: { type: string; address: string }[] } };

function nodeHostname(node: KObject): string {
  return node.metadata.labels?.[HOSTNAME_LABEL] ?? node.metadata.name!;
}

function internalIPs(list: { type: string; address: string }[] | undefined): string[] {
  return (list ?? []).filter((a) => a.type === "InternalIP").map((a) => a.address);
}

/** The machine's Node: named (or labelled) with its hostname, sharing an InternalIP when the machine has any. */
export function matchNode(nodes: readonly KObject[], pm: KObject): KObject | undefined {
  const name = pm.metadata.name!;
  const mine = new Set(internalIPs((pm.status as ProxmoxMachineStatus | undefined)?.addresses));
  return nodes.find((n) => {
    if (n.metadata.name !== name && nodeHostname(n) !== name) return false;
    if (mine.size === 0) return true;
    return internalIPs((n as NodeFields).status?.addresses).some((a) => mine.has(a));
  });
}

export type ProviderIdOutcome = "set" | "already-set" | "other-provider-id" | "no-node";

export async function assignProviderId(wc: WorkloadClient, pm: KObject): Promise<{ outcome: ProviderIdOutcome; node?: string }> {
  const providerID = (pm.spec as ProxmoxMachineSpec | undefined)?.providerID!;
  const direct = await wc.getNode(pm.metadata.name!);
  const node = (direct && matchNode([direct], pm)) ?? matchNode(await wc.listNodes(), pm);
  if (!node) return { outcome: "no-node" };
  const current = (node as NodeFields).spec?.providerID;
  if (current === providerID) return { outcome: "already-set", node: node.metadata.name };
  if (current) return { outcome: "other-provider-id", node: node.metadata.name };
  await wc.patchNode(node.metadata.name!, { spec: { providerID } });
  return { outcome: "set", node: node.metadata.name };
}

function ready(pm: KObject | undefined): pm is KObject {
  if (!pm || pm.metadata.deletionTimestamp) return false;
  const status = pm.status as ProxmoxMachineStatus | undefined;
  return Boolean(status?.initialization?.provisioned && (pm.spec as ProxmoxMachineSpec | undefined)?.providerID && pm.metadata.labels?.[CLUSTER_NAME_LABEL]);
}

export function setupNodeProviderIdController(m: Manager, workloads: WorkloadClusters): Controller | undefined {
  const pms = m.informers.forKind(INFRA_VERSION, "ProxmoxMachine");
  if (!pms) return undefined;
  const client = m.client("proxmox-providerid-controller");
  const recorder = m.recorder("proxmox-providerid-controller");
  const secrets = m.informers.forKind("v1", "Secret");
  const watching = { nodes: Boolean(workloads.onNodeEvent), secrets: Boolean(secrets) };
  const done = new Set<string>();
  const c = new Controller("proxmox-node-providerid", (req, ctx) => reconcile(client, recorder, workloads, watching, done, req, ctx), 2);
  const pending = (o: Readonly<KObject>) => ready(o) && !done.has(o.metadata.uid!);
  c.watchMapped(pms, (o) => (pending(o) ? [{ namespace: o.metadata.namespace, name: o.metadata.name! }] : []));
  // A cluster without a kubeconfig Secret is not polled: its Secret's arrival (or change) brings its machines back.
  if (secrets) {
    c.watchMapped(secrets, (o) => {
      const name = o.metadata.name ?? "";
      if (!name.endsWith(KUBECONFIG_SUFFIX)) return [];
      const selector = { labelSelector: `${CLUSTER_NAME_LABEL}=${name.slice(0, -KUBECONFIG_SUFFIX.length)}` };
      return client
        .listShared(INFRA_VERSION, "ProxmoxMachine", o.metadata.namespace, selector)
        .filter(pending)
        .map((pm) => ({ namespace: pm.metadata.namespace, name: pm.metadata.name! }));
    });
  }
  workloads.onNodeEvent?.((e) => {
    // New Nodes (a foreign providerID is worth a warning), and any Node still without one.
    if (e.type === "DELETED" || (e.type === "MODIFIED" && (e.node as NodeFields).spec?.providerID)) return;
    c.enqueue({ namespace: e.namespace, name: nodeHostname(e.node) });
    if (nodeHostname(e.node) !== e.node.metadata.name) c.enqueue({ namespace: e.namespace, name: e.node.metadata.name! });
  });
  m.add(c);
  return c;
}

async function reconcile(
  client: Client,
  recorder: EventRecorder,
  workloads: WorkloadClusters,
  /** What brings a machine back without polling: Node events, kubeconfig Secret events. */
  watching: { nodes: boolean; secrets: boolean },
  done: Set<string>,
  req: Request,
  ctx: ReconcileContext,
): Promise<Result | void> {
  const pm = client.get({ apiVersion: INFRA_VERSION, kind: "ProxmoxMachine", namespace: req.namespace, name: req.name });
  if (!ready(pm)) return;
  const cluster = pm.metadata.labels![CLUSTER_NAME_LABEL]!;
  let wc: WorkloadClient | undefined;
  try {
    wc = await workloads.forCluster(req.namespace!, cluster);
  } catch (e) {
    ctx.log.debug({ err: String(e) }, "workload cluster not reachable");
    return { requeueAfter: RETRY_MS };
  }
  if (!wc) return watching.secrets ? undefined : { requeueAfter: RETRY_MS };
  let r: Awaited<ReturnType<typeof assignProviderId>>;
  try {
    r = await assignProviderId(wc, pm);
  } catch (e) {
    ctx.log.debug({ err: String(e) }, "could not reach the workload cluster's Nodes");
    return { requeueAfter: RETRY_MS };
  }
  const providerID = (pm.spec as ProxmoxMachineSpec).providerID!;
  if (r.outcome === "no-node") return watching.nodes ? undefined : { requeueAfter: RETRY_MS };
  done.add(pm.metadata.uid!);
  if (r.outcome === "set") {
    ctx.log.info({ node: r.node, providerID }, "set the Node's providerID");
    recorder.normal(pm, "ProviderIDSet", `Node ${r.node} now has providerID ${providerID}`);
  } else if (r.outcome === "other-provider-id") {
    recorder.warning(pm, "ProviderIDMismatch", `Node ${r.node} already has another providerID; left unchanged`);
  }
}
