#!/usr/bin/env bash
# Runs every test of the project (unit tests beside the code, whole-process tests in test/).
# Tests that need kubectl look for $KUBECTL, /usr/lib/google-cloud-sdk/bin/kubectl.1.32, or
# kubectl on PATH, and say what they skipped when there is none (CI=true makes that a failure).
source "$(dirname "$0")/lib/ensure-bun.sh"
if [ $# -eq 0 ]; then
  echo "typecheck (tsc --noEmit)..." >&2
  "$ROOT/node_modules/.bin/tsc" --noEmit -p "$ROOT"
fi
exec "$BUN" test --timeout 120000 "$@"
