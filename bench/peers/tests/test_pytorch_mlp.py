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
    r = run([experiment(tmp_path, target_accuracy=0.05), "--data-dir", data_dir, "--out", out,
             "--quiet"])
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
    # the target, as the engine's log reports it: reached in the first epoch
    first = log["epochs"][0]
    assert log["summary"]["target_metric"] == "test_accuracy"
    assert log["summary"]["epochs_to_target"] == 1
    assert log["summary"]["time_to_target_seconds"] == first["train_seconds"]
    assert log["summary"]["eval_seconds_to_target"] == first["eval_seconds"]
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


REFUSED = [  # (what the experiment changes, the JSON path the refusal names)
    ({"validation_split": 0.1}, "/validation_split"),
    ({"callbacks": {"early_stopping": {"monitor": "loss"}}}, "/callbacks"),
    ({"optimizer": {"name": "sgd", "learning_rate": {
        "class_name": "ExponentialDecay",
        "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9}}}},
     "/optimizer/learning_rate"),
]


@pytest.mark.parametrize("changes, where", REFUSED, ids=[w for _, w in REFUSED])
def test_what_it_cannot_honour_is_refused_by_field_before_any_log(tmp_path, data_dir, changes,
                                                                   where):
    path = experiment(tmp_path, **changes)
    r = run([path, "--data-dir", data_dir, "--out", tmp_path / "x.json", "--quiet"])
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"pytorch_mlp: {path}: {where}: "), r.stderr
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "x.json").exists()


def test_the_keras_habits_experiment_is_refused_not_crashed(tmp_path, data_dir):
    """The shipped experiment with a validation split, callbacks and a schedule."""
    path = PEER.parents[2] / "experiments" / "mlp512_keras_habits.json"
    r = run([path, "--epochs", "1", "--train-limit", "100", "--data-dir", data_dir,
             "--out", tmp_path / "x.json"])
    assert r.returncode == 2, r.stderr
    assert f"{path}: /validation_split: " in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.json").exists()


def test_refuses_keys_it_does_not_know(tmp_path):
    """A key a newer engine may accept is refused by name rather than ignored."""
    from mlpbench.peers import pytorch_mlp
    resolved = {**json.loads(experiment(tmp_path).read_text()), "shards": 2, "shuffle": True,
                "description": "", "target_accuracy": 0.9, "target_metric": "test_accuracy"}
    pytorch_mlp.refuse_unsupported(resolved, "e.json")  # all honoured (shards: ignored)
    for key, value, where in (("dropout", 0.5, "/dropout"),
                              ("optimizer", {"name": "adam", "learning_rate": 0.1, "amsgrad": True},
                               "/optimizer/amsgrad"),
                              ("model", [{"units": 10, "activation": "relu"}],
                               "/model/0/activation"),
                              ("model", [{"units": 5, "activation": "softmax"}], "/model/0/units")):
        with pytest.raises(pytorch_mlp.UsageError, match=f"^e.json: {where}: the PyTorch peer "):
            pytorch_mlp.refuse_unsupported({**resolved, key: value}, "e.json")


def test_an_error_during_training_ends_the_log_failed(tmp_path, data_dir):
    """Whatever breaks after the log exists leaves it "failed" with the error, never "running"."""
    out = tmp_path / "log.json"
    crash = ("import sys; from mlpbench.peers import pytorch_mlp as p; "
             "p.KerasAdam.step = lambda self, grads: 1 / 0; sys.exit(p.main(sys.argv[1:]))")
    r = subprocess.run([PY, "-c", crash, str(experiment(tmp_path)), "--data-dir", str(data_dir),
                        "--out", str(out), "--quiet"], capture_output=True, text=True,
                       timeout=300, cwd=PEER.parents[2] / "tools")
    assert r.returncode == 1, r.stderr
    error = "ZeroDivisionError: division by zero"
    assert r.stderr.strip() == f"pytorch_mlp: {out}: run failed: {error}"
    log = json.loads(out.read_text())
    assert log["status"] == "failed" and log["error"] == error
    assert log["epochs"] == []
    from mlpbench import schemas
    assert schemas.first_error("run-log", log) is None


@pytest.mark.parametrize("option", ["--out", "--data-dir", "--config-name"])
def test_an_empty_value_is_refused_not_read_as_not_given(tmp_path, option):
    r = run([experiment(tmp_path), option, "", *(["--out", tmp_path / "x.json"] if option != "--out" else [])])
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{option}: an empty value" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.json").exists()
