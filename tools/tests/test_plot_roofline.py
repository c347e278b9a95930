"""tools/plot_roofline.py: the roofline model on synthetic counts, the tool end to end on the
committed runs in fixtures/roofline (two short mlp_bench runs, at 1 and 2 threads, of the FMA
peak, the triad bandwidth, every GEMM of 784-64-32-10's step at batch 32, Adam and that step, made
on a loaded host by `build/bench/mlp_bench --threads=T --benchmark_min_time=0.001
--benchmark_filter='^BM_(FmaPeak|Bandwidth/triad|GemmForward/m:32/n:(64|32|10)/k:(784|64|32)/|
GemmWeightGradAdam/m:(784|64|32)/n:(64|32|10)/k:32/|GemmInputGrad/m:32/n:(64|32)/k:(32|10)/|
Adam/params:52650|TrainStep/784-64-32-10/batch:32/real|TeamBarrier)' --benchmark_out=...`), and
bad inputs."""

import copy
import json
import math

import pytest

from mlpbench.plots import roofline as pr
from conftest import assert_clean_error, assert_png, assert_svg, fixture

RUNS = fixture("roofline")
CACHE = {"L1": 48 << 10, "L2": 1 << 20, "L3": 32 << 20}


def kernel(flops, bytes_, working_set, seconds, threads=1, target="AVX2"):
    return pr.Kernel("BM_GemmForward/m:1/n:1/k:1", target, threads, flops, bytes_, working_set,
                     seconds)


# ----------------------------------------------------------------------------- the model

def test_private_levels_grow_with_the_team_and_l3_is_shared():
    caps = pr.team_capacities(CACHE, 2)
    assert caps == {"L1": 96 << 10, "L2": 2 << 20, "L3": 32 << 20, "DRAM": math.inf}
    assert pr.team_capacities({"L1": 1024, "L2": 4096, "L3": 0}, 1) == \
        {"L1": 1024, "L2": 4096, "DRAM": math.inf}


def test_the_level_is_the_smallest_that_holds_the_working_set():
    caps = pr.team_capacities(CACHE, 1)
    assert pr.memory_level(48 << 10, caps) == "L1"
    assert pr.memory_level((48 << 10) + 1, caps) == "L2"
    assert pr.memory_level(20 << 20, caps) == "L3"
    assert pr.memory_level(33 << 20, caps) == "DRAM"
    no_l3 = pr.team_capacities({"L1": 1024, "L2": 4096, "L3": 0}, 1)
    assert pr.memory_level(5000, no_l3) == "DRAM"


def test_roof_is_the_lower_of_peak_and_intensity_times_bandwidth():
    assert pr.roof(1.0, 100.0, 50.0) == (50.0, "memory")
    assert pr.roof(4.0, 100.0, 50.0) == (100.0, "compute")
    assert pr.roof(2.0, 100.0, 50.0) == (100.0, "compute")  # at the ridge point: compute


def test_placement_uses_the_kernels_target_thread_count_and_level():
    peaks = {("AVX2", 1): 100.0, ("AVX2", 2): 200.0, ("SSE4", 1): 50.0}
    bandwidths = {("L1", 1): 400.0, ("L2", 1): 100.0, ("L3", 1): 40.0, ("DRAM", 1): 10.0,
                  ("L1", 2): 800.0, ("L2", 2): 200.0, ("L3", 2): 60.0, ("DRAM", 2): 20.0}
    # 1 GFLOP in 0.1 s = 10 GFLOP/s at 0.5 flop/B, 10 MB working set: L3, 0.5 x 40 = 20 GFLOP/s
    k = kernel(1e9, 2e9, 10 << 20, 0.1)
    p = pr.place(k, peaks, bandwidths, pr.team_capacities(CACHE, 1))
    assert (p.level, p.binds, p.roof) == ("L3", "memory", 20.0)
    assert p.fraction == pytest.approx(0.5)
    assert p.verdict() == "L3 bandwidth"
    # the same counts at high intensity: the FMA peak binds
    k = kernel(1e9, 1e7, 10 << 20, 0.1)
    p = pr.place(k, peaks, bandwidths, pr.team_capacities(CACHE, 1))
    assert (p.binds, p.roof, p.fraction) == ("compute", 100.0, pytest.approx(0.1))
    assert p.verdict() == "compute (AVX2 FMA peak)"
    # faster than its roof allows: said, not hidden
    p = pr.place(kernel(1e9, 1e7, 10 << 20, 0.005), peaks, bandwidths, pr.team_capacities(CACHE, 1))
    assert p.fraction == pytest.approx(2.0)
    assert p.verdict() == "compute (AVX2 FMA peak), ABOVE THE ROOF"
    # the SSE4 kernel gets the SSE4 peak; 2 threads get the 2-thread roofs and capacities
    p = pr.place(kernel(1e9, 1e7, 1 << 20, 0.1, target="SSE4"), peaks, bandwidths,
                 pr.team_capacities(CACHE, 1))
    assert p.roof == 50.0
    k = kernel(1e9, 2e9, (1 << 20) + 1, 0.1, threads=2)  # 0.5 flop/B; 2 L2 caches hold it
    p = pr.place(k, peaks, bandwidths, pr.team_capacities(CACHE, 2))
    assert (p.level, p.binds, p.roof) == ("L2", "memory", 100.0)


