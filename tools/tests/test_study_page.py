"""Where a step's time goes in thread studies (the logs' epochs[].phases, stacked bars) and the
one self-contained HTML page per study (mlpbench.studies.study_page) of every study kind."""

import json

import pytest

from conftest import assert_clean_error, assert_png, assert_study_page, fixture
import make_fixtures
from mlpbench import logs as ml
from mlpbench.studies import thread_phases
from test_rank_study import write_study

STEPS = 1875  # make_fixtures' steps per epoch
# Seconds per epoch of each phase (layer 0 forward, upper layers or gather, barrier wait,
# layer 0 backward + update): the leader runs the upper layers while the others wait.
LEADER = (1.0, 0.6, 0.0, 1.5)
OTHER = (1.0, 0.1, 0.5, 1.5)


def us_per_step(seconds):
    return [round(s / STEPS * 1e6, 2) for s in seconds]


def with_phases(log, threads, scale=1.0):
    for epoch in log["epochs"]:
        team = [LEADER] + [OTHER] * (threads - 1)
        epoch["phases"] = {"steps": STEPS, "threads": [
            {key: scale * value for (key, _), value in zip(thread_phases.PHASES, thread)}
            for thread in team]}
    return log


def thread_sweep(folder, phases_at=(1, 2, 4), repeats=2):
    """Logs of AVX3 at 1, 2 and 4 threads, `repeats` runs each; those at `phases_at` have phases
    (the second run's 3 times the first's, the third's as the first's: the median is the first's)."""
    folder.mkdir()
    for t in (1, 2, 4):
        for r in range(repeats):
            log = make_fixtures.make_log("AVX3", t, 60000.0 * t ** 0.8, seed=10 * t + r)
            if t in phases_at:
                with_phases(log, t, scale=(1.0, 3.0, 1.0)[r % 3])
            (folder / f"t{t}-r{r + 1}.json").write_text(json.dumps(log))
    return folder


# ----------------------------------------------------------------------------- step phases

def test_run_phases_are_microseconds_per_step_for_the_leader_and_the_others_mean():
    log = ml.validate_run_log("x.json", with_phases(make_fixtures.make_log("AVX3", 3, 1e5), 3))
    phases = thread_phases.run_phases(log)
    assert [round(v, 2) for v in phases["leader"]] == us_per_step(LEADER)
    assert [round(v, 2) for v in phases["others"]] == us_per_step(OTHER)
    one = ml.validate_run_log("y.json", with_phases(make_fixtures.make_log("AVX3", 1, 1e5), 1))
    assert thread_phases.run_phases(one)["others"] is None
    assert thread_phases.run_phases(ml.validate_run_log("z.json", make_fixtures.make_log())) is None


def test_stacked_phase_bars_take_the_median_over_repeats(run, tmp_path):
    sweep = thread_sweep(tmp_path / "sweep", repeats=3)
    r = run("plot_scaling.py", sweep, "-o", "threads.svg")
    assert r.code == 0, r
    svg = (tmp_path / "threads.svg").read_text()
    assert "where a step's time goes (AVX3; median of 3 runs)" in svg
    for _, label in thread_phases.PHASES:
        assert label in svg
    leader = "  ".join(f"{v:>9.2f}" for v in us_per_step(LEADER) + [sum(us_per_step(LEADER))])
    others = "  ".join(f"{v:>9.2f}" for v in us_per_step(OTHER) + [sum(us_per_step(OTHER))])
    for t in (1, 2, 4):
        assert f"  {t:>7}  leader  {leader}" in r.out, r.out
    assert f"        4  others  {others}" in r.out, r.out
    assert "        1  others" not in r.out  # a team of one has no other threads


@pytest.mark.slow
def test_logs_without_phases_still_plot_with_a_note(run, tmp_path):
    r = run("plot_scaling.py", fixture("sweep"), "-o", "old.svg")
    assert r.code == 0, r
    assert "step phases: none in these logs (written by builds older than epochs[].phases)" in r.out
    svg = (tmp_path / "old.svg").read_text()
    assert "no per-phase times in these logs" in svg
    mixed = thread_sweep(tmp_path / "mixed", phases_at=(1, 2))
    r = run("plot_scaling.py", mixed, "-o", "mixed.png")
    assert r.code == 0, r
    assert_png(tmp_path / "mixed.png")
    assert "logs without step phases (older builds) at 4 threads" in r.out


# ----------------------------------------------------------------------------- the page

