# Sourced by the scripts: makes sure the pinned Bun (package.json devDependencies.bun) and the
# locked dependencies are installed, using only Node/npm to bootstrap. Sets $BUN.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BUN_VERSION="$(node -p "require('./package.json').devDependencies.bun")"
BUN="$ROOT/node_modules/.bin/bun"
if ! [ -x "$BUN" ] || [ "$("$BUN" --version 2>/dev/null)" != "$BUN_VERSION" ]; then
  echo "capx: installing bun $BUN_VERSION and dependencies (first run)..." >&2
  if ! [ -x "$ROOT/.tools/node_modules/.bin/bun" ] || [ "$("$ROOT/.tools/node_modules/.bin/bun" --version 2>/dev/null)" != "$BUN_VERSION" ]; then
    npm install --no-save --no-audit --no-fund --no-package-lock --loglevel=error --prefix "$ROOT/.tools" "bun@$BUN_VERSION" >&2
  fi
  "$ROOT/.tools/node_modules/.bin/bun" install --frozen-lockfile >&2
fi
# Fast when nothing changed; catches a pulled lockfile change.
"$BUN" install --frozen-lockfile --silent >&2
export PATH="$ROOT/node_modules/.bin:$PATH"
