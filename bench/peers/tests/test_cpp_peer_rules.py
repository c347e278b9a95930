"""The C++ peers (onednn_mlp, libtorch_mlp) keep run_experiment's rules (docs/cli.md "Outputs"
and the exit statuses): an output never replaces an input, an empty value is refused, an output
refused before training exits 2, SIGHUP stops a run as SIGINT/SIGTERM do, divergence is named
as the engine names it. Tiny runs on the tiny dataset, each peer in turn."""
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from peer_fixtures import data_dir  # noqa: F401  (a fixture)

BENCH = Path(__file__).resolve().parents[3] / "build" / "bench"
SMALL = ["--train-limit", "300", "--test-limit", "100", "--threads", "1", "--quiet"]
TINY = ["--epochs", "1", *SMALL]
DATA_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
              "t10k-labels-idx1-ubyte"]


@pytest.fixture(params=["onednn_mlp", "libtorch_mlp"])
def peer(request):
    path = BENCH / request.param
    if not path.exists():
        pytest.skip(f"{request.param} is not built")
    return path


def experiment(tmp_path, optimizer=None, hidden="relu"):
    e = {"name": "peer_rules", "dataset": "mnist",
         "model": [{"units": 16, "activation": hidden}, {"units": 10, "activation": "softmax"}],
         "loss": "sparse_categorical_crossentropy",
         "optimizer": optimizer or {"name": "adam", "learning_rate": 0.01},
         "epochs": 1, "batch_size": 32, "seed": 1, "threads": 1}
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(e))
    return path


def run(peer, tmp_path, args, **popen):
    """The peer in tmp_path, its default logs under tmp_path/runs (never the checkout's)."""
    env = dict(os.environ, MLPBENCH_RUNS=str(tmp_path / "runs"))
    return subprocess.run([str(peer), *map(str, args)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, **popen)


def own_data(tmp_path, data_dir):  # noqa: F811
    """A copy of the data a test may see overwritten (a shared one would break other tests)."""
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    return copy


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_the_experiment_is_never_replaced_by_the_log(peer, tmp_path, data_dir, force):  # noqa: F811
    exp = experiment(tmp_path)
    before = exp.read_bytes()
    r = run(peer, tmp_path, [exp, *TINY, "--data-dir", data_dir, "--out", exp, *force])
    assert r.returncode == 2, r.stderr
    assert "is an input of this run" in r.stderr
    assert exp.read_bytes() == before
    # the same file by another name (a symbolic link) is the same input
    (tmp_path / "link.json").symlink_to(exp)
    r = run(peer, tmp_path, [exp, *TINY, "--data-dir", data_dir, "--out", tmp_path / "link.json", *force])
    assert r.returncode == 2 and "is an input of this run" in r.stderr, r.stderr
    assert exp.read_bytes() == before


def test_a_dataset_file_is_never_replaced_by_the_log(peer, tmp_path, data_dir):  # noqa: F811
    data = own_data(tmp_path, data_dir)
    exp = experiment(tmp_path)
    for name in DATA_FILES:
        target = data / "mnist" / name
        before = target.read_bytes()
        r = run(peer, tmp_path, [exp, *TINY, "--data-dir", data, "--out", target, "--force"])
        assert r.returncode == 2, (name, r.stderr)
        assert "is an input of this run" in r.stderr, r.stderr
        assert target.read_bytes() == before, name


@pytest.mark.parametrize("option", ["--out", "--config-name", "--data-dir", "experiment"])
def test_an_empty_value_is_refused_not_read_as_not_given(peer, tmp_path, data_dir, option):  # noqa: F811
    exp = experiment(tmp_path)
    values = {"--data-dir": data_dir, "--out": tmp_path / "log.json", "--config-name": "c"}
    if option == "experiment":
        exp = ""
    else:
        values[option] = ""
    r = run(peer, tmp_path, [exp, *TINY, *(x for pair in values.items() for x in pair)])
    assert r.returncode == 2, r.stderr
    assert "an empty value" in r.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "log.json").exists()


def test_outputs_refused_before_training_exit_2(peer, tmp_path, data_dir):  # noqa: F811
    exp = experiment(tmp_path)
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "exist.json").write_text("{}")
    for out, why in ((tmp_path / "folder", "is a folder"),
                     (tmp_path / "fifo", "is a FIFO"),
                     (tmp_path / "exist.json" / "sub.json", "not a folder"),
                     ("/proc/self/log.json", "not writable")):
        for force in ([], ["--force"]):
            r = run(peer, tmp_path, [exp, *TINY, "--data-dir", data_dir, "--out", out, *force])
            assert r.returncode == 2, (out, force, r.stderr)
            assert f"--out: {out}: " in r.stderr and why in r.stderr, r.stderr
    assert (tmp_path / "exist.json").read_text() == "{}"


def test_sighup_ends_the_run_interrupted_with_129(peer, tmp_path, data_dir):  # noqa: F811
    log = tmp_path / "log.json"
    args = [str(peer), experiment(tmp_path), *SMALL, "--epochs", "100000", "--data-dir", data_dir,
            "--out", log]
    # SIGHUP's default action in the child, as if not started under nohup.
    proc = subprocess.Popen(list(map(str, args)), cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120  # a bound on a hang, not a timing assertion
        while not (log.exists() and json.loads(log.read_text())["epochs"]):  # written atomically
            assert proc.poll() is None, proc.communicate(timeout=60)
            assert time.monotonic() < deadline, "no epoch logged"
            time.sleep(0.05)
        proc.send_signal(signal.SIGHUP)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
    assert proc.returncode == 129, err
    assert json.loads(log.read_text())["status"] == "interrupted"
    assert out == f"{log}\n"


def test_divergence_is_named_as_the_engine_names_it(peer, tmp_path, data_dir):  # noqa: F811
    exp = experiment(tmp_path, {"name": "sgd", "learning_rate": 10}, hidden="linear")
    log = tmp_path / "log.json"
    r = run(peer, tmp_path, [exp, *SMALL, "--epochs", "5", "--data-dir", data_dir, "--out", log])
    assert r.returncode == 4, r.stderr
    assert json.loads(log.read_text())["status"] == "diverged"
    assert re.search(r"peer_rules: training diverged at epoch \d+, step \d+: the loss or the weights "
                     r"are NaN or infinite \(is the learning rate 10 too high\?\)", r.stderr), r.stderr
    assert not re.search(r"\b-?nan\b|\binf\b", r.stderr), r.stderr  # no "loss -nan"
