/**
 * `capx-appliance describe cluster NAME`: clusterctl's "at a glance" tree of a Cluster, read
 * through the appliance's API with a kubeconfig (default: the admin one of the data dir).
 * Discovery follows clusterctl: the Cluster, its infrastructure and control plane, control plane
 * Machines under the control plane, the other Machines under Workers → MachineDeployment (or its
 * MachineSets with --show-machinesets), orphans under Other, and each visible Machine's
 * infrastructure and bootstrap objects.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_DATA_DIR } from "../config/config.ts";
import type { KObject } from "../lib/kobject.ts";
import { parseKubeconfig, type KubeconfigAccess } from "../providers/workload/kubeconfig.ts";
import { parseFlags, UsageError } from "./args.ts";
import { CommandError } from "./cluster-secret.ts";
import { ObjectTree, objectNode, printTree, virtualNode, type TreeNode, type TreeOptions } from "./describe-tree.ts";

export const DESCRIBE_USAGE = `usage: capx-appliance describe cluster NAME [-n NAMESPACE] [--kubeconfig FILE] [--data-dir DIR]
         [--show-conditions all|KIND[/NAME][+][,...]] [--grouping=false] [--echo] [--show-machinesets] [--v1beta2=false]`;

const CAPI = "/apis/cluster.x-k8s.io/v1beta2";
const CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name";
const CONTROL_PLANE_LABEL = "cluster.x-k8s.io/control-plane";

interface Ref {
  apiGroup?: string;
  kind?: string;
  name?: string;
}

type List = { items?: KObject[] };

class ApiReader {
  private readonly resources = new Map<string, string | undefined>();
  constructor(private readonly access: KubeconfigAccess) {}

  /** The object or list at `path`; undefined on 404. */
  async get<T>(path: string): Promise<T | undefined> {
    const a = this.access;
    const headers: Record<string, string> = { Accept: "application/json" };
    if (a.token) headers.Authorization = `Bearer ${a.token}`;
    let res: Response;
    try {
      res = await fetch(a.server + path, { headers, tls: { ca: a.caPem, cert: a.certPem, key: a.keyPem, rejectUnauthorized: !a.insecure } } as RequestInit);
    } catch (e) {
      throw new CommandError(`cannot reach the appliance at ${a.server}: ${(e as Error).message}`);
    }
    if (res.status === 404) return undefined;
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    if (!res.ok) throw new CommandError(`GET ${path}: ${body.message ?? res.statusText}`);
    return body as T;
  }

  /**
   * The path of a kind's resource: in its group's preferred version, else the first version that
   * serves the kind (a group may mix kinds of different versions, e.g. TalosControlPlane v1alpha3
   * beside KubeadmControlPlane v1beta2); undefined when not served.
   */
  async resourcePath(group: string, kind: string): Promise<string | undefined> {
    const key = `${group}/${kind}`;
    if (!this.resources.has(key)) {
      const g = await this.get<{ preferredVersion?: { groupVersion?: string }; versions?: { groupVersion: string }[] }>(`/apis/${group}`);
      const preferred = g?.preferredVersion?.groupVersion;
      const candidates = [...(preferred ? [preferred] : []), ...(g?.versions ?? []).map((v) => v.groupVersion).filter((gv) => gv !== preferred)];
      let path: string | undefined;
      for (const gv of candidates) {
        const list = await this.get<{ resources?: { name: string; kind: string }[] }>(`/apis/${gv}`);
        const plural = list?.resources?.find((r) => r.kind === kind && !r.name.includes("/"))?.name;
        if (plural) {
          path = `/apis/${gv}/${plural}`;
          break;
        }
      }
      this.resources.set(key, path);
    }
    return this.resources.get(key);
  }

  async ref(ref: Ref | undefined, namespace: string): Promise<KObject | undefined> {
    if (!ref?.apiGroup || !ref.kind || !ref.name) return undefined;
    const path = await this.resourcePath(ref.apiGroup, ref.kind);
    if (!path) return undefined;
    const [prefix, plural] = [path.slice(0, path.lastIndexOf("/")), path.slice(path.lastIndexOf("/") + 1)];
    return this.get<KObject>(`${prefix}/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(ref.name)}`);
  }

  async listOfCluster(plural: string, namespace: string, cluster: string): Promise<KObject[]> {
    const selector = encodeURIComponent(`${CLUSTER_NAME_LABEL}=${cluster}`);
    const list = await this.get<List>(`${CAPI}/namespaces/${encodeURIComponent(namespace)}/${plural}?labelSelector=${selector}`);
    return (list?.items ?? []).map((o) => ({ ...o, apiVersion: "cluster.x-k8s.io/v1beta2", kind: kindOf(plural) }));
  }
}

function kindOf(plural: string): string {
  return { machines: "Machine", machinesets: "MachineSet", machinedeployments: "MachineDeployment" }[plural] ?? plural;
}

function controlledBy(obj: KObject, owner: KObject): boolean {
  return (obj.metadata.ownerReferences ?? []).some(
    (r) => r.controller === true && r.kind === owner.kind && r.name === owner.metadata.name && r.apiVersion.split("/")[0] === "cluster.x-k8s.io",
  );
}

