#!/usr/bin/env bash
# The appliance's CLI from this checkout, on the dev data dir (./.capx-dev, as ./scripts/dev.sh
# runs it) unless CAPX_DATA_DIR or --data-dir says otherwise:
#   ./scripts/capx.sh describe cluster demo      ./scripts/capx.sh kubeconfig demo > demo.kubeconfig
CALLER_DIR="$PWD"
source "$(dirname "$0")/lib/ensure-bun.sh"
cd "$CALLER_DIR" # relative paths in arguments are the caller's
export CAPX_DATA_DIR="${CAPX_DATA_DIR:-$ROOT/.capx-dev}"
export BUN_CONFIG_MAX_HTTP_REQUESTS="${BUN_CONFIG_MAX_HTTP_REQUESTS:-65535}"
exec "$BUN" "$ROOT/src/main.ts" "$@"
