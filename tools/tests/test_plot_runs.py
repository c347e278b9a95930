"""plot_runs.py: curves per epoch, summary table, errors."""

import glob

from conftest import assert_clean_error, assert_png, assert_svg, fixture


def test_all_kinds_of_logs_png_and_summary(run, tmp_path):
    logs = sorted(glob.glob(fixture("runs", "*.json")))
    r = run("plot_runs.py", *logs, "-o", "out/runs.png", "--summary", "--title", "T")
    assert r.code == 0, r
    assert_png(tmp_path / "out" / "runs.png")
    assert "final test acc" in r.out and "mean epoch s" in r.out
    assert "98.03%" in r.out  # final test accuracy of the completed run
    for status in ("running", "diverged", "interrupted"):
        assert status in r.out
    assert "reference for mlp512_5ep: 98.09%" in r.out


def test_default_output_name_and_svg(run, tmp_path):
    r = run("plot_runs.py", fixture("runs", "completed_avx3_t2.json"))
    assert r.code == 0, r
    assert_png(tmp_path / "runs.png")
    assert r.out == ""  # no table without --summary
    r = run("plot_runs.py", fixture("sweep"), "-o", "sweep.svg")  # a folder of logs
    assert r.code == 0, r
    assert_svg(tmp_path / "sweep.svg")


def test_bad_logs_exit_2_and_name_the_file(run, tmp_path):
    for name, needle in (("malformed.json", "/epochs/1/test_loss"),
                         ("truncated.json", "truncated"),
                         ("wrong_schema.json", "/schema")):
        path = fixture("bad", name)
        r = run("plot_runs.py", fixture("runs", "completed_avx3_t2.json"), path, "-o", "x.png")
        assert_clean_error(r, path, needle)
    assert not (tmp_path / "x.png").exists()
    assert_clean_error(run("plot_runs.py", "missing.json"), "missing.json", "no such file")


def test_unsupported_output_extension(run):
    r = run("plot_runs.py", fixture("runs", "pytorch.json"), "-o", "runs.pdf")
    assert_clean_error(r, "runs.pdf", ".png or .svg")


def test_help(run):
    r = run("plot_runs.py", "--help")
    assert r.code == 0 and "--summary" in r.out and "-o" in r.out
    assert run("plot_runs.py").code == 2  # no LOG


def test_noisy_host_runs_are_marked(run, tmp_path):
    import json
    log = json.load(open(fixture("runs", "completed_avx3_t2.json")))
    log["run"].update(host_noisy=True, host_noise_reasons=["load average 5.00 above 2 logical CPUs"])
    (tmp_path / "noisy.json").write_text(json.dumps(log))
    r = run("plot_runs.py", tmp_path / "noisy.json", fixture("runs", "running_t1.json"),
            "--summary", "-o", "n.png")
    assert r.code == 0, r
    assert r.out.count("[noisy host]") == 1
    assert "noisy host: " in r.out and "load average 5.00 above 2 logical CPUs" in r.out
    assert_png(tmp_path / "n.png")
    log["run"]["host_noise_reasons"] = "load"
    (tmp_path / "bad.json").write_text(json.dumps(log))
    assert_clean_error(run("plot_runs.py", tmp_path / "bad.json"), "/run/host_noise_reasons")


def keras_habits_log(tmp_path):
    """The completed fixture as a run with a validation split, ReduceLROnPlateau, early stopping
    that restored epoch 2's weights after epoch 4, and a target first reached in epoch 3."""
    import json
    log = json.load(open(fixture("runs", "completed_avx3_t2.json")))
    log["epochs"] = log["epochs"][:4]
    for e, val in zip(log["epochs"], (0.95, 0.975, 0.97, 0.965)):
        e["val_accuracy"], e["val_loss"] = val, 1 - val
    log["experiment"].update(validation_split=0.1, target_accuracy=0.97,
                             target_metric="val_accuracy")
    log["callback_events"] = [
        {"epoch": 3, "callback": "reduce_lr_on_plateau", "action": "reduce_learning_rate",
         "reason": "...", "from": 0.001, "to": 0.0005},
        {"epoch": 4, "callback": "early_stopping", "action": "stop_training", "reason": "..."},
        {"epoch": 4, "callback": "early_stopping", "action": "restore_best_weights",
         "reason": "restored the weights of epoch 2 (val_accuracy 0.975)", "restored_epoch": 2}]
    restored = log["epochs"][1]
    log["evaluation"] = {"split": "test", "test_loss": restored["test_loss"],
                         "test_accuracy": restored["test_accuracy"]}
    log["summary"].update(target_accuracy=0.97, target_metric="val_accuracy", epochs_to_target=2,
                          time_to_target_seconds=1.2345, eval_seconds_to_target=0.1)
    path = tmp_path / "keras_habits.json"
    path.write_text(json.dumps(log))
    return path, log


def test_restored_weights_validation_events_and_target_are_shown(run, tmp_path):
    path, log = keras_habits_log(tmp_path)
    restored, last = log["epochs"][1]["test_accuracy"], log["epochs"][3]["test_accuracy"]
    assert f"{restored:.2%}" != f"{last:.2%}"
    r = run("plot_runs.py", path, "--summary", "-o", "k.svg")
    assert r.code == 0, r
    row = r.out.splitlines()[2]
    # The model the run ends with: epoch 2's restored weights, not the last epoch's.
    assert "epoch 2 (restored)" in row and f"{restored:.2%}" in row and f"{last:.2%}" not in row
    # Nothing chosen on the test set with a validation split: no best test accuracy.
    best = max(e["test_accuracy"] for e in log["epochs"])
    assert f"{best:.2%}" not in row.replace(f"{restored:.2%}", "")
    assert "best test acc: left out" in r.out
    assert "97.00% val_accuracy reached at epoch 2 after 1.23 s of training" in row
    svg = (tmp_path / "k.svg").read_text()
    for text in ("validation", "target 97.00% val_accuracy", "target: epoch 2, 1.23 s",
                 f"model: the weights of epoch 2 (restored), test accuracy {restored:.2%}",
                 "weights restored by early stopping", "early stopping stopped after this epoch",
                 "ReduceLROnPlateau lowered the learning rate after this epoch", "lr 0.0005"):
        assert f"<!-- {text}" in svg, text


def test_logs_without_validation_or_callbacks_draw_no_marks(run, tmp_path):
    r = run("plot_runs.py", fixture("runs", "completed_avx3_t2.json"), "-o", "plain.svg")
    assert r.code == 0, r
    svg = (tmp_path / "plain.svg").read_text()
    for text in ("validation", "target", "restored", "early stopping", "ReduceLROnPlateau"):
        assert f"<!-- {text}" not in svg, text


def test_bad_callback_events_name_the_field(run, tmp_path):
    import json
    path, log = keras_habits_log(tmp_path)
    log["callback_events"][2]["restored_epoch"] = "two"
    path.write_text(json.dumps(log))
    assert_clean_error(run("plot_runs.py", path), "/callback_events/2/restored_epoch")
