/**
 * Parses an API path into what it addresses, as kube-apiserver's RequestInfoResolver does:
 * `/api/v1/namespaces/ns/configmaps/x`, `/apis/g/v/namespaces/ns/plural/name/status`,
 * cluster-scoped paths, and the namespace object itself.
 * @module
 */

export interface ResourcePath {
  group: string;
  version: string;
  namespace?: string;
  plural: string;
  name?: string;
  subresource?: string;
}

export type ApiPath =
  | { kind: "resource"; path: ResourcePath }
  | { kind: "group-version"; group: string; version: string }
  | { kind: "group"; group: string }
  | { kind: "root"; legacy: boolean }
  | { kind: "unknown" };

function decode(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

export function parseApiPath(pathname: string): ApiPath {
  const parts = pathname.split("/").filter((p) => p.length > 0).map(decode);
  if (parts.length === 0) return { kind: "unknown" };
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api") {
    if (parts.length === 1) return { kind: "root", legacy: true };
    group = "";
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === "apis") {
    if (parts.length === 1) return { kind: "root", legacy: false };
    if (parts.length === 2) return { kind: "group", group: parts[1]! };
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return { kind: "unknown" };
  }
  if (rest.length === 0) return { kind: "group-version", group, version };
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3 && !(group === "" && (rest[2] === "status" || rest[2] === "finalize") && rest.length === 3)) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  if (!plural || extra.length > 0) return { kind: "unknown" };
  return { kind: "resource", path: { group, version, namespace, plural, name, subresource } };
}
