"""Every tool against malformed inputs of every kind: each ends in one line on stderr naming the
file, exit status 2, never a traceback, and never hangs (a FIFO is refused, not opened for a
blocking read). The tools run in this process, through the same entry point as on the command
line, each call bounded by an alarm; one kind per program also runs as a subprocess with a
timeout."""

import gzip
import json
import os
import re
import signal
import subprocess

import pytest

from conftest import FIXTURES, PYTHON, TOOLS, fixture
from test_eval_weights import mlp, safetensors

REPO = os.path.dirname(TOOLS)
ENGINE = os.path.join(REPO, "build", "engine", "run_experiment")
GOOD_LOG = fixture("runs", "completed_avx3_t2.json")
GOOD_BENCH = fixture("bench", "a.json")
HISTORY_ENTRY = "history/raw/0123456789/2026-01-01T000000Z_abc_AVX3.json"


def calibration_name():
    """history/calibration/<machine>-<build>.json of the machine and build of the B record
    compared (b_same.json): the calibration compare reads."""
    from mlpbench import logs as ml
    from mlpbench.tracking import store as track_store
    context = ml.load_bench(fixture("bench", "b_same.json")).context
    return (f"history/calibration/{track_store.fingerprint(track_store.machine_facts_of(context))}"
            f"-{track_store.fingerprint(track_store.build_facts_of(context))}.json")


CALIBRATION = calibration_name()


def good_bytes(base):
    """A valid input of each base kind."""
    if base == "log":
        return open(GOOD_LOG, "rb").read()
    if base == "bench":
        return open(GOOD_BENCH, "rb").read()
    if base == "weights":
        return safetensors(mlp(784, 16, 10))
    if base == "experiment":
        return open(os.path.join(FIXTURES, "experiment_mlp512.json"), "rb").read()
    if base == "manifest":
        return json.dumps({"runs": [{"name": "x", "kind": "log", "output": "x.json",
                                     "exit": 0}]}).encode()
    if base == "host":
        return b'{"noisy_reasons": []}'
    if base == "calibration":
        return b'{"benchmarks": {"BM_X": {"resolution": 0.01}}}'
    if base == "idx":
        return bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28]) + bytes(2 * 28 * 28)
    raise AssertionError(base)


def wrong_types(base):
    """A file of the right kind whose fields have the wrong types."""
    if base == "weights":
        return safetensors(mlp(784, 10), dtype="I64")
    if base == "idx":
        return bytes([0, 0, 0x0D, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28]) + bytes(4 * 784)
    data = json.loads(good_bytes(base))
    if base == "log":
        data["epochs"][0]["test_loss"] = "low"
    elif base == "bench":
        data["benchmarks"][0]["real_time"] = "fast"
    elif base == "experiment":
        data["epochs"] = "many"
    elif base == "host":
        data["noisy_reasons"] = 5
    elif base == "calibration":
        data["benchmarks"]["BM_X"] = 0.01
    elif base == "manifest":
        data["runs"] = [{"kind": "log", "output": ["x"], "exit": 0}, 3]
    return json.dumps(data).encode()


