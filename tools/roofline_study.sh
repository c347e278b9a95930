#!/bin/bash
# The roofline of this machine (docs/benchmarks.md, "The roofline"): one mlp_bench run at 1
# thread and one at every CPU, each with the FMA peak of every SIMD target, the memory bandwidth
# per level (BM_Bandwidth), and every GEMM of both reference steps, Adam and the training steps
# with their work counters; then tools/plot_roofline.py draws the figure and prints the table.
# Timings need a quiet machine (`uptime` load below 0.5).
#
# Usage: tools/roofline_study.sh [--quick] [--out DIR]
#     --quick: a few benchmarks, one short repetition, into a temporary folder removed after;
#              checks the pipeline
#     --out DIR: a results folder (default results; tools/reproduce_results.sh gives its machine's)
#
# Writes DIR/roofline/mlp_bench_t<T>.json, DIR/roofline/table.txt and DIR/figures/roofline.svg. Exit status: 0 success; 1 a benchmark or the figure failed;
# 2 bad command line or nothing built.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/build/bench/mlp_bench"
CPUS=$(nproc)
THREADS=$( (echo 1; echo "$CPUS") | sort -nu)
FILTER='^BM_(FmaPeak|Bandwidth|Gemm(Forward|WeightGrad|InputGrad)|Adam|TrainStep/|TeamBarrier)'
RUN_ARGS=(--simd-target=all --benchmark_repetitions=3)
RESULTS="$ROOT/results"
usage() { echo "usage: tools/roofline_study.sh [--quick] [--out DIR]" >&2; exit 2; }
quick=0
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --out) (($# > 1)) || usage; RESULTS=$2; shift ;;
    -h | --help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "roofline_study.sh: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
OUT="$RESULTS/roofline"
FIGURE="$RESULTS/figures/roofline.svg"
if ((quick)); then
  FILTER='^BM_(FmaPeak|Bandwidth/triad|GemmForward/m:32/n:512|Adam/params:52650|TrainStep/784-64-32-10/batch:32/real|TeamBarrier)'
  RUN_ARGS=(--benchmark_min_time=0.001)
  OUT="$TMP/out" FIGURE="$TMP/out/roofline.png"
fi
[ -x "$BENCH" ] || { echo "roofline_study.sh: build first (cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN { exit !(l >= 0.5) }' && echo "roofline_study.sh: warning: load average $load: timings may be noisy (a run right after other work shows its load too; the table and figure mark a run whose load exceeded the CPUs or whose team barrier was slow)" >&2

# Measured into a temporary folder, moved into place whole. The table names the runs as
# roofline/mlp_bench_t<T>.json, their path inside the results folder.
mkdir -p "$TMP/roofline"
for t in $THREADS; do
  "$BENCH" --threads="$t" "${RUN_ARGS[@]}" --benchmark_filter="$FILTER" \
    --benchmark_out="$TMP/roofline/mlp_bench_t$t.json" >/dev/null 2>"$TMP/bench.err" \
    || { cat "$TMP/bench.err" >&2; exit 1; }
done
(cd "$TMP" && /usr/bin/python3 "$ROOT/tools/plot_roofline.py" roofline -o "roofline.${FIGURE##*.}" >"$TMP/roofline/table.txt") \
  || exit 1
mkdir -p "$OUT" "$(dirname "$FIGURE")"
for f in "$TMP/roofline"/*; do mv -f "$f" "$OUT/"; done
mv -f "$TMP/roofline.${FIGURE##*.}" "$FIGURE"
cat "$OUT/table.txt"
echo "roofline_study.sh: runs and table in $OUT, figure $FIGURE" >&2
