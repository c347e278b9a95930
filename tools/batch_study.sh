#!/bin/bash
# The committed batch-size study: for both reference models on MNIST and Fashion-MNIST, one
# --sweep-batch-size run per learning-rate rule (none, linear, sqrt), with a target accuracy,
# then tools/plot_batch.py per experiment. Affordable by design: EPOCHS epochs per run (default
# 15 for mlp512, 30 for mlp64_32: enough for batch 32 to reach each target; a target not reached
# within them shows as "not reached"). About 10 minutes; timing figures need a quiet machine.
#
# Usage: tools/batch_study.sh [--quick]   (--quick: 3,000 samples, 2 epochs, batch 32 and 128,
#                                         into a temporary folder; checks the pipeline)
#
# Writes results/studies/batch_<experiment>/<rule>/*.json, results/figures/batch_<experiment>.png
# and the study's page, results/figures/batch_study.html (one self-contained HTML page: the
# figures, the printed summaries, host, placement, noisy runs, every run and the commands).
set -euo pipefail
# The command line first: anything but --quick or --help is refused before a run starts.
quick=0
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    -h | --help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "batch_study.sh: unknown argument '$1'" >&2
       echo "usage: tools/batch_study.sh [--quick]" >&2; exit 2 ;;
  esac
  shift
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ENGINE="$ROOT/build/engine/run_experiment"
BATCHES=${BATCHES:-32,64,128,256,512}
THREADS=${THREADS:-2}
LIMITS=()
EPOCHS_512=${EPOCHS_512:-15}
EPOCHS_64=${EPOCHS_64:-30}
PEAK_REPETITIONS=5
OUT="$ROOT/results/studies"
FIGURES="$ROOT/results/figures"
if ((quick)); then
  LIMITS=(--train-limit 3000 --test-limit 1000)
  EPOCHS_512=2 EPOCHS_64=2 PEAK_REPETITIONS=1
  BATCHES=${BATCHES_QUICK:-32,128}
  OUT=$(mktemp -d) FIGURES=$OUT
fi
[ -x "$ENGINE" ] || { echo "batch_study.sh: build first (cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN { exit !(l >= 0.5) }' && echo "batch_study.sh: warning: load average $load: timings will be noisy" >&2

# experiment, its target accuracy (test_accuracy), epochs
STUDIES=("mlp512_5ep 0.98 $EPOCHS_512" "mlp64_32_100ep 0.97 $EPOCHS_64"
         "fashion_mlp512_5ep 0.88 $EPOCHS_512" "fashion_mlp64_32_100ep 0.86 $EPOCHS_64")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PAGE_ARGS=() LOG_DIRS=()  # the page's figures, summaries and commands; its logs
"$ROOT/build/bench/mlp_bench" --threads="$THREADS" --benchmark_filter=FmaPeak \
  --benchmark_repetitions="$PEAK_REPETITIONS" --benchmark_out="$TMP/peak.json" >/dev/null 2>"$TMP/peak.err" \
  || { cat "$TMP/peak.err" >&2; exit 1; }
for study in "${STUDIES[@]}"; do
  read -r name target epochs <<<"$study"
  # The experiment with its target: the engine validates it, the log records it.
  /usr/bin/python3 - "$ROOT/experiments/$name.json" "$TMP/$name.json" "$target" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
e["target_accuracy"], e["target_metric"] = float(sys.argv[3]), "test_accuracy"
json.dump(e, open(sys.argv[2], "w"), indent=2)
PY
  for rule in none linear sqrt; do
    rm -rf "$OUT/batch_$name/$rule"
    run=("$ENGINE" "$TMP/$name.json" --quiet --threads "$THREADS" --epochs "$epochs" "${LIMITS[@]}"
         --sweep-batch-size "$BATCHES" --lr-scaling "$rule" --out "$OUT/batch_$name/$rule")
    "${run[@]}" >/dev/null
    PAGE_ARGS+=(--command "$(printf "%q " "${run[@]}")")
    LOG_DIRS+=("$OUT/batch_$name/$rule")
  done
  cp "$TMP/peak.json" "$OUT/batch_$name/fma_peak.json"
  plot=(/usr/bin/python3 "$ROOT/tools/plot_batch.py" "$OUT/batch_$name"/{none,linear,sqrt}
        --bench "$OUT/batch_$name/fma_peak.json" -o "$FIGURES/batch_$name.png")
  "${plot[@]}" | tee "$OUT/batch_$name/best.txt"
  PAGE_ARGS+=(--command "$(printf "%q " "${plot[@]}")" --figure "$FIGURES/batch_$name.png" --summary "$OUT/batch_$name/best.txt")
done
/usr/bin/python3 "$ROOT/tools/study_page.py" --title "Batch size and time to accuracy ($THREADS threads)" \
  --command "build/bench/mlp_bench --threads=$THREADS --benchmark_filter=FmaPeak --benchmark_repetitions=$PEAK_REPETITIONS" \
  "${PAGE_ARGS[@]}" -o "$FIGURES/batch_study.html" "${LOG_DIRS[@]}"
echo "batch_study.sh: logs in $OUT/batch_*, figures in $FIGURES/batch_*.png, page $FIGURES/batch_study.html" >&2
