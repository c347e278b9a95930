"""plot_eval.py and export.py on a tiny run of the engine (synthetic MNIST and Fashion-MNIST)."""

import csv
import io
import json
import os

import numpy as np
import pytest

from conftest import assert_png, assert_svg, make_dataset

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
ENGINE = os.path.join(REPO, "build", "engine", "run_experiment")


@pytest.fixture(params=["mnist", "fashion-mnist"])
def tiny_run(request, tmp_path):
    """A completed 2-epoch run with a validation split: (data dir, log, weights, dataset)."""
    if not os.path.exists(ENGINE):
        pytest.skip("build/engine/run_experiment is not built")
    import subprocess
    dataset = request.param
    data = tmp_path / "data"
    make_dataset(data, dataset, n=300, split="train")
    make_dataset(data, dataset, n=120, split="test")
    exp = tmp_path / "exp.json"
    exp.write_text(json.dumps({
        "name": "eval_test", "dataset": dataset,
        "model": [{"units": 16, "activation": "relu"}, {"units": 10, "activation": "softmax"}],
        "loss": "sparse_categorical_crossentropy", "optimizer": "adam", "epochs": 2,
        "batch_size": 16, "validation_split": 0.2}))
    log, weights = tmp_path / "log.json", tmp_path / "w.safetensors"
    r = subprocess.run([ENGINE, str(exp), "--quiet", "--data-dir", str(data), "--out", str(log),
                        "--save-weights", str(weights)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return data, log, weights, dataset


def test_from_a_log_draws_the_matrices_and_prints_per_class_numbers(run, tiny_run, tmp_path):
    data, log, _, dataset = tiny_run
    r = run("plot_eval.py", "--log", log, "-o", "eval.svg")
    assert r.code == 0, r
    assert_svg(tmp_path / "eval.svg")
    assert not (tmp_path / "eval-misclassified.svg").exists()  # needs the weights
    per_class = json.loads(log.read_text())["evaluation"]["per_class"]
    lines = r.out.splitlines()[1:]
    assert len(lines) == 10
    for line, c in zip(lines, per_class):
        recall = float(line.split()[-2])
        assert recall == pytest.approx(c["recall"], abs=5e-5)
    if dataset == "fashion-mnist":
        assert "Ankle boot" in r.out


def test_from_weights_adds_the_misclassified_grid(run, tiny_run, tmp_path):
    data, log, weights, _ = tiny_run
    r = run("plot_eval.py", "--log", log, "--weights", weights, "--data-dir", data,
            "-o", "e.png", "--grid-size", "4")
    assert r.code == 0, r
    assert_png(tmp_path / "e.png")
    assert_png(tmp_path / "e-misclassified.png")


def test_a_log_without_evaluation_is_refused(run, tmp_path):
    from conftest import fixture
    logs = sorted(p for p in os.listdir(fixture("runs")) if p.endswith(".json"))
    r = run("plot_eval.py", "--log", fixture("runs", logs[0]), "-o", "x.png")
    assert r.code == 2
    assert "no \"evaluation\"" in r.err
    assert not (tmp_path / "x.png").exists()
    assert run("plot_eval.py", "-o", "x.png").code == 2  # neither --log nor --weights


def test_export_writes_every_epoch_field_in_full(run, tiny_run, tmp_path):
    _, log, _, _ = tiny_run
    r = run("export.py", log)
    assert r.code == 0, r
    rows = list(csv.DictReader(io.StringIO(r.out)))
    epochs = json.loads(log.read_text())["epochs"]
    assert len(rows) == len(epochs) == 2
    assert list(rows[0])[:5] == ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"]
    for row, e in zip(rows, epochs):
        for key, value in e.items():
            if isinstance(value, dict):  # phases: JSON text (test_export.py)
                assert json.loads(row[key]) == value, key
                continue
            assert row[key] == ("" if value is None else str(value) if isinstance(value, int)
                                else repr(value)), key
        assert float(row["val_loss"]) == e["val_loss"]  # nothing lost on the way
    r = run("export.py", log, log, "-o", "two.csv")
    assert r.code == 0, r
    rows = list(csv.DictReader(open(tmp_path / "two.csv")))
    assert len(rows) == 4 and rows[0]["log"] == str(log)


def test_export_refuses_a_file_that_is_not_a_log(run, tmp_path):
    (tmp_path / "x.json").write_text("{}")
    r = run("export.py", tmp_path / "x.json")
    assert r.code == 2
    assert "x.json" in r.err
