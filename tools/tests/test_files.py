"""The tools' file rules (tools/mlpbench/files.py): whole outputs, never over an input, a link
or a special file, temporary files gone on every exit path; and every writing tool given one
of its own inputs as its output."""

import json
import os
import shutil
import signal
import stat
import subprocess
import textwrap

import pytest

from conftest import PYTHON, TOOLS, fixture
from mlpbench import files as mf
from mlpbench import inputs as mlpbench_inputs
from test_eval_weights import mlp, safetensors
from test_rank_study import bench_file
from test_untrusted_inputs import ENGINE, run_in_process


@pytest.fixture(autouse=True)
def fresh_inputs():
    mf._inputs.clear()  # each test is its own process's worth of inputs
    yield
    mf._inputs.clear()


def leftovers(folder):
    return [n for n in os.listdir(folder) if n.endswith(".tmp")]


# ----------------------------------------------------------------------------- outputs

def test_an_output_is_replaced_whole_and_keeps_its_permissions(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("old")
    out.chmod(0o640)
    mf.write_atomic(str(out), "new contents")
    assert out.read_text() == "new contents" and stat.S_IMODE(out.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.bin"
    mask = os.umask(0o027)
    try:
        mf.write_atomic(str(fresh), b"\x00\x01")
    finally:
        os.umask(mask)
    assert fresh.read_bytes() == b"\x00\x01" and stat.S_IMODE(fresh.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [ValueError("half-way"), KeyboardInterrupt(),
                                   mf.Terminated(signal.SIGTERM)])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, error):
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(type(error)):
        with mf.atomic_output(str(out)) as f:
            f.write("half of the new")
            raise error
    assert out.read_text() == "old" and leftovers(tmp_path) == []


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129),
                                       (signal.SIGINT, 130)])
def test_a_signal_during_a_write_removes_the_temporary(tmp_path, sig, code):
    out = tmp_path / "out.txt"
    out.write_text("old")
    script = textwrap.dedent(f"""
        import os, signal, sys
        signal.signal({int(sig)}, signal.default_int_handler if {int(sig)} == signal.SIGINT
                      else signal.SIG_DFL)  # Python's own, as if not started under nohup
        from mlpbench import cli, files as mf
        def main(argv):
            with mf.atomic_output({str(out)!r}) as f:
                f.write("half")
                f.flush()
                os.kill(os.getpid(), {int(sig)})
                f.write("never")
        sys.exit(cli.main_guard("t", main))
        """)
    proc = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=TOOLS))
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.read_text() == "old" and leftovers(tmp_path) == []


def test_refused_outputs(tmp_path):
    source = tmp_path / "in.json"
    source.write_text("{}")
    mf.read_bytes(str(source))
    os.link(source, tmp_path / "hard.json")
    os.symlink(source, tmp_path / "link.json")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling.json")
    (tmp_path / "dir").mkdir()
    os.symlink(tmp_path, tmp_path / "alias")
    os.mkfifo(tmp_path / "fifo")
    for path, needle in ((source, "is also an input"), (tmp_path / "hard.json", "also an input"),
                         (tmp_path / "alias" / "in.json", "also an input"),
                         (tmp_path / "link.json", "symbolic link"),
                         (tmp_path / "dangling.json", "symbolic link"),
                         (tmp_path / "dir", "a directory"), (tmp_path / "fifo", "a FIFO"),
                         ("/dev/null", "a character device")):
        with pytest.raises(mf.ToolError, match=needle) as e:
            mf.write_atomic(str(path), "x")
        assert str(e.value).startswith(str(path))
    assert source.read_text() == "{}" and not (tmp_path / "nowhere").exists()
    assert leftovers(tmp_path) == []
    # a file another program reads for the tool counts as an input when named
    other = tmp_path / "exp.json"
    other.write_text("{}")
    with pytest.raises(mf.ToolError, match="also an input"):
        mf.check_output(str(other), inputs=[str(other)])


def test_an_input_since_deleted_does_not_block_a_new_file(tmp_path):
    """Inputs are compared as they are now: a file created later in a deleted input's inode is
    no input."""
    a = tmp_path / "a"
    a.write_text("x")
    mf.read_bytes(str(a))
    identity = mf._inputs.pop(str(a))
    mf._inputs[str(tmp_path / "gone")] = identity  # as if read under a name since deleted
    mf.write_atomic(str(tmp_path / "b"), "fine")
    assert (tmp_path / "b").read_text() == "fine"


