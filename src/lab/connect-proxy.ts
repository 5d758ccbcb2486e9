/**
 * An HTTP CONNECT proxy onto the lab LAN: `kubectl` (through `proxy-url` in a lab kubeconfig)
 * reaches simulated addresses as it would reach real hosts. Only addresses with a lab
 * listener are served; anything else gets 502.
 * @module
 */
import net, { type AddressInfo, type Socket } from "node:net";
import type { LabNetwork } from "../providers/workload/dialer.ts";

export interface RunningProxy {
  port: number;
  url: string;
  close(): Promise<void>;
}

const MAX_HEAD = 16 * 1024;

export function startConnectProxy(network: LabNetwork, host = "127.0.0.1", port = 0): Promise<RunningProxy> {
  const sockets = new Set<Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > MAX_HEAD) client.end("HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n");
        return;
      }
      client.off("data", onData);
      const [requestLine] = head.subarray(0, end).toString("latin1").split("\r\n");
      const rest = head.subarray(end + 4);
      const m = /^CONNECT ([^\s:]+|\[[^\]]+\]):(\d+) HTTP\/1\.[01]$/.exec(requestLine ?? "");
      if (!m) {
        client.end("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      const target = network.lookup(m[1]!.replace(/^\[|\]$/g, ""), Number(m[2]));
      if (!target) {
        client.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\n\r\nnothing listens at ${m[1]}:${m[2]} on the lab network\n`);
        return;
      }
      const upstream = net.connect(target.port, target.host, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (rest.length) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      sockets.add(upstream);
      upstream.on("close", () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
    };
    client.on("data", onData);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const addr = server.address() as AddressInfo;
      resolve({
        port: addr.port,
        url: `http://${host}:${addr.port}`,
        close: () =>
          new Promise((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
