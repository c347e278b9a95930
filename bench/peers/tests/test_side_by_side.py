"""side_by_side.py's bookkeeping: what it reads from each run log and how it reports rounds."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from peer_fixtures import data_dir  # noqa: F401  (a fixture)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import side_by_side  # noqa: E402


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


ENGINE = Path(__file__).resolve().parents[3] / "build" / "engine" / "run_experiment"


@pytest.mark.skipif(not ENGINE.exists(), reason="needs the release build")
def test_main_runs_engine_and_peer_and_writes_its_summary(tmp_path, data_dir):
    """The whole driver, one round of one configuration on a tiny dataset."""
    pytest.importorskip("torch")
    experiment = Path(__file__).resolve().parents[3] / "experiments" / "smoke.json"
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(Path(side_by_side.__file__)), str(experiment),
                        "--engine", str(ENGINE), "--epochs", "1", "--rounds", "1",
                        "--peer-config", "1thread", "--data-dir", str(data_dir),
                        "--out-dir", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rounds_done"] == 1
    runs = summary["configs"]["1thread"]
    assert runs["engine_runs"][0]["ok"] and runs["peer_runs"][0]["ok"]
    assert "| 1thread |" in r.stdout  # the Markdown table


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
