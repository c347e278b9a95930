"""build/bench/mlp_bench's roofline inputs: the bandwidth benchmarks run briefly and report
their counters and the cache sizes they were sized from; the GEMM, Adam and step benchmarks
report the work counted from their shapes (bench/work_counts.h)."""

import json
import os
import subprocess

import pytest

from conftest import TOOLS

MLP_BENCH = os.path.join(os.path.dirname(TOOLS), "build", "bench", "mlp_bench")
pytestmark = pytest.mark.skipif(not os.path.exists(MLP_BENCH),
                                reason="needs the release build (cmake --preset release)")
FLOAT = 4


def bench(regex, threads=2):
    r = subprocess.run([MLP_BENCH, f"--threads={threads}", f"--benchmark_filter={regex}",
                        "--benchmark_min_time=0.001", "--benchmark_format=json"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    return out["context"], {b["name"].removesuffix("/real_time"): b for b in out["benchmarks"]}


def test_bandwidth_benchmarks_cover_every_kernel_and_level_and_report_bytes_per_second():
    context, records = bench("BM_Bandwidth")
    caches = {key: int(context[f"mlpbench_cache_{key}_bytes"]) for key in ("l1d", "l2", "l3")}
    assert caches["l1d"] > 0 and caches["l2"] > 0  # every x86 Linux host reports these
    assert context["mlpbench_bandwidth_stores"].startswith("ordinary stores")
    levels = {"L1": caches["l1d"] // 2 * 2, "L2": caches["l2"] // 2 * 2}
    if caches["l3"]:
        levels["L3"] = caches["l3"] // 2
    levels["DRAM"] = max(4 * caches["l3"], 64 << 20)
    expected = {f"BM_Bandwidth/{k}/{level}/bytes:{size}"
                for k in ("copy", "triad", "sum") for level, size in levels.items()}
    assert set(records) == expected
    for name, record in records.items():
        assert not record.get("error_occurred"), name
        assert record["bytes_per_second"] > 0, name
        # the arrays really allocated: the level's size, less at most one element per array
        size = int(name.rsplit(":", 1)[1])
        assert size - 3 * 2 * FLOAT <= record["working_set_bytes"] <= size, name


def test_gemm_adam_and_step_report_their_counted_work():
    _, records = bench("BM_GemmForward/m:32/n:512/k:784/|BM_GemmWeightGradAdam/m:784/n:512/k:32/"
                       "|BM_GemmInputGrad/m:32/n:64/k:32/|BM_Adam/params:52650/"
                       "|BM_TrainStep/784-64-32-10/batch:32/", threads=1)
    fwd = records["BM_GemmForward/m:32/n:512/k:784"]
    assert fwd["flops_per_iteration"] == 2 * 32 * 512 * 784
    assert fwd["bytes_per_iteration"] == FLOAT * (32 * 784 + 784 * 512 + 512 + 32 * 512)
    adam_gemm = records["BM_GemmWeightGradAdam/m:784/n:512/k:32"]
    mn = 784 * 512
    assert adam_gemm["flops_per_iteration"] == 2 * mn * 32 + 12 * mn
    assert adam_gemm["bytes_per_iteration"] == FLOAT * (784 * 32 + 32 * 512 + 6 * mn)
    assert adam_gemm["working_set_bytes"] == FLOAT * (784 * 32 + 32 * 512 + 3 * mn)
    masked = records["BM_GemmInputGrad/m:32/n:64/k:32"]  # masked by the layer below's ReLU
    assert masked["bytes_per_iteration"] == FLOAT * (32 * 32 + 32 * 64 + 2 * 32 * 64)
    adam = records["BM_Adam/params:52650"]
    assert (adam["flops_per_iteration"], adam["bytes_per_iteration"]) == (12 * 52650, 28 * 52650)
    params = 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10
    assert params == 52650
    gemm_flops = 32 * 2 * (3 * (784 * 64 + 64 * 32 + 32 * 10) - 784 * 64)
    for shards in ("", "/shards:2", "/shards:4", "/shards:8"):
        step = records[f"BM_TrainStep/784-64-32-10/batch:32{shards}"]
        assert step["flops_per_iteration"] == gemm_flops + 12 * params
        assert step["bytes_per_iteration"] == 32 * (FLOAT * 784 + 1) + 6 * FLOAT * params
