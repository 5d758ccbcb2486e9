/**
 * The lab's workload API servers share one plaintext `Bun.serve` on loopback; each cluster's
 * endpoint is a TLS front ({@link LabTlsFronts}) with the cluster's serving certificate and CA,
 * and the shared server hands every request to the app of the cluster it came through, with the
 * identity of the client certificate. The shared server runs while any cluster's server does.
 * @module
 */
import type { Server } from "bun";
import type { PeerIdentity } from "../api/auth.ts";
import { peerIdentityOf } from "../api/server.ts";
import { nativeResponseClass } from "../lib/native-response.ts";
import { LabTlsFronts } from "../lib/tls-front.ts";

export interface HttpTenant {
  fetch(req: Request, env: { peer: PeerIdentity }): Response | Promise<Response>;
}

function asNative(res: Response): Response {
  const Native = nativeResponseClass();
  if (Object.getPrototypeOf(res) === Native.prototype) return res;
  return new Native(res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

let shared: { fronts: LabTlsFronts<HttpTenant>; server: Server<undefined>; users: number } | undefined;

function start(): NonNullable<typeof shared> {
  let server: Server<undefined> | undefined;
  const fronts = new LabTlsFronts<HttpTenant>(() => ({ host: "127.0.0.1", port: server!.port! }));
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    // Watches stay open for minutes without a byte; clients and fronts decide when to close.
    idleTimeout: 0,
    fetch(req, srv) {
      const from = srv.requestIP(req);
      const conn = from ? fronts.lookup(from.address, from.port) : undefined;
      if (!conn) return new (nativeResponseClass())("connection not from a lab endpoint\n", { status: 421 });
      return Promise.resolve(conn.tenant.fetch(req, { peer: peerIdentityOf(conn.peer, conn.authorized) })).then(asNative);
    },
  });
  return { fronts, server, users: 0 };
}

/** The shared fronts of the lab's HTTPS servers; `release` once the caller's endpoints are stopped. */
export function acquireHttpFronts(): { fronts: LabTlsFronts<HttpTenant>; release(): void } {
  const s = (shared ??= start());
  s.users++;
  let released = false;
  return {
    fronts: s.fronts,
    release() {
      if (released) return;
      released = true;
      if (--s.users > 0 || shared !== s) return;
      shared = undefined;
      void s.server.stop(true);
    },
  };
}

/** The shared server's port (tests: what answers a connection that came through no front). */
export function sharedHttpPortForTests(): number | undefined {
  return shared?.server.port;
}
