"""Inputs that parse and pass a loose reading but that no tool can compute with: a huge
integer, NaN or Infinity where a time is, a list where an object is, a name no figure can draw,
a lone surrogate, corrupt gzip data. The shared loader (mlpbench.logs.load_json) and the schemas
(schemas/) refuse each with one line naming the file and the JSON pointer, exit status 2; what a
schema allows (a diverged run's null loss, a log without epochs) is shown, never a crash. The
tools run in this process, through the guard of their command line."""

import copy
import gzip
import importlib
import json
import os
import shutil

import pytest

import make_fixtures
from conftest import TOOLS, fixture
from mlpbench import cli
from mlpbench import files as mlpbench_files
from mlpbench import logs as ml

BIG = 10 ** 400  # an integer no double holds
NAN, INF = float("nan"), float("inf")
MODULES = {"plot_runs.py": "mlpbench.plots.runs", "plot_scaling.py": "mlpbench.plots.scaling",
           "plot_batch.py": "mlpbench.plots.batch", "plot_model.py": "mlpbench.plots.model",
           "plot_roofline.py": "mlpbench.plots.roofline", "plot_eval.py": "mlpbench.plots.eval",
           "export.py": "mlpbench.export", "study_page.py": "mlpbench.studies.study_page",
           "results_tables.py": "mlpbench.results_tables", "machine.py": "mlpbench.machine",
           "track.py": "mlpbench.tracking.track"}


@pytest.fixture
def tool(tmp_path, monkeypatch, capsys):
    """tool("plot_runs.py", args...) -> (exit status, stderr), run in tmp_path."""
    monkeypatch.chdir(tmp_path)
    for key, value in (("MLPBENCH_HISTORY", tmp_path / "history"),
                       ("MLPBENCH_LOCK", tmp_path / "lock"), ("MPLBACKEND", "Agg")):
        monkeypatch.setenv(key, str(value))

    def _run(script, *args):
        mlpbench_files._inputs.clear()  # each call is its own process on the command line
        module = importlib.import_module(MODULES[script])
        capsys.readouterr()
        argv = [str(a) for a in args]
        try:
            code = module.guarded(argv) if script == "track.py" else \
                cli.main_guard(script, module.main, argv)
        except SystemExit as e:  # argparse
            code = e.code
        return code, capsys.readouterr().err

    return _run


def assert_refused(result, *needles):
    code, err = result
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


def write_json(path, data):
    path.write_text(json.dumps(data))  # Python's JSON: NaN, Infinity and any integer
    return path


def log(**changes):
    """A completed run log (make_fixtures') with `changes`, each named by its path of keys joined
    with "__": log(epochs__0__epoch=7) sets /epochs/0/epoch."""
    data = make_fixtures.make_log("AVX3", 2, 120000.0, seed=1)
    for pointer, value in changes.items():
        *parents, key = pointer.split("__")
        target = data
        for p in parents:
            target = target[int(p)] if isinstance(target, list) else target.setdefault(p, {})
        if isinstance(target, list):
            target[int(key)] = value
        else:
            target[key] = value
    return data


# ----------------------------------------------------------------------------- the loader

def test_an_integer_longer_than_python_converts_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "log.json"
    path.write_text('{"epochs": [' + "7" * 5000 + "]}")
    with pytest.raises(ml.ToolError, match=r"log\.json: invalid JSON: an integer of more than"):
        ml.load_json(str(path))


@pytest.mark.parametrize("data", [
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 50,  # an invalid deflate block
    gzip.compress(b'{"a": 1}')[:-6],  # truncated
    gzip.compress(b'{"a": 1}') + b"garbage",
], ids=["bad block", "truncated", "trailing garbage"])
def test_corrupt_gzip_data_is_refused_naming_the_file(tmp_path, data):
    path = tmp_path / "log.json"
    path.write_bytes(data)
    with pytest.raises(ml.ToolError, match=r"log\.json: corrupt gzip data"):
        ml.load_json(str(path))