def test_exclusive_creation_never_replaces(tmp_path):
    target = tmp_path / "r.json"
    assert mf.create_exclusive(str(target), b"first")
    assert not mf.create_exclusive(str(target), b"second")
    os.symlink(tmp_path / "victim", tmp_path / "s.json")
    assert not mf.create_exclusive(str(tmp_path / "s.json"), b"third")
    assert target.read_bytes() == b"first" and not (tmp_path / "victim").exists()
    assert leftovers(tmp_path) == []


def test_exclusive_creation_without_hard_links(tmp_path, monkeypatch):
    """On a filesystem without link(2) the name is claimed by an O_EXCL file, then the complete
    file renamed over it: still never over an existing name."""
    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(mf.os, "link", no_links)
    target = tmp_path / "r.json"
    assert mf.create_exclusive(str(target), b"first")
    assert not mf.create_exclusive(str(target), b"second")
    assert target.read_bytes() == b"first" and leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- inputs

@pytest.mark.parametrize("kind, needle", [("fifo", "a FIFO"), ("dir", "a directory"),
                                          ("missing", "no such file"),
                                          ("device", "a character device")])
def test_an_input_that_is_not_a_regular_file_is_refused_at_once(tmp_path, kind, needle):
    path = {"device": "/dev/zero"}.get(kind, str(tmp_path / "x"))
    if kind == "fifo":
        os.mkfifo(path)  # no writer: a blocking open would never return
    elif kind == "dir":
        os.mkdir(path)
    with pytest.raises(mf.ToolError, match=needle):
        mf.read_bytes(path)


# ----------------------------------------------------------------------------- folders, locks

def test_a_temporary_folder_goes_with_everything_in_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(mf.tempfile, "tempdir", None)
    with pytest.raises(KeyboardInterrupt):
        with mf.temporary_folder("t-") as folder:
            os.makedirs(os.path.join(folder, "a", "b"))
            open(os.path.join(folder, "a", "b", "c"), "w").close()
            raise KeyboardInterrupt
    with mf.temporary_folder("t-") as folder:
        shutil.rmtree(folder)  # removed under it: the clean-up must not fail
    assert os.listdir(tmp_path) == []


