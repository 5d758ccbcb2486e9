/**
 * The server side of RFC 6455 on a socket that node:https hands over on `upgrade` — just what
 * pveproxy's websocket proxy needs for a terminal: binary frames out, masked client frames in
 * (fragmented or not), ping/pong and the close handshake.
 * @module
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export interface WebSocketConnection {
  send(data: string | Uint8Array): void;
  close(code?: number): void;
  onMessage(listener: (data: Buffer) => void): void;
  onClose(listener: () => void): void;
}

/** Refuses an upgrade the way pveproxy answers any failed request: status line, no body. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason.replace(/[\r\n]/g, " ")}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = len;
  else if (len < 65536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

/** Completes the handshake (offering `binary` when the client asks for it, as pveproxy does). */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer): WebSocketConnection | undefined {
  const key = req.headers["sec-websocket-key"];
  if (typeof key !== "string" || (req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
    refuseUpgrade(socket, 400, "Bad Request");
    return undefined;
  }
  const accept = createHash("sha1").update(key + GUID).digest("base64");
  const offered = String(req.headers["sec-websocket-protocol"] ?? "")
    .split(",")
    .map((p) => p.trim());
  const lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Accept: ${accept}`];
  if (offered.includes("binary")) lines.push("Sec-WebSocket-Protocol: binary");
  socket.write(lines.join("\r\n") + "\r\n\r\n");

  const messageListeners: ((d: Buffer) => void)[] = [];
  const closeListeners: (() => void)[] = [];
  let buffered: Buffer = head.length ? Buffer.from(head) : Buffer.alloc(0);
  let fragments: Buffer[] = [];
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    for (const l of closeListeners) l();
  };
  const close = (code = 1000) => {
    if (closed) return;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    socket.end(frame(0x8, payload));
    finish();
  };

  const parse = () => {
    for (;;) {
      if (buffered.length < 2) return;
      const fin = (buffered[0]! & 0x80) !== 0;
      const opcode = buffered[0]! & 0x0f;
      const masked = (buffered[1]! & 0x80) !== 0;
      let len = buffered[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buffered.length < 4) return;
        len = buffered.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buffered.length < 10) return;
        len = Number(buffered.readBigUInt64BE(2));
        off = 10;
      }
      if (!masked) return close(1002); // clients must mask
      if (buffered.length < off + 4 + len) return;
      const mask = buffered.subarray(off, off + 4);
      const payload = Buffer.from(buffered.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      buffered = buffered.subarray(off + 4 + len);
      if (opcode === 0x8) return close();
      if (opcode === 0x9) socket.write(frame(0xa, payload));
      else if (opcode === 0xa) continue;
      else {
        fragments.push(payload);
        if (!fin) continue;
        const message = Buffer.concat(fragments);
        fragments = [];
        for (const l of messageListeners) l(message);
      }
    }
  };
  socket.on("data", (chunk: Buffer) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    parse();
  });
  socket.on("close", finish);
  socket.on("error", finish);
  if (buffered.length) queueMicrotask(parse);

  return {
    send(data) {
      if (!closed) socket.write(frame(0x2, Buffer.from(typeof data === "string" ? Buffer.from(data, "utf8") : data)));
    },
    close,
    onMessage: (l) => void messageListeners.push(l),
    onClose: (l) => void closeListeners.push(l),
  };
}
