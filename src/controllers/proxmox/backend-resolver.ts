/**
 * Which Proxmox backend a ProxmoxCluster's controllers talk to: the one its `credentialsRef`
 * Secret describes (CAPMOX keys `url`, `token` = `user@realm!tokenid`, `secret`, optional
 * `insecure` and `root_ca`), else the daemon's default (local qm/pvesh, or the lab).
 * @module
 */
import { countingBackend } from "../../providers/proxmox/counting.ts";
import type { KObject } from "../../lib/kobject.ts";
import type { ProxmoxBackend } from "../../providers/proxmox/types.ts";
import type { Client } from "../../runtime/client.ts";
import type { ProxmoxClusterSpec } from "./types.ts";

export interface ProxmoxBackendResolver {
  /** The backend for this ProxmoxCluster; throws {@link CredentialsError} when it cannot be built. */
  forCluster(pc: KObject): Promise<ProxmoxBackend>;
}

export interface ProxmoxCredentials {
  /** `https://host:8006` (a trailing `/api2/json` is tolerated). */
  url: string;
  /** `user@realm!tokenid`. */
  tokenId: string;
  secret: string;
  /** Skip TLS verification. CAPMOX: unset means insecure; set means its yes-like values. */
  insecure: boolean;
  /** PEM of a CA to trust. */
  rootCA?: string;
}

export class CredentialsError extends Error {
  override readonly name = "CredentialsError";
  constructor(
    message: string,
    /** The Secret does not exist (CAPMOX reason CredentialsNotFound; otherwise ProxmoxUnreachable). */
    readonly notFound = false,
  ) {
    super(message);
  }
}

/** The credentials Secret a ProxmoxCluster names (namespace defaults to the cluster's). */
export function credentialsRefOf(pc: KObject): { namespace: string; name: string } | undefined {
  const ref = (pc.spec as ProxmoxClusterSpec | undefined)?.credentialsRef;
  if (!ref?.name) return undefined;
  return { namespace: ref.namespace || pc.metadata.namespace!, name: ref.name };
}

function field(secret: KObject, key: string): string | undefined {
  const data = (secret as { data?: Record<string, string> }).data;
  const v = data?.[key];
  return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
}

export function parseCredentials(secret: KObject): ProxmoxCredentials {
  const name = `${secret.metadata.namespace}/${secret.metadata.name}`;
  const url = field(secret, "url")?.trim();
  const tokenId = field(secret, "token")?.trim();
  const secretValue = field(secret, "secret")?.trim();
  const missing = [!url && "url", !tokenId && "token", !secretValue && "secret"].filter(Boolean);
  if (missing.length) throw new CredentialsError(`credentials secret ${name} lacks ${missing.join(", ")}`);
  if (!/^[^@\s]+@[^!\s]+![^\s]+$/.test(tokenId!)) throw new CredentialsError(`credentials secret ${name}: token must look like user@realm!tokenid, got ${JSON.stringify(tokenId)}`);
  const insecureText = field(secret, "insecure");
  const insecure = insecureText === undefined || ["1", "on", "true", "yes", "y"].includes(insecureText.trim().toLowerCase());
  const rootCA = field(secret, "root_ca");
  return { url: url!, tokenId: tokenId!, secret: secretValue!, insecure, ...(rootCA ? { rootCA } : {}) };
}

/**
 * The resolver the daemon wires in: credentialsRef → an http backend built by `httpBackend`
 * (one per Secret version), else `defaultBackend`.
 */
export class SecretBackendResolver implements ProxmoxBackendResolver {
  #cache = new Map<string, { version: string; backend: ProxmoxBackend }>();
  #countedDefault: ProxmoxBackend | undefined;

  constructor(
    private readonly client: Client,
    private readonly defaultBackend: ProxmoxBackend | undefined,
    private readonly httpBackend: (creds: ProxmoxCredentials) => ProxmoxBackend,
  ) {}

  async forCluster(pc: KObject): Promise<ProxmoxBackend> {
    const ref = credentialsRefOf(pc);
    if (!ref) {
      if (!this.defaultBackend) throw new CredentialsError("no credentialsRef and no default Proxmox backend configured");
      return (this.#countedDefault ??= countingBackend(this.defaultBackend));
    }
    const secret = this.client.get({ apiVersion: "v1", kind: "Secret", namespace: ref.namespace, name: ref.name });
    if (!secret) throw new CredentialsError("credentials secret not found", true);
    const key = `${ref.namespace}/${ref.name}`;
    const version = `${secret.metadata.uid}/${secret.metadata.resourceVersion}`;
    const cached = this.#cache.get(key);
    if (cached?.version === version) return cached.backend;
    const backend = countingBackend(this.httpBackend(parseCredentials(secret)));
    this.#cache.set(key, { version, backend });
    return backend;
  }
}
