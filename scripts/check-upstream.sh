#!/usr/bin/env bash
# Checks that read the upstream facts in ../shared/reference (CRD validation rules, drift).
source "$(dirname "$0")/lib/ensure-bun.sh"
if ! [ -d "$ROOT/../shared/reference" ]; then
  echo "check-upstream: ../shared/reference not found; nothing to check" >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 0
fi
shopt -s nullglob
checks=(./test/upstream/*.check.ts)
[ ${#checks[@]} -gt 0 ] || { echo "check-upstream: no checks found" >&2; exit 1; }
exec "$BUN" test --timeout 300000 "${checks[@]}"
