import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { nativeResponseClass } from "../../lib/native-response.ts";
import { createCA, issueCertificate, type KeyPairPem } from "../pki/certs.ts";
import { HttpStatusError, streamLines, type LineStreamRequest } from "./line-stream.ts";

let ca: KeyPairPem;
let serving: KeyPairPem;
let client: KeyPairPem;
let otherCA: KeyPairPem;

beforeAll(async () => {
  ca = await createCA("line-stream-ca");
  otherCA = await createCA("someone-else");
  serving = await issueCertificate(ca, { commonName: "api", dnsNames: [], ipAddresses: ["10.10.0.9", "127.0.0.1"], usage: "server", days: 2 });
  client = await issueCertificate(ca, { commonName: "capx", usage: "client", days: 2 });
});

/** Another test file may have loaded @hono/node-server, which replaces the global Response. */
const NativeResponse = nativeResponseClass();

type Script = (write: (s: string | Uint8Array) => void, end: () => void, request: string) => void;

/** A TLS server that answers every request with a scripted byte sequence. */
function rawServer(script: Script) {
  const requests: string[] = [];
  const server = Bun.listen<{ req: string }>({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false },
    socket: {
      open(s) {
        s.data = { req: "" };
      },
      data(s, d) {
        s.data.req += d.toString();
        if (!s.data.req.includes("\r\n\r\n")) return;
        requests.push(s.data.req);
        script(
          (x) => void s.write(x),
          () => s.end(),
          s.data.req,
        );
      },
    },
  });
  return { port: server.port, requests, stop: () => server.stop(true) };
}

function request(port: number, signal = new AbortController().signal, tls: LineStreamRequest["tls"] = {}): LineStreamRequest {
  return {
    host: "127.0.0.1",
    port,
    authority: "10.10.0.9:6443",
    path: "/api/v1/nodes?watch=1",
    headers: { Accept: "application/json", Authorization: "Bearer t0ken" },
    signal,
    tls: { ca: ca.certPem, cert: client.certPem, key: client.keyPem, serverName: "10.10.0.9", ...tls },
  };
}

const chunk = (s: string) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from("\r\n")]);
};

