#!/usr/bin/env bash
# Re-measures every committed table and figure on this machine, into the machine's own folder
# results/<vendor>-f<family>m<model>-<N>cpu/ (named by tools/machine.py from /proc/cpuinfo;
# results/README.md lists the folders and what each holds): benchmarks, both reference
# experiments and their PyTorch peers, the side-by-side speed comparison, repeated thread and
# SIMD-target studies of both reference models, the roofline, every GEMM against the vendor
# libraries (oneDNN, OpenBLAS, BLIS; where vendor_gemm is built), the price of shards, a regression
# comparison, the model diagrams and dataset samples, then the folder's README tables and page.
# Its steps take about 75 minutes on 2 cores (57 before the vendor step, which takes 17). Run it
# on an otherwise idle machine (nothing else compiling or training): every figure is a timing.
#
# Usage: tools/reproduce_results.sh [--dry-run] [--root DIR] [--cpuinfo FILE] [step ...]
#     steps: machine bench reference peers side_by_side threads simd roofline vendor shards
#            regression pictures readme page (default: all, in this order)
#     --dry-run       print the folder and what each step would write, and run nothing
#     --root DIR      the folder that holds the machine folders (default results)
#     --cpuinfo FILE  name the machine from FILE instead of /proc/cpuinfo
#
# readme: a folder without README.md gets one generated (tools/results_tables.py --readme: the
# tables, the commands that made them, the host); an existing README.md (with its analysis) is
# never written over, only checked: the step fails when one of its tables is not the logs'.
# Exit status: 0 done, 1 a step failed, 2 bad command line.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
PY=/usr/bin/python3
RUN=build/engine/run_experiment
BENCH=build/bench/mlp_bench
ALL=(machine bench reference peers side_by_side threads simd roofline vendor shards regression
     pictures readme page)
usage() { echo "usage: tools/reproduce_results.sh [--dry-run] [--root DIR] [--cpuinfo FILE] [step ...] (steps: ${ALL[*]})" >&2; exit 2; }

