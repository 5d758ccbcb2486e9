/** GET of one object, in the requested version. */
import { methodNotAllowed } from "../../lib/api-errors.ts";
import type { KObject } from "../../lib/kobject.ts";
import type { Resolved } from "../registry.ts";
import { toVersion } from "./codec.ts";
import { mustGetStored, type RestDeps } from "./deps.ts";

export function get(d: RestDeps, r: Resolved, namespace: string, name: string): KObject {
  if (!r.resource.verbs.includes("get")) throw methodNotAllowed();
  return toVersion(r.resource, mustGetStored(d, r.resource, namespace, name), r.version.name);
}
