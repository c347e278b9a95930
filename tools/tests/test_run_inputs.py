"""A tool's inputs are also what it does not read itself: the files its launched runs read
(epoch_ab.py, side_by_side.py, scaling_study.py: the experiment, the dataset files, a checkpoint)
and every file a study folder lists (alpha_beta.py, plot_scaling.py). None is ever an output,
whatever its spelling (a hard link too), refused before the first run; the files a run writes
beside its log are written whole, never through a link; a figure's folder made for it is
removed again when the figure cannot be written."""

import json
import os
import stat

import pytest

import make_fixtures
from conftest import assert_clean_error
from mlpbench import files as mlpbench_files
from mlpbench import plotting
from mlpbench import run_inputs
from mlpbench.peers import side_by_side
from test_epoch_ab import FAKE_ENGINE
from test_rank_study import bench_file, write_study

LABELS = os.path.join("mnist", "t10k-labels-idx1-ubyte")


@pytest.fixture(autouse=True)
def fresh_inputs():
    mlpbench_files._inputs.clear()  # each test is its own process's worth of inputs
    yield
    mlpbench_files._inputs.clear()


@pytest.fixture
def setup(tmp_path):
    """A fake engine (it records the runs it makes), an experiment and a data folder."""
    engine = tmp_path / "build" / "engine" / "run_experiment"
    engine.parent.mkdir(parents=True)
    engine.write_text(FAKE_ENGINE)
    engine.chmod(engine.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "exp.json").write_text(json.dumps(make_fixtures.EXPERIMENT))
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte.gz"):
        path = tmp_path / "data" / "mnist" / stem
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not really IDX, never read: " + stem.encode())
    return engine


def snapshot(folder):
    return {os.path.join(d, n): open(os.path.join(d, n), "rb").read()
            for d, _, names in os.walk(folder) for n in names}


# ----------------------------------------------------------------------------- what runs read

def test_option_values_are_found_in_both_spellings():
    assert run_inputs.option_value(["--a", "1", "--data-dir", "x"], "--data-dir") == "x"
    assert run_inputs.option_value(["--data-dir=y", "--quiet"], "--data-dir") == "y"
    assert run_inputs.option_value(["--data-dir"], "--data-dir") is None
    assert run_inputs.option_value(["--data-directory=z"], "--data-dir") is None


def test_the_engines_default_data_folder_is_its_checkouts(tmp_path, monkeypatch):
    for d in ("experiments", "engine", "a/b"):
        (tmp_path / "co" / d).mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "co" / "a" / "b")
    assert run_inputs.checkout_data_dir() == str(tmp_path / "co" / "data")
    monkeypatch.chdir(tmp_path)
    assert run_inputs.checkout_data_dir() == str(tmp_path / "data")
    monkeypatch.delenv("MLPBENCH_DATA", raising=False)
    assert str(tmp_path / "data") in run_inputs.data_dirs([])
    monkeypatch.setenv("MLPBENCH_DATA", str(tmp_path / "env"))
    assert run_inputs.data_dirs(["--data-dir", "given"]) == ["given"]
    assert str(tmp_path / "env") in run_inputs.data_dirs([])


def test_every_file_a_run_reads_is_refused_as_an_output(tmp_path, setup):
    (tmp_path / "run.ckpt").write_text("checkpoint")
    os.link(str(tmp_path / "data" / LABELS) + ".gz", tmp_path / "hard-link.json")
    run_inputs.note(str(tmp_path / "exp.json"),
                    ["--resume", str(tmp_path / "run.ckpt"), f"--data-dir={tmp_path / 'data'}"])
    for path in [tmp_path / "exp.json", tmp_path / "run.ckpt", tmp_path / "hard-link.json",
                 *(tmp_path / "data" / "mnist").iterdir()]:
        with pytest.raises(mlpbench_files.ToolError, match="is also an input"):
            mlpbench_files.check_output(str(path))
    mlpbench_files.check_output(str(tmp_path / "data" / "mnist" / "summary.json"))


# ----------------------------------------------------------------------------- epoch_ab.py

@pytest.mark.parametrize("where", ["option", "option=", "environment", "checkout"])
def test_epoch_ab_never_writes_its_summary_over_a_data_file_of_its_runs(run, tmp_path, setup,
                                                                       where):
    side = {"option": "--data-dir data", "option=": "--data-dir=data"}.get(where, "")
    env = {"FAKE_RECORD": str(tmp_path / "record.txt")}
    if where == "environment":
        env["MLPBENCH_DATA"] = str(tmp_path / "data")
    else:
        env["MLPBENCH_DATA"] = ""  # the engine's default: data/ of the checkout of the cwd
    if where == "checkout":
        (tmp_path / "experiments").mkdir()
        (tmp_path / "engine").mkdir()
    before = snapshot(tmp_path / "data")
    another_spelling = os.path.join("data", "mnist", ".", "..", "mnist", "train-images-idx3-ubyte")
    for out in (os.path.join("data", LABELS + ".gz"), another_spelling):
        r = run("epoch_ab.py", "exp.json", f"--a={side}", f"--b={side}", "--rounds", "1",
                "--engine", setup, "--out", out, env=env)
        assert_clean_error(r, out, "is also an input")
    assert snapshot(tmp_path / "data") == before
    assert not (tmp_path / "record.txt").exists()  # refused before any run


# ----------------------------------------------------------------------------- side_by_side.py

