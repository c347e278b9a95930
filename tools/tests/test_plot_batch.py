"""plot_batch.py on logs of a small run_experiment --sweep-batch-size (tiny synthetic MNIST)."""

import json
import os
import subprocess

import pytest

from conftest import assert_png, make_dataset

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
ENGINE = os.path.join(REPO, "build", "engine", "run_experiment")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Two lr rules x batch sizes 8, 16, 32, with a target the tiny data reaches."""
    if not os.path.exists(ENGINE):
        pytest.skip("build/engine/run_experiment is not built")
    root = tmp_path_factory.mktemp("study")
    make_dataset(root / "data", "mnist", n=256, split="train")
    make_dataset(root / "data", "mnist", n=60, split="test")
    exp = root / "exp.json"
    exp.write_text(json.dumps({
        "name": "batch_test", "dataset": "mnist",
        "model": [{"units": 16, "activation": "relu"}, {"units": 10, "activation": "softmax"}],
        "loss": "sparse_categorical_crossentropy", "optimizer": "adam", "epochs": 3,
        "batch_size": 8, "threads": 1, "target_accuracy": 0.05}))
    for rule in ("none", "linear"):
        r = subprocess.run([ENGINE, str(exp), "--data-dir", str(root / "data"),
                            "--sweep-batch-size", "8,16,32", "--lr-scaling", rule,
                            "--out", str(root / rule)], capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr
    return root


def test_the_sweep_scales_the_rate_and_records_the_rule(study):
    logs = sorted(os.listdir(study / "linear"))
    target = logs[0].split("-t1-")[1]  # the SIMD target's name
    assert logs == [f"batch_test-b{b}-t1-{target}" for b in (16, 32, 8)]
    d = json.loads((study / "linear" / logs[1]).read_text())
    assert d["experiment"]["batch_size"] == 32
    assert d["experiment"]["optimizer"]["learning_rate"] == pytest.approx(0.004)  # 0.001 x 32/8
    assert d["run"]["lr_scaling"] == {"rule": "linear", "base_batch_size": 8,
                                      "base_learning_rate": 0.001, "learning_rate": 0.004}
    d = json.loads((study / "none" / logs[1]).read_text())
    assert d["experiment"]["optimizer"]["learning_rate"] == 0.001
    assert d["summary"]["epochs_to_target"] == 1  # 5 % is reached at once


def test_plot_states_the_best_batch_size(run, study, tmp_path):
    r = run("plot_batch.py", study / "none", study / "linear", "--peak-gflops", "100", "-o", "b.png")
    assert r.code == 0, r
    assert_png(tmp_path / "b.png")
    assert "best batch size for time-to-accuracy on this machine:" in r.out
    best = r.out.split("machine: ")[1].split()[0]
    assert best in ("8", "16", "32")


def test_two_studies_of_one_rule_are_refused(run, study):
    r = run("plot_batch.py", study / "none", study / "none", "-o", "b.png")
    assert r.code == 2
    assert "a second run of batch" in r.err


def test_a_bench_without_the_peak_is_refused(run, study, tmp_path):
    (tmp_path / "bench.json").write_text(json.dumps({"context": {}, "benchmarks": []}))
    r = run("plot_batch.py", study / "none", "--bench", tmp_path / "bench.json", "-o", "b.png")
    assert r.code == 2
    assert "BM_FmaPeak" in r.err
