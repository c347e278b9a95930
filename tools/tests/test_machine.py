"""tools/machine.py: a results folder's name from a cpuinfo file, and machine.json with the FMA
peaks of the folder's benchmark runs, valid against schemas/machine.schema.json."""

import json
import os
import shutil

from conftest import TOOLS, assert_clean_error, fixture

from mlpbench import schemas

ZEN4 = os.path.join(os.path.dirname(TOOLS), "results", "amd-f25m17-2cpu")


def test_names_from_cpuinfo(run):
    r = run("machine.py", "name", "--cpuinfo", fixture("cpuinfo", "zen4_2cpu"))
    assert (r.code, r.out) == (0, "amd-f25m17-2cpu\n"), r
    r = run("machine.py", "name", "--cpuinfo", fixture("cpuinfo", "arm_4cpu"))
    assert (r.code, r.out) == (0, "arm-i0x41p0xd0c-4cpu\n"), r


def test_machine_json_holds_the_peaks_of_the_folders_benchmarks(run, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    r = run("machine.py", "describe", folder, "--cpuinfo", fixture("cpuinfo", "zen4_2cpu"))
    assert r.code == 0, r
    facts = json.loads((folder / "machine.json").read_text())
    schemas.check("machine", "machine.json", facts)
    assert facts["name"] == "amd-f25m17-2cpu" and facts["fma_peak_gflops"] == {}
    shutil.copytree(os.path.join(ZEN4, "bench"), folder / "bench")
    assert run("machine.py", "describe", folder, "--cpuinfo",
               fixture("cpuinfo", "zen4_2cpu")).code == 0
    facts = json.loads((folder / "machine.json").read_text())
    schemas.check("machine", "machine.json", facts)
    # the median aggregates of the committed runs (--benchmark_report_aggregates_only)
    assert list(facts["fma_peak_gflops"]) == ["1", "2"]
    assert round(facts["fma_peak_gflops"]["2"]["gflops"], 1) == 227.8
    assert facts["fma_peak_gflops"]["1"]["simd_target"] == "AVX3"
    assert facts["logical_cpus"] == 2 and facts["cpu_family"] == "25"


def test_the_committed_machine_files_match_the_schema_and_their_folders():
    results = os.path.dirname(ZEN4)
    folders = [f for f in os.listdir(results) if os.path.isdir(os.path.join(results, f))
               and f != "runs"]
    assert "amd-f25m17-2cpu" in folders
    for name in folders:
        path = os.path.join(results, name, "machine.json")
        with open(path, encoding="utf-8") as f:
            assert schemas.check("machine", path, json.load(f))["name"] == name


def test_bad_input_is_one_line(run, tmp_path):
    (tmp_path / "cpuinfo").write_text("processor : 0\nflags : fpu\n")
    assert_clean_error(run("machine.py", "name", "--cpuinfo", tmp_path / "cpuinfo"), "cpuinfo",
                       "cannot name the machine")
    (tmp_path / "empty").write_text("")
    assert_clean_error(run("machine.py", "name", "--cpuinfo", tmp_path / "empty"),
                       "not a cpuinfo file")
    assert_clean_error(run("machine.py", "describe"), "describe needs FOLDER")
    (tmp_path / "m" / "bench").mkdir(parents=True)
    (tmp_path / "m" / "bench" / "mlp_bench_t1.json").write_text('{"benchmarks": []}')
    r = run("machine.py", "describe", tmp_path / "m", "--cpuinfo", fixture("cpuinfo", "zen4_2cpu"))
    assert_clean_error(r, "mlp_bench_t1.json", "no BM_FmaPeak")
    assert not (tmp_path / "m" / "machine.json").exists()