def test_a_lone_surrogate_is_not_text_and_a_pair_is(tmp_path):
    path = tmp_path / "log.json"
    path.write_text('{"experiment": {"name": "a\\ud800"}}')
    with pytest.raises(ml.ToolError, match=r"log\.json: /experiment/name: not text"):
        ml.load_json(str(path))
    path.write_text('{"a": [{"b\\udc00": 1}]}')
    with pytest.raises(ml.ToolError, match=r"log\.json: /a/0/b.*: a key that is not text"):
        ml.load_json(str(path))
    path.write_text('{"name": "\\ud83d\\ude00 \\\\ud800"}')  # an emoji, and the text \ud800
    assert ml.load_json(str(path)) == {"name": "\U0001F600 \\ud800"}


# ----------------------------------------------------------------------------- run logs

RUN_LOG_CASES = [
    ("plot_runs.py", {"build__peer_config": [1]}, "/build/peer_config: expected an object"),
    ("plot_runs.py", {"epochs__0__epoch": BIG}, "/epochs/0/epoch: expected an integer <= 100000"),
    ("plot_runs.py", {"callback_events": [{"epoch": 1, "action": "restore_best_weights",
                                           "restored_epoch": BIG}]},
     "/callback_events/0/restored_epoch"),
    ("plot_runs.py", {"experiment__name": "n" * 5000}, "/experiment/name"),
    ("plot_runs.py", {"build__compiler": "c" * 5000},
     "/build/compiler: expected a string of at most 200"),
    ("plot_runs.py", {"summary__time_to_target_seconds": INF}, "/summary/time_to_target_seconds"),
    ("plot_scaling.py", {"run__threads": BIG}, "/run/threads: expected an integer <= 1024"),
    ("plot_scaling.py", {"host__cpu_id": {"a": 1}}, "/host/cpu_id: expected a string"),
    ("plot_batch.py", {"experiment__batch_size": "x"},
     "/experiment/batch_size: expected an integer"),
    ("plot_batch.py", {"experiment__batch_size": BIG}, "/experiment/batch_size"),
    ("plot_batch.py", {"experiment__batch_size": 0},
     "/experiment/batch_size: expected an integer >= 1"),
    ("plot_batch.py", {"experiment__batch_size": -4}, "/experiment/batch_size"),
    ("plot_batch.py", {"run__lr_scaling": "x"}, "/run/lr_scaling: expected an object"),
    ("plot_batch.py", {"run__lr_scaling": {"rule": 5}}, "/run/lr_scaling/rule"),
    ("plot_model.py", {"experiment__model__0__units": BIG}, "/experiment/model/0/units"),
    ("plot_model.py", {"experiment__model": [{"units": 10, "activation": "relu"}] * 3000},
     "/experiment/model: expected at most 64 items, got 3000"),
    ("export.py", {"epochs__0__train_seconds": INF},
     "/epochs/0/train_seconds: expected a finite number, got Infinity"),
    ("export.py", {"epochs__0__train_seconds": 0},
     "/epochs/0/train_seconds: expected a number > 0"),
    ("export.py", {"epochs__0__samples_per_second": NAN},
     "/epochs/0/samples_per_second: expected a finite number, got NaN"),
    ("export.py", {"epochs__0__steps": -3}, "/epochs/0/steps: expected an integer >= 1"),
    ("export.py", {"epochs__0__learning_rate": NAN}, "/epochs/0/learning_rate"),
    ("export.py", {"epochs__0__test_loss": BIG}, "/epochs/0/test_loss"),
    ("export.py", {"epochs__0__test_accuracy": -INF}, "/epochs/0/test_accuracy"),
    ("study_page.py", {"evaluation": {"confusion_matrix": [[1, 2], [3]]}},
     "/evaluation/confusion_matrix"),
]
ARGS = {"plot_runs.py": ["-o", "out.png", "--summary"], "plot_scaling.py": ["-o", "out.png"],
        "plot_batch.py": ["-o", "out.png"], "plot_model.py": ["-o", "out.png"],
        "export.py": ["-o", "out.csv"], "study_page.py": ["--title", "t", "-o", "out.html"]}


@pytest.mark.parametrize("script, changes, message", RUN_LOG_CASES,
                         ids=[f"{c[0]}-{next(iter(c[1]))}" for c in RUN_LOG_CASES])
