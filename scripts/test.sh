#!/usr/bin/env bash
# The whole test suite: installs missing Debian packages, checks formatting,
# then builds and runs every test three ways:
#   1. gcc, -Werror, RelWithDebInfo             (everything)
#   2. clang, -Werror, ASan+UBSan               (everything)
#   3. gcc, TSan                                 (SDK and analysis engine)
# Usage: scripts/test.sh [--quick]   (--quick: only the first build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1

# The viewer's browser test needs Chromium, Node and its pinned npm packages.
CAUSEWAY_WITH_BROWSER=1 bash scripts/install-deps.sh

step() { printf '\n==== %s\n' "$*"; }
results=()

FAILED=0
step "format check (clang-format)"
if [ "${CW_SKIP_FORMAT:-0}" = 1 ]; then
  echo "skipped (CW_SKIP_FORMAT=1, for local runs only)"
elif bash scripts/format.sh --check; then
  results+=("format: ok")
else
  echo "format: FAILED (run scripts/format.sh)"
  results+=("format: FAILED")
  FAILED=1
fi

# The repository is self-contained: nothing in it may read the project's
# shared folder beside the clone (the parent's 'shared'), which a
# user's clone does not have (fixtures live in tests/fixtures).
step "self-contained check"
if git grep -nE '[.][.]/shared|CW_SHARED_DIR' -- ':!*.md' ':!scripts/test.sh'; then
  echo "self-contained: FAILED (the files above read the shared folder beside the clone)"
  results+=("self-contained: FAILED")
  FAILED=1
else
  results+=("self-contained: ok")
fi

run_suite() { # name, build dir, ctest label regex, cmake args...
  local name=$1 dir=$2 labels=$3
  shift 3
  step "$name: configure and build ($dir)"
  cmake -S "$ROOT" -B "$dir" -DCW_WERROR=ON "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; exit 1; }
  if ! cmake --build "$dir" -j"$JOBS" >"$dir.build.log" 2>&1; then
    grep -vE '^\[ *[0-9]+%\]' "$dir.build.log" | tail -80
    echo "build failed: $name (full log: $dir.build.log)"
    exit 1
  fi
  step "$name: tests"
  # A failing test is run once more, so that one slow moment of a busy
  # 2-core machine (a server that answers late, a timeout in a test that
  # starts several processes) does not fail the suite. A test that fails
  # twice fails the suite, and ctest's log shows every first failure: a
  # first failure is a bug to look at, not noise to accept.
  local args=(--test-dir "$dir" --output-on-failure -j"$JOBS" --timeout 300
              --repeat until-pass:2)
  [ -n "$labels" ] && args+=(-L "$labels")
  if ctest "${args[@]}"; then
    results+=("$name: ok")
  else
    results+=("$name: FAILED")
    FAILED=1
  fi
}

mkdir -p build
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:suppressions=$ROOT/scripts/tsan.supp}

run_suite "gcc" build/gcc "" -DCMAKE_C_COMPILER=gcc -DCW_BUILD_BENCH=ON
step "demo: scripts/demo.sh --once (the README's demo command)"
if bash scripts/demo.sh --once >build/demo.log 2>&1 &&
   [ "$(jq length build/demo-out/scenarios.json)" -ge 12 ]; then
  echo "demo: ok (every scenario as expected; build/demo-out/scenarios.json)"
  results+=("demo: ok")
else
  cat build/demo.log
  echo "demo: FAILED"
  results+=("demo: FAILED")
  FAILED=1
fi

# With clang's libFuzzer present (CAUSEWAY_WITH_FUZZ=1
# scripts/install-deps.sh), the asan build also builds the libFuzzer targets
# (tests/fuzz.cmake) and each fuzzes for CW_FUZZ_SECONDS (default 10) on top
# of its corpus; new inputs go to build/fuzz-new, the corpus is not touched.
FUZZ=OFF
if printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ return (int)(n * 0) + (d == 0); }\n' |
  clang -x c -fsanitize=fuzzer - -o build/.fuzz-probe >/dev/null 2>&1; then
  FUZZ=ON
fi
rm -f build/.fuzz-probe

if [ $QUICK = 0 ]; then
  run_suite "clang asan+ubsan" build/asan "" -DCMAKE_C_COMPILER=clang \
    -DCW_SANITIZE=address,undefined -DCW_BUILD_BENCH=OFF -DCW_FUZZ=$FUZZ
  if [ $FUZZ = ON ]; then
    secs=${CW_FUZZ_SECONDS:-10}
    step "fuzz smoke: ${secs} s per libFuzzer target (asan+ubsan)"
    fuzz_ok=1
    for tc in fuzz_std:tests/fuzz/corpus/std fuzz_native:tests/fuzz/corpus/native \
      fuzz_raceway:tests/fuzz/corpus/raceway fuzz_clocks:tests/fuzz/corpus/clocks \
      fuzz_shiviz:tests/fuzz/corpus/shiviz \
      fuzz_collector_ingest:tests/collector/corpus \
      fuzz_collector_http:tests/collector/corpus-http; do
      t=${tc%%:*}
      mkdir -p "build/fuzz-new/$t"
      if build/asan/tests/$t -max_total_time="$secs" -timeout=20 \
        -rss_limit_mb=3072 -artifact_prefix="build/fuzz-new/$t-" \
        "build/fuzz-new/$t" "${tc#*:}" \
        >"build/fuzz-new/$t.log" 2>&1; then
        echo "$t: ok ($(grep -E '^Done [0-9]+ runs' "build/fuzz-new/$t.log" | tail -1);" \
          "$(grep -oE 'cov: [0-9]+' "build/fuzz-new/$t.log" | tail -1))"
      else
        tail -40 "build/fuzz-new/$t.log"
        echo "$t: FAILED (crash input and log in build/fuzz-new)"
        fuzz_ok=0
      fi
    done
    if [ $fuzz_ok = 1 ]; then
      results+=("fuzz smoke: ok")
    else
      results+=("fuzz smoke: FAILED")
      FAILED=1
    fi
  else
    results+=("fuzz smoke: skipped (no libFuzzer: CAUSEWAY_WITH_FUZZ=1 scripts/install-deps.sh)")
  fi
  run_suite "gcc tsan" build/tsan "sdk|analysis" -DCMAKE_C_COMPILER=gcc \
    -DCW_SANITIZE=thread -DCW_BUILD_BENCH=OFF
fi

step "summary"
printf '%s\n' "${results[@]}"
exit $FAILED