# ----------------------------------------------------------------------------- end to end

PHASES = [("forward 1 (784->64)", "BM_GemmForward/m:32/n:64/k:784"),
          ("forward 2 (64->32)", "BM_GemmForward/m:32/n:32/k:64"),
          ("forward 3 (32->10)", "BM_GemmForward/m:32/n:10/k:32"),
          ("weight grad + Adam 3", "BM_GemmWeightGradAdam/m:32/n:10/k:32"),
          ("input grad 3", "BM_GemmInputGrad/m:32/n:32/k:10"),
          ("weight grad + Adam 2", "BM_GemmWeightGradAdam/m:64/n:32/k:32"),
          ("input grad 2", "BM_GemmInputGrad/m:32/n:64/k:32"),
          ("weight grad + Adam 1", "BM_GemmWeightGradAdam/m:784/n:64/k:32")]
KERNELS = tuple(name for _, name in PHASES) + ("BM_Adam/params:52650",
                                               "BM_TrainStep/784-64-32-10/batch:32")


def test_a_steps_phases_are_its_gemms_in_the_order_the_step_runs_them():
    assert pr.step_phases([784, 64, 32, 10], 32) == PHASES
    assert pr.step_phases([784, 512, 10], 256) == [
        ("forward 1 (784->512)", "BM_GemmForward/m:256/n:512/k:784"),
        ("forward 2 (512->10)", "BM_GemmForward/m:256/n:10/k:512"),
        ("weight grad + Adam 2", "BM_GemmWeightGradAdam/m:512/n:10/k:256"),
        ("input grad 2", "BM_GemmInputGrad/m:256/n:512/k:10"),
        ("weight grad + Adam 1", "BM_GemmWeightGradAdam/m:784/n:512/k:256")]


def test_draws_the_fixture_runs_and_prints_every_kernels_verdict(run, tmp_path):
    r = run("plot_roofline.py", RUNS, "-o", tmp_path / "roofline.png")
    assert r.code == 0, r
    assert_png(tmp_path / "roofline.png")
    assert "CPU: AMD EPYC (family 26 model 2)" in r.out
    rows = [line.split() for line in r.out.splitlines()
            if line.strip().startswith("BM_") and not line.rstrip().endswith(":")]
    assert len(rows) == 2 * len(KERNELS), r.out
    for name in KERNELS:
        assert sum(row[0] == name for row in rows) == 2, name
    for row in rows:
        verdict = " ".join(row[6:]).removesuffix(", ABOVE THE ROOF")
        assert verdict in ("compute (AVX3 FMA peak)",) + tuple(f"{lv} bandwidth" for lv in pr.LEVELS)
    # the step's distance to its roof, and each phase's, at both thread counts
    assert r.out.count("BM_TrainStep/784-64-32-10/batch:32: ") == 2
    for phase, name in PHASES:
        lines = [line for line in r.out.splitlines() if line.split()[:len(phase.split()) + 1]
                 == phase.split() + [name]]
        assert len(lines) == 2 and all("of its roof (" in line for line in lines), (phase, r.out)
    assert r.out.count("sum of the phases") == 2
    # the fixture's runs had a load average above the machine's 2 CPUs
    assert r.out.count("NOISY HOST: load average") == 2


