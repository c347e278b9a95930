#!/usr/bin/env bash
# The whole test suite: C++ tests (CTest) in the release build and again under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the Python tools' tests (pytest).
# Expects tools/setup.sh to have run (the README's test command does both).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

echo "== release build: C++ tests"
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release

echo "== ASan + UBSan build: C++ tests"
cmake --preset asan >/dev/null
cmake --build --preset asan
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --preset asan

echo "== Python tools and peer"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tools/tests bench/peers/tests
