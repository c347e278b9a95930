"""tools/epoch_ab.py: interleaved whole-epoch A/B of run_experiment options, against a fake
engine whose epoch time depends on its options."""

import json
import os
import signal
import stat
import subprocess
import time

import pytest

from conftest import PYTHON, TOOLS, assert_clean_error

def default_sigint():
    """Run in the child before exec: SIGINT as Python expects it, so that the tool turns it into
    KeyboardInterrupt even when the tests were started with SIGINT ignored (a background job of
    a script, nohup), which the child would inherit and Python would then leave ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# How long a test waits for epoch_ab to start its (fake) engine: a bound, not an expectation.
# Two Python start-ups on a machine whose cores are busy with builds took over 20 s.
ENGINE_START_BOUND_S = 180

FAKE_ENGINE = r'''#!/usr/bin/python3
import json, os, sys
args = sys.argv[1:]
if "--dry-run" in args:  # the experiment as the engine resolves it
    print(open(args[-1]).read())
    sys.exit(0)
with open(os.environ["FAKE_RECORD"], "a") as f:
    f.write(json.dumps(args) + "\n")
if "--sleep" in args:
    import time
    time.sleep(30)
if "--crash" in args:
    print("error: something broke", file=sys.stderr)
    sys.exit(3)
out = args[args.index("--out") + 1]
epochs = int(args[args.index("--epochs") + 1])
seconds = 0.5 * (1.25 if "--slow" in args else 1.0) * (0 if "--zero" in args else 1)
log = {"schema": "mlpbench.run/1", "status": "completed",
       "host": {"cpu_id": "AuthenticAMD family 26 model 2 stepping 1"},
       "build": {"git_commit": "abc123"}, "run": {"simd_target": "AVX3"},
       "epochs": [] if "--no-epochs" in args else
                 [{"epoch": e + 1, "train_seconds": seconds * (1 + 0.1 * (e % 2))} for e in range(epochs)]}
with open(out, "x") as f:
    json.dump(log, f)
if "--litter" in args:  # what a run may leave beside its log: a folder with files
    os.makedirs(os.path.join(os.path.dirname(out), "litter", "deep"), exist_ok=True)
    with open(os.path.join(os.path.dirname(out), "litter", "deep", "x"), "w") as f:
        f.write("x")
if "--vanish" in args:  # the log's folder removed under the tool
    import shutil
    shutil.rmtree(os.path.dirname(out))
'''


@pytest.fixture
def engine(tmp_path):
    path = tmp_path / "fake_run_experiment"
    path.write_text(FAKE_ENGINE)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "exp.json").write_text("{}")
    return path


def records(tmp_path):
    return [json.loads(line) for line in (tmp_path / "record.txt").read_text().splitlines()]


def test_b_slower_by_a_quarter_alternating_order(run, tmp_path, engine):
    r = run("epoch_ab.py", "exp.json", "--a=--shards 1", "--b=--shards 4 --slow",
            "--rounds", 4, "--epochs", 2, "--threads", 2, "--engine", engine, "--out", "sum.json",
            env={"FAKE_RECORD": str(tmp_path / "record.txt")})
    assert r.code == 0, r
    calls = records(tmp_path)
    sides = ["B" if "--slow" in c else "A" for c in calls]
    assert sides == ["A", "B", "B", "A", "A", "B", "B", "A"]
    for c in calls:  # both sides get the tool's own options and their own
        assert c[c.index("--threads") + 1] == "2" and c[c.index("--epochs") + 1] == "2"
        assert "--quiet" in c and c[c.index("--shards") + 1] in ("1", "4")
    summary = json.loads((tmp_path / "sum.json").read_text())
    assert summary["ratio_b_over_a"]["median"] == pytest.approx(1.25)
    assert summary["ratio_b_over_a"]["rounds_b_slower"] == 4
    assert summary["median_seconds_per_epoch"]["A"] == pytest.approx(0.525)  # mean of 0.5, 0.55
    assert summary["cpu_id"].startswith("AuthenticAMD family 26")
    assert len(summary["runs"]) == 8 and summary["runs"][0]["command"][0] == str(engine)
    assert "B/A: median 1.250 over 4 rounds" in r.out
    assert not [p for p in os.listdir(tmp_path) if p.startswith("round")]  # logs thrown away


def test_keep_logs(run, tmp_path, engine):
    r = run("epoch_ab.py", "exp.json", "--a=", "--b=--slow", "--rounds", 2, "--engine",
            engine, "--keep-logs", "logs", env={"FAKE_RECORD": str(tmp_path / "record.txt")})
    assert r.code == 0, r
    assert sorted(os.listdir(tmp_path / "logs")) == ["round001-A.json", "round001-B.json",
                                                     "round002-A.json", "round002-B.json"]


@pytest.mark.parametrize("crash", ["--crash", "--no-epochs", "--zero"])
def test_a_failed_run_ends_the_study_with_nothing_written(run, tmp_path, engine, crash):
    r = run("epoch_ab.py", "exp.json", "--a=", f"--b={crash}", "--rounds", 3, "--engine", engine,
            "--out", "sum.json", env={"FAKE_RECORD": str(tmp_path / "record.txt")})
    assert r.code == 1, r
    assert "a run failed" in r.err and crash in r.err
    if crash == "--crash":
        assert "something broke" in r.err and "exit 3" in r.err
    assert not (tmp_path / "sum.json").exists()


@pytest.mark.parametrize("args, names", [
    (["--a=--out x.json", "--b="], "--out"),
    (["--a=", "--b=--threads=4"], "--threads"),
    (["--a=--shards '4", "--b="], "--a"),
    (["--a", "", "--b", "", "--rounds", "0"], "--rounds"),
    (["--a", "", "--b", "", "--epochs", "x"], "--epochs"),
    (["--b="], "--a"),
    (["--a=", "--b=", "--out", "no/such/folder/sum.json"], "no/such/folder"),
    (["--a=", "--b=", "--keep-logs", "exp.json"], "exp.json"),
])
def test_bad_arguments(run, tmp_path, engine, args, names):
    r = run("epoch_ab.py", "exp.json", "--engine", engine, *args,
            env={"FAKE_RECORD": str(tmp_path / "record.txt")})
    assert_clean_error(r, names)
    assert not (tmp_path / "record.txt").exists()


def test_missing_experiment_and_engine(run, tmp_path, engine):
    r = run("epoch_ab.py", "nope.json", "--a", "", "--b", "", "--engine", engine)
    assert_clean_error(r, "nope.json")
    r = run("epoch_ab.py", "exp.json", "--a", "", "--b", "", "--engine", tmp_path / "missing")
    assert_clean_error(r, "missing")


def test_ctrl_c_writes_nothing_and_leaves_no_logs(tmp_path, engine):
    record = tmp_path / "record.txt"
    proc = subprocess.Popen([PYTHON, os.path.join(TOOLS, "epoch_ab.py"), "exp.json", "--a=--sleep",
                             "--b=", "--engine", str(engine), "--out", "sum.json"], cwd=tmp_path,
                            env=dict(os.environ, FAKE_RECORD=str(record)), stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_sigint)
    deadline = time.monotonic() + ENGINE_START_BOUND_S
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert record.exists(), "the fake engine never started"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not (tmp_path / "sum.json").exists()


# ----------------------------------------------------------------------------- clean-up

def temp_env(tmp_path):
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {"FAKE_RECORD": str(tmp_path / "record.txt"), "TMPDIR": str(tmp_path / "tmp")}


@pytest.mark.parametrize("side_b, code", [("--litter", 0), ("--litter --crash", 1),
                                          ("--vanish", 1), ("--litter --no-epochs", 1)])
def test_the_temporary_folder_is_removed_on_every_exit(run, tmp_path, engine, side_b, code):
    r = run("epoch_ab.py", "exp.json", "--a=", f"--b={side_b}", "--rounds", 2, "--engine",
            engine, env=temp_env(tmp_path))
    assert r.code == code, r
    assert "Traceback" not in r.err, r
    assert os.listdir(tmp_path / "tmp") == []


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_removes_the_temporary_folder_and_writes_nothing(tmp_path, engine, sig, code):
    env = dict(os.environ, **temp_env(tmp_path))
    proc = subprocess.Popen([PYTHON, os.path.join(TOOLS, "epoch_ab.py"), "exp.json",
                             "--a=--litter --sleep", "--b=", "--engine", str(engine), "--out",
                             "sum.json"], cwd=tmp_path, env=env, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=default_sigint)
    record = tmp_path / "record.txt"
    deadline = time.monotonic() + ENGINE_START_BOUND_S
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert record.exists(), "the fake engine never started"
    os.kill(proc.pid, sig)  # the tool alone: the engine keeps sleeping and must be stopped
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "nothing written" in err, err
    assert not (tmp_path / "sum.json").exists()
    assert os.listdir(tmp_path / "tmp") == []


@pytest.mark.parametrize("out", ["exp.json", "link.json", "fifo"])
def test_an_output_that_is_an_input_a_link_or_special_is_refused(run, tmp_path, engine, out):
    os.symlink(tmp_path / "elsewhere.json", tmp_path / "link.json")
    os.mkfifo(tmp_path / "fifo")
    r = run("epoch_ab.py", "exp.json", "--a=", "--b=", "--engine", engine, "--out", out,
            env=temp_env(tmp_path), timeout=60)
    assert_clean_error(r, out)
    assert (tmp_path / "exp.json").read_text() == "{}"
    assert not (tmp_path / "record.txt").exists() and not (tmp_path / "elsewhere.json").exists()