def quiet_copy(tmp_path, name):
    data = json.load(open(fixture("roofline", name)))
    data["context"]["load_avg"] = [0.1, 0.1, 0.1]
    data["benchmarks"] = [b for b in data["benchmarks"] if not b["name"].startswith("BM_TeamBarrier")]
    return data


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_a_quiet_run_is_not_marked_and_svg_works(run, tmp_path):
    path = write(tmp_path, "t1.json", quiet_copy(tmp_path, "mlp_bench_t1.json"))
    r = run("plot_roofline.py", path, "-o", tmp_path / "r.svg")
    assert r.code == 0, r
    assert_svg(tmp_path / "r.svg")
    assert "NOISY" not in r.out and "NOISY" not in (tmp_path / "r.svg").read_text()


def test_a_noisy_run_is_marked_in_the_figure(run, tmp_path):
    r = run("plot_roofline.py", fixture("roofline", "mlp_bench_t1.json"), "-o", tmp_path / "r.svg")
    assert r.code == 0, r
    assert "NOISY HOST" in (tmp_path / "r.svg").read_text()


# ----------------------------------------------------------------------------- bad input

def mutated(tmp_path, change):
    data = quiet_copy(tmp_path, "mlp_bench_t1.json")
    change(data)
    return write(tmp_path, "bad.json", data)


def entry(data, prefix):
    return next(b for b in data["benchmarks"] if b["name"].startswith(prefix))


@pytest.mark.parametrize("change, needles", [
    (lambda d: d["context"].pop("mlpbench_threads"), ["/context/mlpbench_threads: missing"]),
    (lambda d: d["context"].update(mlpbench_cache_l2_bytes="big"),
     ["/context/mlpbench_cache_l2_bytes: expected an integer"]),
    (lambda d: entry(d, "BM_GemmForward").update(flops_per_iteration="many"),
     ["/flops_per_iteration: expected a number, got \"many\""]),  # the schema's check
    (lambda d: entry(d, "BM_Adam").update(bytes_per_iteration=-1.0),
     ["/bytes_per_iteration: expected a number >= 0, got -1.0"]),
    (lambda d: entry(d, "BM_Bandwidth").pop("bytes_per_second"),
     ["/bytes_per_second: expected a positive number, got nothing"]),
    (lambda d: d.update(benchmarks=[b for b in d["benchmarks"] if "FmaPeak" not in b["name"]]),
     ["no BM_FmaPeak of target AVX3"]),
    (lambda d: d.update(benchmarks=[b for b in d["benchmarks"] if "/L2/" not in b["name"]]),
     ["no BM_Bandwidth benchmark for L2"]),
    (lambda d: d.update(benchmarks=[b for b in d["benchmarks"]
                                    if "flops_per_iteration" not in b]), ["nothing to place"]),
    (lambda d: d.update(benchmarks="none"), ["/benchmarks: expected a list"]),
])
def test_bad_input_exits_2_naming_file_and_field(run, tmp_path, change, needles):
    path = mutated(tmp_path, change)
    r = run("plot_roofline.py", path, "-o", tmp_path / "out.png")
    assert_clean_error(r, str(path), *needles)
    assert not (tmp_path / "out.png").exists()


def test_not_json_two_runs_of_one_thread_count_and_an_empty_folder(run, tmp_path):
    (tmp_path / "x.json").write_text("{\"benchmarks\": [")
    assert_clean_error(run("plot_roofline.py", tmp_path / "x.json"), "x.json", "invalid JSON")
    t1 = fixture("roofline", "mlp_bench_t1.json")
    assert_clean_error(run("plot_roofline.py", t1, t1), "two runs at the same thread count")
    (tmp_path / "empty").mkdir()
    assert_clean_error(run("plot_roofline.py", tmp_path / "empty"), "without any .json file")
    assert_clean_error(run("plot_roofline.py", RUNS, "-o", tmp_path / "r.pdf"),
                       "unsupported output format")
    other = copy.deepcopy(json.load(open(t1)))
    other["context"]["mlpbench_cpu_id"] = "GenuineIntel family 6 model 85 stepping 7"
    other["context"]["mlpbench_threads"] = "4"
    assert_clean_error(run("plot_roofline.py", t1, write(tmp_path, "o.json", other)),
                       "runs of different CPUs")
    assert not list(tmp_path.glob("*.png"))
