/**
 * A long-lived HTTP/1.1 GET over one TLS (or plain) socket whose body is read as lines: what a
 * Kubernetes watch is. The appliance keeps one per workload cluster for its Nodes; fetch keeps
 * a 64 KiB read buffer (and reports 256 KiB to the GC) for every open response body, which at a
 * thousand clusters was the largest single item of the daemon's memory. Here a connection holds
 * only the bytes of a partial line.
 * @module
 */

export interface LineStreamRequest {
  /** Where the socket connects (the route, which may differ from the server's name). */
  host: string;
  port: number;
  /** TLS settings; absent for plain HTTP. */
  tls?: {
    ca?: string;
    cert?: string;
    key?: string;
    /** Accept any server certificate (kubeconfig `insecure-skip-tls-verify`). */
    insecure?: boolean;
    /** SNI: the server's own name (the route may be a loopback port). */
    serverName?: string;
  };
  /** Request target with query, e.g. `/api/v1/nodes?watch=1`. */
  path: string;
  /** The Host header. */
  authority: string;
  headers: Record<string, string>;
  signal: AbortSignal;
}

export interface LineStreamHandlers {
  /** The server answered 2xx; lines follow. */
  onOpen?(): void;
  /** One non-empty line of the body, without its newline. A throw ends the stream with that error. */
  onLine(line: string): void;
}

/** The server answered with a status other than 2xx; `body` is the start of its body. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
  }
}

const CRLF2 = Buffer.from("\r\n\r\n");
const MAX_HEAD = 64 * 1024;
const MAX_ERROR_BODY = 64 * 1024;

type BodyMode = { kind: "chunked" } | { kind: "length"; left: number } | { kind: "close" };

/**
 * Sends the GET and feeds the body's lines to `onLine` until the server ends the response
 * (resolves), `signal` aborts (resolves), or the connection fails, the status is not 2xx, or a
 * handler throws (rejects). No redirects are followed.
 */
