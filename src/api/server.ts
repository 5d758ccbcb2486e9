/**
 * HTTPS transport. A `node:tls` server asks for a client certificate (optional), verifies it
 * against the appliance CA and records the identity on the socket, then hands the socket to a
 * `node:http` server running the Hono app — Bun.serve cannot show peer certificates to handlers.
 * @module
 */
import { getRequestListener } from "@hono/node-server";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import tls from "node:tls";
import type { PeerIdentity } from "./auth.ts";

export interface ServerOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  caPem: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fetch: (req: Request, env: any) => Response | Promise<Response>;
}

export interface RunningServer {
  port: number;
  host: string;
  /** Stops accepting connections; resolves when in-flight requests have finished. */
  close(): Promise<void>;
  /** Destroys every open connection at once. */
  destroyAll(): void;
}

/** Who a client certificate says the caller is (CN the user, O the groups), when it verified against the CA. */
export function peerIdentityOf(cert: Partial<tls.PeerCertificate> | undefined, authorized: boolean): PeerIdentity {
  if (!cert || Object.keys(cert).length === 0) return { presented: false, verified: false };
  if (!authorized) return { presented: true, verified: false };
  const subject = (cert.subject ?? {}) as Record<string, string | string[]>;
  const cn = subject.CN;
  const o = subject.O;
  const user = Array.isArray(cn) ? cn[0] : cn;
  const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
  if (!user) return { presented: true, verified: false };
  return { presented: true, verified: true, user: { name: user, groups: [...groups, "system:authenticated"] } };
}

export function startServer(o: ServerOptions): Promise<RunningServer> {
  const listener = getRequestListener(o.fetch as Parameters<typeof getRequestListener>[0]);
  const httpServer = http.createServer(listener);
  httpServer.keepAliveTimeout = 65_000;
  const sockets = new Set<Socket>();
  // Requests in progress per connection: at shutdown idle connections close at once and busy
  // ones right after their response.
  const busy = new Map<Socket, number>();
  let closing = false;
  httpServer.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const s = req.socket as Socket;
    busy.set(s, (busy.get(s) ?? 0) + 1);
    if (closing) res.setHeader("Connection", "close");
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      const left = (busy.get(s) ?? 1) - 1;
      if (left > 0) busy.set(s, left);
      else {
        busy.delete(s);
        if (closing) s.end();
      }
    };
    res.on("finish", finished);
    res.on("close", finished);
  });
  const tlsServer = tls.createServer(
    {
      cert: o.certPem,
      key: o.keyPem,
      ca: o.caPem,
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: ["http/1.1"],
      minVersion: "TLSv1.2",
    },
    (socket) => {
      (socket as tls.TLSSocket & { capxPeer?: PeerIdentity }).capxPeer = peerIdentityOf(socket.getPeerCertificate(), socket.authorized);
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
      httpServer.emit("connection", socket);
    },
  );
  tlsServer.on("tlsClientError", () => {});
  return new Promise((resolve, reject) => {
    tlsServer.once("error", reject);
    tlsServer.listen(o.port, o.host, () => {
      const addr = tlsServer.address() as AddressInfo;
      resolve({
        port: addr.port,
        host: o.host,
        close: () =>
          new Promise<void>((done) => {
            closing = true;
            tlsServer.close(() => done());
            httpServer.close();
            for (const s of sockets) if (!busy.has(s)) s.end();
          }),
        destroyAll: () => {
          for (const s of sockets) s.destroy();
        },
      });
    });
  });
}
