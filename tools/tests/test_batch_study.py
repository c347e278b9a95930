"""tools/batch_study.sh --quick: the whole batch-size study pipeline on a tiny dataset, written
into a temporary folder (never into results/), one log per rule and batch size, one figure per
experiment, one page for the study."""

import json
import os
import re
import subprocess

import pytest

from conftest import assert_png, assert_study_page, make_dataset
from test_documented_commands import REPO, git_state

SCRIPT = os.path.join(REPO, "tools", "batch_study.sh")
STUDIES = ("mlp512_5ep", "mlp64_32_100ep", "fashion_mlp512_5ep", "fashion_mlp64_32_100ep")


@pytest.mark.skipif(not os.path.exists(os.path.join(REPO, "build", "bench", "mlp_bench")),
                    reason="needs the release build (cmake --preset release)")
@pytest.mark.slow
def test_quick_study_writes_every_log_and_figure_outside_the_repository(tmp_path):
    for dataset in ("mnist", "fashion-mnist"):
        for split, n in (("train", 200), ("test", 50)):
            make_dataset(tmp_path / "data", dataset, n=n, split=split)
    shown_before, _ = git_state()
    env = dict(os.environ, MLPBENCH_DATA=str(tmp_path / "data"), MPLBACKEND="Agg",
               PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(["bash", SCRIPT, "--quick"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    where = re.search(r"logs in (\S+)/batch_\*", proc.stderr)
    assert where, proc.stderr
    out = where.group(1)
    try:
        assert not out.startswith(REPO)
        for name in STUDIES:
            assert_png(os.path.join(out, f"batch_{name}.png"))
            for rule in ("none", "linear", "sqrt"):
                folder = os.path.join(out, f"batch_{name}", rule)
                logs = [json.load(open(os.path.join(folder, f)))
                        for f in sorted(os.listdir(folder)) if f.endswith(".json")]
                assert sorted(log["experiment"]["batch_size"] for log in logs) == [32, 128]
                for log in logs:
                    assert log["status"] == "completed"
                    assert log["run"]["lr_scaling"]["rule"] == rule
                    assert log["experiment"]["target_metric"] == "test_accuracy"
                    assert 0.8 < log["experiment"]["target_accuracy"] < 1
                    assert len(log["epochs"]) == 2
                    assert log["summary"]["time_to_target_seconds"] is None  # random pixels
        text = assert_study_page(os.path.join(out, "batch_study.html"), len(STUDIES), absent=[out, tmp_path])
        assert text.count("tools/plot_batch.py") == len(STUDIES)
        assert text.count("--sweep-batch-size 32,128") == 3 * len(STUDIES)
        assert shown_before == git_state()[0], "the quick study changed what git status shows"
    finally:
        subprocess.run(["rm", "-rf", out], check=True, timeout=120)
