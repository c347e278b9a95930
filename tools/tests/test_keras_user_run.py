"""A Keras user's run: a validation split, early stopping that restores the best weights,
ReduceLROnPlateau and a target accuracy. Its transcript, its log, the figure and the saved
weights (evaluated with numpy by eval_weights.py) must tell the same story: the model the run
ends with is the restored one, the last epoch's figures are kept apart, nothing is chosen on
the test set, and the target was reached at the epoch and time the summary says."""

import json
import os
import re
import subprocess

import pytest

from mlpbench import inputs as mlpbench_inputs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
ENGINE = os.path.join(REPO, "build", "engine", "run_experiment")
TOOLS = os.path.join(REPO, "tools")


def write_noisy_bands(root, train, test, noisy):
    """<root>/mnist/: each class a bright band at its own rows over noise, as
    mlpbench_inputs.write_tiny_mnist, but a share `noisy` of the labels drawn at random: the
    small model first learns the bands, then memorises the noise and its validation loss rises,
    so early stopping stops and restores an earlier epoch."""
    import numpy as np
    rng = np.random.default_rng(5)
    folder = os.path.join(str(root), "mnist")
    os.makedirs(folder, exist_ok=True)
    for prefix, n in (("train", train), ("t10k", test)):
        bands = np.arange(n) % 10
        images = rng.integers(0, 90, size=(n, 28, 28))
        for i, y in enumerate(bands):
            images[i, y * 2: y * 2 + 3, :] += 60
        labels = np.where(rng.random(n) < noisy, rng.integers(0, 10, n), bands)
        mlpbench_inputs.write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), images)
        mlpbench_inputs.write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), labels)


EXPERIMENT = {
    "name": "keras_user", "dataset": "mnist",
    "model": [{"units": 48, "activation": "relu"}, {"units": 10, "activation": "softmax"}],
    "loss": "sparse_categorical_crossentropy",
    "optimizer": {"name": "adam", "learning_rate": 0.01},
    "epochs": 30, "batch_size": 16, "threads": 1, "validation_split": 0.25,
    "callbacks": {"early_stopping": {"monitor": "val_loss", "patience": 3,
                                     "restore_best_weights": True},
                  "reduce_lr_on_plateau": {"monitor": "val_loss", "patience": 1, "factor": 0.5}},
    "target_accuracy": 0.5,
}


def tool(name, *args, cwd):
    """A tool run as a user types it (its #! line), with a bound."""
    return subprocess.run([os.path.join(TOOLS, name), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1"))


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    if not os.path.exists(ENGINE):
        pytest.skip("build/engine/run_experiment is not built")
    root = tmp_path_factory.mktemp("keras_user")
    write_noisy_bands(root, 480, 200, noisy=0.4)
    (root / "exp.json").write_text(json.dumps(EXPERIMENT))
    proc = subprocess.run([ENGINE, "exp.json", "--data-dir", ".", "--out", "log.json",
                           "--save-weights", "w.safetensors"], cwd=root, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    log = json.loads((root / "log.json").read_text())
    return root, proc.stderr, log


def test_the_run_restored_an_earlier_epoch_whose_test_accuracy_differs(keras_run):
    # What makes the other checks meaningful: the restored weights are not the last epoch's.
    _, _, log = keras_run
    s = log["summary"]
    assert s["restored_epoch"] is not None and s["restored_epoch"] < s["last_epoch"]
    assert s["final_test_accuracy"] != s["last_epoch_test_accuracy"]
    actions = [e["action"] for e in log["callback_events"]]
    assert "stop_training" in actions and "reduce_learning_rate" in actions


def test_the_summary_describes_the_restored_model(keras_run):
    _, _, log = keras_run
    s, epochs = log["summary"], log["epochs"]
    restored = epochs[s["restored_epoch"] - 1]
    assert s["weights_epoch"] == s["restored_epoch"] == restored["epoch"]
    assert s["final_test_accuracy"] == restored["test_accuracy"] == \
        log["evaluation"]["test_accuracy"]
    assert s["final_test_loss"] == log["evaluation"]["test_loss"]
    assert s["final_val_accuracy"] == restored["val_accuracy"]
    assert s["last_epoch"] == epochs[-1]["epoch"] == len(epochs)
    assert s["last_epoch_test_accuracy"] == epochs[-1]["test_accuracy"]
    assert s["last_epoch_val_loss"] == epochs[-1]["val_loss"]
    assert "best_test_accuracy" not in s  # chosen on validation, never on test
    event = next(e for e in log["callback_events"] if e["action"] == "restore_best_weights")
    assert event["restored_epoch"] == s["restored_epoch"]


def test_the_transcript_agrees_with_the_log(keras_run):
    _, transcript, log = keras_run
    s = log["summary"]
    assert f"restored the weights of epoch {s['restored_epoch']} " in transcript
    assert f"Final test accuracy {100 * s['final_test_accuracy']:.2f}%\n" in transcript
    reached = (f"Target 50.00% val_accuracy: reached at epoch {s['epochs_to_target']}, after "
               f"{s['time_to_target_seconds']:.2f} s of training "
               f"({s['time_to_target_seconds'] + s['eval_seconds_to_target']:.2f} s with "
               "evaluation)\n")
    # after the epoch that reached it, and again at the end
    assert transcript.count(reached) == 2, transcript
    epoch_line = f"Epoch {s['epochs_to_target']}/{EXPERIMENT['epochs']} - "
    assert transcript.index(epoch_line) < transcript.index(reached)
    assert transcript.index("Final test accuracy") < transcript.rindex(reached)
    val = log["epochs"][s["epochs_to_target"] - 1]["val_accuracy"]
    assert val >= 0.5 and all(e["val_accuracy"] < 0.5
                              for e in log["epochs"][:s["epochs_to_target"] - 1])


def test_the_saved_weights_are_the_restored_model(keras_run):
    root, _, log = keras_run
    r = tool("eval_weights.py", "w.safetensors", "--log", "log.json", "--data-dir", ".", cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    accuracy = float(re.search(r"accuracy (\d\.\d+) \(experiment", r.stdout).group(1))
    assert accuracy == pytest.approx(log["summary"]["final_test_accuracy"], abs=1e-4)
    assert accuracy != pytest.approx(log["summary"]["last_epoch_test_accuracy"], abs=1e-4)


def test_the_figure_and_its_table_agree_with_the_log(keras_run):
    root, _, log = keras_run
    s = log["summary"]
    r = tool("plot_runs.py", "log.json", "--summary", "-o", "curves.svg", cwd=root)
    assert r.returncode == 0, r.stderr
    row = r.stdout.splitlines()[2]
    final, last = f"{s['final_test_accuracy']:.2%}", f"{s['last_epoch_test_accuracy']:.2%}"
    assert f"epoch {s['restored_epoch']} (restored)" in row and final in row and last not in row
    reached = (f"50.00% val_accuracy reached at epoch {s['epochs_to_target']} after "
               f"{s['time_to_target_seconds']:.2f} s of training")
    assert reached in row
    svg = (root / "curves.svg").read_text()
    for text in (f"model: the weights of epoch {s['restored_epoch']} (restored), test accuracy "
                 f"{final}; target {reached}",
                 f"target: epoch {s['epochs_to_target']}, {s['time_to_target_seconds']:.2f} s",
                 "validation", "weights restored by early stopping (the model the run ends with)",
                 "early stopping stopped after this epoch",
                 "ReduceLROnPlateau lowered the learning rate after this epoch"):
        assert f"<!-- {text} -->" in svg, text
