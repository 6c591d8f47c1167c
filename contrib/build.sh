#!/usr/bin/env bash
# Configures (CMake + Ninja) and builds one build directory; used by run.sh and test.sh.
#
# Usage: contrib/build.sh [--target NAME]... BUILD_DIR [CMAKE_ARG...]
#   BUILD_DIR is relative to the repository root unless absolute.
#   CMAKE_ARGs (e.g. -DPARLEY_SANITIZE=address,undefined) are passed to cmake after the defaults
#   (-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo), so they can override them.
#   --target may be repeated; without it everything is built.
# Environment: JOBS (default: nproc), CC/CXX (honoured on the first configure of a directory).
# ccache is used when installed (the top-level CMakeLists.txt picks it up).
set -euo pipefail

usage() {
  echo "usage: $0 [--target NAME]... BUILD_DIR [CMAKE_ARG...]" >&2
  exit 2
}

targets=()
while (($# > 0)); do
  case "$1" in
    --target)
      (($# >= 2)) || usage
      targets+=("$2")
      shift 2
      ;;
    -h | --help) usage ;;
    -*) echo "$0: unknown option: $1" >&2; usage ;;
    *) break ;;
  esac
done
(($# >= 1)) || usage
build_dir=$1
shift

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$PWD
# Paths under the repository are hashed relative to it, so another clone (CI's)
# reuses this machine's ccache entries.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$repo_root}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# A directory configured with another generator cannot be switched to Ninja in place.
cache="$build_dir/CMakeCache.txt"
if [[ -f "$cache" ]] && ! grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$cache"; then
  echo "build: $build_dir was configured with another generator; remove it and re-run" >&2
  exit 1
fi

echo "build: configuring $build_dir ${*}"
cmake -S "$repo_root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"

target_args=()
for target in "${targets[@]}"; do
  target_args+=(--target "$target")
done
echo "build: building $build_dir${targets[*]:+ (${targets[*]})} with $jobs jobs"
cmake --build "$build_dir" --parallel "$jobs" "${target_args[@]}"
