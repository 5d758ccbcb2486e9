/**
 * termproxy as PVE runs it for `POST …/termproxy`: a `vncproxy` task listens on a port of
 * 5900–5999 for one connection (10 s), `GET …/vncwebsocket?port&vncticket` upgrades to a
 * websocket bridged to that port, the client authenticates with `USER:TICKET\n` and gets `OK`,
 * then `qm terminal VMID -escape 0 [-iface serialN]` runs: it prints
 * `starting serial terminal on interface serialN` and the serial output, or its error (`VM 100 not
 * running`, `unable to find a serial interface`) and ends. Client frames after the login are
 * termproxy's `0:LEN:DATA` (input), `1:COLS:ROWS:` (resize) and `2` (ping); the lab's guests read
 * no input. Closing the websocket ends the task.
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { die } from "./errors.ts";
import type { LabHost } from "./host.ts";
import type { Worker } from "./tasks.ts";

export const TERMPROXY_PORTS = { first: 5900, last: 5999 };
/** How long termproxy waits for its one connection. */
export const TERMPROXY_CONNECT_TIMEOUT_MS = 10_000;
/** PVE accepts a VNC ticket from 20 s in the future to 40 s old. */
const TICKET_MIN_AGE_S = -20;
const TICKET_MAX_AGE_S = 40;

export interface TerminalTransport {
  send(data: string | Uint8Array): void;
  close(): void;
  onMessage(listener: (data: Buffer) => void): void;
  onClose(listener: () => void): void;
}

interface Session {
  port: number;
  node: string;
  vmid: number;
  user: string;
  iface?: string;
  connected: boolean;
  timer: ReturnType<typeof setTimeout>;
  ended: Promise<void>;
  end(err?: Error): void;
  transport?: TerminalTransport;
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");

export class TermProxies {
  connectTimeoutMs = TERMPROXY_CONNECT_TIMEOUT_MS;
  #byPort = new Map<number, Session>();
  readonly #secret = randomBytes(32);

  constructor(private readonly host: LabHost) {}

  ticket(user: string, path: string, now = Date.now()): string {
    const stamp = hex8(Math.floor(now / 1000));
    return `PVEVNC:${stamp}::${this.#sign(stamp, user, path)}`;
  }

  /** PVE's verify_vnc_ticket. */
  verifyTicket(ticket: string, user: string, path: string, now = Date.now()): void {
    const m = /^PVEVNC:([0-9A-F]{8})::(.+)$/.exec(ticket);
    const invalid = () => die("permission denied - invalid vnc ticket");
    if (!m) return invalid();
    const want = Buffer.from(this.#sign(m[1]!, user, path));
    const got = Buffer.from(m[2]!);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return invalid();
    const age = Math.floor(now / 1000) - parseInt(m[1]!, 16);
    if (age < TICKET_MIN_AGE_S || age > TICKET_MAX_AGE_S) return invalid();
  }

  #sign(stamp: string, user: string, path: string): string {
    return createHmac("sha256", this.#secret).update(`PVEVNC:${stamp}::${user}::${path}`).digest("base64");
  }

  /** Reserves a port and starts waiting for the connection; the task awaits `ended`. */
  listen(o: { node: string; vmid: number; user: string; iface?: string }): number {
    let port = TERMPROXY_PORTS.first;
    while (this.#byPort.has(port)) port++;
    if (port > TERMPROXY_PORTS.last) die(`unable to find free port (${TERMPROXY_PORTS.first}-${TERMPROXY_PORTS.last})`);
    let end!: (err?: Error) => void;
    const ended = new Promise<void>((resolve, reject) => {
      end = (err) => {
        clearTimeout(session.timer);
        if (this.#byPort.get(port) === session) this.#byPort.delete(port);
        if (err) reject(err);
        else resolve();
      };
    });
    ended.catch(() => {}); // the task observes it; an unawaited rejection is no crash
    const session: Session = {
      ...o,
      port,
      connected: false,
      timer: setTimeout(() => session.end(new Error("connection timed out")), this.connectTimeoutMs),
      ended,
      end: (err) => end(err),
    };
    session.timer.unref?.();
    this.#byPort.set(port, session);
    return port;
  }

  /** What the `vncproxy` task waits for; after a restart its termproxy is gone. */
  ended(port: number): Promise<void> {
    const s = this.#byPort.get(port);
    return s ? s.ended : Promise.reject(new Error("unexpected status"));
  }

  /** The task was killed: its termproxy goes with it. */
  abort(port: number): void {
    const s = this.#byPort.get(port);
    if (!s) return;
    s.transport?.close();
    s.end();
  }

  /** A websocket reached the port; false when nothing listens there (connection refused). */
  connect(port: number, t: TerminalTransport): boolean {
    const s = this.#byPort.get(port);
    if (!s || s.connected) return false;
    s.connected = true;
    s.transport = t;
    clearTimeout(s.timer);
    let detach: (() => void) | undefined;
    let authenticated = false;
    t.onClose(() => {
      detach?.();
      s.end();
    });
    t.onMessage((data) => {
      if (authenticated) return; // input, resize and ping: the lab's guests read no input
      const login = data.toString("utf8");
      const nl = login.indexOf("\n");
      const [user, ticket] = splitLogin(nl >= 0 ? login.slice(0, nl) : login);
      try {
        if (user !== s.user) throw new Error("user mismatch");
        this.verifyTicket(ticket, user, `/vms/${s.vmid}`);
      } catch {
        t.close();
        return;
      }
      authenticated = true;
      t.send("OK");
      detach = this.#runTerminal(s, t);
    });
    return true;
  }

  /** `qm terminal VMID -escape 0 [-iface IFACE]` on the port's connection. */
  #runTerminal(s: Session, t: TerminalTransport): (() => void) | undefined {
    const vm = this.host.vm(s.vmid);
    let iface = s.iface;
    let error: string | undefined;
    if (!vm) error = `Configuration file 'nodes/${s.node}/qemu-server/${s.vmid}.conf' does not exist`;
    else if (iface) {
      if (!vm.config[iface]) error = `serial interface '${iface}' is not configured`;
      else if (vm.config[iface] !== "socket") error = `wrong serial type on interface '${iface}'`;
    } else {
      iface = ["serial0", "serial1", "serial2", "serial3"].find((k) => vm.config[k] === "socket");
      if (!iface) error = "unable to find a serial interface";
    }
    if (!error && vm!.status !== "running") error = `VM ${s.vmid} not running`;
    if (error) {
      t.send(`${error}\r\n`);
      t.close();
      return undefined;
    }
    t.send(`starting serial terminal on interface ${iface}\r\n`);
    const backlog = this.host.serial.read(s.vmid);
    if (backlog) t.send(tty(backlog));
    return this.host.serial.attach(s.vmid, (text) => t.send(tty(text)));
  }
}

/** `USER:TICKET` where USER may be `root@pam!token` and the ticket holds `::`. */
function splitLogin(line: string): [string, string] {
  const i = line.indexOf(":PVEVNC:");
  return i >= 0 ? [line.slice(0, i), line.slice(i + 1)] : [line, ""];
}

/** A serial line discipline turns `\n` into CR LF. */
function tty(text: string): string {
  return text.replace(/\r?\n/g, "\r\n");
}

interface TermproxyTaskData {
  port: number;
}

export const termproxyWorker: Worker = {
  steps: (w) => [{ await: () => w.host.terminals.ended((w.task.data as unknown as TermproxyTaskData).port) }],
  onError: (w) => w.host.terminals.abort((w.task.data as unknown as TermproxyTaskData).port),
};