def test_thread_study_page(run, tmp_path):
    sweep = thread_sweep(tmp_path / "sweep")
    noisy = json.loads((sweep / "t2-r1.json").read_text())
    noisy["run"]["host_noisy"] = True
    noisy["run"]["host_noise_reasons"] = ["other processes used 40 % of the CPU time"]
    noisy["run"]["placement"] = {"env": {"OMP_PROC_BIND": "close"}, "allowed_cpus": [0, 1],
                                 "start": [], "end": [
                                     {"tid": 11, "cpu": 0, "core": "0:0", "migrations": 0},
                                     {"tid": 12, "cpu": 1, "core": "0:0", "migrations": 3}],
                                 "warnings": ["threads 0 and 1 shared core 0:0 at the end"]}
    (sweep / "t2-r1.json").write_text(json.dumps(noisy))
    command = f"build/engine/run_experiment x.json --sweep-threads 1,2,4 --out {sweep}"
    r = run("plot_scaling.py", sweep, "-o", tmp_path / "fig.png", "--html", tmp_path / "page.html",
            "--command", command)
    assert r.code == 0, r
    text = assert_study_page(tmp_path / "page.html", 1, absent=[tmp_path])
    assert "AVX3: throughput" in text and "where a step&#x27;s time goes" in text
    assert "layer 0 backward + update" in text  # the phase table's header
    assert "other processes used 40 % of the CPU time" in text
    assert "OMP_PROC_BIND=close" in text and "threads 0 and 1 shared core 0:0 at the end" in text
    assert "not recorded (a log of an older build)" in text
    assert "run_experiment x.json --sweep-threads 1,2,4 --out sweep" in text
    assert "tools/plot_scaling.py sweep -o fig.png --html page.html" in text
    assert "identical numbers at every thread count: yes" in text
    assert "AMD EPYC 7B13" in text


def test_simd_study_page(run, tmp_path):
    r = run("plot_scaling.py", fixture("simd_only"), "-o", "simd.png", "--html", "simd.html")
    assert r.code == 0, r
    text = assert_study_page(tmp_path / "simd.html", 1)
    assert "EMU128 1.00x, AVX2 3.06x, AVX3 3.90x" in text


@pytest.mark.slow
def test_rank_study_page_lists_the_study_commands(run, tmp_path):
    study = write_study(tmp_path / "study")
    manifest = json.loads((study / "study.json").read_text())
    manifest["runs"][1]["command"] = ["mpirun", "-n", "1", "build/engine/run_experiment", "e.json"]
    (study / "study.json").write_text(json.dumps(manifest))
    r = run("plot_scaling.py", study, "-o", "ranks.png", "--html", "ranks.html")
    assert r.code == 0, r
    text = assert_study_page(tmp_path / "ranks.html", 1, absent=[tmp_path])
    assert "mpirun -n 1 build/engine/run_experiment e.json" in text
    assert "identical numbers at every rank count" in text
    assert "strong scaling: median samples/s over epochs" in text
    assert "strong scaling: where a step&#x27;s time goes" in text and "<th>allgather</th>" in text
    assert text.count("<tr>") >= 1 + len(manifest["runs"])  # every log in the runs table


def test_batch_study_page_from_the_tool(run, tmp_path):
    """A study whose figures another tool drew (tools/batch_study.sh's): study_page.py."""
    sweep = thread_sweep(tmp_path / "logs")
    assert run("plot_scaling.py", sweep, "-o", "fig.png").code == 0
    (tmp_path / "best.txt").write_text("batch 32 reaches the target soonest\n")
    r = run("study_page.py", "--title", "Batch study", "--figure", "fig.png", "--figure", "fig.png",
            "--summary", "best.txt", "--command", f"tools/plot_batch.py {sweep} -o fig.png",
            "-o", "batch.html", sweep)
    assert r.code == 0, r
    text = assert_study_page(tmp_path / "batch.html", 2, absent=[tmp_path])
    assert "batch 32 reaches the target soonest" in text
    assert "tools/plot_batch.py logs -o fig.png" in text


@pytest.mark.parametrize("args, needles", [
    (["--figure", "best.txt"], ["best.txt", "not a PNG"]),
    (["--figure", "missing.png"], ["missing.png", "no such file"]),
    (["--summary", "missing.txt"], ["missing.txt", "no such file"]),
    (["--summary", "latin1.txt"], ["latin1.txt", "not UTF-8"]),
    (["--command", "a 'b"], ["--command"]),
])
def test_study_page_refuses_bad_input_and_writes_nothing(run, tmp_path, args, needles):
    sweep = thread_sweep(tmp_path / "logs")
    (tmp_path / "best.txt").write_text("text\n")
    (tmp_path / "latin1.txt").write_bytes("caf\u00e9\n".encode("latin-1"))
    assert_clean_error(run("study_page.py", "--title", "t", *args, "-o", "p.html", sweep), *needles)
    assert not (tmp_path / "p.html").exists()


def test_study_page_refuses_a_page_that_is_not_html(run, tmp_path):
    sweep = thread_sweep(tmp_path / "logs")
    assert_clean_error(run("study_page.py", "--title", "t", "-o", "p.txt", sweep), "p.txt", ".html")
    assert_clean_error(run("plot_scaling.py", sweep, "-o", "f.png", "--html", "p.htm"), "p.htm")
    assert not (tmp_path / "f.png").exists()
