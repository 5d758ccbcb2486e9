#!/usr/bin/env bash
# Builds dist/capx-appliance: one executable with the runtime and the migrations embedded.
# BUN_TARGET picks another target (e.g. bun-linux-x64-baseline for pre-2013 CPUs).
source "$(dirname "$0")/lib/ensure-bun.sh"
mkdir -p dist
"$BUN" build --compile --minify-syntax --minify-whitespace ${BUN_TARGET:+--target="$BUN_TARGET"} src/main.ts --outfile dist/capx-appliance >&2
echo "$ROOT/dist/capx-appliance"
