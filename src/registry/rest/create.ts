/**
 * POST: admission, system metadata, one store write.
 * @module
 */
import { randomUUID } from "node:crypto";
import { alreadyExists, badRequest, methodNotAllowed } from "../../lib/api-errors.ts";
import { nowRfc3339, type KObject, type ManagedFieldsEntry } from "../../lib/kobject.ts";
import { KeyExistsError } from "../../store/store.ts";
import { updateManagedFields } from "../patch/index.ts";
import type { Resolved } from "../registry.ts";
import { checkShape, checkTypeMeta, defaultFields, mutateAdmission, pruneFields, validateAgainstSchema, validateStored } from "./admission.ts";
import { toStorageForWrite, toVersion } from "./codec.ts";
import type { RequestContext } from "./context.ts";
import { checkNamespaceWritable, type RestDeps } from "./deps.ts";
import { expiresAt, omitEmpty, resetFieldsFor, setManagedFields, tracksGeneration } from "./write-helpers.ts";

const GENERATE_NAME_ATTEMPTS = 8;
const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

export function generateSuffix(): string {
  let s = "";
  for (let i = 0; i < 5; i++) s += SUFFIX_ALPHABET[Math.floor(Math.random() * SUFFIX_ALPHABET.length)];
  return s;
}

/** Admits a new object; returns it in storage form, not yet stored. */
export interface CreateOptions {
  /** Managed fields computed by server-side apply (a create through apply). */
  managedFields?: ManagedFieldsEntry[];
}

export function admitCreate(d: RestDeps, r: Resolved, namespace: string | undefined, body: unknown, ctx: RequestContext, opts: CreateOptions = {}): KObject {
  const { resource, version } = r;
  checkShape(resource, version.name, body);
  const obj = body;
  checkTypeMeta(resource, version.name, obj);
  if (resource.namespaced) {
    if (obj.metadata.namespace && namespace && obj.metadata.namespace !== namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    obj.metadata.namespace = namespace || obj.metadata.namespace;
  } else {
    delete obj.metadata.namespace;
  }
  pruneFields(resource, version, obj, ctx);
  defaultFields(version.schema, obj);
  const now = d.now();
  const meta = obj.metadata;
  if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${generateSuffix()}`;
  meta.uid = randomUUID();
  meta.creationTimestamp = nowRfc3339(now);
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  if (tracksGeneration(resource)) meta.generation = 1;
  else delete meta.generation;
  if (version.subresources.status && resource.custom) delete obj.status;
  const admitted = mutateAdmission(resource, version, obj, undefined);
  validateAgainstSchema(resource, version, admitted);
  const stored = toStorageForWrite(resource, admitted);
  resource.hooks?.prepareForCreate?.(stored);
  omitEmpty(resource, stored);
  setManagedFields(
    stored,
    opts.managedFields ??
      updateManagedFields({
        newObj: toVersion(resource, stored, version.name),
        manager: ctx.fieldManager ?? "unknown",
        operation: "Update",
        apiVersion: admitted.apiVersion!,
        schema: version.schema,
        now: nowRfc3339(now),
        resetFields: resetFieldsFor(version, undefined),
      }),
  );
  validateStored(resource, stored, undefined);
  return stored;
}

/** Stores an admitted object, retrying generateName collisions. Returns the stored object. */
export function storeCreated(d: RestDeps, r: Resolved, stored: KObject, ctx: RequestContext): KObject {
  const { resource } = r;
  const generated = Boolean(stored.metadata.generateName) && stored.metadata.name!.startsWith(stored.metadata.generateName!);
  for (let attempt = 1; ; attempt++) {
    if (ctx.dryRun) {
      if (d.store.get(resource.qualified, stored.metadata.namespace ?? "", stored.metadata.name!)) {
        throw alreadyExists({ group: resource.group, resource: resource.plural }, stored.metadata.name!);
      }
      return stored;
    }
    try {
      d.store.create(resource.qualified, stored, { expiresAt: expiresAt(resource, d.now()) });
      return stored;
    } catch (e) {
      if (!(e instanceof KeyExistsError)) throw e;
      if (!generated || attempt >= GENERATE_NAME_ATTEMPTS) {
        throw alreadyExists({ group: resource.group, resource: resource.plural }, stored.metadata.name!);
      }
      stored.metadata.name = `${stored.metadata.generateName}${generateSuffix()}`;
    }
  }
}

export function create(d: RestDeps, r: Resolved, namespace: string | undefined, body: unknown, ctx: RequestContext, opts: CreateOptions = {}): KObject {
  const { resource, version } = r;
  if (resource.hooks?.virtualCreate) {
    checkShape(resource, version.name, body);
    checkTypeMeta(resource, version.name, body);
    pruneFields(resource, version, body, ctx);
    return resource.hooks.virtualCreate(body, ctx.user);
  }
  if (!resource.verbs.includes("create")) throw methodNotAllowed();
  if (d.registry.crdTerminating(resource)) {
    throw methodNotAllowed(`create not allowed while custom resource definition is terminating`);
  }
  const stored = admitCreate(d, r, namespace, body, ctx, opts);
  checkNamespaceWritable(d, resource, stored.metadata.namespace ?? "", stored.metadata.name ?? "");
  return toVersion(resource, storeCreated(d, r, stored, ctx), version.name);
}
