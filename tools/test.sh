#!/usr/bin/env bash
# The test suite. Expects tools/setup.sh to have run (the README's test command does both).
#
# Usage: tools/test.sh           the whole suite, what CI runs: the C++ tests (CTest) in the
#                                release build and again under AddressSanitizer +
#                                UndefinedBehaviorSanitizer (with the fuzz corpus replayed and
#                                the MPI checks), then the Python tests
#        tools/test.sh --quick   the loop while working: the release build's C++ tests without
#                                the MPI checks, and the Python tests
#
# CTest and pytest use every core (ctest -j, pytest-xdist); each stage's time is printed at the
# end. Exit status: 0 all passed, otherwise the failing stage's (1 for test failures).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

quick=0
case "${1:-}" in
  "") ;;
  --quick) quick=1 ;;
  -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "test.sh: unknown option '$1' (use --quick, or no option for the whole suite)" >&2; exit 2 ;;
esac

jobs=$(nproc)
timings=()
stage() {  # stage NAME COMMAND...: runs it, records its wall time
  local name=$1 start=$SECONDS
  shift
  echo "== $name"
  "$@"
  timings+=("$(printf '%-34s %4d s' "$name" $((SECONDS - start)))")
}

cmake --preset release >/dev/null
stage "release build" cmake --build --preset release
if ((quick)); then
  stage "release: C++ tests (no MPI)" ctest --preset release -j "$jobs" --label-exclude mpi
else
  stage "release: C++ tests" ctest --preset release -j "$jobs"
  cmake --preset asan >/dev/null
  stage "ASan + UBSan build" cmake --build --preset asan
  stage "ASan + UBSan: C++ tests" env ASAN_OPTIONS=detect_leaks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --preset asan -j "$jobs"
fi
stage "Python tools and peers" /usr/bin/python3 -m pytest -q -p no:cacheprovider -n "$jobs" \
  tools/tests bench/peers/tests

echo "== times"
printf '%s\n' "${timings[@]}"
