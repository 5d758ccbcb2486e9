/**
 * TLS fronts of the lab's simulated servers. Every simulated endpoint (a workload cluster's API,
 * a Talos node's apid) needs its own TLS identity — its certificate, its CA for client
 * certificates — but not its own HTTP or gRPC server: a front is a `Bun.listen` TLS listener
 * (a few KiB, where a node:tls server with its node:http or http2 server costs 50 KiB and more)
 * that terminates TLS and passes each connection's bytes to one shared plaintext backend on
 * loopback. The backend learns which endpoint, and which verified client certificate, a request
 * came through from the address and port its connection comes from ({@link LabTlsFronts.lookup}).
 * @module
 */
import type { Socket, TCPSocketListener } from "bun";
import type { PeerCertificate } from "node:tls";

export interface FrontTls {
  certPem: string;
  keyPem: string;
  /** CA for client certificates. */
  caPem: string;
  /** Refuse clients without a certificate from `caPem` during the handshake (else the backend decides). */
  rejectUnauthorized: boolean;
  /** ALPN protocols offered (e.g. "h2" for gRPC). */
  alpn?: string[];
}

/** What the backend knows about a connection: the endpoint and the client's certificate. */
export interface FrontConnection<T> {
  tenant: T;
  /** The client certificate verified against the endpoint's CA. */
  authorized: boolean;
  /** The client certificate as presented (node:tls shape, `raw` DER), undefined when none. */
  peer?: PeerCertificate;
}

export interface Front {
  port: number;
  /** Stops listening; open connections go on until `destroyAll` or their end. */
  stop(): void;
  destroyAll(): void;
}

interface Pipe {
  to?: Socket<Pipe>;
  /** Bytes read here for `to`, not written yet (backend not connected yet, or backpressure). */
  queue: Uint8Array[];
  queued: number;
  /** Reading paused because `queue` is over the high-water mark. */
  paused: boolean;
  closed: boolean;
  /** The backend port of this connection, once registered. */
  port?: number;
}

const HIGH_WATER = 1 << 20;

const pipe = (): Pipe => ({ queue: [], queued: 0, paused: false, closed: false });

/**
 * Writes what was read on `from` to its peer, as much as the peer takes (the rest waits for its
 * drain); reading on `from` pauses while over the high-water mark and resumes below it.
 */
function flush(from: Socket<Pipe>): void {
  const p = from.data;
  const to = p.to;
  if (to) {
    while (p.queue.length) {
      const b = p.queue[0]!;
      const n = Math.max(to.write(b), 0);
      p.queued -= n;
      if (n < b.byteLength) {
        p.queue[0] = b.subarray(n);
        break;
      }
      p.queue.shift();
    }
    if (p.closed && !p.queue.length) to.end();
  }
  if (!p.paused && p.queued > HIGH_WATER) {
    p.paused = true;
    from.pause();
  } else if (p.paused && p.queued <= HIGH_WATER && !p.closed) {
    p.paused = false;
    from.resume();
  }
}

function forward(from: Socket<Pipe>, chunk: Uint8Array): void {
  const p = from.data;
  // The socket reuses its read buffer: keep a copy.
  p.queue.push(new Uint8Array(chunk));
  p.queued += chunk.byteLength;
  flush(from);
}

/** ALPN protocol list in wire format: each name prefixed by its length. */
function alpnWire(names: string[]): Uint8Array {
  return Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([n.length]), Buffer.from(n)])));
}

export class LabTlsFronts<T> {
  readonly #connections = new Map<number, FrontConnection<T>>();

  /** @param backend where the shared plaintext server listens (loopback). */
  constructor(private readonly backend: () => { host: string; port: number }) {}

  /** Connections open to the backend. */
  get size(): number {
    return this.#connections.size;
  }

  /**
   * The endpoint and client certificate of the connection arriving at the backend from
   * `address:port`. Only 127.0.0.1 counts: another local address could reuse the port number of
   * a front's connection.
   */
  lookup(address: string, port: number): FrontConnection<T> | undefined {
    if (address !== "127.0.0.1" && address !== "::ffff:127.0.0.1") return undefined;
    return this.#connections.get(port);
  }

  /** A TLS listener on 127.0.0.1 for one endpoint. */
  listen(tls: FrontTls, tenant: T): Front {
    const open = new Set<Socket<Pipe>>();
    const connections = this.#connections;
    const backend = this.backend;
    const connectBackend = (front: Socket<Pipe>) => {
      const certificate = front.getPeerCertificate() as PeerCertificate | undefined;
      const peer = certificate && Object.keys(certificate).length ? certificate : undefined;
      const { host, port } = backend();
      Bun.connect<Pipe>({
        hostname: host,
        port,
        data: pipe(),
        socket: {
          open(back) {
            back.data.to = front;
            back.data.port = back.localPort;
            connections.set(back.localPort, { tenant, authorized: front.authorized, peer });
            front.data.to = back;
            flush(front);
          },
          data: forward,
          drain() {
            flush(front);
          },
          close(back) {
            if (back.data.port !== undefined) connections.delete(back.data.port);
            back.data.closed = true;
            flush(back);
          },
          error(back) {
            back.end();
          },
        },
      }).catch(() => front.end());
    };
    const listener: TCPSocketListener<Pipe> = Bun.listen<Pipe>({
      hostname: "127.0.0.1",
      port: 0,
      data: pipe(),
      tls: {
        cert: tls.certPem,
        key: tls.keyPem,
        ca: tls.caPem,
        requestCert: true,
        rejectUnauthorized: tls.rejectUnauthorized,
        ...(tls.alpn ? { ALPNProtocols: alpnWire(tls.alpn) } : {}),
      },
      socket: {
        open(front) {
          front.data = pipe();
          open.add(front);
        },
        handshake(front, success, authorizationError) {
          if (tls.rejectUnauthorized && (!success || authorizationError || !front.authorized)) return void front.terminate();
          connectBackend(front);
        },
        data: forward,
        drain(front) {
          if (front.data.to) flush(front.data.to);
        },
        close(front) {
          open.delete(front);
          front.data.closed = true;
          flush(front);
        },
        error(front) {
          front.end();
        },
      },
    });
    return {
      port: listener.port,
      stop: () => listener.stop(false),
      destroyAll: () => {
        for (const s of open) s.terminate();
        open.clear();
      },
    };
  }
}