def test_a_run_log_no_tool_can_compute_with_is_refused_by_its_schema(tool, tmp_path, script,
                                                                     changes, message):
    path = write_json(tmp_path / "log.json", log(**changes))
    assert_refused(tool(script, path, *ARGS[script]), "log.json: " + message)
    assert not [n for n in os.listdir(tmp_path) if n.startswith("out")]


def test_a_distributed_log_whose_ranks_are_no_list_is_refused(tool, tmp_path):
    data = log(run__threads=1)
    data["distributed"] = {"ranks": 2, "scaling": "strong", "reduction": "tree",
                           "epochs": [{"epoch": 1, "ranks": "x"}]}
    path = write_json(tmp_path / "log.json", data)
    assert_refused(tool("plot_scaling.py", path, "-o", "out.png"),
                   "log.json: /distributed/epochs/0/ranks: expected a list")


def test_a_lone_surrogate_in_a_log_is_refused_by_every_tool_that_prints_it(tool, tmp_path):
    path = tmp_path / "log.json"
    path.write_text(json.dumps(log()).replace('"mlp512_5ep"', '"a\\ud800"'))
    for script in ("plot_runs.py", "export.py", "study_page.py"):
        assert_refused(tool(script, path, *ARGS[script]), "log.json: /experiment/name: not text")


# ----------------------------------------------------------------------------- benchmark JSON

def bench(change, source=fixture("bench", "a.json"), which=lambda e: True):
    data = json.load(open(source))
    for entry in data["benchmarks"]:
        if which(entry):
            change(entry)
    return data


@pytest.mark.parametrize("value, message", [
    (BIG, "/benchmarks/0/real_time: expected a finite number"),
    (NAN, "/benchmarks/0/real_time: expected a finite number, got NaN"),
    (-1, "/benchmarks/0/real_time: expected a number >= 0"),
    (0, "/benchmarks/0/real_time: expected a number >= 1e-12"),
], ids=["huge", "NaN", "negative", "zero"])
def test_track_compare_refuses_a_time_it_cannot_compare(tool, tmp_path, value, message):
    a = write_json(tmp_path / "a.json", bench(lambda e: e.update(real_time=value)))
    assert_refused(tool("track.py", "compare", a, fixture("bench", "a.json")),
                   "a.json: " + message)


def test_track_compare_names_a_malformed_cpu_count_instead_of_other_machines(tool, tmp_path):
    data = json.load(open(fixture("bench", "a.json")))
    data["context"]["num_cpus"] = "x"
    a = write_json(tmp_path / "a.json", data)
    assert_refused(tool("track.py", "compare", a, fixture("bench", "a.json")),
                   "a.json: /context/num_cpus: expected an integer")


def roofline(change):
    data = json.load(open(fixture("roofline", "mlp_bench_t2.json")))
    change(data)
    return data


def tiny_traffic(data):
    for e in data["benchmarks"]:
        if "flops_per_iteration" in e:
            e.update(flops_per_iteration=1e308, bytes_per_iteration=1e-300)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["context"].update(num_cpus=INF), "/context/num_cpus"),
    (tiny_traffic, "/bytes_per_iteration: expected a number >= 1, got 1e-300"),
], ids=["cpus", "traffic"])
def test_plot_roofline_refuses_what_it_cannot_place(tool, tmp_path, change, message):
    path = write_json(tmp_path / "b.json", roofline(change))
    assert_refused(tool("plot_roofline.py", path, "-o", "out.png"), "b.json: ", message)


@pytest.mark.parametrize("change, message", [
    (lambda e: e.update(GFLOPS=NAN), "/GFLOPS: expected a finite number, got NaN"),
    (lambda e: e.update(GFLOPS=-5), "/GFLOPS: expected a number >= 0, got -5"),
    (lambda e: e.update(label={"a": 1}), "/label: expected a string, got an object"),
], ids=["NaN", "negative", "label"])
def test_machine_describe_names_the_benchmark_file_and_writes_nothing(tool, tmp_path, change,
                                                                      message):
    (tmp_path / "m" / "bench").mkdir(parents=True)
    source = fixture("roofline", "mlp_bench_t2.json")
    write_json(tmp_path / "m" / "bench" / "mlp_bench_t2.json",
               bench(change, source, lambda e: e["name"].startswith("BM_FmaPeak")))
    result = tool("machine.py", "describe", "m", "--cpuinfo", fixture("cpuinfo", "zen4_2cpu"))
    assert_refused(result, "m/bench/mlp_bench_t2.json: /benchmarks/", message)
    assert not (tmp_path / "m" / "machine.json").exists()


