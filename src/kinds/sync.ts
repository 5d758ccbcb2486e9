/**
 * Makes the stored CRDs of the bundled kinds match what this binary ships: created when
 * missing, replaced when their spec differs (an upgrade), left alone otherwise.
 * @module
 */
import { deepEqual } from "../lib/kobject.ts";
import { log } from "../lib/log.ts";
import type { CRDObject } from "../registry/crd/to-resource.ts";
import { withTrustedCRDRules } from "../registry/builtin/crd.ts";
import { CRD_RESOURCE, type Registry } from "../registry/registry.ts";
import { systemContext } from "../registry/rest/context.ts";
import { create } from "../registry/rest/create.ts";
import { parseRow, type RestDeps } from "../registry/rest/deps.ts";
import { update } from "../registry/rest/update.ts";
import type { KindHooks } from "../registry/types.ts";
import type { BundledKind } from "./types.ts";
import { cloneData } from "../lib/clone.ts";

export function bundledHooks(kinds: BundledKind[]): Map<string, KindHooks> {
  return new Map(kinds.filter((k) => k.hooks).map((k) => [k.crd.metadata.name!, k.hooks!]));
}

export function syncBundledCRDs(d: RestDeps, kinds: BundledKind[]): void {
  withTrustedCRDRules(() => syncAll(d, kinds));
}

function syncAll(d: RestDeps, kinds: BundledKind[]): void {
  const crds = requireCRDResource(d.registry);
  const ctx = systemContext("capx-appliance");
  for (const { crd } of kinds) {
    const name = crd.metadata.name!;
    const row = d.store.get(CRD_RESOURCE, "", name);
    const wanted = cloneData(crd);
    if (!row) {
      create(d, crds, undefined, wanted, ctx);
      log.info({ component: "bundled-kinds", crd: name }, "installed CRD");
      continue;
    }
    const current = parseRow(row) as CRDObject;
    if (deepEqual(current.spec, crd.spec) && deepEqual(current.metadata.labels ?? {}, crd.metadata.labels ?? {}) && deepEqual(current.metadata.annotations ?? {}, crd.metadata.annotations ?? {})) {
      continue;
    }
    wanted.metadata.resourceVersion = current.metadata.resourceVersion;
    update(d, crds, "", name, wanted, ctx);
    log.info({ component: "bundled-kinds", crd: name }, "updated CRD to the version this binary ships");
  }
}

function requireCRDResource(registry: Registry) {
  const r = registry.resolve("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  if (!r) throw new Error("the CRD resource is not served");
  return r;
}
