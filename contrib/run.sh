#!/usr/bin/env bash
# Installs the build dependencies, builds Parley and runs parleyd in the foreground with
# conf/parley.toml, creating a self-signed certificate for localhost on the first run.
#
# Usage: contrib/run.sh [PARLEYD_ARG...]   (extra arguments are passed to parleyd)
# Environment: BUILD_DIR (default: build), CONFIG (default: conf/parley.toml), JOBS.
# Idempotent: re-running rebuilds only what changed and keeps the existing certificate.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${BUILD_DIR:-build}
config=${CONFIG:-conf/parley.toml}
readonly kDomain=localhost

contrib/install-deps.sh
contrib/build.sh --target parleyd --target parleyctl "$build_dir" -DPARLEY_TESTS=OFF
# The web chat page: Converse.js from web/package-lock.json into web/converse/ (the shipped
# config's web_root is web/).
contrib/install-web.sh

parleyd="$build_dir/src/parleyd"
parleyctl="$build_dir/src/parleyctl"
for binary in "$parleyd" "$parleyctl"; do
  if [[ ! -x "$binary" ]]; then
    echo "run: $binary was not built" >&2
    exit 1
  fi
done

# parleyctl cert refuses to overwrite an existing certificate (exit 1, "... already exists");
# that is the normal case on every run after the first.
if cert_output=$("$parleyctl" --config "$config" cert "$kDomain" 2>&1); then
  printf '%s\n' "$cert_output"
  echo "run: created a self-signed certificate for $kDomain"
elif grep -qi 'exists' <<<"$cert_output"; then
  echo "run: keeping the existing certificate for $kDomain"
else
  printf '%s\n' "$cert_output" >&2
  echo "run: could not create a certificate for $kDomain" >&2
  exit 1
fi

cat <<MSG

Parley is starting for $kDomain (config: $config); stop it with Ctrl-C.
  With the shipped config it listens on 127.0.0.1:5222 (STARTTLS) and 127.0.0.1:5223 (direct
  TLS). The certificate is self-signed: tell your client to accept it.
  Add an account first, in another terminal (the password is the first line of stdin):
    cd $PWD
    $parleyctl --config $config adduser user@$kDomain
  Then log in with any XMPP client as user@$kDomain, or open the web chat in a browser:
    http://localhost:5280/

MSG
exec "$parleyd" --config "$config" "$@"
