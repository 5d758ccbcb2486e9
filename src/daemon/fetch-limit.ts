/**
 * Bun's fetch runs at most 256 requests at once unless BUN_CONFIG_MAX_HTTP_REQUESTS is set when
 * the process starts (setting it later has no effect). Every workload cluster keeps one Node
 * watch open through fetch, so past ~250 clusters new watches — and every other fetch behind
 * them — would wait forever. The systemd unit and the scripts set it; a daemon started without
 * it says so once.
 * @module
 */
export const FETCH_LIMIT_ENV = "BUN_CONFIG_MAX_HTTP_REQUESTS";
export const FETCH_LIMIT = 65535;
const BUN_DEFAULT = 256;

/** The warning to log, if the limit this process started with is Bun's default. */
export function fetchLimitWarning(env: Record<string, string | undefined> = process.env): string | undefined {
  const set = Number(env[FETCH_LIMIT_ENV]);
  if (Number.isFinite(set) && set > BUN_DEFAULT) return undefined;
  return `${FETCH_LIMIT_ENV} is not set: at most ${BUN_DEFAULT} outgoing HTTP requests run at once, and each workload cluster holds one open (its Node watch), so beyond about ${BUN_DEFAULT - 6} clusters they stall; start the daemon with ${FETCH_LIMIT_ENV}=${FETCH_LIMIT} (the systemd unit does)`;
}
