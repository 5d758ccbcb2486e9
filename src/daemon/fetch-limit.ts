/**
 * Bun's fetch runs at most 256 requests at once unless BUN_CONFIG_MAX_HTTP_REQUESTS is set when
 * the process starts (setting it later has no effect); the rest queue behind them. With hundreds
 * of workload clusters, the requests of one reconcile wave (node patches, ClusterResourceSet
 * applies, Proxmox calls) can exceed that, and a slow cluster would hold up the others. (Node
 * watches no longer go through fetch: src/providers/workload/line-stream.ts.) The systemd unit
 * and the scripts set it; a daemon started without it says so once.
 * @module
 */
export const FETCH_LIMIT_ENV = "BUN_CONFIG_MAX_HTTP_REQUESTS";
export const FETCH_LIMIT = 65535;
const BUN_DEFAULT = 256;

/** The warning to log, if the limit this process started with is Bun's default. */
export function fetchLimitWarning(env: Record<string, string | undefined> = process.env): string | undefined {
  const set = Number(env[FETCH_LIMIT_ENV]);
  if (Number.isFinite(set) && set > BUN_DEFAULT) return undefined;
  return `${FETCH_LIMIT_ENV} is not set: at most ${BUN_DEFAULT} outgoing HTTP requests run at once and the rest wait behind them, so with hundreds of workload clusters a few slow ones hold up all; start the daemon with ${FETCH_LIMIT_ENV}=${FETCH_LIMIT} (the systemd unit does)`;
}
