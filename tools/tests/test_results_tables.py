"""tools/results_tables.py: every table of README.md and of each machine folder's README.md is
the one the folder's committed files give; each kind of table from committed files; a changed
log changes its table and fails the check; a generated README passes its own check."""

import json
import os
import shutil

from conftest import TOOLS, assert_clean_error

REPO = os.path.dirname(TOOLS)
RESULTS = os.path.join(REPO, "results", "amd-f25m17-2cpu")  # the README's headline machine
ZEN5 = os.path.join(REPO, "results", "amd-f26m2-2cpu")


def machine_folders():
    root = os.path.join(REPO, "results")
    return [os.path.join(root, f) for f in sorted(os.listdir(root))
            if os.path.exists(os.path.join(root, f, "machine.json"))]


def test_the_readme_tables_are_the_committed_logs_tables(run):
    assert RESULTS in machine_folders() and ZEN5 in machine_folders()
    r = run("results_tables.py", RESULTS, "--check", os.path.join(REPO, "README.md"))
    assert r.code == 0, r
    for folder in machine_folders():
        r = run("results_tables.py", folder, "--check", os.path.join(folder, "README.md"))
        assert r.code == 0, r


def test_no_results_readme_table_is_typed_by_hand():
    """Every Markdown table of a machine folder's README.md sits between results_tables
    markers."""
    for path in [os.path.join(f, "README.md") for f in machine_folders()]:
        inside = False
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.startswith("<!-- results_tables: "):
                    inside = True
                elif line.startswith("<!-- /results_tables -->"):
                    inside = False
                elif line.startswith("|"):
                    assert inside, f"{path}:{number}: a table without a results_tables marker"


def test_every_kind_of_table_from_committed_files(run):
    def table(results, words):
        r = run("results_tables.py", results, "--table", words)
        assert r.code == 0, r
        return r.out
    assert "| FMA peak, 2 threads | 227.8 GFLOP/s (AVX3) |" in table(RESULTS, "machine")
    assert "| training step 784-512-10, batch 32 | 623.7 us | 335.4 us |" in \
        table(RESULTS, "bench")
    assert "| 2 | 1 | 3 | 0.639 (0.639–0.639) | 1.88x | bitwise the same |" in \
        table(RESULTS, "threads studies/threads_mlp512")
    simd = table(RESULTS, "simd studies/simd_mlp512").splitlines()
    assert simd[2].startswith("| AVX3 |") and simd[-1].startswith("| SCALAR |")
    assert "| 1thread | 2.167 | 0.632 | 3.43 | 0.663 | 0.108 | 6.12 |" in \
        table(RESULTS, "peers peers/mlp512 peers/mlp64_32")
    epochs = table(RESULTS, "epochs runs/reference/mlp64_32_100ep.json "
                            "peer=runs/reference/mlp64_32_100ep-pytorch.json at=1,100")
    assert len(epochs.splitlines()) == 4 and epochs.splitlines()[3].endswith("| 97.82 % |")
    assert "rule sqrt: 1.7 s, 5 epochs | batch 32: 2.8 s, 6 epochs | 1.66x |" in \
        table(ZEN5, "batch studies/batch_mlp512_5ep")
    assert "| 256.1 us | 246.2 us (0.96) | 279.8 us (1.09) |" in \
        table(ZEN5, "shards_cost studies/shards_cost_t2.json")
    assert "**1.08** (0.96–1.42) | 26 |" in table(ZEN5, "epoch_ab studies/shards_epochs_t1.json")
    # numbers that differ across FMA families are expected, and the table says so
    assert simd[-1].endswith("| differ, as expected: no fused multiply-add (rounds differently) |")


def test_a_generated_readme_passes_its_own_check(run, tmp_path):
    for folder in machine_folders():
        r = run("results_tables.py", folder, "--readme")
        assert r.code == 0, r
        assert r.out.startswith(f"# Results of {os.path.basename(folder)}\n")
        readme = tmp_path / f"{os.path.basename(folder)}.md"
        readme.write_text(r.out)
        assert run("results_tables.py", folder, "--check", readme).code == 0


def test_bad_markers_and_arguments_are_one_line(run, tmp_path):
    readme = tmp_path / "README.md"
    for marker, needle in (("nonsense", "unknown table 'nonsense'"),
                           ("threads", "wrong arguments"), ("bench peer=x", "wrong arguments"),
                           ("epochs a.json b.json", "wrong arguments")):
        readme.write_text(f"<!-- results_tables: {marker} -->\n<!-- /results_tables -->\n")
        assert_clean_error(run("results_tables.py", RESULTS, "--check", readme), "README.md",
                           needle)
    readme.write_text("<!-- results_tables: bench -->\n| a |\n")
    assert_clean_error(run("results_tables.py", RESULTS, "--check", readme), "no line")
    assert_clean_error(run("results_tables.py", tmp_path / "none"), "not a folder")
    assert_clean_error(run("results_tables.py", tmp_path, "--table", "bench"), "no such file")


def test_an_epoch_table(run):
    r = run("results_tables.py", RESULTS, "--epochs", "runs/reference/mlp512_5ep.json")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert len(lines) == 2 + 5 and lines[2].startswith("| 1 | 0.2041 | 93.95 % |")


