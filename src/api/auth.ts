/**
 * Authentication (client certificate verified against the appliance CA, or a bearer token from
 * the config file) and the authorization decision per request.
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { forbidden, unauthorized } from "../lib/api-errors.ts";
import { authorize } from "../registry/authz.ts";
import type { UserInfo } from "../registry/types.ts";

export interface TokenUser {
  token: string;
  user: string;
  groups?: string[];
}

/** What the TLS layer learned about the peer. */
export interface PeerIdentity {
  /** A client certificate was presented and verified against the CA. */
  verified: boolean;
  /** A certificate was presented (verified or not). */
  presented: boolean;
  user?: UserInfo;
}

export const ANONYMOUS_PATHS = new Set(["/healthz", "/livez", "/readyz", "/version"]);

export class Authenticator {
  #tokens: { token: Buffer; user: UserInfo }[];

  constructor(tokens: TokenUser[] = []) {
    this.#tokens = tokens.map((t) => ({ token: Buffer.from(t.token), user: { name: t.user, groups: [...(t.groups ?? []), "system:authenticated"] } }));
  }

  /** The requesting user; undefined for anonymous. Throws 401 for bad credentials. */
  authenticate(req: Request, peer: PeerIdentity | undefined): UserInfo | undefined {
    const header = req.headers.get("authorization");
    if (header) {
      const m = /^Bearer\s+(.+)$/i.exec(header.trim());
      if (!m) throw unauthorized();
      const given = Buffer.from(m[1]!.trim());
      for (const t of this.#tokens) {
        if (t.token.length === given.length && timingSafeEqual(t.token, given)) return t.user;
      }
      throw unauthorized();
    }
    if (peer?.presented) {
      if (!peer.verified || !peer.user) throw unauthorized();
      return peer.user;
    }
    return undefined;
  }
}

/** Throws 403 unless `user` may perform `verb` on the resource. */
export function requireAllowed(user: UserInfo, verb: string, what: { group: string; resource: string; namespace?: string; name?: string }): void {
  const decision = authorize(user, verb);
  if (decision.allowed) return;
  const scope = what.namespace ? ` in the namespace "${what.namespace}"` : " at the cluster scope";
  const resource = what.group ? `${what.resource}.${what.group}` : what.resource;
  const named = what.name ? `${resource} "${what.name}"` : resource;
  throw forbidden(
    `${named} is forbidden: User "${user.name}" cannot ${verb} resource "${what.resource}" in API group "${what.group}"${scope}`,
    { name: what.name, group: what.group || undefined, kind: what.resource },
  );
}