def test_side_by_side_refuses_outputs_over_its_runs_inputs_before_any_run(tmp_path, setup,
                                                                          monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    common = ["exp.json", "--engine", str(setup), "--data-dir", "data", "--rounds", "2",
              "--peer-config", "1thread"]
    before = snapshot(tmp_path / "data")
    code = side_by_side.cli([*common, "--out-dir", "sbs", "--json-out",
                             os.path.join("data", LABELS + ".gz")])
    assert code == 2 and "is also an input" in capsys.readouterr().err
    # a run's stdout planted as a link to a file elsewhere: refused before the first run
    (tmp_path / "sbs").mkdir(exist_ok=True)
    (tmp_path / "victim").write_text("victim")
    os.symlink(tmp_path / "victim", tmp_path / "sbs" / "peer-1thread-r2.stdout")
    code = side_by_side.cli([*common, "--out-dir", "sbs"])
    err = capsys.readouterr().err
    assert code == 2 and "peer-1thread-r2.stdout: is a symbolic link" in err, err
    assert (tmp_path / "victim").read_text() == "victim"
    assert snapshot(tmp_path / "data") == before
    assert sorted(os.listdir(tmp_path / "sbs")) == ["peer-1thread-r2.stdout"]


def test_a_runs_stdout_and_stderr_are_written_whole_never_through_a_link(tmp_path):
    (tmp_path / "victim").write_text("victim")
    os.symlink(tmp_path / "victim", tmp_path / "r.stdout")
    with pytest.raises(mlpbench_files.ToolError, match="r.stdout: is a symbolic link"):
        side_by_side.run_logged(["/bin/echo", "hi"], dict(os.environ), str(tmp_path / "r"), 30)
    assert (tmp_path / "victim").read_text() == "victim"
    os.unlink(tmp_path / "r.stdout")
    (tmp_path / "r.stderr").write_text("an old run's")
    rc, _, out, tail = side_by_side.run_logged(
        ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], dict(os.environ),
        str(tmp_path / "r"), 30)
    assert (rc, out, tail) == (3, "out\n", "err\n")
    assert (tmp_path / "r.stdout").read_text() == \
        "$ /bin/sh -c echo out; echo err >&2; exit 3\nout\n"
    assert (tmp_path / "r.stderr").read_text() == "err\n"
    assert sorted(os.listdir(tmp_path)) == ["r.stderr", "r.stdout", "victim"]  # no temporary


# ----------------------------------------------------------------------------- scaling_study.py

def test_scaling_study_refuses_an_output_its_runs_read_before_any_run(run, tmp_path, setup):
    (tmp_path / "study").mkdir()
    os.link(tmp_path / "data" / "mnist" / "train-labels-idx1-ubyte",
            tmp_path / "study" / "study.json")
    before = snapshot(tmp_path / "data")
    r = run("scaling_study.py", "exp.json", "-o", "study", "--force", "--no-bench",
            "--build", tmp_path / "build", "--mpirun", "true", "--data-dir", "data",
            env={"FAKE_RECORD": str(tmp_path / "record.txt")})
    assert_clean_error(r, "study.json", "is also an input")
    assert snapshot(tmp_path / "data") == before
    assert not (tmp_path / "record.txt").exists()


# ----------------------------------------------------------------------------- study folders

def test_alpha_beta_never_writes_over_a_file_of_the_study_it_skipped(run, tmp_path):
    study = write_study(tmp_path / "study")
    manifest = json.loads((study / "study.json").read_text())
    for ranks in (2, 4):
        bench_file(study / f"reduction-r{ranks}.json", ranks)
        manifest["runs"].append({"name": "b", "kind": "bench", "output": f"reduction-r{ranks}.json",
                                 "exit": 0, "command": ["mpirun", "-n", str(ranks)]})
    manifest["runs"][-1]["command"].append("--oversubscribe")  # left out of the fit
    (study / "study.json").write_text(json.dumps(manifest))
    before = snapshot(study)
    r = run("alpha_beta.py", "--study", study, "--json", study / "reduction-r4.json",
            "-o", "ab.png")
    assert_clean_error(r, "reduction-r4.json: is also an input")
    assert snapshot(study) == before and not (tmp_path / "ab.png").exists()


# ----------------------------------------------------------------------------- figures

class FailingFigure:
    def savefig(self, *args, **kwargs):
        raise OSError(28, "No space left on device")


def test_a_figure_that_is_not_written_leaves_no_folder_made_for_it(tmp_path):
    (tmp_path / "kept").mkdir()
    with pytest.raises(mlpbench_files.ToolError, match="No space left"):
        plotting.save_figure(FailingFigure(), str(tmp_path / "kept" / "a" / "b" / "x.png"))
    assert os.listdir(tmp_path) == ["kept"] and os.listdir(tmp_path / "kept") == []


def test_a_figure_gets_the_folders_it_needs(tmp_path):
    plt = plotting.pyplot()
    fig = plt.figure()
    plotting.save_figure(fig, str(tmp_path / "a" / "b" / "x.svg"))
    plt.close(fig)
    assert os.listdir(tmp_path / "a" / "b") == ["x.svg"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(mlpbench_files.ToolError, match="file/c/x.png: cannot write"):
        plotting.save_figure(FailingFigure(), str(tmp_path / "file" / "c" / "x.png"))
    assert sorted(os.listdir(tmp_path)) == ["a", "file"]