def test_a_changed_log_changes_the_table_and_the_check_fails(run, tmp_path):
    results = tmp_path / "results"
    for part in ("runs/reference", "peers/mlp512", "peers/mlp64_32", "studies/threads_mlp512"):
        shutil.copytree(os.path.join(RESULTS, part), results / part)
    r = run("results_tables.py", results)
    assert r.code == 0, r
    assert "| 0.63 | 2.17 (`1thread`, 1 thread) |" in r.out and "1.88x, bitwise-identical" in r.out
    summary = results / "peers" / "mlp512" / "summary.json"
    data = json.loads(summary.read_text())
    data["engine_median_epoch_seconds"] = 0.5
    summary.write_text(json.dumps(data))
    assert "| 0.50 | 2.17 (`1thread`, 1 thread) |" in run("results_tables.py", results).out
    readme = tmp_path / "README.md"
    shutil.copy(os.path.join(REPO, "README.md"), readme)
    r = run("results_tables.py", results, "--check", readme)
    assert r.code == 1 and "is not the logs'" in r.err, r
    readme.write_text("no markers\n")
    assert_clean_error(run("results_tables.py", results, "--check", readme), "README.md",
                       "no table marked")
    (results / "studies" / "threads_mlp512" / "mlp512_5ep-t1-AVX3.json").unlink()
    assert_clean_error(run("results_tables.py", results), "threads_mlp512", "1 and 2 threads")
    assert_clean_error(run("results_tables.py", results, "--table",
                           "threads studies/threads_mlp512"), "threads_mlp512", "at least two")


def test_the_vendor_table_compares_the_engine_with_the_fastest_library(run, tmp_path):
    context = json.load(open(os.path.join(ZEN5, "bench", "mlp_bench_t1.json")))["context"]
    rows = []
    def median(name, gflops):
        rows.append({"name": name + "/real_time_median", "run_name": name + "/real_time",
                     "run_type": "aggregate", "repetitions": 5, "threads": 1,
                     "aggregate_name": "median", "aggregate_unit": "time", "iterations": 5,
                     "real_time": 1.0, "cpu_time": 1.0, "time_unit": "us", "GFLOPS": gflops})
    for threads, engine, vendors in ((1, 200.0, {"onednn_sgemm": 160.0, "openblas": 100.0,
                                                 "blis": 170.0}),
                                     (2, 300.0, {"onednn_sgemm": 330.0, "openblas": 200.0})):
        prefix = f"BM_VendorGemm/forward/m:32/n:512/k:784/threads:{threads}"
        median(f"{prefix}/engine", engine)
        for lib, value in vendors.items():
            median(f"{prefix}/{lib}", value)
    prefix = "BM_VendorGemm/weight_grad/m:784/n:512/k:32/threads:1"
    median(f"{prefix}/engine", 150.0)
    median(f"{prefix}/onednn_matmul", 100.0)
    median("BM_VendorGemm/input_grad/m:32/n:512/k:10/threads:1/openblas", 5.0)  # no engine
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "vendor_gemm.json").write_text(
        json.dumps({"context": context, "benchmarks": rows}))
    r = run("results_tables.py", tmp_path, "--table", "vendor bench/vendor_gemm.json")
    assert r.code == 0, r
    lines = r.out.splitlines()
    # rows by thread count, then operation and shape, whatever the file's (shuffled) order;
    # without machine.json no peak to compare with
    assert lines[2] == ("| forward 32 x 784 x 512 | 1 | 200.0 GFLOP/s | 170.0 GFLOP/s (blis) "
                        "| 1.18x | - |")
    assert lines[3] == ("| weight_grad 784 x 32 x 512 | 1 | 150.0 GFLOP/s | 100.0 GFLOP/s "
                        "(onednn_matmul) | 1.50x | - |")
    assert lines[4] == ("| forward 32 x 784 x 512 | 2 | 300.0 GFLOP/s | 330.0 GFLOP/s "
                        "(onednn_sgemm) | 0.91x | - |")
    assert lines[5] == ("| median over 2 GEMMs | 1 | | | **1.34x** (lowest 1.18x, "
                        "forward 32x784x512) | - |")
    assert lines[6].startswith("| median over 1 GEMMs | 2 |") and len(lines) == 7
    # with the machine's FMA peak at 1 thread: the fastest library against it
    facts = json.load(open(os.path.join(ZEN5, "machine.json")))
    facts["fma_peak_gflops"] = {"1": {"gflops": 190.0, "simd_target": "AVX3"}}
    (tmp_path / "machine.json").write_text(json.dumps(facts))
    r = run("results_tables.py", tmp_path, "--table", "vendor bench/vendor_gemm.json")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert lines[2].endswith("| 1.18x | 1.12x |") and lines[3].endswith("| 1.50x | 1.90x |")
    assert lines[4].endswith("| 0.91x | - |")
    assert lines[5].endswith("forward 32x784x512) | under 1.2x for 1 of 2 |")
    assert lines[6].endswith("| - |")
    (tmp_path / "machine.json").unlink()
    # a file without the engine's GEMMs is refused in one line
    (tmp_path / "bench" / "other.json").write_text(json.dumps({"context": context,
                                                               "benchmarks": rows[-1:]}))
    assert_clean_error(run("results_tables.py", tmp_path, "--table", "vendor bench/other.json"),
                       "no BM_VendorGemm benchmark with the engine and another library")
    # and the folder's generated README holds the table
    r = run("results_tables.py", tmp_path, "--readme")
    assert r.code == 0, r
    assert "<!-- results_tables: vendor bench/vendor_gemm.json -->" in r.out
