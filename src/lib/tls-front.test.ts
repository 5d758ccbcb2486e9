import type { Socket } from "bun";
import { describe, expect, test } from "bun:test";
import { connect, type TLSSocket } from "node:tls";
import { createCA, issueCertificate } from "../providers/pki/certs.ts";
import { LabTlsFronts } from "./tls-front.ts";

/** A plaintext backend that answers a connection's first bytes with what the front says about it, then echoes. */
function echoBackend(fronts: () => LabTlsFronts<string>) {
  const send = (s: Socket<{ greeted: boolean; pending: Buffer }>, b: Buffer) => {
    const all = s.data.pending.length ? Buffer.concat([s.data.pending, b]) : b;
    const n = Math.max(s.write(all), 0);
    s.data.pending = all.subarray(n);
  };
  return Bun.listen<{ greeted: boolean; pending: Buffer }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { greeted: false, pending: Buffer.alloc(0) };
      },
      data(s, chunk) {
        if (s.data.greeted) return send(s, Buffer.from(chunk));
        s.data.greeted = true;
        const c = fronts().lookup(s.remoteAddress, s.remotePort);
        // the same port from another local address is not that connection
        const spoofed = fronts().lookup("127.0.0.2", s.remotePort) !== undefined;
        send(s, Buffer.from(`${JSON.stringify({ tenant: c?.tenant, authorized: c?.authorized, cn: c?.peer?.subject?.CN ?? null, spoofed })}\n`));
      },
      drain(s) {
        send(s, Buffer.alloc(0));
      },
    },
  });
}

async function pki() {
  const ca = await createCA("front-ca");
  const other = await createCA("other-ca");
  const serving = await issueCertificate(ca, { commonName: "server", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], usage: "server", days: 1 });
  const client = await issueCertificate(ca, { commonName: "alice", usage: "client", days: 1 });
  const stranger = await issueCertificate(other, { commonName: "mallory", usage: "client", days: 1 });
  return { ca, serving, client, stranger };
}

function dial(port: number, caPem: string, client?: { certPem: string; keyPem: string }, alpn?: string[]): Promise<{ socket: TLSSocket; received: () => Buffer; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let done!: () => void;
    const closed = new Promise<void>((r) => (done = r));
    const socket = connect({ host: "127.0.0.1", port, ca: caPem, servername: "localhost", ...(alpn ? { ALPNProtocols: alpn } : {}), ...(client ? { cert: client.certPem, key: client.keyPem } : {}) }, () =>
      resolve({ socket, received: () => Buffer.concat(chunks), closed }),
    );
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("close", () => done());
    socket.on("error", reject);
  });
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !check(); ) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(5);
  }
}

describe("lab TLS fronts", () => {
  test("each connection reaches the backend with its endpoint and verified client certificate; bytes pass both ways under backpressure", async () => {
    const { ca, serving, client } = await pki();
    let fronts!: LabTlsFronts<string>;
    const backend = echoBackend(() => fronts);
    fronts = new LabTlsFronts<string>(() => ({ host: "127.0.0.1", port: backend.port }));
    const a = fronts.listen({ certPem: serving.certPem, keyPem: serving.keyPem, caPem: ca.certPem, rejectUnauthorized: false }, "cluster-a");
    const b = fronts.listen({ certPem: serving.certPem, keyPem: serving.keyPem, caPem: ca.certPem, rejectUnauthorized: false }, "cluster-b");

    const withCert = await dial(a.port, ca.certPem, client);
    const anonymous = await dial(b.port, ca.certPem);
    withCert.socket.write("hello");
    anonymous.socket.write("hello");
    await until(() => withCert.received().includes("\n") && anonymous.received().includes("\n"));
    expect(JSON.parse(withCert.received().toString().split("\n")[0]!)).toEqual({ tenant: "cluster-a", authorized: true, cn: "alice", spoofed: false });
    expect(JSON.parse(anonymous.received().toString().split("\n")[0]!)).toEqual({ tenant: "cluster-b", authorized: false, cn: null, spoofed: false });

    // 8 MiB echoed back: more than any socket buffer, so both directions pause and resume
    const payload = Buffer.alloc(8 << 20);
    for (let i = 0; i < payload.length; i += 4096) payload.writeUInt32BE(i, i);
    const header = withCert.received().length;
    withCert.socket.write(payload);
    await until(() => withCert.received().length >= header + payload.length, 20_000);
    expect(withCert.received().subarray(header).equals(payload)).toBe(true);

    // the client goes: the backend connection closes and the front forgets it
    withCert.socket.end();
    anonymous.socket.end();
    await until(() => fronts.size === 0);
    a.stop();
    b.stop();
    backend.stop(true);
  });

  test("with rejectUnauthorized a certificate from another CA never reaches the backend; destroyAll drops open connections", async () => {
    const { ca, serving, client, stranger } = await pki();
    let opened = 0;
    const backend = Bun.listen<undefined>({ hostname: "127.0.0.1", port: 0, socket: { open: () => void opened++, data() {} } });
    const fronts = new LabTlsFronts<string>(() => ({ host: "127.0.0.1", port: backend.port }));
    const front = fronts.listen({ certPem: serving.certPem, keyPem: serving.keyPem, caPem: ca.certPem, rejectUnauthorized: true, alpn: ["h2"] }, "node-1");

    const refused = await dial(front.port, ca.certPem, stranger).then(
      async (c) => {
        await c.closed;
        return "closed";
      },
      () => "refused",
    );
    expect(["closed", "refused"]).toContain(refused);
    expect(opened).toBe(0);

    const ok = await dial(front.port, ca.certPem, client, ["h2"]);
    expect(ok.socket.alpnProtocol).toBe("h2");
    await until(() => opened === 1);
    front.destroyAll();
    await ok.closed;
    front.stop();
    backend.stop(true);
  });
});
