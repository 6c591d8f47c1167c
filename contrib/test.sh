#!/usr/bin/env bash
# Installs build and test dependencies, then runs the whole test suite in three builds:
#   format  clang-format --dry-run --Werror on every C++ file in git (.clang-format)
#   normal  build/       unit + integration tests (ctest)
#   asan    build-asan/  the same suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   fuzz    build-fuzz/  clang + libFuzzer (also ASan + UBSan): xml_stream_fuzzer for 60 s on a
#                        copy of its corpus, so the corpus in the repository is not modified
#
# Usage: contrib/test.sh [STAGE...]   (STAGE: format, normal, asan, fuzz; default: all four)
# Environment: JOBS (default: nproc), PARLEY_WERROR (ON|OFF; default ON for normal, OFF else),
#              FUZZ_SECONDS (default 60), BUILD_DIR (default build; the other two stages use
#              BUILD_DIR-asan and BUILD_DIR-fuzz).
# Every stage runs even if an earlier one failed; the exit status is non-zero if any failed,
# and the last line is a one-line summary.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
build_dir=${BUILD_DIR:-build}
asan_dir=$build_dir-asan
fuzz_dir=$build_dir-fuzz
# The normal build treats warnings as errors (STYLE.md); the sanitizer and fuzz builds
# only when PARLEY_WERROR=ON is given, since their instrumentation adds warnings of its own.
werror=${PARLEY_WERROR:-OFF}
normal_werror=${PARLEY_WERROR:-ON}
fuzz_seconds=${FUZZ_SECONDS:-60}
readonly kCtestTimeout=600
readonly kFuzzCorpus=tests/fuzz/corpus/xml_stream
readonly kFuzzArtifacts=tests/artifacts/fuzz

stages=("$@")
if ((${#stages[@]} == 0)); then
  stages=(format normal asan fuzz)
fi
for stage in "${stages[@]}"; do
  case "$stage" in
    format | normal | asan | fuzz) ;;
    *) echo "usage: $0 [format|normal|asan|fuzz]..." >&2; exit 2 ;;
  esac
done

start_seconds=$SECONDS
results=()
failed=0

# record NAME COMMAND...: runs the command, remembers "NAME ok|FAILED" for the summary.
record() {
  local name=$1
  shift
  echo
  echo "=== test: $name"
  if "$@"; then
    results+=("$name ok")
    return 0
  fi
  results+=("$name FAILED")
  failed=1
  echo "=== test: $name FAILED" >&2
  return 1
}

# Unit tests in parallel; tests labelled "integration" afterwards, one at a time, since each
# starts its own parleyd. Unlabelled tests run in the parallel pass.
runCtest() {
  local build_dir=$1 status=0
  ctest --test-dir "$build_dir" --output-on-failure --timeout "$kCtestTimeout" \
    --no-tests=error -j "$jobs" -LE integration || status=1
  ctest --test-dir "$build_dir" --output-on-failure --timeout "$kCtestTimeout" \
    --no-tests=ignore -L integration || status=1
  return "$status"
}

checkFormat() {
  git ls-files -z '*.cc' '*.h' | xargs -0 clang-format --dry-run --Werror
}

runFuzzer() {
  local fuzzer corpus status=0
  fuzzer=$(find "$fuzz_dir" -type f -name xml_stream_fuzzer -perm -u+x -print -quit)
  if [[ -z "$fuzzer" ]]; then
    echo "test: xml_stream_fuzzer not found under $fuzz_dir/" >&2
    return 1
  fi
  # libFuzzer adds new inputs to the corpus directory: give it a copy, keep the repo clean.
  corpus=$(mktemp -d "${TMPDIR:-/tmp}/parley-fuzz-corpus.XXXXXX")
  if [[ -d "$kFuzzCorpus" ]]; then
    cp -R "$kFuzzCorpus/." "$corpus/" || { rm -rf "$corpus"; return 1; }
  else
    echo "test: warning: $kFuzzCorpus is missing; fuzzing from an empty corpus" >&2
  fi
  mkdir -p "$kFuzzArtifacts" || { rm -rf "$corpus"; return 1; }
  "$fuzzer" -max_total_time="$fuzz_seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$kFuzzArtifacts/" "$corpus" || status=1
  rm -rf "$corpus"
  if ((status != 0)); then
    echo "test: the fuzzer failed; a crashing input, if any, is in $kFuzzArtifacts/" >&2
  fi
  return "$status"
}

# Sanitizer reports: symbolized stacks, and any report fails the test that triggered it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if symbolizer=$(command -v llvm-symbolizer); then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$symbolizer}
fi

record "deps" contrib/install-deps.sh --test || {
  echo "test: FAILED: could not install dependencies" >&2
  exit 1
}
# The web chat page's Converse.js and the web tests' npm packages (tests/web; a no-op when the
# locks did not change). The web tests also run it as their CTest fixture.
record "web-deps" contrib/install-web.sh --test || true

for stage in "${stages[@]}"; do
  case "$stage" in
    format)
      record "format" checkFormat || true
      ;;
    normal)
      if record "build" contrib/build.sh "$build_dir" -DPARLEY_TESTS=ON \
        -DPARLEY_WERROR="$normal_werror"; then
        record "tests" runCtest "$build_dir" || true
      else
        results+=("tests skipped")
      fi
      ;;
    asan)
      if record "asan-build" contrib/build.sh "$asan_dir" -DPARLEY_TESTS=ON \
        -DPARLEY_WERROR="$werror" -DPARLEY_SANITIZE=address,undefined; then
        record "asan-tests" runCtest "$asan_dir" || true
      else
        results+=("asan-tests skipped")
      fi
      ;;
    fuzz)
      # CC/CXX only matter when the fuzz build dir is configured for the first time.
      if record "fuzz-build" env CC=clang CXX=clang++ contrib/build.sh \
        --target xml_stream_fuzzer "$fuzz_dir" -DPARLEY_FUZZ=ON -DPARLEY_TESTS=OFF \
        -DPARLEY_WERROR="$werror" -DPARLEY_SANITIZE=address,undefined; then
        record "fuzz" runFuzzer || true
      else
        results+=("fuzz skipped")
      fi
      ;;
  esac
done

elapsed=$((SECONDS - start_seconds))
summary=""
for result in "${results[@]}"; do
  summary+="${summary:+, }$result"
done
duration="$((elapsed / 60))m$((elapsed % 60))s"
echo
if ((failed)); then
  echo "test.sh: FAILED after $duration ($summary)"
  exit 1
fi
echo "test.sh: all passed in $duration ($summary)"