describe("streamLines", () => {
  test("reads a chunked body as lines however the bytes are cut, and ends with the last chunk", async () => {
    const body = Buffer.concat([chunk('{"a":1}\n{"b":"é'), chunk('ü"}\n\n{"c"'), chunk(':3}\n'), Buffer.from("0\r\n\r\n")]);
    const srv = rawServer((write) => {
      const all = Buffer.concat([Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"), body]);
      // One byte at a time for the first 120 bytes (splits the head, sizes and a UTF-8 character), then the rest.
      for (let i = 0; i < 120; i++) write(all.subarray(i, i + 1));
      write(all.subarray(120));
    });
    const lines: string[] = [];
    let opened = 0;
    await streamLines(request(srv.port), { onOpen: () => opened++, onLine: (l) => lines.push(l) });
    expect(opened).toBe(1);
    expect(lines).toEqual(['{"a":1}', '{"b":"éü"}', '{"c":3}']);
    // The request names the server, not the route, and carries the headers.
    expect(srv.requests[0]).toStartWith("GET /api/v1/nodes?watch=1 HTTP/1.1\r\nHost: 10.10.0.9:6443\r\n");
    expect(srv.requests[0]).toContain("Authorization: Bearer t0ken\r\n");
    srv.stop();
  });

  test("a sized body and a body that ends with the connection", async () => {
    const sized = rawServer((write) => write('HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"x":1}\n{"y"'));
    const lines: string[] = [];
    // The first 12 bytes only; the incomplete line at the end of the body still counts.
    await streamLines(request(sized.port), { onLine: (l) => lines.push(l) });
    expect(lines).toEqual(['{"x":1}', '{"y"']);
    sized.stop();
    const untilClose = rawServer((write, end) => {
      write('HTTP/1.0 200 OK\r\n\r\n{"z":1}\n{"w":2}');
      end();
    });
    const more: string[] = [];
    await streamLines(request(untilClose.port), { onLine: (l) => more.push(l) });
    expect(more).toEqual(['{"z":1}', '{"w":2}']);
    untilClose.stop();
  });

  test("an error status rejects with the status and body, and no line is delivered", async () => {
    const srv = rawServer((write) => write(`HTTP/1.1 410 Gone\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk('{"kind":"Status","code":410,"message":"too old resource version"}\n').toString()}0\r\n\r\n`));
    const lines: string[] = [];
    let opened = false;
    const err = await streamLines(request(srv.port), { onOpen: () => (opened = true), onLine: (l) => lines.push(l) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpStatusError);
    expect((err as HttpStatusError).status).toBe(410);
    expect((err as HttpStatusError).body).toContain("too old resource version");
    expect(lines).toEqual([]);
    expect(opened).toBe(false);
    srv.stop();
  });

  test("a redirect is not followed: it is an error too", async () => {
    const srv = rawServer((write) => write("HTTP/1.1 302 Found\r\nLocation: https://elsewhere/\r\nContent-Length: 0\r\n\r\n"));
    const err = await streamLines(request(srv.port), { onLine: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpStatusError);
    expect((err as HttpStatusError).status).toBe(302);
    srv.stop();
  });

  test("abort ends an open stream at once; a throwing handler ends it with that error", async () => {
    const srv = rawServer((write) => write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunk('{"n":1}\n').toString()}`));
    const ac = new AbortController();
    const lines: string[] = [];
    const done = streamLines(request(srv.port, ac.signal), { onLine: (l) => (lines.push(l), ac.abort()) });
    await done;
    expect(lines).toEqual(['{"n":1}']);
    const boom = await streamLines(request(srv.port), {
      onLine: () => {
        throw new Error("bad event");
      },
    }).catch((e: unknown) => e);
    expect((boom as Error).message).toBe("bad event");
    srv.stop();
  });

  test("a server whose certificate the CA did not sign is refused before the request is sent", async () => {
    const srv = rawServer((write) => write('HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{"a":1}\n'));
    const err = await streamLines(request(srv.port, undefined, { ca: otherCA.certPem }), { onLine: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(srv.requests).toEqual([]);
    // insecure-skip-tls-verify accepts it.
    const lines: string[] = [];
    await streamLines(request(srv.port, undefined, { ca: otherCA.certPem, insecure: true }), { onLine: (l) => lines.push(l) });
    expect(lines).toEqual(['{"a":1}']);
    srv.stop();
  });

  test("the connection closing in the middle of a chunked body is an error", async () => {
    const srv = rawServer((write, end) => {
      write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunk('{"a":1}\n').toString()}`);
      end();
    });
    const lines: string[] = [];
    const err = await streamLines(request(srv.port), { onLine: (l) => lines.push(l) }).catch((e: unknown) => e);
    expect((err as Error).message).toContain("closed in the middle");
    expect(lines).toEqual(['{"a":1}']);
    srv.stop();
  });
});

describe("streamLines against Bun.serve", () => {
  let server: ReturnType<typeof Bun.serve>;
  let push: ((s: string) => void) | undefined;
  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      tls: { cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
      fetch() {
        const stream = new ReadableStream({
          start(c) {
            push = (s) => c.enqueue(new TextEncoder().encode(s));
            push('{"type":"ADDED"}\n');
          },
        });
        return new NativeResponse(stream, { headers: { "Content-Type": "application/json" } });
      },
    });
  });
  afterAll(() => server.stop(true));

  test("a streamed response delivers each event as it is written, with a client certificate the server requires", async () => {
    const ac = new AbortController();
    const lines: string[] = [];
    const done = streamLines(request(server.port!, ac.signal), {
      onLine(l) {
        lines.push(l);
        if (lines.length === 1) setTimeout(() => push?.('{"type":"MODIFIED"}\n{"type":"DELETED"}\n'), 20);
        if (lines.length === 3) ac.abort();
      },
    });
    await done;
    expect(lines).toEqual(['{"type":"ADDED"}', '{"type":"MODIFIED"}', '{"type":"DELETED"}']);
    // Without the client certificate the server (rejectUnauthorized) refuses the handshake.
    const refused = await streamLines(request(server.port!, undefined, { cert: undefined, key: undefined }), { onLine: () => undefined }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
  });
});
