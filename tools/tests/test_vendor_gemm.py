"""bench/vendor_gemm (the built binary): a record for every GEMM of both reference steps, on every
library and thread count, each checked against its float64 reference before it was timed."""

import json
import os
import subprocess

import pytest

from conftest import TOOLS

VENDOR_GEMM = os.path.join(os.path.dirname(TOOLS), "build", "bench", "vendor_gemm")
pytestmark = pytest.mark.skipif(not os.path.exists(VENDOR_GEMM),
                                reason="build/bench/vendor_gemm not built (needs oneDNN, BLIS, OpenBLAS)")
LIBRARIES = ("engine", "onednn_sgemm", "onednn_matmul", "openblas", "blis")


def step_shapes():
    """(op, m, n, k) of every GEMM of a training step of 784-512-10 and 784-64-32-10."""
    shapes = []
    for widths in ((784, 512, 10), (784, 64, 32, 10)):
        for batch in (32, 256):
            for layer, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
                shapes.append(("forward", batch, fan_out, fan_in))
                shapes.append(("weight_grad", fan_in, fan_out, batch))
                if layer > 0:
                    shapes.append(("input_grad", batch, fan_in, fan_out))
    return shapes


def run(*args):
    return subprocess.run([VENDOR_GEMM, *args], capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_every_shape_library_and_thread_count_has_a_verified_record():
    r = run("--threads=2", "--benchmark_min_time=0.001", "--benchmark_format=json")
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    records = {b["name"]: b for b in out["benchmarks"]}
    expected = {f"BM_VendorGemm/{op}/m:{m}/n:{n}/k:{k}/threads:{t}/{lib}/real_time"
                for op, m, n, k in step_shapes() for t in (1, 2) for lib in LIBRARIES}
    assert len(expected) == 26 * 2 * len(LIBRARIES)
    assert not expected - set(records), sorted(expected - set(records))[:5]
    for name in expected:
        assert not records[name].get("error_occurred"), (name, records[name].get("error_message"))
        assert records[name]["GFLOPS"] > 0, name
    context = out["context"]
    assert context["mlpbench_threads"] == "2" and context["mlpbench_cpu_id"]
    assert context["vendor_blis_arch"] and context["vendor_blis_arch_chosen_by"]
    assert context["vendor_openblas"].startswith("OpenBLAS")


def test_a_chosen_blis_arch_is_recorded():
    r = run("--blis-arch=generic", "--benchmark_filter=forward/m:32/n:10/k:512/threads:1/blis",
            "--benchmark_min_time=0.001", "--benchmark_format=json")
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["context"]["vendor_blis_arch"] == "generic"
    assert out["context"]["vendor_blis_arch_chosen_by"] == "--blis-arch"
    assert [b["name"] for b in out["benchmarks"]] == [
        "BM_VendorGemm/forward/m:32/n:10/k:512/threads:1/blis/real_time"]


@pytest.mark.parametrize("args, needle", [(["--threads=0"], "--threads"),
                                          (["--blis-arch=zen9"], "--blis-arch"),
                                          (["--no-such-flag"], "no-such-flag")])
def test_bad_arguments_exit_2(args, needle):
    r = run(*args)
    assert r.returncode == 2, r
    assert needle in r.stderr and "Traceback" not in r.stderr
