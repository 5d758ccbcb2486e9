/**
 * core/v1 Service: stored with the API server's defaults and shown with kubectl's usual columns.
 * It is in category `all`, so `kubectl get all` works on the appliance as on any cluster. Nothing
 * routes traffic for it (no cluster IP is allocated): the appliance runs no service network.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { ResourceDefinition } from "../types.ts";
import { ageColumn, int, listOf, nameColumn, obj, resourceSchema, str, stringList, stringMap } from "./schema-helpers.ts";
import { builtinKind } from "./define.ts";

interface ServicePort {
  name?: string;
  port?: number;
  protocol?: string;
  targetPort?: number | string;
  nodePort?: number;
}

interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  externalIPs?: string[];
  externalName?: string;
  ports?: ServicePort[];
  selector?: Record<string, string>;
  sessionAffinity?: string;
  internalTrafficPolicy?: string;
}

type LoadBalancerStatus = { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };

const open = { "x-kubernetes-preserve-unknown-fields": true } as const;

const portSchema = obj(
  {
    name: str("The name of this port within the service."),
    protocol: str("The IP protocol for this port.", { enum: ["TCP", "UDP", "SCTP"], default: "TCP" }),
    port: { ...int("The port that will be exposed by this service."), minimum: 1, maximum: 65535 },
    targetPort: { "x-kubernetes-int-or-string": true, description: "Number or name of the port to access on the pods targeted by the service." },
    nodePort: int("The port on each node on which this service is exposed when type is NodePort or LoadBalancer."),
    appProtocol: str("The application protocol for this port."),
  },
  "ServicePort contains information on service's port.",
  { required: ["port"] },
);

const schema = resourceSchema("Service is a named abstraction of software service (for example, mysql) consisting of local port that the proxy listens on, and the selector that determines which pods will answer requests sent through the proxy.", {
  spec: obj(
    {
      type: str("How the Service is exposed.", { enum: ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] }),
      clusterIP: str("The IP address of the service."),
      externalIPs: stringList("IP addresses for which nodes in the cluster will also accept traffic for this service.", { "x-kubernetes-list-type": "atomic" }),
      externalName: str("The external reference that discovery mechanisms will return as an alias for this service (type ExternalName)."),
      // As upstream: a map keyed by port and protocol, merged by port in strategic merge patches.
      ports: listOf(portSchema, "The list of ports that are exposed by this service.", {
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["port", "protocol"],
        "x-kubernetes-patch-merge-key": "port",
        "x-kubernetes-patch-strategy": "merge",
      }),
      selector: { ...stringMap("Route service traffic to pods with label keys and values matching this selector."), "x-kubernetes-map-type": "atomic" },
      sessionAffinity: str("Session affinity.", { enum: ["ClientIP", "None"] }),
    },
    "Spec defines the behavior of a service.",
    open,
  ),
  status: { type: "object", description: "Most recently observed status of the service.", ...open },
});

const specOf = (o: KObject) => (o.spec ?? {}) as ServiceSpec;

function externalIP(o: KObject): string {
  const s = specOf(o);
  if (s.type === "ExternalName") return s.externalName || "<none>";
  const ingress = ((o.status as LoadBalancerStatus | undefined)?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || "").filter(Boolean);
  const ips = [...(s.externalIPs ?? []), ...ingress];
  if (ips.length) return ips.join(",");
  return s.type === "LoadBalancer" ? "<pending>" : "<none>";
}

function ports(o: KObject): string {
  const list = specOf(o).ports ?? [];
  if (!list.length) return "<none>";
  return list.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`).join(",");
}

function selector(o: KObject): string {
  const sel = Object.entries(specOf(o).selector ?? {});
  return sel.length ? sel.map(([k, v]) => `${k}=${v}`).join(",") : "<none>";
}

/** The kube-apiserver's defaults that do not need a service network. */
function setDefaults(o: KObject): void {
  const s = (o.spec ??= {}) as ServiceSpec;
  s.type ??= "ClusterIP";
  if (s.type === "ExternalName") return;
  s.sessionAffinity ??= "None";
  s.internalTrafficPolicy ??= "Cluster";
  // protocol: the schema's default (TCP).
  for (const p of s.ports ?? []) if (p.targetPort === undefined && p.port !== undefined) p.targetPort = p.port;
}

export const serviceDefinition: ResourceDefinition = builtinKind({
  group: "",
  kind: "Service",
  plural: "services",
  namespaced: true,
  shortNames: ["svc"],
  categories: ["all"],
  status: true,
  schema,
  printerColumns: [
    nameColumn,
    { name: "Type", type: "string", description: "The type of the service", jsonPath: ".spec.type" },
    { name: "Cluster-IP", type: "string", description: "The IP address of the service", cell: (o: KObject) => specOf(o).clusterIP || "<none>" },
    { name: "External-IP", type: "string", description: "External addresses of the service", cell: externalIP },
    { name: "Port(s)", type: "string", description: "The ports exposed by the service", cell: ports },
    ageColumn,
    { name: "Selector", type: "string", description: "The selector of the service", priority: 1, cell: selector },
  ],
  hooks: {
    prepareForCreate: setDefaults,
    prepareForUpdate: setDefaults,
  },
});
