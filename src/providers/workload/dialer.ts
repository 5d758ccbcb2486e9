/**
 * Every outbound connection of the appliance (workload APIs, Talos, etcd, PVE) goes through a
 * Dialer. The real one connects where it is asked; the lab one maps addresses of the simulated
 * LAN (10.10.0.0/24) to the in-process listeners that play those hosts.
 * @module
 */

export interface Route {
  host: string;
  port: number;
}

export interface Dialer {
  /** Where a connection to host:port really goes. */
  route(host: string, port: number): Route;
}

export const directDialer: Dialer = {
  route: (host, port) => ({ host, port }),
};

/** The lab LAN: simulated address → loopback listener. */
export class LabNetwork implements Dialer {
  #routes = new Map<string, Route>();

  constructor(readonly cidr = "10.10.0.0/24") {}

  /** Registers a simulated host:port served by a listener on 127.0.0.1:localPort. */
  listen(host: string, port: number, localPort: number): () => void {
    const key = `${host}:${port}`;
    this.#routes.set(key, { host: "127.0.0.1", port: localPort });
    return () => {
      if (this.#routes.get(key)?.port === localPort) this.#routes.delete(key);
    };
  }

  /** The loopback target of a simulated address, if something listens there. */
  lookup(host: string, port: number): Route | undefined {
    return this.#routes.get(`${host}:${port}`);
  }

  route(host: string, port: number): Route {
    // Off the simulated LAN (or nothing listening): a real connection, which fails as it would.
    return this.lookup(host, port) ?? { host, port };
  }

  inLab(host: string): boolean {
    const [base, bits] = this.cidr.split("/") as [string, string];
    const toInt = (ip: string) => ip.split(".").reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(host)) return false;
    const mask = bits === "0" ? 0 : (~0 << (32 - Number(bits))) >>> 0;
    return (toInt(host) & mask) === (toInt(base) & mask);
  }
}