const spec = (o: KObject) => (o.spec ?? {}) as Record<string, unknown>;

/** Builds the tree of one Cluster; throws CommandError when the Cluster does not exist. */
export async function discoverCluster(api: ApiReader, namespace: string, name: string, options: TreeOptions & { showMachineSets: boolean }): Promise<ObjectTree> {
  const cluster = await api.get<KObject>(`${CAPI}/namespaces/${encodeURIComponent(namespace)}/clusters/${encodeURIComponent(name)}`);
  if (!cluster) throw new CommandError(`cluster ${JSON.stringify(name)} not found in namespace ${JSON.stringify(namespace)}`);
  const root = objectNode({ ...cluster, apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster" });
  const tree = new ObjectTree(root, options);

  const infra = await api.ref(spec(cluster).infrastructureRef as Ref, namespace);
  if (infra) tree.add(root, objectNode(infra), { metaName: "ClusterInfrastructure" });

  const cp = await api.ref(spec(cluster).controlPlaneRef as Ref, namespace);
  const cpNode = cp ? objectNode(cp, { controlPlane: true }) : undefined;
  if (cpNode) tree.add(root, cpNode, { metaName: "ControlPlane", grouping: true });

  const machines = await api.listOfCluster("machines", namespace, name);
  const placed = new Set<string>();
  const addMachine = async (parent: TreeNode, m: KObject) => {
    const node = objectNode(m);
    placed.add(m.metadata.name!);
    const { visible } = tree.add(parent, node);
    if (!visible) return;
    const ms = spec(m);
    const machineInfra = await api.ref(ms.infrastructureRef as Ref, namespace);
    if (machineInfra) tree.add(node, objectNode(machineInfra), { metaName: "MachineInfrastructure", noEcho: true });
    const bootstrap = await api.ref((ms.bootstrap as { configRef?: Ref } | undefined)?.configRef, namespace);
    if (bootstrap) tree.add(node, objectNode(bootstrap), { metaName: "BootstrapConfig", noEcho: true });
  };

  const cpMachines = machines.filter((m) => m.metadata.labels?.[CONTROL_PLANE_LABEL] !== undefined);
  if (cpNode) for (const m of cpMachines) await addMachine(cpNode, m);

  const workers = virtualNode(namespace, "WorkerGroup", "Workers");
  if (machines.length !== cpMachines.length) {
    tree.add(root, workers);
    const deployments = await api.listOfCluster("machinedeployments", namespace, name);
    const sets = await api.listOfCluster("machinesets", namespace, name);
    for (const md of deployments) {
      const mdNode = objectNode(md);
      tree.add(workers, mdNode, { grouping: !options.showMachineSets });
      for (const ms of sets.filter((s) => controlledBy(s, md))) {
        let parent = mdNode;
        if (options.showMachineSets) {
          parent = objectNode(ms);
          tree.add(mdNode, parent, { grouping: true });
        }
        for (const m of machines.filter((x) => controlledBy(x, ms))) await addMachine(parent, m);
      }
    }
  }

  if (placed.size < machines.length) {
    const other = virtualNode(namespace, "OtherGroup", "Other");
    tree.add(workers, other);
    for (const m of machines) if (!placed.has(m.metadata.name!)) await addMachine(other, m);
  }
  return tree;
}

export async function describeCommand(argv: string[]): Promise<string> {
  const { flags, positional } = parseFlags(argv, {
    namespace: { type: "string" },
    n: { type: "string" },
    kubeconfig: { type: "string" },
    "data-dir": { type: "string" },
    "show-conditions": { type: "string" },
    grouping: { type: "boolean" },
    echo: { type: "boolean" },
    "show-machinesets": { type: "boolean" },
    v1beta2: { type: "boolean" },
  });
  const [what, name, extra] = positional;
  if (what !== "cluster" || !name || extra !== undefined) throw new UsageError(DESCRIBE_USAGE);
  const showConditions = (flags["show-conditions"] as string | undefined) ?? "";
  if (/\s/.test(showConditions)) throw new UsageError(`invalid --show-conditions value ${JSON.stringify(showConditions)}: whitespace is not allowed`);
  const namespace = (flags.namespace as string | undefined) ?? (flags.n as string | undefined) ?? "default";

  let path = flags.kubeconfig as string | undefined;
  if (path === undefined) {
    const dataDir = (flags["data-dir"] as string | undefined) ?? DEFAULT_DATA_DIR;
    path = join(dataDir, "admin.kubeconfig");
    if (!existsSync(path)) throw new UsageError(`${path} not found: has the daemon run with --data-dir ${dataDir}? (or pass --kubeconfig)`);
  } else if (!existsSync(path)) throw new UsageError(`kubeconfig ${path} not found`);
  let access: KubeconfigAccess;
  try {
    access = parseKubeconfig(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`kubeconfig ${path}: ${(e as Error).message}`);
  }

  const tree = await discoverCluster(new ApiReader(access), namespace, name, {
    v1beta1: flags.v1beta2 === false,
    grouping: flags.grouping !== false,
    echo: flags.echo === true,
    showConditions,
    showMachineSets: flags["show-machinesets"] === true,
  });
  return printTree(tree);
}