CONTENTS = {
    "not JSON": lambda base: b"this is not JSON\n",
    "JSON of another kind": lambda base: b'{"hello": [1, 2]}\n',
    "a JSON list": lambda base: b"[1, 2, 3]\n",
    "truncated": lambda base: good_bytes(base)[:len(good_bytes(base)) * 3 // 5],
    "empty": lambda base: b"",
    "binary": lambda base: bytes(range(256)) * 8,
    "gzip garbage": lambda base: b"\x1f\x8b\x08\x00garbage",
    "deeply nested": lambda base: b"[" * 200000,
    "wrong types": wrong_types,
}
SPECIAL = ("folder", "FIFO", "missing")
KINDS = tuple(CONTENTS) + SPECIAL

# (tool, base kind, where the input goes, argv with {input}/{dir} placeholders, engine needed)
TOOLS_AND_INPUTS = [
    ("export.py", "log", "in.json", ["{input}"]),
    ("plot_runs.py", "log", "in.json", ["{input}", "-o", "out.png"]),
    ("plot_batch.py", "log", "in.json", ["{input}", "-o", "out.png"]),
    ("plot_batch.py --bench", "bench", "in.json", [GOOD_LOG, "--bench", "{input}", "-o",
                                                   "out.png"]),
    ("plot_scaling.py", "log", "in.json", ["{input}", "-o", "out.png"]),
    ("plot_scaling.py study", "manifest", "study/study.json", ["{dir}", "-o", "out.png"]),
    ("plot_roofline.py", "bench", "in.json", ["{input}", "-o", "out.png"]),
    ("plot_eval.py --log", "log", "in.json", ["--log", "{input}", "-o", "out.png"]),
    ("plot_eval.py --weights", "weights", "in.st", ["--weights", "{input}", "-o", "out.png"]),
    ("plot_model.py", "log", "in.json", ["{input}", "-o", "out.png"]),
    ("eval_weights.py", "weights", "in.st", ["{input}"]),
    ("eval_weights.py --log", "log", "in.json", ["good.st", "--log", "{input}"]),
    ("alpha_beta.py", "bench", "in.json", ["{input}", "--compute-us", "1", "--optimizer-us",
                                           "1", "--floats", "100", "-o", "out.png"]),
    ("alpha_beta.py --study", "manifest", "study/study.json",
     ["--study", "{dir}", "--compute-us", "1", "--optimizer-us", "1", "--floats", "100", "-o",
      "out.png"]),
    ("scaling_study.py", "experiment", "in.json", ["{input}", "-o", "out", "--dry-run"]),
    ("show_samples.py", "idx", "data/mnist/train-images-idx3-ubyte",
     ["--data-dir", "data", "-o", "out.png"]),
    ("make_idx_seeds.py", "idx", "data/mnist/train-images-idx3-ubyte",
     ["--data-dir", "data", "-o", "out"]),
    ("track.py compare", "bench", "in.json", ["compare", "{input}", GOOD_BENCH]),
    ("track.py record --from-json", "bench", "in.json", ["record", "--from-json", "{input}"]),
    ("track.py history entry", "bench", HISTORY_ENTRY, ["compare", "previous", "latest"]),
    ("track.py history host state", "host", HISTORY_ENTRY[:-5] + ".host.json",
     ["compare", "previous", "latest"]),
    ("track.py calibration", "calibration", CALIBRATION,
     ["compare", GOOD_BENCH, fixture("bench", "b_same.json")]),
    ("epoch_ab.py", "experiment", "in.json", ["{input}", "--a=", "--b=", "--rounds", "1",
                                              "--engine", ENGINE]),
    ("side_by_side.py", "experiment", "in.json", ["{input}", "--rounds", "1", "--engine",
                                                  ENGINE, "--out-dir", "sbs"]),
    ("plot_model.py experiment", "experiment", "in.json", ["{input}", "-o", "out.png"]),
    ("results_page.py", "log", "results/runs/reference/in.json", ["results", "-o", "out.html"]),
    ("results_tables.py", "log", "results/runs/reference/mlp512_5ep.json", ["results"]),
    ("machine.py describe", "bench", "f/bench/mlp_bench_t1.json", ["describe", "f"]),
    ("study_page.py", "log", "in.json", ["{input}", "--title", "t", "-o", "out.html"]),
    ("study_page.py --figure", "log", "in.png", [GOOD_LOG, "--title", "t", "--figure", "{input}",
                                                 "-o", "out.html"]),
]
NEEDS_ENGINE = {"epoch_ab.py", "side_by_side.py", "plot_model.py experiment"}
# A missing or folder history entry is no entry at all; a missing study.json makes the folder
# an ordinary argument (a folder of logs).
NOT_APPLICABLE = {("track.py history entry", "missing"), ("track.py history entry", "folder"),
                  ("track.py history host state", "missing"),
                  ("track.py history host state", "folder"),
                  ("track.py history host state", "JSON of another kind"),  # free-form object
                  ("track.py calibration", "missing"),  # none: every benchmark gates
                  ("plot_scaling.py study", "missing"), ("plot_scaling.py study", "folder"),
                  ("results_page.py", "missing"),  # no reference run: the page says so
                  ("machine.py describe", "missing")}  # no benchmarks yet: machine.json without peaks


def place(tmp_path, where, base, kind):
    """The malformed input at tmp_path/where, with the valid files the command also needs."""
    path = tmp_path / where
    path.parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "good.st").write_bytes(good_bytes("weights"))
    if where.startswith("history/"):  # a valid record beside the garbage, this machine's
        good = path.parent / "2026-01-02T000000Z_def_AVX3.json"
        good.write_bytes(good_bytes("bench"))
        if where.endswith(".host.json"):
            path.with_name(path.name[:-len(".host.json")] + ".json").write_bytes(
                good_bytes("bench"))
    if base == "idx":
        (path.parent / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 2, 3, 4]))
    if kind == "folder":
        path.mkdir()
    elif kind == "FIFO":
        os.mkfifo(path)
    elif kind != "missing":
        path.write_bytes(CONTENTS[kind](base))
    return path


def cases():
    for tool, base, where, argv in TOOLS_AND_INPUTS:
        for kind in KINDS:
            if (tool, kind) not in NOT_APPLICABLE:
                yield pytest.param(tool, base, where, argv, kind, id=f"{tool}-{kind}")


