#!/usr/bin/env bash
# Installs the Debian 12 packages Parley needs to build (and, with --test, to run its test suite).
#
# Usage: contrib/install-deps.sh [--test]
#
# Idempotent: if every package is already installed, apt is not touched at all, so a re-run is
# fast and works offline. Otherwise runs apt-get update and apt-get install --no-install-recommends.
set -euo pipefail

readonly kBuildPackages=(
  build-essential cmake ninja-build pkg-config ccache
  libexpat1-dev libssl-dev liblmdb-dev libc-ares-dev libtomlplusplus-dev libidn-dev
  libhttp-parser-dev
  openssl ca-certificates
)
# catch2: unit tests; libstrophe-dev, python3-slixmpp: integration test clients;
# clang + libclang-rt-14-dev: libFuzzer; llvm: llvm-symbolizer for sanitizer stack traces;
# procps, iproute2: ps/pgrep/ss for the integration tests and for debugging them, ip netns for
# the interop tests; clang-format: the formatting check;
# prosody, ejabberd, dnsmasq-base, lua-unbound: the federation peers and the DNS server of the
# interop tests (tests/interop/), started by the tests themselves;
# chromium, fonts-noto-color-emoji: the web chat's browser test (headless; emoji need the font).
readonly kTestPackages=(
  catch2 libstrophe-dev python3 python3-slixmpp chromium fonts-noto-color-emoji
  clang libclang-rt-14-dev llvm procps iproute2 clang-format
  prosody ejabberd dnsmasq-base lua-unbound
)

usage() {
  echo "usage: $0 [--test]" >&2
  exit 2
}

with_tests=0
for arg in "$@"; do
  case "$arg" in
    --test) with_tests=1 ;;
    -h | --help) usage ;;
    *) echo "$0: unknown argument: $arg" >&2; usage ;;
  esac
done

packages=("${kBuildPackages[@]}")
# node and npm: the web chat page's install (contrib/install-web.sh) and the web tests (which
# need node 20.10 or later). Debian's nodejs and npm, unless a node with npm is already
# installed (NodeSource's nodejs bundles npm and conflicts with Debian's).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
if ((with_tests)); then
  packages+=("${kTestPackages[@]}")
fi

isInstalled() {
  local status
  status=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
  [[ "$status" == installed ]]
}

missing=()
for package in "${packages[@]}"; do
  isInstalled "$package" || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "install-deps: apt-get not found; this script supports Debian 12 (bookworm)." >&2
  echo "install-deps: missing packages: ${missing[*]}" >&2
  exit 1
fi

as_root=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "install-deps: must run as root (or with sudo installed) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

# Without systemd, invoke-rc.d would start the daemons of prosody and ejabberd on the machine's
# ports 5222/5269 when they are installed. A policy-rc.d that answers 101 ("not allowed") stops
# that; Debian container images ship one, otherwise one is in place just for this install.
policy=/usr/sbin/policy-rc.d
if [[ ! -e "$policy" ]]; then
  "${as_root[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
  trap '"${as_root[@]}" rm -f "$policy"' EXIT
fi

echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