def test_a_lock_is_never_opened_through_a_link_or_as_a_special_file(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    os.symlink(victim, tmp_path / "link")
    with pytest.raises(mf.ToolError, match="symbolic link"):
        mf.open_lock(str(tmp_path / "link"))
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(mf.ToolError, match="FIFO"):
        mf.open_lock(str(tmp_path / "fifo"))
    os.link(victim, tmp_path / "hard")
    fd = mf.open_lock(str(tmp_path / "hard"))
    try:
        assert not mf.lock_note_writable(fd)  # another name: its contents are not ours
    finally:
        os.close(fd)
    fd = mf.open_lock(str(tmp_path / "own"))
    try:
        assert mf.lock_note_writable(fd)
        assert stat.S_IMODE(os.fstat(fd).st_mode) & 0o022 == 0  # only its owner writes it
    finally:
        os.close(fd)
    assert victim.read_text() == "keep"


# ----------------------------------------------------------------------------- every writing tool

def own_input_cases(tmp_path):
    """{case: (script, argv, the input that is also the output)}: each tool gets far enough to
    write (valid inputs), its output naming one of its inputs."""
    log = tmp_path / "log.svg"  # a run log under a figure's name
    shutil.copy(fixture("runs", "completed_avx3_t2.json"), log)
    sweep = tmp_path / "sweep"
    shutil.copytree(fixture("sweep"), sweep)
    os.link(sweep / "t1_avx3.json", tmp_path / "sweep.png")
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(fixture("runs", "completed_avx3_t2.json"), logs / "a.json")
    os.link(logs / "a.json", tmp_path / "hard.csv")
    model = tmp_path / "model.svg"
    shutil.copy(fixture("runs", "pytorch.json"), model)
    mlpbench_inputs.write_tiny_mnist(tmp_path, 20, 30)
    images = tmp_path / "mnist" / "train-images-idx3-ubyte"
    os.link(images, tmp_path / "images.png")
    weights = tmp_path / "w.svg"
    weights.write_bytes(safetensors(mlp(784, 16, 10)))
    bench = tmp_path / "bench.svg"
    shutil.copy(fixture("bench", "a.json"), bench)
    roofline = tmp_path / "roofline.svg"
    shutil.copy(fixture("roofline", "mlp_bench_t1.json"), roofline)
    reductions = [str(bench_file(tmp_path / f"reduction-r{r}.json", r)) for r in (2, 4)]
    os.link(reductions[0], tmp_path / "reduction.png")
    ab = ["--floats", "1000", "--compute-us", "10", "--optimizer-us", "1"]
    return {
        "export.py": ("export.py", ["log.svg", "-o", "log.svg"], log),
        "export.py folder": ("export.py", ["logs", "-o", "logs/a.json"], logs / "a.json"),
        "export.py hard link": ("export.py", ["logs", "-o", "hard.csv"], logs / "a.json"),
        "plot_runs.py": ("plot_runs.py", ["log.svg", "-o", "log.svg"], log),
        "plot_scaling.py": ("plot_scaling.py", ["sweep", "-o", "sweep.png"],
                            sweep / "t1_avx3.json"),
        "plot_roofline.py": ("plot_roofline.py", ["roofline.svg", "-o", "roofline.svg"], roofline),
        "plot_model.py": ("plot_model.py", ["model.svg", "-o", "model.svg"], model),
        "plot_eval.py": ("plot_eval.py", ["--weights", "w.svg", "--data-dir", ".", "-o", "w.svg"],
                         weights),
        "plot_eval.py --grid": ("plot_eval.py", ["--weights", "w.svg", "--data-dir", ".", "-o",
                                                 "eval.png", "--grid", "w.svg"], weights),
        "show_samples.py": ("show_samples.py", ["--data-dir", ".", "-o", "images.png"], images),
        "alpha_beta.py -o": ("alpha_beta.py", [*reductions, *ab, "-o", "reduction.png"],
                             reductions[0]),
        "alpha_beta.py --json": ("alpha_beta.py", [*reductions, *ab, "-o", "ab.png", "--json",
                                                   reductions[1]], reductions[1]),
        "track.py compare": ("track.py", ["compare", "bench.svg", fixture("bench", "b_same.json"),
                                          "-o", "bench.svg"], bench),
    }


CASES = ["export.py", "export.py folder", "export.py hard link", "plot_runs.py",
         "plot_scaling.py", "plot_roofline.py", "plot_model.py", "plot_eval.py", "plot_eval.py --grid",
         "show_samples.py",
         "alpha_beta.py -o", "alpha_beta.py --json", "track.py compare"]


@pytest.mark.parametrize("case", CASES)
def test_a_tool_never_writes_over_its_own_input(tmp_path, monkeypatch, capsys, case):
    script, argv, victim = own_input_cases(tmp_path)[case]
    before = open(victim, "rb").read()
    files = sorted(os.path.join(d, n) for d, _, names in os.walk(tmp_path) for n in names)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("MLPBENCH_HISTORY", str(tmp_path / "history"))
    code, err = run_in_process(script, argv, capsys)
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "is also an input" in err and os.path.basename(argv[-1]) in err, err
    assert open(victim, "rb").read() == before
    # nothing written at all: no other output, no temporary file
    assert sorted(os.path.join(d, n) for d, _, names in os.walk(tmp_path) for n in names) == files


def test_the_peers_driver_never_writes_its_summary_over_the_experiment(tmp_path, monkeypatch,
                                                                       capsys):
    if not os.access(ENGINE, os.X_OK):
        pytest.skip("build/engine/run_experiment is not built")
    exp = tmp_path / "exp.json"
    shutil.copy(fixture("experiment_mlp512.json"), exp)
    before = exp.read_bytes()
    monkeypatch.chdir(tmp_path)
    code, err = run_in_process("side_by_side.py", ["exp.json", "--engine", ENGINE, "--out-dir",
                                                   "sbs", "--json-out", "exp.json"], capsys)
    assert code == 2 and "exp.json: is also an input" in err, err
    assert exp.read_bytes() == before and json.loads(before)
