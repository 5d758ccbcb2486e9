/**
 * One grpc-js server (plaintext HTTP/2 on loopback) behind the apid TLS fronts of every lab Talos
 * node in the process: each node's `<address>:50000` is a TLS front with that node's serving
 * certificate, requiring a client certificate from its OS CA and offering ALPN h2, as apid does.
 * A call reaches the node whose front its connection came through, with the client certificate
 * that front verified. The server runs while any node does.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { LabTlsFronts, type FrontConnection } from "../../../lib/tls-front.ts";
import { RPCS, deserializer, serializer, type Rpc, type WithMetadata } from "../api/machine.ts";

export interface ApidTenant {
  serveUnary(rpc: Rpc<unknown, WithMetadata>, call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>, conn: FrontConnection<ApidTenant>): void;
  serveStream(rpc: Rpc<unknown, WithMetadata>, call: grpc.ServerWritableStream<unknown, unknown>, conn: FrontConnection<ApidTenant>): void;
}

type Shared = { fronts: LabTlsFronts<ApidTenant>; server: grpc.Server };
let shared: Promise<Shared> | undefined;
/** Fronts acquired and not released (counted before the server is up: a release cannot overtake). */
let users = 0;

function definition(): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const rpc of Object.values(RPCS) as Rpc<unknown, WithMetadata>[]) {
    def[rpc.name] = {
      path: rpc.path,
      requestStream: false,
      responseStream: rpc.stream,
      requestSerialize: serializer(rpc.request),
      requestDeserialize: deserializer(rpc.request),
      responseSerialize: serializer(rpc.response),
      responseDeserialize: deserializer(rpc.response),
    };
  }
  return def as grpc.ServiceDefinition;
}

const NOT_FRONTED = { code: grpc.status.UNAVAILABLE, details: "connection did not come through a lab node's apid" };

function implementation(fronts: LabTlsFronts<ApidTenant>): grpc.UntypedServiceImplementation {
  const connectionOf = (call: { getPeer(): string }) => {
    const peer = call.getPeer(); // host:port
    const colon = peer.lastIndexOf(":");
    return fronts.lookup(peer.slice(0, colon).replace(/^\[|\]$/g, ""), Number(peer.slice(colon + 1)));
  };
  const impl: grpc.UntypedServiceImplementation = {};
  for (const rpc of Object.values(RPCS) as Rpc<unknown, WithMetadata>[]) {
    impl[rpc.name] = rpc.stream
      ? (call: grpc.ServerWritableStream<unknown, unknown>) => {
          const conn = connectionOf(call);
          if (conn) conn.tenant.serveStream(rpc, call, conn);
          else call.emit("error", NOT_FRONTED);
        }
      : (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          const conn = connectionOf(call);
          if (conn) conn.tenant.serveUnary(rpc, call, cb, conn);
          else cb(NOT_FRONTED);
        };
  }
  return impl;
}

async function start(): Promise<Shared> {
  let port = 0;
  const fronts = new LabTlsFronts<ApidTenant>(() => ({ host: "127.0.0.1", port }));
  // channelz off: its traces and registry would hold per-connection history for nobody to read
  const server = new grpc.Server({ "grpc.enable_channelz": 0 });
  server.addService(definition(), implementation(fronts));
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { fronts, server };
}

/** The apid fronts; `release` once the caller's front is stopped. */
export async function acquireApid(): Promise<{ fronts: LabTlsFronts<ApidTenant>; release(): void }> {
  users++;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    if (--users > 0 || !shared) return;
    const last = shared;
    shared = undefined;
    void last.then((s) => s.server.forceShutdown(), () => {});
  };
  const pending = (shared ??= start());
  try {
    return { fronts: (await pending).fronts, release };
  } catch (e) {
    if (shared === pending) shared = undefined;
    release();
    throw e;
  }
}