# ----------------------------------------------------------------------------- results tables

def results_folder(tmp_path):
    """A results folder with one log, a thread study of two and two side-by-side summaries."""
    root = tmp_path / "results"
    for sub in ("runs", "studies/threads", "peers/a"):
        (root / sub).mkdir(parents=True)
    write_json(root / "runs" / "log.json", log())
    for threads in (1, 2):
        write_json(root / "studies" / "threads" / f"t{threads}.json",
                   make_fixtures.make_log("AVX3", threads, 60000.0 * threads))
    write_json(root / "peers" / "a" / "summary.json", {
        "schema": "mlpbench.side_by_side/1", "engine_median_epoch_seconds": 0.5,
        "best_peer_config": "default", "best_peer_median_epoch_seconds": 2.0,
        "configs": {"default": {"peer_threads": 2, "peer_median_epoch_seconds": 2.0,
                                "engine_median_epoch_seconds": 0.5,
                                "ratio_peer_over_engine": 4.0}}})
    return root


def test_results_tables_epochs_table_marks_null_numbers(tmp_path):
    from mlpbench import results_tables
    root = results_folder(tmp_path)
    data = log()
    data["epochs"][1].update(train_loss=None, test_loss=NAN, test_accuracy=None, gflops=None)
    write_json(root / "runs" / "log.json", data)
    lines = results_tables.table_of("--table", str(root), "epochs runs/log.json at=2")
    assert lines[2].startswith("| 2 | - | ") and "| - | - |" in lines[2], lines


@pytest.mark.parametrize("words, message", [
    ("epochs runs/log.json at=x", "at=x: expected epoch numbers"),
    ("epochs runs/log.json at=", "at=: expected epoch numbers"),
    ("", "names no table"),
    ("   ", "names no table"),
])
def test_results_tables_refuses_a_table_it_would_misread(tool, tmp_path, words, message):
    root = results_folder(tmp_path)
    assert_refused(tool("results_tables.py", root, "--table", words), message)


def test_results_tables_names_a_study_log_without_epochs(tool, tmp_path):
    root = results_folder(tmp_path)
    write_json(root / "studies" / "threads" / "t1.json",
               make_fixtures.make_log("AVX3", 1, 60000.0, n_epochs=0))
    assert_refused(tool("results_tables.py", root, "--table", "threads studies/threads"),
                   "t1.json: /epochs: no finished epoch")


@pytest.mark.parametrize("value, message", [
    (INF, "/configs/default/peer_threads: expected an integer <= 1024"),
    (BIG, "/configs/default/peer_threads: expected an integer <= 1024"),
    ("2", "/configs/default/peer_threads: expected an integer"),
], ids=["Infinity", "huge", "text"])
def test_results_tables_checks_a_side_by_side_summary_against_its_schema(tool, tmp_path, value,
                                                                         message):
    root = results_folder(tmp_path)
    summary = json.loads((root / "peers" / "a" / "summary.json").read_text())
    summary["configs"]["default"]["peer_threads"] = value
    write_json(root / "peers" / "a" / "summary.json", summary)
    assert_refused(tool("results_tables.py", root, "--table", "peers peers/a"),
                   "summary.json: " + message)


def test_results_tables_checks_an_epoch_ab_result_against_its_schema(tool, tmp_path):
    root = results_folder(tmp_path)
    write_json(root / "ab.json", {"a": "", "b": "--shards 4", "rounds": 2, "threads": None,
                                  "median_seconds_per_epoch": {"A": 0.5, "B": NAN},
                                  "ratio_b_over_a": {"median": 1, "min": 1, "max": 1,
                                                     "rounds_b_slower": 0}})
    assert_refused(tool("results_tables.py", root, "--table", "epoch_ab ab.json"),
                   "ab.json: /median_seconds_per_epoch/B: expected a finite number, got NaN")


