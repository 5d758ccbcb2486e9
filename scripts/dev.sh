#!/usr/bin/env bash
# Runs the appliance for development with its data in ./.capx-dev/ and prints the kubectl line.
# CAPX_DEV_LISTEN overrides the address (default 127.0.0.1:6443).
source "$(dirname "$0")/lib/ensure-bun.sh"
DATA="$ROOT/.capx-dev"
LISTEN="${CAPX_DEV_LISTEN:-127.0.0.1:6443}"
cat >&2 <<MSG

  capx-appliance (dev) — data in .capx-dev/, API on https://$LISTEN
  In another terminal:

    kubectl --kubeconfig $DATA/admin.kubeconfig get namespaces

  (no kubectl? any Kubernetes client works with that kubeconfig; Ctrl-C stops the appliance)

MSG
exec "$BUN" src/main.ts serve --data-dir "$DATA" --listen "$LISTEN" --config "${CAPX_DEV_CONFIG:-/dev/null}" "$@"
