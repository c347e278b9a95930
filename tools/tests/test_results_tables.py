"""tools/results_tables.py: the tables of README.md and results/README.md are the ones the
committed logs give."""

import json
import os
import shutil

from conftest import TOOLS, assert_clean_error

REPO = os.path.dirname(TOOLS)
RESULTS = os.path.join(REPO, "results", "amd-f25m17-2cpu")  # the README's headline machine


def test_the_readme_tables_are_the_committed_logs_tables(run):
    for readme in (os.path.join(REPO, "README.md"), os.path.join(RESULTS, "README.md")):
        r = run("results_tables.py", RESULTS, "--check", readme)
        assert r.code == 0, r


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
    assert "| 0.63 | 2.17 (1 thread) |" in r.out and "1.88x, bitwise-identical" in r.out
    summary = results / "peers" / "mlp512" / "summary.json"
    data = json.loads(summary.read_text())
    data["engine_median_epoch_seconds"] = 0.5
    summary.write_text(json.dumps(data))
    assert "| 0.50 | 2.17 (1 thread) |" in run("results_tables.py", results).out
    readme = tmp_path / "README.md"
    shutil.copy(os.path.join(REPO, "README.md"), readme)
    r = run("results_tables.py", results, "--check", readme)
    assert r.code == 1 and "is not the logs'" in r.err, r
    readme.write_text("no markers\n")
    assert_clean_error(run("results_tables.py", results, "--check", readme), "README.md",
                       "no table marked")
    (results / "studies" / "threads_mlp512" / "mlp512_5ep-t1-AVX3.json").unlink()
    assert_clean_error(run("results_tables.py", results), "threads_mlp512", "1 and 2 threads")
