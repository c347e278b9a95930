"""export.py: a nested per-epoch field (phases) is written as JSON text, so a spreadsheet or any
JSON reader takes it back exactly; it never shows Python's repr (single quotes)."""

import csv
import io
import json

from conftest import fixture


def log_with_phases(tmp_path):
    log = json.loads(open(fixture("runs", "completed_avx3_t2.json"), encoding="utf-8").read())
    for e in log["epochs"]:
        e["phases"] = {"steps": e["steps"], "threads": [
            {"layer0_forward_seconds": 0.1 + e["epoch"] / 3, "upper_layers_or_gather_seconds": 0.2,
             "barrier_wait_seconds": 0.0, "layer0_backward_update_seconds": 1 / 7}] * 2}
    path = tmp_path / "log.json"
    path.write_text(json.dumps(log))
    return path, log["epochs"]


def test_phases_are_one_column_of_json_text(run, tmp_path):
    path, epochs = log_with_phases(tmp_path)
    r = run("export.py", path, "-o", "epochs.csv")
    assert r.code == 0, r
    text = (tmp_path / "epochs.csv").read_text()
    assert "'" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[-1] == "phases"  # the documented order: phases last
    assert [json.loads(row["phases"]) for row in rows] == [e["phases"] for e in epochs]
    assert float(rows[0]["train_loss"]) == epochs[0]["train_loss"]