def test_the_headline_says_when_the_reference_log_has_no_keras_reference(tmp_path):
    from mlpbench import results_tables
    root = tmp_path / "r"
    shutil.copytree(os.path.join(os.path.dirname(TOOLS), "results", "amd-f25m17-2cpu"), root,
                    ignore=shutil.ignore_patterns("demo-history", "figures", "bench"))
    path = root / "runs" / "reference" / "mlp512_5ep.json"
    data = json.loads(path.read_text())
    del data["experiment"]["reference"]
    write_json(path, data)
    lines = results_tables.headline(str(root))
    assert "(mean; no Keras reference in the log)" in lines[3], lines


# ----------------------------------------------------------------------------- optional fields

def test_plot_batch_draws_runs_whose_epochs_have_no_gflops(tool, tmp_path):
    for batch in (32, 64):
        data = log(experiment__batch_size=batch, run__lr_scaling={"rule": "none"})
        for e in data["epochs"]:
            e["gflops"] = None
        write_json(tmp_path / f"b{batch}.json", data)
    code, err = tool("plot_batch.py", tmp_path / "b32.json", tmp_path / "b64.json", "-o", "out.png")
    assert code == 0, err


def test_plot_runs_shows_a_target_reached_without_its_time(tool, tmp_path):
    data = log()
    data["summary"].update(target_accuracy=0.9, target_metric="test_accuracy",
                           epochs_to_target=1, time_to_target_seconds=None,
                           eval_seconds_to_target=None)
    path = write_json(tmp_path / "log.json", data)
    code, err = tool("plot_runs.py", path, "-o", "out.png", "--summary")
    assert code == 0, err


# ----------------------------------------------------------------------------- the guard

def test_an_unexpected_error_is_still_one_line_and_exit_2(capsys):
    def boom(argv):
        raise OverflowError("int too large to convert to float")

    assert cli.main_guard("x.py", boom, []) == 2
    err = capsys.readouterr().err
    assert err == ("x.py: error: internal error while reading the inputs: OverflowError: int too "
                   "large to convert to float\n")


def test_a_missing_module_is_left_to_the_package_hook():
    def missing(argv):
        raise ModuleNotFoundError("No module named 'numpy'", name="numpy")

    with pytest.raises(ModuleNotFoundError):
        cli.main_guard("x.py", missing, [])


def test_plot_eval_bounds_the_grid(tool, tmp_path, capsys):
    code, err = tool("plot_eval.py", "--log", "x.json", "--grid-size", "100000")
    assert code == 2 and "--grid-size: expected 1 to 32, got 100000" in err, err
    with pytest.raises(SystemExit):
        importlib.import_module(MODULES["plot_eval.py"]).parse_args(["--help"])
    assert "N from 1 to 32" in " ".join(capsys.readouterr().out.split())


def test_a_file_name_utf8_cannot_hold_is_written_escaped(tool, tmp_path):
    name = os.fsdecode(b"a\xff.json")  # an undecodable byte: a lone surrogate in Python
    write_json(tmp_path / name, log())
    write_json(tmp_path / "b.json", log())
    code, err = tool("export.py", name, "b.json", "-o", "out.csv")
    assert code == 0, err
    assert "a\\udcff.json," in (tmp_path / "out.csv").read_text(encoding="utf-8")
    code, err = tool("study_page.py", "--title", "t", "-o", "out.html", name)
    assert code == 0, err
    assert "a\\udcff.json" in (tmp_path / "out.html").read_text(encoding="utf-8")


def test_committed_logs_still_load(tmp_path):
    """The stricter schema keeps every kind of committed fixture log loading."""
    for name in ("completed_avx3_t2", "diverged", "interrupted_empty", "pytorch", "running_t1"):
        ml.load_run_log(fixture("runs", f"{name}.json"))
    diverged = copy.deepcopy(json.load(open(fixture("runs", "diverged.json"))))
    diverged["epochs"][2].update(train_loss=NAN, test_loss=NAN)  # a peer's NaN, not null
    ml.validate_run_log("diverged.json", diverged)