def module_of(script):
    """The module that tools/<script>, an entry script, runs."""
    with open(os.path.join(TOOLS, script), encoding="utf-8") as f:
        return re.search(r'runpy\.run_module\("([\w.]+)"', f.read()).group(1)


def entry_point(script):
    """The function the module's `if __name__ == "__main__"` calls, taking argv, returning the
    exit status."""
    import importlib
    from mlpbench import cli
    module = importlib.import_module(module_of(script))
    if script == "track.py":
        return module.guarded
    if script == "side_by_side.py":
        return module.cli
    if script == "epoch_ab.py":
        return module.main
    return lambda argv: cli.main_guard(module.PROG, module.main, argv)


class Hung(Exception):
    pass


def _hung(signum, frame):
    raise Hung("the tool did not finish within 30 s")


def run_in_process(script, args, capsys):
    """(exit status, stderr) of the tool's entry point on args."""
    from mlpbench import files as mlpbench_files
    mlpbench_files._inputs.clear()  # each call is its own process on the command line
    entry = entry_point(script)
    capsys.readouterr()
    previous = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(30)
    try:
        code = entry(args)
    except SystemExit as e:  # argparse
        code = e.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, capsys.readouterr().err


def setup_case(tmp_path, monkeypatch, tool, base, where, argv, kind):
    if tool in NEEDS_ENGINE and not os.access(ENGINE, os.X_OK):
        pytest.skip("build/engine/run_experiment is not built")
    path = place(tmp_path, where, base, kind)
    monkeypatch.chdir(tmp_path)
    for key, value in (("MLPBENCH_HISTORY", tmp_path / "history"),
                       ("MLPBENCH_LOCK", tmp_path / "lock"), ("MLPBENCH_DATA", tmp_path / "none"),
                       ("MPLBACKEND", "Agg")):
        monkeypatch.setenv(key, str(value))
    return path, [a.format(input=path, dir=path.parent) for a in argv]


def assert_one_line_naming(code, err, path, tmp_path):
    shown = f"exit {code}\n--- stderr\n{err}"
    assert code == 2, shown
    assert "Traceback" not in err, shown
    assert len(err.strip().splitlines()) == 1, shown
    assert os.path.basename(path) in err, shown
    assert not [n for n in os.listdir(tmp_path) if n.startswith("out")], shown


@pytest.mark.parametrize("tool, base, where, argv, kind", cases())
def test_a_malformed_input_gets_one_line_naming_it_and_exit_2(tmp_path, monkeypatch, capsys,
                                                              tool, base, where, argv, kind):
    path, args = setup_case(tmp_path, monkeypatch, tool, base, where, argv, kind)
    code, err = run_in_process(tool.split()[0], args, capsys)
    assert_one_line_naming(code, err, path, tmp_path)


PROGRAMS = sorted({t.split()[0]: (t, b, w, a) for t, b, w, a in TOOLS_AND_INPUTS}.values())


@pytest.mark.parametrize("tool, base, where, argv", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_the_command_line_refuses_a_fifo_without_hanging(tmp_path, monkeypatch, tool, base,
                                                         where, argv):
    path, args = setup_case(tmp_path, monkeypatch, tool, base, where, argv, "FIFO")
    script = tool.split()[0]
    program = os.path.join(TOOLS, script)
    proc = subprocess.run([PYTHON, program, *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    assert_one_line_naming(proc.returncode, proc.stderr, path, tmp_path)


def test_every_tool_that_reads_files_is_swept():
    """A new tool must join the sweep: every entry script in tools/, except the test helpers'
    (they read what the build and the tests write; make_idx_seeds.py, which reads the datasets,
    is swept all the same) and the PyTorch peer's (exit statuses of its own,
    bench/peers/README.md; bench/peers/tests covers its inputs)."""
    programs = {t.split()[0] for t, *_ in TOOLS_AND_INPUTS}
    exempt = ("mlpbench.checks.", "mlpbench.peers.pytorch_mlp")
    here = {name for name in os.listdir(TOOLS)
            if name.endswith(".py") and not module_of(name).startswith(exempt)}
    assert len(here) >= 12 and here <= programs, sorted(here - programs)


def test_gzip_of_a_valid_log_is_read(tmp_path):
    """The sweep's gzip garbage is refused, but a real gzip log is an input like any other."""
    (tmp_path / "log.json.gz").write_bytes(gzip.compress(good_bytes("log")))
    proc = subprocess.run([PYTHON, os.path.join(TOOLS, "export.py"), "log.json.gz"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("epoch,"), proc.stderr
