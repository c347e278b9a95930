#!/usr/bin/env bash
# Re-measures everything committed under results/ on this machine: benchmarks, both reference
# experiments and their PyTorch peers, the side-by-side speed comparison, a thread-scaling and a
# SIMD-target study, and a regression comparison. About 20 minutes on 2 cores.
# Run it on an otherwise idle machine (nothing else compiling or training): every figure is a
# timing. Usage: tools/reproduce_results.sh [step ...]   (steps: bench reference peers
# side_by_side threads simd shards regression page; default: all; page: the HTML page of the
# results and the check of the tables README.md and results/README.md take from the logs)
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
PY=/usr/bin/python3
RUN=build/engine/run_experiment
BENCH=build/bench/mlp_bench
steps=("$@")
((${#steps[@]})) || steps=(bench reference peers side_by_side threads simd shards regression page)
want() { [[ " ${steps[*]} " == *" $1 "* ]]; }

cmake --preset release >/dev/null && cmake --build --preset release >/dev/null
mkdir -p results/bench results/runs/reference results/studies results/figures

if want bench; then
  echo "== benchmarks (1 and 2 threads; every SIMD target at 1 thread)"
  for t in 1 2; do
    "$BENCH" --threads=$t --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
      --benchmark_out=results/bench/mlp_bench_t$t.json --benchmark_out_format=json >/dev/null
  done
  "$BENCH" --threads=1 --simd-target=all --benchmark_filter='FmaPeak|GemmForward/m:32/n:512/k:784|GemmWeightGrad/m:784/n:512/k:32|TrainStep/784-512-10/batch:32' \
    --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
    --benchmark_out=results/bench/mlp_bench_simd_t1.json --benchmark_out_format=json >/dev/null
fi

if want reference; then
  echo "== reference experiments (2 threads)"
  "$RUN" experiments/mlp512_5ep.json --quiet --force --out results/runs/reference/mlp512_5ep.json
  "$RUN" experiments/mlp64_32_100ep.json --quiet --force --out results/runs/reference/mlp64_32_100ep.json
  for seed in 2 3 4 5; do
    "$RUN" experiments/mlp512_5ep.json --quiet --force --seed $seed \
      --out results/runs/reference/mlp512_5ep-seed$seed.json
  done
fi

if want peers; then
  echo "== PyTorch peers on both references (Python: 1 thread; libtorch: 1 torch + 2 OpenBLAS threads)"
  $PY bench/peers/pytorch_mlp.py experiments/mlp512_5ep.json --threads 1 --quiet --force \
    --out results/runs/reference/mlp512_5ep-pytorch.json
  $PY bench/peers/pytorch_mlp.py experiments/mlp64_32_100ep.json --threads 1 --quiet --force \
    --out results/runs/reference/mlp64_32_100ep-pytorch.json
  # The libtorch C++ peer where it is built, in its best configuration (bench/peers/README.md):
  # 1 torch thread, 2 OpenBLAS threads, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset.
  for e in mlp512_5ep mlp64_32_100ep; do
    logs=(results/runs/reference/$e.json results/runs/reference/$e-pytorch.json)
    if [[ -x build/bench/libtorch_mlp ]]; then
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/bench/libtorch_mlp experiments/$e.json \
        --torch-threads 1 --blas-threads 2 --quiet --force --out results/runs/reference/$e-libtorch.json
      logs+=(results/runs/reference/$e-libtorch.json)
    fi
    $PY tools/plot_runs.py "${logs[@]}" -o results/figures/${e}_vs_pytorch.png
  done
fi

if want side_by_side; then
  echo "== engine vs PyTorch, interleaved"
  rm -rf results/peers/mlp512 results/peers/mlp64_32
  $PY bench/peers/side_by_side.py experiments/mlp512_5ep.json --epochs 2 --rounds 3 --out-dir results/peers/mlp512
  $PY bench/peers/side_by_side.py experiments/mlp64_32_100ep.json --epochs 5 --rounds 3 --out-dir results/peers/mlp64_32
fi

if want threads; then
  echo "== thread-scaling study"
  rm -rf results/studies/threads_mlp512 results/studies/threads_mlp64_32
  "$RUN" experiments/mlp512_5ep.json --quiet --epochs 3 --sweep-threads 1,2 --out results/studies/threads_mlp512
  "$RUN" experiments/mlp64_32_100ep.json --quiet --epochs 5 --sweep-threads 1,2 --out results/studies/threads_mlp64_32
  $PY tools/plot_scaling.py results/studies/threads_mlp512 -o results/figures/threads_mlp512.png
  $PY tools/plot_scaling.py results/studies/threads_mlp64_32 -o results/figures/threads_mlp64_32.png
fi

if want simd; then
  echo "== SIMD-target study"
  rm -rf results/studies/simd_mlp512
  "$RUN" experiments/mlp512_5ep.json --quiet --epochs 1 --threads 2 \
    --sweep-simd "$("$RUN" --list-targets | sed -n 's/^supported: *//p' | tr -d ' ')" --out results/studies/simd_mlp512
  $PY tools/plot_scaling.py results/studies/simd_mlp512 -o results/figures/simd_mlp512.png
fi

if want shards; then
  echo "== the price of micro-shards in one process: steps (1 and 2 threads), mlp512 epochs"
  for t in 1 2; do
    "$BENCH" --threads=$t --benchmark_filter='BM_TrainStep/784-[0-9-]+/batch:32/' \
      --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
      --benchmark_out=results/studies/shards_cost_t$t.json --benchmark_out_format=json >/dev/null
  done
  for t in 1 2; do
    $PY tools/epoch_ab.py experiments/mlp512_5ep.json --a="--shards 1" --b="--shards 4" \
      --threads $t --rounds 30 --out results/studies/shards_epochs_t$t.json >/dev/null
  done
fi

if want regression; then
  echo "== regression tracking: this build, an unchanged rebuild, and a scalar-only build"
  # The demo history lives in the repo (results/demo-history), where `latest`/`previous` of a
  # user's own history never look; files are compared by path.
  export MLPBENCH_HISTORY=results/demo-history
  rm -rf results/demo-history && mkdir -p results/demo-history
  $PY tools/track.py record --set key --quiet
  cmake --build --preset release --clean-first >/dev/null
  $PY tools/track.py record --set key --quiet
  cmake --preset scalar >/dev/null && cmake --build --preset scalar --target mlp_bench >/dev/null
  $PY tools/track.py record --set key --quiet --bench build-scalar/bench/mlp_bench
  mapfile -t entries < <(ls results/demo-history/raw/*/*Z_*.json | grep -v '\.host\.json$' | sort)
  $PY tools/track.py compare "${entries[0]}" "${entries[1]}" -o results/figures/regression_rebuild.png \
    | tee results/demo-history/compare_rebuild.txt || true
  $PY tools/track.py compare --allow-cross "${entries[0]}" "${entries[2]}" \
    -o results/figures/regression_scalar.png | tee results/demo-history/compare_scalar.txt || true
  $PY tools/track.py ab --bench-a build/bench/mlp_bench --bench-b build-scalar/bench/mlp_bench \
    --max-blocks 8 | tee results/demo-history/ab_scalar.txt || true
  unset MLPBENCH_HISTORY
fi

if want page; then
  echo "== the results page and the README's headline table, from the logs"
  $PY tools/results_page.py results -o results/runs/results.html
  for doc in README.md results/README.md; do
    $PY tools/results_tables.py results --check $doc ||
      echo "$doc: replace its marked tables with what tools/results_tables.py prints"
  done
fi
echo "done: results/ updated"
