"""bench/reduction_bench under FindMPI's launcher with 2 ranks, briefly (CTest mpi.reduction_bench).

Checks what the benchmark reports, not how fast: both reductions at both reference models'
parameter counts and the size sweep, 2 ranks, a payload rate, rank 0 alone reporting, and the
tree's traffic (with 2 ranks each rank sends half the buffer in the reduce-scatter and the
other half in the allgather: the whole buffer once).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mpiexec", required=True)
    p.add_argument("--np-flag", default="-n")
    p.add_argument("--preflags", default="")
    p.add_argument("--bench", required=True)
    a = p.parse_args()
    # Open MPI refuses root without these; oversubscription lets 2 ranks share fewer cores.
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        cmd = ([a.mpiexec, a.np_flag, "2"] + shlex.split(a.preflags) +
               [a.bench, "--benchmark_min_time=0.002", f"--benchmark_out={out}",
                "--benchmark_out_format=json"])
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
        if r.returncode != 0:
            sys.exit(f"FAIL: {' '.join(cmd)} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
        with open(out) as f:
            # Manual time (the slowest rank's) adds /manual_time to every name.
            runs = {b["name"].removesuffix("/manual_time"): b for b in json.load(f)["benchmarks"]}
    # Rank 0 alone prints: each benchmark once on stdout.
    for name in runs:
        if r.stdout.count(name + "/manual_time ") != 1:
            sys.exit(f"FAIL: {name} printed {r.stdout.count(name + '/manual_time ')} times\n{r.stdout}")
    want = [f"{kind}/{model}/params:{params}"
            for kind in ("BM_TreeAllreduce", "BM_MpiAllreduce")
            for model, params in (("784-512-10", 407050), ("784-64-32-10", 52650))]
    sweep = sorted(int(n.split(":")[-1]) for n in runs if n.startswith("BM_TreeAllreduce/sweep/"))
    if len(sweep) < 5 or sweep[0] > 100 or sweep[-1] < 4_000_000:
        sys.exit(f"FAIL: the sweep covers {sweep}, not 64 to 4M floats")
    want += [f"{kind}/sweep/floats:{n}" for kind in ("BM_TreeAllreduce", "BM_MpiAllreduce") for n in sweep]
    for name in want:
        b = runs.get(name)
        if b is None:
            sys.exit(f"FAIL: {name} missing; got {sorted(runs)}")
        floats = b["floats"]
        if b["ranks"] != 2 or not b["bytes_per_second"] > 0 or b["iterations"] < 1:
            sys.exit(f"FAIL: {name}: {b}")
        if "params:" in name and not 0 <= floats - int(name.split(":")[-1]) < 64:
            sys.exit(f"FAIL: {name} reduces {floats} floats")
        if b["sent_bytes"] != 4 * floats:
            sys.exit(f"FAIL: {name}: sent {b['sent_bytes']} bytes, expected {4 * floats}")
    print(f"reduction_bench under 2 ranks: {len(want)} benchmarks, sweep {sweep[0]} to {sweep[-1]} floats")
    return 0


if __name__ == "__main__":
    sys.exit(main())
