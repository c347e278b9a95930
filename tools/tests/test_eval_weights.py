"""eval_weights.py reproduces, with numpy alone, the test numbers a run logged."""
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import mlpbench_inputs

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "eval_weights.py"
ENGINE = ROOT / "build" / "engine" / "run_experiment"


@pytest.fixture()
def tiny_run(tmp_path):
    if not ENGINE.exists():
        pytest.skip("build/engine/run_experiment is not built")
    mlpbench_inputs.write_tiny_mnist(tmp_path, 400, 150, seed=1)
    exp = tmp_path / "exp.json"
    exp.write_text(json.dumps({
        "name": "weights_test", "dataset": "mnist",
        "model": [{"units": 20, "activation": "relu"}, {"units": 12, "activation": "linear"},
                  {"units": 10, "activation": "softmax"}],
        "loss": "categorical_crossentropy", "optimizer": "adam", "epochs": 2, "batch_size": 16}))
    log, weights = tmp_path / "log.json", tmp_path / "w.safetensors"
    r = subprocess.run([str(ENGINE), str(exp), "--quiet", "--data-dir", str(tmp_path), "--out", str(log),
                        "--save-weights", str(weights)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return tmp_path, log, weights


def run_tool(*args):
    return subprocess.run(["/usr/bin/python3", str(TOOL), *map(str, args)], capture_output=True, text=True)


def test_weights_reproduce_the_logged_test_numbers(tiny_run):
    data, log, weights = tiny_run
    r = run_tool(weights, "--log", log, "--data-dir", data)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "150 mnist test samples" in r.stdout


def test_a_perturbed_file_is_caught(tiny_run):
    data, log, weights = tiny_run
    raw = bytearray(weights.read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    begin = header["dense_2.bias"]["data_offsets"][0]
    raw[8 + n + begin: 8 + n + begin + 4] = struct.pack("<f", 50.0)  # class 0 always wins
    weights.write_bytes(bytes(raw))
    r = run_tool(weights, "--log", log, "--data-dir", data)
    assert r.returncode == 1
    assert "do not reproduce" in r.stderr


def test_a_truncated_file_fails_clearly(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00")
    r = run_tool(bad)
    assert r.returncode == 2
    assert "bad.safetensors" in r.stderr


def test_the_logged_confusion_matrix_is_the_weights_file_evaluated_with_numpy(tiny_run):
    data, log, weights = tiny_run
    sys.path.insert(0, str(TOOL.parent))
    import eval_weights
    logged = json.loads(log.read_text())["evaluation"]
    ev = eval_weights.evaluate(str(weights), json.loads(log.read_text()), str(data))
    matrix = eval_weights.confusion(ev)
    assert matrix.sum() == 150 == logged["samples"]
    assert matrix.tolist() == logged["confusion_matrix"]
    for c in logged["per_class"]:
        k = c["class"]
        assert c["support"] == matrix[k].sum()
        if matrix[:, k].sum():
            assert c["precision"] == pytest.approx(matrix[k, k] / matrix[:, k].sum(), abs=1e-15)
        assert c["recall"] == pytest.approx(matrix[k, k] / matrix[k].sum(), abs=1e-15)
        assert c["accuracy"] == pytest.approx(
            (150 - matrix[:, k].sum() - matrix[k].sum() + 2 * matrix[k, k]) / 150, abs=1e-15)
    r = run_tool(weights, "--log", log, "--data-dir", data)
    assert "confusion matrix: 0 of 150 samples in another cell" in r.stdout
