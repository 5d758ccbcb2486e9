/**
 * The lab PVE in the daemon: the simulated Proxmox cluster (state in DATA_DIR/lab/), its HTTPS
 * API when asked for (`lab.pveListen`, token in DATA_DIR/lab/pve-token) or when controllers run
 * (on 127.0.0.1:0; lab.ts puts it on the lab LAN at every node's address, port 8006), and the backend the
 * controllers use to reach it: directly, through proxmox-api over HTTPS, or through the qm/pvesh
 * shims (`lab.proxmoxBackend`), so each real backend can run end to end in lab mode.
 * @module
 */
import type { Config } from "../config/config.ts";
import { parseListen } from "../config/config.ts";
import { beforeSimulatedCrash } from "../lib/faults.ts";
import { log } from "../lib/log.ts";
import { HttpBackend, splitToken } from "../providers/proxmox/http.ts";
import { InProcessBackend } from "../providers/proxmox/inprocess.ts";
import { createLabPve, INSTANT_LATENCIES, writeTokenFile, type LabHttps, type LabPve } from "../providers/proxmox/lab/index.ts";
import { installLabCli, type ShimTool } from "../providers/proxmox/lab-shims/install.ts";
import { LocalBackend } from "../providers/proxmox/local.ts";
import type { ProxmoxBackend } from "../providers/proxmox/types.ts";

export interface LabProxmox {
  pve: LabPve;
  https?: LabHttps;
  backend: ProxmoxBackend;
  stop(): Promise<void>;
}

/** True in a `bun build --compile` binary, whose sources live in Bun's embedded file system. */
function compiled(): boolean {
  return import.meta.path.startsWith("/$bunfs/") || /^[A-Z]:\\~BUN\\/.test(import.meta.path);
}

/** How a shim runs: the appliance's own `lab-shim` command (works from the compiled binary too). */
function shimCommand(tool: ShimTool): string[] {
  return compiled() ? [process.execPath, "lab-shim", tool] : [process.execPath, Bun.main, "lab-shim", tool];
}

export async function startLabProxmox(config: Config): Promise<LabProxmox> {
  const pve = createLabPve({
    dataDir: config.dataDir,
    ...(config.lab.inventory ? { inventory: config.lab.inventory } : {}),
    ...(config.lab.latencies === "instant" ? { latencies: INSTANT_LATENCIES } : {}),
    faults: config.lab.faults,
  });
  let https: LabHttps | undefined;
  // Controllers may reach it over the lab LAN (a ProxmoxCluster's credentialsRef names its URL).
  const wantHttps = config.lab.pveListen !== "" || config.lab.proxmoxBackend !== "inprocess" || config.controllers;
  if (wantHttps) {
    const listen = config.lab.pveListen !== "" ? parseListen(config.lab.pveListen) : { host: "127.0.0.1", port: 0 };
    https = await pve.serveHttps(listen);
    const tokenFile = writeTokenFile(pve);
    log.info({ component: "lab", url: https.url, tokenFile }, "lab PVE API listening");
  }
  let backend: ProxmoxBackend;
  switch (config.lab.proxmoxBackend) {
    case "http":
      backend = new HttpBackend({ url: https!.url, ...splitToken(https!.token), rootCa: https!.caPem });
      break;
    case "local": {
      const cli = installLabCli(pve, https!, { node: pve.inventory.nodes[0]!.name, command: shimCommand });
      backend = new LocalBackend({ qm: cli.qm, pvesh: cli.pvesh, nodeName: cli.node, storageCfg: cli.storageCfg });
      break;
    }
    default:
      backend = new InProcessBackend(pve);
  }
  log.info({ component: "lab", backend: backend.name, endpoint: backend.endpoint }, "lab PVE ready");
  const unhook = beforeSimulatedCrash(() => pve.flush());
  return {
    pve,
    https,
    backend,
    async stop() {
      unhook();
      await https?.close();
      await pve.stop();
    },
  };
}
