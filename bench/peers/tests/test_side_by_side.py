"""side_by_side.py's bookkeeping: what it reads from each run log and how it reports rounds."""
import json
from pathlib import Path

import pytest
from mlpbench.peers import side_by_side
from peer_fixtures import data_dir  # noqa: F401  (a fixture)


def write_log(path, seconds, barriers=None):
    epochs = []
    for i, s in enumerate(seconds):
        e = {"epoch": i + 1, "train_seconds": s, "samples_per_second": 60000 / s,
             "test_accuracy": 0.97, "gflops": 100.0}
        if barriers is not None:
            e["barrier_us"] = barriers[i]
        epochs.append(e)
    path.write_text(json.dumps({"schema": "mlpbench.run/1", "status": "completed",
                                "epochs": epochs, "run": {"simd_target": "AVX3"}}))
    return str(path)


def test_read_run_takes_the_median_barrier_of_an_engine_log(tmp_path):
    run = side_by_side.read_run(write_log(tmp_path / "e.json", [0.2, 0.1, 0.3],
                                          [0.05, 0.4, None]))
    assert run["median_epoch_seconds"] == 0.2
    assert run["median_barrier_us"] == (0.05 + 0.4) / 2  # the null epoch is left out


def test_a_log_without_barriers_has_none(tmp_path):
    run = side_by_side.read_run(write_log(tmp_path / "p.json", [0.7, 0.7]))
    assert run["median_barrier_us"] is None


def test_barrier_cell_lists_rounds_in_order():
    runs = [{"ok": True, "median_barrier_us": 0.071}, {"ok": False},
            {"ok": True, "median_barrier_us": 0.42}, {"ok": True, "median_barrier_us": None}]
    assert side_by_side.barrier_cell(runs) == "0.07 / 0.42 / -"
    assert side_by_side.barrier_cell([{"ok": True, "median_barrier_us": None}]) == "n/a"


BUILD = Path(__file__).resolve().parents[3] / "build"
ENGINE = BUILD / "engine" / "run_experiment"
LIBTORCH = BUILD / "bench" / "libtorch_mlp"


@pytest.mark.skipif(not ENGINE.exists(), reason="needs the release build")
@pytest.mark.slow
def test_main_runs_engine_and_both_peers_and_writes_its_summary(tmp_path, data_dir, capsys):
    """The whole driver in-process, one round of a Python and a libtorch configuration on a
    tiny dataset."""
    pytest.importorskip("torch")
    experiment = Path(__file__).resolve().parents[3] / "experiments" / "smoke.json"
    out = tmp_path / "out"
    code = side_by_side.main([str(experiment), "--engine", str(ENGINE), "--epochs", "1",
                              "--rounds", "1", "--threads", "2",
                              "--peer-config", "1thread", "libtorch",
                              "--data-dir", str(data_dir), "--out-dir", str(out)])
    stdout = capsys.readouterr().out
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rounds_done"] == 1
    runs = summary["configs"]["1thread"]
    assert runs["engine_runs"][0]["ok"] and runs["peer_runs"][0]["ok"]
    assert "| 1thread | PyTorch (Python) |" in stdout  # the Markdown table
    lt = summary["configs"]["libtorch"]
    if not LIBTORCH.exists():  # a build without libtorch-dev: named, not silently left out
        assert "not built" in lt["skipped"]
        return
    assert lt["peer_runs"][0]["ok"], lt["peer_runs"][0]
    config = lt["peer_config"]
    assert (config["torch_threads"], config["blas_threads"]) == (1, 2)
    assert config["OPENBLAS_CORETYPE"] == "unset" and config["name"] == "libtorch"
    assert lt["peer_runs"][0]["peer_label"].startswith("libtorch 1.")
    assert "| libtorch | libtorch (C++) |" in stdout and "| 2/1+2 |" in stdout
    assert "Configuration libtorch: libtorch 1." in stdout
    assert "1 torch thread(s) + 2 OpenBLAS thread(s), OPENBLAS_CORETYPE unset" in stdout
    assert set(summary["best_by_peer"]) == {"python", "libtorch"}