export function streamLines(req: LineStreamRequest, handlers: LineStreamHandlers): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (req.signal.aborted) return resolve();
    let settled = false;
    let socket: { end(): void; write(data: string | Uint8Array): number } | undefined;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      req.signal.removeEventListener("abort", onAbort);
      try {
        socket?.end();
      } catch {
        // already closed
      }
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => finish();
    req.signal.addEventListener("abort", onAbort, { once: true });

    const parser = new ResponseParser(handlers, finish);
    const head = [`GET ${req.path} HTTP/1.1`, `Host: ${req.authority}`, "Connection: close", ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`), "", ""].join("\r\n");
    let unsent: Uint8Array | undefined = Buffer.from(head);
    const send = (s: { write(data: Uint8Array): number }) => {
      if (!unsent) return;
      const n = s.write(unsent);
      unsent = n >= unsent.length ? undefined : unsent.subarray(Math.max(n, 0));
    };
    const tls = req.tls;
    Bun.connect({
      hostname: req.host,
      port: req.port,
      ...(tls
        ? {
            tls: {
              ...(tls.ca ? { ca: tls.ca } : {}),
              ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
              rejectUnauthorized: !tls.insecure,
              ...(tls.serverName ? { serverName: tls.serverName } : {}),
            },
          }
        : {}),
      socket: {
        open(s) {
          socket = s;
          if (settled) s.end();
          else if (!tls) send(s);
        },
        handshake(s, success, authorizationError) {
          if (!success || (authorizationError && !tls?.insecure)) {
            return finish(new Error(`TLS handshake with ${tls?.serverName ?? req.host}:${req.port} failed: ${authorizationError?.message ?? "refused"}`));
          }
          send(s);
        },
        drain(s) {
          send(s);
        },
        data(_s, chunk) {
          if (!settled) parser.push(chunk);
        },
        end() {
          parser.closed();
        },
        close(_s, err) {
          if (err) finish(err);
          else parser.closed();
        },
        error(_s, err) {
          finish(err);
        },
        connectError(_s, err) {
          finish(err);
        },
      },
    }).catch((err: unknown) => finish(err));
  });
}

/** HTTP/1.1 response: status line and headers, then a chunked, sized or until-close body. */
class ResponseParser {
  #head: Buffer | undefined = Buffer.alloc(0);
  #status = 0;
  #mode: BodyMode = { kind: "close" };
  /** Chunked decoding: bytes left in the current chunk (-1: reading a size line). */
  #chunkLeft = -1;
  #afterChunk = false;
  #sizeLine = "";
  #line: Buffer[] = [];
  #errorBody: Buffer[] = [];
  #errorBytes = 0;
  #done = false;
  #decoder = new TextDecoder();

  constructor(
    private readonly handlers: LineStreamHandlers,
    private readonly finish: (err?: unknown) => void,
  ) {}

  push(chunk: Uint8Array): void {
    try {
      let body: Uint8Array = chunk;
      if (this.#head) {
        const head: Buffer = Buffer.concat([this.#head, chunk]);
        const end = head.indexOf(CRLF2);
        if (end < 0) {
          if (head.length > MAX_HEAD) throw new Error("response headers too large");
          this.#head = head;
          return;
        }
        this.#head = undefined;
        this.#parseHead(head.subarray(0, end).toString("latin1"));
        body = head.subarray(end + 4);
        if (this.#ok) this.handlers.onOpen?.();
      }
      this.#body(body);
    } catch (err) {
      this.#done = true;
      this.finish(err);
    }
  }

  closed(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#head) return this.finish(new Error("connection closed before the response"));
    if (!this.#ok) return this.finish(this.#statusError());
    if (this.#mode.kind !== "close") return this.finish(new Error("connection closed in the middle of the response"));
    try {
      this.#flushLine();
      this.finish();
    } catch (err) {
      this.finish(err);
    }
  }

  #parseHead(text: string): void {
    const [statusLine = "", ...lines] = text.split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!m) throw new Error(`not an HTTP/1.1 response: ${JSON.stringify(statusLine.slice(0, 80))}`);
    this.#status = Number(m[1]);
    const headers = new Map<string, string>();
    for (const l of lines) {
      const i = l.indexOf(":");
      if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
    }
    if (/\bchunked\b/i.test(headers.get("transfer-encoding") ?? "")) this.#mode = { kind: "chunked" };
    else if (headers.has("content-length")) this.#mode = { kind: "length", left: Number(headers.get("content-length")) };
  }

  #body(data: Uint8Array): void {
    const mode = this.#mode;
    if (mode.kind === "close") return this.#content(data);
    if (mode.kind === "length") {
      const take = data.subarray(0, mode.left);
      mode.left -= take.length;
      this.#content(take);
      if (mode.left === 0) this.#end();
      return;
    }
    let i = 0;
    while (i < data.length && !this.#done) {
      if (this.#chunkLeft > 0) {
        const take = data.subarray(i, i + this.#chunkLeft);
        this.#chunkLeft -= take.length;
        i += take.length;
        this.#content(take);
        if (this.#chunkLeft === 0) this.#afterChunk = true;
        continue;
      }
      // A size line, or the CRLF after a chunk's data.
      const nl = data.indexOf(0x0a, i);
      const piece = Buffer.from(data.subarray(i, nl < 0 ? data.length : nl)).toString("latin1");
      i = nl < 0 ? data.length : nl + 1;
      this.#sizeLine += piece;
      if (nl < 0) {
        if (this.#sizeLine.length > 1024) throw new Error("bad chunk size line");
        continue;
      }
      const line = this.#sizeLine.replace(/\r$/, "");
      this.#sizeLine = "";
      if (this.#afterChunk) {
        if (line !== "") throw new Error("chunk data longer than its size");
        this.#afterChunk = false;
        continue;
      }
      const size = parseInt(line.split(";")[0]!.trim(), 16);
      if (!Number.isFinite(size) || size < 0) throw new Error(`bad chunk size ${JSON.stringify(line.slice(0, 40))}`);
      if (size === 0) return this.#end();
      this.#chunkLeft = size;
    }
  }

  #content(data: Uint8Array): void {
    if (data.length === 0) return;
    if (!this.#ok) {
      if (this.#errorBytes < MAX_ERROR_BODY) this.#errorBody.push(Buffer.from(data.subarray(0, MAX_ERROR_BODY - this.#errorBytes)));
      this.#errorBytes += data.length;
      return;
    }
    let start = 0;
    for (let nl = data.indexOf(0x0a); nl >= 0 && !this.#done; nl = data.indexOf(0x0a, start)) {
      this.#line.push(Buffer.from(data.subarray(start, nl)));
      start = nl + 1;
      this.#flushLine();
    }
    if (start < data.length) this.#line.push(Buffer.from(data.subarray(start)));
  }

  #flushLine(): void {
    if (this.#line.length === 0) return;
    const text = this.#decoder.decode(this.#line.length === 1 ? this.#line[0] : Buffer.concat(this.#line)).trim();
    this.#line = [];
    if (text) this.handlers.onLine(text);
  }

  #end(): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#ok) return this.finish(this.#statusError());
    try {
      this.#flushLine();
      this.finish();
    } catch (err) {
      this.finish(err);
    }
  }

  /** 2xx: a body of lines. Anything else (a watch is never redirected) is an error with its body. */
  get #ok(): boolean {
    return this.#status >= 200 && this.#status < 300;
  }

  #statusError(): HttpStatusError {
    return new HttpStatusError(this.#status, Buffer.concat(this.#errorBody).toString("utf8"));
  }
}
