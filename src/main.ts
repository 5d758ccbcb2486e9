#!/usr/bin/env bun
/**
 * capx-appliance: a Cluster API management cluster in one process.
 * @module
 */
import { ConfigError } from "./config/config.ts";
import { UsageError } from "./cli/args.ts";
import { CommandError } from "./cli/cluster-secret.ts";
import { clusterSecretCommand, KUBECONFIG_USAGE, kubeconfigCommand } from "./cli/kubeconfig.ts";
import { SERVE_USAGE, serve } from "./cli/serve.ts";
import { NewerDatabaseError } from "./store/open.ts";
import { VERSION } from "./version.ts";

const USAGE = `capx-appliance ${VERSION}

usage: capx-appliance <command> [flags]

commands:
  serve        run the appliance (HTTPS Kubernetes API on SQLite)
  kubeconfig   print a kubeconfig: --admin for the appliance, CLUSTER for a workload cluster
  talosconfig  print the talosconfig of a Talos cluster
  talos        gen-config / gen-secrets: Talos machine configs and secrets bundles
  describe     describe cluster NAME: a clusterctl-style tree of a Cluster and its objects
  backup       backup --to FILE: a consistent online copy of the state (store, PKI, lab) in one tar file
  restore      restore FILE: the state of a backup into a data dir where no daemon runs
  export       all cluster objects as YAML in upstream API versions, for kubectl apply elsewhere (paused)
  version      print the version

${SERVE_USAGE}
${KUBECONFIG_USAGE}
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      await serve(rest);
      return -1;
    case "kubeconfig":
      if (rest[0] !== undefined && !rest[0].startsWith("-")) process.stdout.write(await clusterSecretCommand("kubeconfig", rest));
      else process.stdout.write(kubeconfigCommand(rest));
      return 0;
    case "talosconfig":
      process.stdout.write(await clusterSecretCommand("talosconfig", rest));
      return 0;
    case "talos":
      process.stdout.write(await (await import("./cli/talos.ts")).talosCommand(rest));
      return 0;
    case "backup":
      process.stdout.write((await import("./cli/backup.ts")).backupCommand(rest));
      return 0;
    case "restore":
      process.stdout.write(await (await import("./cli/backup.ts")).restoreCommand(rest));
      return 0;
    case "export":
      process.stdout.write(await (await import("./cli/export.ts")).exportCommand(rest));
      return 0;
    case "describe":
      process.stdout.write(await (await import("./cli/describe.ts")).describeCommand(rest));
      return 0;
    case "lab-shim": {
      // The lab PVE's qm/pvesh shims run as this command, so they work from the compiled binary.
      const [tool, ...args] = rest;
      const { stdio } = await import("./providers/proxmox/lab-shims/cli.ts");
      if (tool === "qm") return (await import("./providers/proxmox/lab-shims/qm.ts")).runQm(args, process.env, stdio);
      if (tool === "pvesh") return (await import("./providers/proxmox/lab-shims/pvesh.ts")).runPvesh(args, process.env, stdio);
      throw new UsageError("usage: capx-appliance lab-shim qm|pvesh ARGS...");
    }
    case "version":
    case "--version":
      process.stdout.write(`capx-appliance ${VERSION} (kubernetes API v1.32, bun ${Bun.version})\n`);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)} (try: capx-appliance help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e: unknown) => {
    const known = e instanceof UsageError || e instanceof ConfigError || e instanceof NewerDatabaseError || e instanceof CommandError;
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`capx-appliance: ${known ? msg : `fatal: ${msg}`}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