dry_run=0 root=results cpuinfo=/proc/cpuinfo steps=()
while (($#)); do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --root) (($# > 1)) || usage; root=$2; shift ;;
    --cpuinfo) (($# > 1)) || usage; cpuinfo=$2; shift ;;
    -h | --help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "reproduce_results.sh: unknown option '$1'" >&2; usage ;;
    *) [[ " ${ALL[*]} " == *" $1 "* ]] || { echo "reproduce_results.sh: unknown step $1" >&2; usage; }
       steps+=("$1") ;;
  esac
  shift
done
((${#steps[@]})) || steps=("${ALL[@]}")
want() { [[ " ${steps[*]} " == *" $1 "* ]]; }

machine=$($PY tools/machine.py name --cpuinfo "$cpuinfo") || exit 2
OUT="$root/$machine"
CPUS=$(grep -c '^processor' "$cpuinfo")
# thread counts of the thread study: powers of two below the CPU count, and the CPU count
threads=1; for ((t = 2; t < CPUS; t *= 2)); do threads+=",$t"; done
if ((CPUS > 1)); then threads+=",$CPUS"; fi
echo "machine $machine: results into $OUT/"

# step NAME WHAT OUTPUT...: announces a wanted step and the files or folders it writes (under
# $OUT); false when the step is not wanted or this is a dry run.
step() {
  want "$1" || return 1
  local name=$1 what=$2
  shift 2
  echo "== $name: $what"
  local out
  for out in "$@"; do echo "   writes $OUT/$out"; done
  ((!dry_run))
}

needs_build=0
for s in bench reference peers side_by_side threads simd roofline vendor shards regression; do
  if want $s; then needs_build=1; fi
done
if ((needs_build && !dry_run)); then
  cmake --preset release >/dev/null && cmake --build --preset release >/dev/null
fi
((dry_run)) || mkdir -p "$OUT/figures"

if step machine "the CPU and, once bench/ exists, its FMA peak" machine.json; then
  $PY tools/machine.py describe "$OUT" --cpuinfo "$cpuinfo"
fi

if step bench "benchmarks (1 thread and $CPUS; every SIMD target at 1 thread); machine.json with the FMA peaks" \
    bench/mlp_bench_t1.json "bench/mlp_bench_t$CPUS.json" bench/mlp_bench_simd_t1.json machine.json; then
  mkdir -p "$OUT/bench"
  for t in $(printf '%s\n' 1 "$CPUS" | sort -nu); do
    "$BENCH" --threads="$t" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
      --benchmark_out="$OUT/bench/mlp_bench_t$t.json" --benchmark_out_format=json >/dev/null
  done
  "$BENCH" --threads=1 --simd-target=all --benchmark_filter='FmaPeak|GemmForward/m:32/n:512/k:784|GemmWeightGrad/m:784/n:512/k:32|TrainStep/784-512-10/batch:32' \
    --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
    --benchmark_out="$OUT/bench/mlp_bench_simd_t1.json" --benchmark_out_format=json >/dev/null
  $PY tools/machine.py describe "$OUT" --cpuinfo "$cpuinfo"
fi

reference=$OUT/runs/reference
if step reference "reference experiments (default threads; mlp512 with seeds 1-5)" \
    runs/reference/mlp512_5ep.json "runs/reference/mlp512_5ep-seed{2..5}.json" \
    runs/reference/mlp64_32_100ep.json; then
  mkdir -p "$reference"
  "$RUN" experiments/mlp512_5ep.json --quiet --force --out "$reference/mlp512_5ep.json"
  "$RUN" experiments/mlp64_32_100ep.json --quiet --force --out "$reference/mlp64_32_100ep.json"
  for seed in 2 3 4 5; do
    "$RUN" experiments/mlp512_5ep.json --quiet --force --seed $seed \
      --out "$reference/mlp512_5ep-seed$seed.json"
  done
fi

if step peers "PyTorch peers on both references (Python: 1 thread; libtorch where built: 1 torch + $CPUS OpenBLAS threads)" \
    "runs/reference/<experiment>-pytorch.json" "runs/reference/<experiment>-libtorch.json" \
    "figures/<experiment>_vs_pytorch.png"; then
  mkdir -p "$reference"
  for e in mlp512_5ep mlp64_32_100ep; do
    $PY bench/peers/pytorch_mlp.py experiments/$e.json --threads 1 --quiet --force \
      --out "$reference/$e-pytorch.json"
    logs=("$reference/$e.json" "$reference/$e-pytorch.json")
    # The libtorch C++ peer in its best configuration (bench/peers/README.md): 1 torch thread,
    # OpenBLAS on every CPU, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset.
    if [[ -x build/bench/libtorch_mlp ]]; then
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/bench/libtorch_mlp experiments/$e.json \
        --torch-threads 1 --blas-threads "$CPUS" --quiet --force --out "$reference/$e-libtorch.json"
      logs+=("$reference/$e-libtorch.json")
    fi
    $PY tools/plot_runs.py "${logs[@]}" -o "$OUT/figures/${e}_vs_pytorch.png"
  done
fi

if step side_by_side "engine vs PyTorch, interleaved" peers/mlp512/ peers/mlp64_32/; then
  rm -rf "$OUT/peers/mlp512" "$OUT/peers/mlp64_32"
  $PY bench/peers/side_by_side.py experiments/mlp512_5ep.json --epochs 2 --rounds 3 --out-dir "$OUT/peers/mlp512"
  $PY bench/peers/side_by_side.py experiments/mlp64_32_100ep.json --epochs 5 --rounds 3 --out-dir "$OUT/peers/mlp64_32"
fi

# study KIND MODEL EXPERIMENT EPOCHS SWEEP...: one study of a reference model and its figure
study() {
  local kind=$1 model=$2 experiment=$3 epochs=$4
  shift 4
  rm -rf "$OUT/studies/${kind}_$model"
  mkdir -p "$OUT/studies"
  "$RUN" "experiments/$experiment.json" --quiet --epochs "$epochs" "$@" --out "$OUT/studies/${kind}_$model"
  $PY tools/plot_scaling.py "$OUT/studies/${kind}_$model" -o "$OUT/figures/${kind}_$model.png" \
    --html "$OUT/studies/${kind}_$model.html" \
    --command "build/engine/run_experiment experiments/$experiment.json --quiet --epochs $epochs $*"
}

if step threads "thread studies of both reference models, threads $threads, 5 repeats" \
    studies/threads_mlp512/ studies/threads_mlp64_32/ figures/threads_mlp512.png figures/threads_mlp64_32.png \
    studies/threads_mlp512.html studies/threads_mlp64_32.html; then
  study threads mlp512 mlp512_5ep 3 --sweep-threads "$threads" --sweep-repeats 5
  study threads mlp64_32 mlp64_32_100ep 5 --sweep-threads "$threads" --sweep-repeats 5
fi

if step simd "SIMD-target studies of both reference models (every supported target), 3 repeats" \
    studies/simd_mlp512/ studies/simd_mlp64_32/ figures/simd_mlp512.png figures/simd_mlp64_32.png \
    studies/simd_mlp512.html studies/simd_mlp64_32.html; then
  targets=$("$RUN" --list-targets | sed -n 's/^supported: *//p' | tr -d ' ')
  study simd mlp512 mlp512_5ep 1 --sweep-simd "$targets" --sweep-repeats 3
  study simd mlp64_32 mlp64_32_100ep 3 --sweep-simd "$targets" --sweep-repeats 3
fi

if step roofline "the roofline (tools/roofline_study.sh)" roofline/ figures/roofline.svg; then
  tools/roofline_study.sh --out "$OUT"
fi

if step vendor "every GEMM of both steps: the engine against oneDNN, OpenBLAS and BLIS (1 and $CPUS threads; repetitions interleaved)" \
    bench/vendor_gemm.json; then
  if [[ -x build/bench/vendor_gemm ]]; then
    mkdir -p "$OUT/bench"
    # OpenBLAS at its own choice of kernels, as the peers' best configuration (docs/benchmarks.md)
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/bench/vendor_gemm --threads="$CPUS" \
      --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
      --benchmark_report_aggregates_only=true \
      --benchmark_out="$OUT/bench/vendor_gemm.json" --benchmark_out_format=json >/dev/null
  else
    echo "   skipped: build/bench/vendor_gemm is not built (it needs oneDNN, BLIS and OpenBLAS)"
  fi
fi

if step shards "the price of micro-shards in one process: steps (1 and $CPUS threads), mlp512 epochs" \
    "studies/shards_cost_t<T>.json" "studies/shards_epochs_t<T>.json"; then
  mkdir -p "$OUT/studies"
  for t in $(printf '%s\n' 1 "$CPUS" | sort -nu); do
    "$BENCH" --threads="$t" --benchmark_filter='BM_TrainStep/784-[0-9-]+/batch:32/' \
      --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
      --benchmark_out="$OUT/studies/shards_cost_t$t.json" --benchmark_out_format=json >/dev/null
    $PY tools/epoch_ab.py experiments/mlp512_5ep.json --a="--shards 1" --b="--shards 4" \
      --threads "$t" --rounds 30 --out "$OUT/studies/shards_epochs_t$t.json" >/dev/null
  done
fi

if step regression "regression tracking: this build, an unchanged rebuild, and a scalar-only build" \
    demo-history/ figures/regression_rebuild.png figures/regression_scalar.png; then
  # The demo history lives in the machine folder, where `latest`/`previous` of a user's own
  # history never look; files are compared by path.
  export MLPBENCH_HISTORY=$OUT/demo-history
  rm -rf "$MLPBENCH_HISTORY" && mkdir -p "$MLPBENCH_HISTORY"
  $PY tools/track.py record --set key --quiet
  cmake --build --preset release --clean-first >/dev/null
  $PY tools/track.py record --set key --quiet
  cmake --preset scalar >/dev/null && cmake --build --preset scalar --target mlp_bench >/dev/null
  $PY tools/track.py record --set key --quiet --bench build-scalar/bench/mlp_bench
  mapfile -t entries < <(ls "$MLPBENCH_HISTORY"/raw/*/*Z_*.json | grep -v '\.host\.json$' | sort)
  $PY tools/track.py compare "${entries[0]}" "${entries[1]}" -o "$OUT/figures/regression_rebuild.png" \
    | tee "$MLPBENCH_HISTORY/compare_rebuild.txt" || true
  $PY tools/track.py compare --allow-cross "${entries[0]}" "${entries[2]}" \
    -o "$OUT/figures/regression_scalar.png" | tee "$MLPBENCH_HISTORY/compare_scalar.txt" || true
  $PY tools/track.py ab --bench-a build/bench/mlp_bench --bench-b build-scalar/bench/mlp_bench \
    --max-blocks 8 | tee "$MLPBENCH_HISTORY/ab_scalar.txt" || true
  unset MLPBENCH_HISTORY
fi

if step pictures "the model diagrams and dataset samples" figures/model_mlp512.png \
    figures/model_mlp64_32.png figures/mnist_samples.png figures/fashion_samples.png; then
  $PY tools/plot_model.py experiments/mlp512_5ep.json -o "$OUT/figures/model_mlp512.png"
  $PY tools/plot_model.py experiments/mlp64_32_100ep.json -o "$OUT/figures/model_mlp64_32.png"
  $PY tools/show_samples.py --dataset mnist -o "$OUT/figures/mnist_samples.png"
  $PY tools/show_samples.py --dataset fashion-mnist -o "$OUT/figures/fashion_samples.png"
fi

if step readme "the folder's README.md: generated if missing, else its tables checked" README.md; then
  # README.md's headline table comes from the one machine folder it links to
  if grep -q "](results/$machine/README.md)" README.md && [[ "$root" == results ]]; then
    $PY tools/results_tables.py "$OUT" --check README.md
  fi
  if [[ -e "$OUT/README.md" ]]; then
    $PY tools/results_tables.py "$OUT" --check "$OUT/README.md"
  else
    tmp=$(mktemp "$OUT/.README.md.XXXXXX")
    if $PY tools/results_tables.py "$OUT" --readme >"$tmp"; then
      chmod 644 "$tmp" && mv -f "$tmp" "$OUT/README.md"
    else
      rm -f "$tmp"; exit 1
    fi
  fi
fi

if step page "the folder's self-contained HTML page" results.html; then
  $PY tools/results_page.py "$OUT" -o "$OUT/results.html"
fi
((dry_run)) || echo "done: $OUT updated"
