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
