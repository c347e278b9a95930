"""eval_weights.py reproduces, with numpy alone, the test numbers a run logged."""
import json
import os
import struct
import subprocess
from pathlib import Path

import pytest

from mlpbench import inputs as mlpbench_inputs

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
                        "--save-weights", str(weights)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return tmp_path, log, weights


def run_tool(*args):
    return subprocess.run(["/usr/bin/python3", str(TOOL), *map(str, args)], capture_output=True, text=True,
                          timeout=120)


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
    from mlpbench import eval_weights
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


# ----------------------------------------------------------------------------- malformed files

def safetensors(tensors, header_extra=None, dtype="F32"):
    """A safetensors file's bytes holding `tensors` ({name: float32 array})."""
    import numpy as np
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header.update(header_extra or {})
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def mlp(*widths):
    import numpy as np
    rng = np.random.default_rng(0)
    out = {}
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        out[f"dense_{i}.kernel"] = rng.normal(0, 0.05, (a, b)).astype("float32")
        out[f"dense_{i}.bias"] = np.zeros(b, dtype="float32")
    return out


def raw_header(header, data=b""):
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def malformed_cases():
    import numpy as np
    good = safetensors(mlp(784, 16, 10))
    nan = mlp(784, 16, 10)
    nan["dense_1.kernel"][3, 4] = np.nan
    inf = mlp(784, 16, 10)
    inf["dense_0.bias"][0] = np.inf
    no_bias = mlp(784, 16, 10)
    del no_bias["dense_1.bias"]
    gap = mlp(784, 16, 10)
    gap["dense_3.kernel"] = gap.pop("dense_1.kernel")
    gap["dense_3.bias"] = gap.pop("dense_1.bias")
    return {
        "empty": (b"", "empty file"),
        "shorter than a header": (b"\x10\x00", "truncated"),
        "truncated data": (good[:len(good) // 2], "truncated"),
        "truncated header": (good[:40], "truncated"),
        "header length absurd": (struct.pack("<Q", 2 ** 63) + b"{}", "header length"),
        "header not JSON": (raw_header(b"{not json"), "bad header: not JSON"),
        "header not UTF-8": (raw_header(b"\xff\xfe"), "bad header"),
        "header a list": (raw_header([1, 2]), "expected a JSON object"),
        "entry not an object": (raw_header({"dense_0.kernel": 3}), "dense_0.kernel"),
        "entry without offsets": (raw_header({"dense_0.kernel": {"dtype": "F32", "shape": [1]}}),
                                  "data_offsets"),
        "offsets reversed": (raw_header({"dense_0.kernel": {"dtype": "F32", "shape": [1],
                                                            "data_offsets": [4, 0]}}, b"\0" * 4),
                             "data_offsets"),
        "shape not sizes": (raw_header({"dense_0.kernel": {"dtype": "F32", "shape": [-1],
                                                           "data_offsets": [0, 4]}}, b"\0" * 4),
                            "shape"),
        "metadata not an object": (safetensors(mlp(784, 10), {"__metadata__": [1]}),
                                   "__metadata__"),
        "wrong dtype": (safetensors(mlp(784, 10), dtype="F16"), "dtype \"F16\""),
        "offsets disagree with shape": (raw_header({"dense_0.kernel": {
            "dtype": "F32", "shape": [784, 10], "data_offsets": [0, 8]}}, b"\0" * 8),
            "shape [784, 10] needs"),
        "NaN": (safetensors(nan), "dense_1.kernel: 1 NaN or infinite"),
        "infinity": (safetensors(inf), "dense_0.bias: 1 NaN or infinite"),
        "no dense tensors": (safetensors({"other": np.zeros(3, dtype="float32")}),
                             "no dense_<i>.kernel"),
        "missing bias": (safetensors(no_bias), "missing tensor dense_1.bias"),
        "missing layer": (safetensors(gap), "missing tensor dense_1.kernel"),
        "wrong input width": (safetensors(mlp(100, 10)), "dense_0.kernel has shape [100, 10]"),
        "layers do not chain": (safetensors({**mlp(784, 16), "dense_1.kernel": np.zeros(
            (8, 10), "float32"), "dense_1.bias": np.zeros(10, "float32")}),
            "dense_1.kernel has shape [8, 10], expected [16, units]"),
        "bias of the wrong size": (safetensors({**mlp(784, 10), "dense_0.bias": np.zeros(
            7, "float32")}), "dense_0.bias has shape [7]"),
        "kernel not 2-D": (safetensors({"dense_0.kernel": np.zeros(7840, "float32"),
                                        "dense_0.bias": np.zeros(10, "float32")}),
                           "dense_0.kernel has shape [7840]"),
        "not ten classes": (safetensors(mlp(784, 16, 3)), "has 3 units, expected 10"),
        "header nested deeply": (raw_header(b"[" * 100000 + b"]" * 100000), "bad header"),
        "shape whose int64 product wraps": (raw_header({"dense_0.kernel": {
            "dtype": "F32", "shape": [2 ** 32, 2 ** 32], "data_offsets": [0, 0]}}),
            "shape [4294967296, 4294967296] needs"),
    }


@pytest.mark.parametrize("case", sorted(malformed_cases()))
def test_a_malformed_weights_file_gets_one_line_and_exit_2(tmp_path, case):
    content, needle = malformed_cases()[case]
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(content)
    r = run_tool(bad, "--data-dir", tmp_path / "no-data")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and needle in lines[0], r.stderr


@pytest.mark.parametrize("kind", ["folder", "fifo", "missing"])
def test_a_weights_path_that_is_not_a_file_gets_exit_2(tmp_path, kind):
    path = tmp_path / "w.safetensors"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    r = subprocess.run(["/usr/bin/python3", str(TOOL), str(path)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert str(path) in r.stderr and {"folder": "directory", "fifo": "FIFO",
                                      "missing": "no such file"}[kind] in r.stderr


def test_a_well_formed_file_is_evaluated_and_the_verdict_keeps_exit_1(tmp_path):
    mlpbench_inputs.write_tiny_mnist(tmp_path, 20, 30)
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(safetensors(mlp(784, 16, 10)))
    r = run_tool(weights, "--data-dir", tmp_path)
    assert r.returncode == 0 and "30 mnist test samples" in r.stdout, r.stderr
    log = {"schema": "mlpbench.run/1", "status": "completed",
           "experiment": {"name": "x", "dataset": "mnist",
                          "model": [{"units": 16, "activation": "relu"},
                                    {"units": 10, "activation": "softmax"}]},
           "build": {"compiler": "GNU"}, "run": {"threads": 1, "simd_target": "SSE4"},
           "epochs": [{"epoch": 1, "train_loss": 1, "train_accuracy": 0.5, "test_loss": 0.01,
                       "test_accuracy": 0.99, "train_seconds": 1, "samples_per_second": 1}]}
    (tmp_path / "log.json").write_text(json.dumps(log))
    r = run_tool(weights, "--data-dir", tmp_path, "--log", tmp_path / "log.json")
    assert r.returncode == 1 and "do not reproduce" in r.stderr, r.stdout + r.stderr
    # weights so large that the loss overflows: a NaN loss never reproduces the log's
    huge = mlp(784, *[16] * 9, 10)
    for name in huge:
        huge[name][:] = 3e38 if name.endswith("kernel") else 0  # inf - inf after ten layers
    (tmp_path / "huge.st").write_bytes(safetensors(huge))
    deep = json.loads(json.dumps(log))
    deep["experiment"]["model"] = [{"units": 16, "activation": "relu"}] * 9 + [
        {"units": 10, "activation": "softmax"}]
    (tmp_path / "deep.json").write_text(json.dumps(deep))
    r = run_tool(tmp_path / "huge.st", "--data-dir", tmp_path, "--log", tmp_path / "deep.json")
    assert r.returncode == 1 and "loss nan" in r.stdout, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == ["eval_weights.py: the weights do not reproduce the "
                                             "log's numbers"]
    # a log that does not describe these weights is bad input, not a verdict
    for change, needle in ((lambda d: d["experiment"]["model"].pop(), "/experiment/model"),
                           (lambda d: d["epochs"][0].update(test_loss=None), "test_loss"),
                           (lambda d: d.update(epochs=[]), "no evaluation and no epoch"),
                           (lambda d: d["run"].update(test_samples="many"), "test_samples")):
        broken = json.loads(json.dumps(log))
        change(broken)
        (tmp_path / "bad.json").write_text(json.dumps(broken))
        r = run_tool(weights, "--data-dir", tmp_path, "--log", tmp_path / "bad.json")
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert "bad.json" in r.stderr and needle in r.stderr, r.stderr


@pytest.mark.parametrize("shape", [(14, 56), (27, 27)])
def test_a_test_set_not_of_28x28_images_gets_one_line_naming_the_file(tmp_path, capsys, shape):
    """As the engine refuses it: 14x56 has 784 pixels too, but they are not MNIST's."""
    import numpy as np
    from conftest import idx_bytes
    from mlpbench import cli
    from mlpbench import eval_weights
    mlpbench_inputs.write_tiny_mnist(tmp_path, 20, 30)
    images = tmp_path / "mnist" / "t10k-images-idx3-ubyte"
    images.write_bytes(idx_bytes(np.zeros((30, *shape), np.uint8), 3))
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(safetensors(mlp(784, 16, 10)))
    code = cli.main_guard(eval_weights.PROG, eval_weights.main,
                          [str(weights), "--data-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (f"eval_weights.py: error: {images}: images are {shape[0]}x{shape[1]}, mnist "
                   "images are 28x28\n")


@pytest.mark.parametrize("edit, needle", [
    (lambda log: log["experiment"]["model"][0].update(activation="tanh"), "/experiment/model/0/activation"),
    (lambda log: log.update(evaluation="x"), "/evaluation: expected an object"),
])
def test_a_log_the_weights_cannot_be_checked_against_gets_exit_2_naming_the_field(tiny_run, edit, needle):
    data, log, weights = tiny_run
    content = json.loads(log.read_text())
    edit(content)
    log.write_text(json.dumps(content))
    r = run_tool(weights, "--log", log, "--data-dir", data)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert needle in r.stderr


def test_a_log_without_a_confusion_matrix_is_compared_on_loss_and_accuracy(tiny_run):
    data, log, weights = tiny_run
    content = json.loads(log.read_text())
    del content["evaluation"]["confusion_matrix"]
    log.write_text(json.dumps(content))
    r = run_tool(weights, "--log", log, "--data-dir", data)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "confusion matrix" not in r.stdout