def test_libtorch_configurations_resolve_and_refuse_python_options():
    c = side_by_side.resolve_config("libtorch")
    assert c["peer"] == "libtorch" and c["torch_threads"] == 1
    assert "OPENBLAS_CORETYPE" in c["unset"]
    pinned = side_by_side.resolve_config("libtorch+haswell")  # unset, then pinned again
    assert side_by_side.peer_env(pinned)["OPENBLAS_CORETYPE"] == "Haswell"
    for bad in ("libtorch+openmp", "libtorch+1thread"):
        with pytest.raises(side_by_side.UsageError, match="libtorch"):
            side_by_side.resolve_config(bad)


def test_a_missing_libtorch_peer_is_a_usage_error(tmp_path):
    with pytest.raises(side_by_side.UsageError, match="--libtorch-peer"):
        side_by_side.main([str(tmp_path / "x.json"), "--engine", "/bin/true",
                           "--libtorch-peer", str(tmp_path / "nothing")])


def test_noisy_host_runs_are_named(tmp_path):
    path = write_log(tmp_path / "n.json", [0.2, 0.2])
    log = json.loads(Path(path).read_text())
    log["run"].update(host_noisy=True, host_noise_reasons=["load average 5.00 above 2 logical CPUs"])
    Path(path).write_text(json.dumps(log))
    assert side_by_side.read_run(path)["host_noise"] == ["load average 5.00 above 2 logical CPUs"]
    # an older engine log: a barrier far above its quiet value says the same
    old = side_by_side.read_run(write_log(tmp_path / "o.json", [0.2, 0.2], [0.07, 250.0]))
    assert old["host_noise"] == ["team barrier 250.00 us in an epoch (quiet: below 1 us)"]
    assert side_by_side.read_run(write_log(tmp_path / "q.json", [0.2], [0.07]))["host_noise"] == []


ONEDNN = BUILD / "bench" / "onednn_mlp"


@pytest.mark.skipif(not ENGINE.exists() or not ONEDNN.exists(),
                    reason="needs the release build with the oneDNN peer")
def test_main_runs_the_onednn_peer_in_its_configurations(tmp_path, data_dir, capsys):
    experiment = Path(__file__).resolve().parents[3] / "experiments" / "smoke.json"
    out = tmp_path / "out"
    code = side_by_side.main([str(experiment), "--engine", str(ENGINE), "--epochs", "1",
                              "--rounds", "1", "--threads", "2",
                              "--peer-config", "onednn", "onednn-1thread+passive", "onednn-plain",
                              "--data-dir", str(data_dir), "--out-dir", str(out)])
    stdout = capsys.readouterr().out
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    configs = summary["configs"]
    for name, threads, policy, formats in (("onednn", 2, "unset", "any"),
                                           ("onednn-1thread+passive", 1, "PASSIVE", "any"),
                                           ("onednn-plain", 2, "unset", "io")):
        run = configs[name]["peer_runs"][0]
        assert run["ok"], run
        config = configs[name]["peer_config"]
        assert (config["threads"], config["OMP_WAIT_POLICY"], config["weight_format"]) == \
            (threads, policy, formats)
        assert config["name"] == name
    assert configs["onednn-plain"]["peer_config"]["layers"][0]["weights_format"] == "ba"
    assert "| onednn | oneDNN (C++) |" in stdout and "| 2/1 |" in stdout
    assert "Configuration onednn-1thread+passive: oneDNN 2." in stdout
    assert "1 thread(s), weights" in stdout and "OMP_WAIT_POLICY PASSIVE" in stdout
    assert summary["best_by_peer"]["onednn"] in configs


def test_onednn_configurations_resolve_and_refuse_python_blas_options():
    c = side_by_side.resolve_config("onednn-1thread+passive")
    assert (c["peer"], c["threads"]) == ("onednn", 1)
    assert side_by_side.peer_env(c)["OMP_WAIT_POLICY"] == "PASSIVE"
    assert side_by_side.resolve_config("onednn-plain")["peer_args"] == ["--weight-format", "io"]
    with pytest.raises(side_by_side.UsageError, match="oneDNN"):
        side_by_side.resolve_config("onednn+openmp")


def test_a_missing_onednn_peer_is_a_usage_error(tmp_path):
    with pytest.raises(side_by_side.UsageError, match="--onednn-peer"):
        side_by_side.main([str(tmp_path / "x.json"), "--engine", "/bin/true",
                           "--onednn-peer", str(tmp_path / "nothing")])
