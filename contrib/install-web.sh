#!/usr/bin/env bash
# Installs the web chat page's Converse.js (web/package-lock.json, from the npm registry) and
# copies its dist/ unmodified to web/converse/, so web/ is a self-contained [http] web_root.
# With --test, also installs the browser and Node client tests' packages (tests/web/).
#
# Usage: contrib/install-web.sh [--test]
#
# Idempotent and fast when nothing changed: `npm ci` runs only when a package-lock.json differs
# from the one last installed, and the copy only when the installed Converse changed. No
# package runs install scripts (nothing is downloaded besides the locked packages).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly kStamp=.parley-installed-lock  # inside node_modules/ and web/converse/

with_tests=0
for arg in "$@"; do
  case "$arg" in
    --test) with_tests=1 ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
done

if ! command -v npm >/dev/null; then
  echo "install-web: npm not found; contrib/install-deps.sh installs it (Debian's npm)" >&2
  exit 1
fi

lockHash() {
  sha256sum "$1/package-lock.json" | cut -d' ' -f1
}

# npmCi DIR: `npm ci` in DIR unless its node_modules/ was installed from this very lock.
npmCi() {
  local dir=$1 hash
  hash=$(lockHash "$dir")
  if [[ -f "$dir/node_modules/$kStamp" && "$(cat "$dir/node_modules/$kStamp")" == "$hash" ]]; then
    echo "install-web: $dir/node_modules is up to date"
    return 0
  fi
  echo "install-web: npm ci in $dir"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$hash" >"$dir/node_modules/$kStamp"
}

npmCi web

# web/converse/ is a copy of the installed dist/, replaced whole when the lock changed.
hash=$(lockHash web)
if [[ ! -f "web/converse/$kStamp" || "$(cat "web/converse/$kStamp")" != "$hash" ]]; then
  rm -rf web/converse.tmp
  cp -R web/node_modules/converse.js/dist web/converse.tmp
  cp web/node_modules/converse.js/LICENSE web/converse.tmp/LICENSE
  echo "$hash" >"web/converse.tmp/$kStamp"
  rm -rf web/converse
  mv web/converse.tmp web/converse
  version=$(node -p 'require("./web/node_modules/converse.js/package.json").version')
  echo "install-web: Converse.js $version copied to web/converse/"
else
  echo "install-web: web/converse/ is up to date"
fi

if ((with_tests)); then
  npmCi tests/web
fi
