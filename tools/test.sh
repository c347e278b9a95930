#!/usr/bin/env bash
# The test suite. Expects tools/setup.sh to have run (the README's test command does both).
#
# Usage: tools/test.sh           the whole suite, what CI runs: the C++ tests (CTest) in the
#                                release build and again under AddressSanitizer +
#                                UndefinedBehaviorSanitizer (with the fuzz corpus replayed and
#                                the MPI checks), and the Python tests
#        tools/test.sh --quick   the loop while working: the release build's C++ tests without
#                                the MPI checks, and the Python tests without those marked
#                                slow (whole pipelines: builds of commits, studies, the
#                                documented commands); it ends by listing what it left out
#
# CTest and pytest use every core (ctest -j, pytest-xdist). In the whole suite the release
# build's tests (C++, then Python) run while the sanitizer build compiles and its tests run:
# neither keeps every core busy alone. Their output follows when both are done, and each
# stage's time is printed at the end. Exit status: 0 all passed, otherwise the failing stage's
# (1 for test failures).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

quick=0
case "${1:-}" in
  "") ;;
  --quick) quick=1 ;;
  -h | --help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "test.sh: unknown option '$1' (use --quick, or no option for the whole suite)" >&2
     echo "usage: tools/test.sh [--quick]" >&2; exit 2 ;;
esac
if (($# > 1)); then
  echo "test.sh: one option at most, got: $*" >&2
  echo "usage: tools/test.sh [--quick]" >&2; exit 2
fi

jobs=$(nproc)
timings=()
stage() {  # stage NAME COMMAND...: runs it, records its wall time
  local name=$1 start=$SECONDS
  shift
  echo "== $name"
  "$@"
  timings+=("$(printf '%-34s %4d s' "$name" $((SECONDS - start)))")
}

python_tests() {  # python_tests [PYTEST OPTIONS...]
  /usr/bin/python3 -m pytest -q -p no:cacheprovider -n "$jobs" "$@" tools/tests bench/peers/tests
}

cmake --preset release >/dev/null
stage "release build" cmake --build --preset release
if ((quick)); then
  stage "release: C++ tests (no MPI)" ctest --preset release -j "$jobs" --label-exclude mpi
  stage "Python tools and peers (not slow)" python_tests -m "not slow"
  echo "== left out by --quick (tools/test.sh runs them): the MPI checks and the slow Python tests"
  ctest --preset release --label-regex mpi --show-only | sed -n 's/^ *Test *#[0-9]*: /  /p'
  /usr/bin/python3 -m pytest -q -p no:cacheprovider --collect-only -m slow tools/tests \
    bench/peers/tests | sed -n 's/^/  /; /::/p'
else
  beside=$(mktemp -d) beside_pid=
  kill_tree() {  # a process and everything it started
    local child
    for child in $(pgrep -P "$1"); do kill_tree "$child"; done
    kill "$1" 2>/dev/null || true
  }
  trap '[[ -n $beside_pid ]] && kill_tree "$beside_pid"; rm -rf "$beside"' EXIT
  (  # the release build's tests, beside the sanitizer stages; their output goes to a file
    set +e
    start=$SECONDS
    ctest --preset release -j "$jobs" >"$beside/out" 2>&1
    echo "release: C++ tests $? $((SECONDS - start))" >"$beside/status"
    start=$SECONDS
    python_tests >>"$beside/out" 2>&1
    echo "Python tools and peers $? $((SECONDS - start))" >>"$beside/status"
  ) &
  beside_pid=$!
  echo "== release: C++ tests, then Python tools and peers (beside the sanitizer stages)"
  cmake --preset asan >/dev/null
  stage "ASan + UBSan build" cmake --build --preset asan
  stage "ASan + UBSan: C++ tests" env ASAN_OPTIONS=detect_leaks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --preset asan -j "$jobs"
  wait "$beside_pid" || true
  beside_pid=
  echo "== release: C++ tests, then Python tools and peers: their output"
  cat "$beside/out"
  failed=0
  while read -r line; do  # "NAME... STATUS SECONDS"
    set -- $line
    seconds=${*: -1} status=${*: -2:1} name=${line% * *}
    timings+=("$(printf '%-34s %4d s (beside)' "$name" "$seconds")")
    ((status == 0)) || failed=$status
  done <"$beside/status"
  if [[ $(wc -l <"$beside/status") -ne 2 ]]; then
    echo "test.sh: the release build's tests did not finish" >&2
    failed=1
  fi
  if ((failed)); then
    printf '%s\n' "${timings[@]}"
    exit "$failed"
  fi
fi

echo "== times"
printf '%s\n' "${timings[@]}"
