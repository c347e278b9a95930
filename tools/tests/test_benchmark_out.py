"""The benchmark programs make --benchmark_out's folder (Google Benchmark alone does not, so a
documented command writing into results/runs/ failed in a fresh clone), and say so in one line
when they cannot."""

import json
import os
import subprocess

import pytest

from conftest import TOOLS

BENCH = os.path.join(os.path.dirname(TOOLS), "build", "bench")


def program(name):
    path = os.path.join(BENCH, name)
    if not os.path.exists(path):
        pytest.skip(f"needs {name} in the release build")
    return path


def test_mlp_bench_makes_the_folder_of_its_output(tmp_path):
    out = tmp_path / "not" / "yet" / "there.json"
    r = subprocess.run([program("mlp_bench"), "--threads=1", "--benchmark_filter=BM_TeamBarrier",
                        "--benchmark_min_time=0.001", f"--benchmark_out={out}"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert [b["name"] for b in json.loads(out.read_text())["benchmarks"]]


@pytest.mark.parametrize("name", ["mlp_bench", "vendor_gemm"])
def test_a_folder_that_cannot_be_made_is_a_one_line_error(tmp_path, name):
    (tmp_path / "file").write_text("a file, not a folder\n")
    r = subprocess.run([program(name), "--benchmark_filter=NOTHING",
                        f"--benchmark_out={tmp_path}/file/out.json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert r.stderr.startswith(f"{name}: --benchmark_out: cannot make the folder {tmp_path}/file: ")
    assert len(r.stderr.strip().splitlines()) == 1
    assert not r.stdout
