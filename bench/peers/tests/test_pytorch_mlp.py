"""The PyTorch peer writes the engine's log schema and fails clearly on bad input."""
import json
import subprocess
from pathlib import Path

import pytest
from peer_fixtures import data_dir  # noqa: F401  (a fixture)

PEER = Path(__file__).resolve().parents[1] / "pytorch_mlp.py"
PY = "/usr/bin/python3"

pytest.importorskip("torch")
np = pytest.importorskip("numpy")


def experiment(tmp_path, **changes):
    e = {"name": "peer_test", "dataset": "mnist",
         "model": [{"units": 16, "activation": "relu"}, {"units": 10, "activation": "softmax"}],
         "loss": "sparse_categorical_crossentropy",
         "optimizer": {"name": "adam", "learning_rate": 0.01},
         "epochs": 2, "batch_size": 32, "seed": 1, "threads": 1}
    e.update(changes)
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(e))
    return path


def run(args):
    return subprocess.run([PY, str(PEER), *map(str, args)], capture_output=True, text=True, timeout=300)


def test_writes_a_complete_log(tmp_path, data_dir):
    out = tmp_path / "log.json"
    r = run([experiment(tmp_path), "--data-dir", data_dir, "--out", out, "--quiet"])
    assert r.returncode == 0, r.stderr
    log = json.loads(out.read_text())
    assert log["schema"] == "mlpbench.run/1"
    assert log["status"] == "completed"
    assert log["build"]["compiler"].startswith("PyTorch")
    assert log["run"]["train_samples"] == 300
    assert [e["epoch"] for e in log["epochs"]] == [1, 2]
    assert log["epochs"][0]["steps"] == 10  # ceil(300 / 32): the last partial batch is kept
    assert log["summary"]["final_test_accuracy"] == log["epochs"][-1]["test_accuracy"]
    # no callbacks: the model it ends with is the last epoch's, keyed as the engine keys it
    assert log["summary"]["weights_epoch"] == log["summary"]["last_epoch"] == 2
    assert log["summary"]["restored_epoch"] is None
    assert log["summary"]["last_epoch_test_loss"] == log["epochs"][-1]["test_loss"]
    assert log["epochs"][-1]["test_accuracy"] > 0.5
    # the host facts the engine's logs carry too, so runs of both compare machine to machine
    assert isinstance(log["host"]["cpu_id"], str) and log["host"]["cpu_id"]
    assert all(level in ("L1d", "L2", "L3", "L4") and size >= 1024
               for level, size in log["host"]["caches"].items())


def test_bad_experiment_exits_2_naming_the_field(tmp_path, data_dir):
    r = run([experiment(tmp_path, epochs="many"), "--data-dir", data_dir, "--out", tmp_path / "x.json"])
    assert r.returncode == 2
    assert "epochs" in r.stderr
    assert not (tmp_path / "x.json").exists()


def test_missing_data_exits_3(tmp_path):
    r = run([experiment(tmp_path), "--data-dir", tmp_path / "nowhere", "--out", tmp_path / "x.json"])
    assert r.returncode == 3
    assert "nowhere" in r.stderr
