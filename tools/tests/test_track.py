"""track.py: keys and history, compare, record, ab, calibrate, analyze, bisect, report."""

import json
import os
import shutil
import stat
import subprocess

import pytest

from conftest import TOOLS, assert_clean_error, assert_png, assert_svg, fixture
import fake_history
import make_fixtures
from mlpbench.tracking import track
from mlpbench.tracking import store as track_store

FAKE = fixture("fake_mlp_bench.py")


def bench(name):
    return fixture("bench", name)


@pytest.fixture
def tr(run, tmp_path):
    """run track.py with a private history, lock and no wait for a quiet host."""
    hist = tmp_path / "history"

    def _tr(*args, env=None, timeout=300):
        full = {"MLPBENCH_HISTORY": str(hist), "MLPBENCH_LOCK": str(tmp_path / "lock"),
                "PYTHONPATH": TOOLS}
        full.update(env or {})
        return run("track.py", *args, env=full, timeout=timeout)

    _tr.history = hist
    return _tr


def make_fake(folder, speed=1.0, noise=None, commit=None, simd=None):
    """A copy of the fake mlp_bench in `folder`, running `speed` times slower than the base."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "mlp_bench")
    shutil.copy(FAKE, path)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    for name, value in (("speed.txt", speed), ("noise.txt", noise), ("commit.txt", commit),
                        ("simd.txt", simd)):
        if value is not None:
            with open(os.path.join(folder, name), "w") as f:
                f.write(str(value))
    return path


def with_context(tmp_path, source, name, **context):
    data = json.load(open(source))
    data["context"].update(context)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# ----------------------------------------------------------------------------- compare

@pytest.mark.slow
def test_compare_same_and_slower(tr, tmp_path):
    r = tr("compare", bench("a.json"), bench("b_same.json"))
    assert r.code == 0, r
    assert "OK: no benchmark slower" in r.out and r.out.count(" same") == 3
    r = tr("compare", bench("a.json"), bench("b_slow.json"), "-o", "c.png")
    assert r.code == 1, r
    assert "REGRESSION: 3 benchmark(s)" in r.out
    assert "98.33 %" in r.out  # Bonferroni over 3 benchmarks
    assert_png(tmp_path / "c.png")
    r = tr("compare", bench("b_slow.json"), bench("a.json"), "-o", "c.svg")
    assert r.code == 0 and r.out.count("faster") == 3, r
    assert_svg(tmp_path / "c.svg")
    r = tr("compare", bench("a.json"), bench("b_slow.json"), "--threshold", "0.4")
    assert r.code == 0, r


def test_compare_straddling_interval_is_inconclusive(tr):
    r = tr("compare", bench("a.json"), bench("few_reps.json"))
    assert r.code == 3, r
    assert "INCONCLUSIVE: 2 benchmark(s) whose interval straddles +5 %" in r.out
    assert "track.py ab" in r.out


def test_compare_refuses_other_machines_and_builds(tr, tmp_path):
    other = with_context(tmp_path, bench("b_slow.json"), "other.json",
                         mlpbench_cpu_id="GenuineIntel family 6 model 85 stepping 7")
    r = tr("compare", bench("a.json"), other)
    assert_clean_error(r, "different machines", "cpu_id", "GenuineIntel", "--allow-cross")
    r = tr("compare", bench("a.json"), other, "--allow-cross")
    assert r.code == 1 and "different machines" in r.err, r
    scalar = with_context(tmp_path, bench("b_slow.json"), "scalar.json",
                          mlpbench_simd_target="SCALAR")
    assert_clean_error(tr("compare", bench("a.json"), scalar), "different builds",
                       "simd_target: AVX3 (A) vs SCALAR (B)")


def test_compare_slower_on_a_changed_host_is_inconclusive(tr, tmp_path):
    hist = tmp_path / "h"
    paths = []
    for name, state in (("a.json", {"noisy_reasons": []}),
                        ("b_slow.json", {"noisy_reasons": ["load average 5.00 above 2 logical "
                                                           "CPUs"]})):
        data = json.load(open(bench(name)))
        data["context"]["date"] = "2026-11-2%dT10:00:00+00:00" % (len(paths) + 3)
        paths.append(track_store.file_record(str(hist), json.dumps(data).encode(),
                                             track_store.ml.BenchFile(name, data), state))
    r = tr("compare", *paths)
    assert r.code == 3, r
    assert "INCONCLUSIVE: slower, but B was recorded on a noisy host (load average" in r.out


def test_compare_bad_input(tr):
    assert_clean_error(tr("compare", bench("a.json"), bench("not_bench.json")), "not_bench.json")
    assert_clean_error(tr("compare", bench("a.json"), "nothere"), "nothere", "no history")
    assert_clean_error(tr("compare", bench("a.json"), bench("b_same.json"), "--threshold", "5"),
                       "--threshold 5")
    assert_clean_error(tr("compare", bench("a.json"), bench("b_same.json"), "-o", "x.jpg"),
                       "x.jpg")


def test_any_crash_exits_2_never_1(monkeypatch, capsys):
    def boom(argv):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(track, "main", boom)
    assert track.guarded([]) == 2
    err = capsys.readouterr().err
    assert "internal error while reading the inputs: RuntimeError: disk on fire" in err
    assert "Traceback" not in err

    def missing(argv):
        raise ImportError("No module named 'numpy'")

    monkeypatch.setattr(track, "main", missing)
    assert track.guarded([]) == 2
    assert "missing dependency" in capsys.readouterr().err


# ----------------------------------------------------------------------------- history

def test_record_files_raw_json_and_host_state(tr, tmp_path):
    fake = make_fake(tmp_path / "bin")
    r = tr("record", "--bench", fake, "--repetitions", "3", "--quiet-wait-s", "0")
    assert r.code == 0, r
    path = r.out.strip()
    here = track_store.fingerprint(track_store.machine_facts_here())
    assert path.startswith(str(tr.history / "raw" / here)) and path.endswith(
        "_feedbeef0001_AVX3.json")
    data = json.load(open(path))
    names = {b["run_name"] for b in data["benchmarks"]}
    assert "BM_TeamBarrier/real_time" in names  # the host probe always runs
    assert len(names) == 4 and len(data["benchmarks"]) == 12
    host = json.load(open(path[:-5] + ".host.json"))
    assert {"load_before", "steal_fraction", "barrier_ns", "noisy_reasons"} <= set(host)
    assert "[12/12]" in r.err and "ETA" in r.err  # progress
    assert data["context"]["mlpbench_threads"] == "1"  # one thread unless told: see --threads
    # the index knows the record and its samples; deleting it loses nothing
    db = track_store.open_index(str(tr.history))
    assert db.execute("SELECT count(*) FROM samples").fetchone()[0] == 12
    db.close()
    os.unlink(tr.history / "index.sqlite")
    (tr.history / "index.sqlite").write_text("not a database")
    db = track_store.open_index(str(tr.history))
    assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 1


@pytest.mark.slow
def test_record_threads_are_passed_on_and_key_the_series(tr, tmp_path):
    fake = make_fake(tmp_path / "bin")
    one = tr("record", "--bench", fake, "--repetitions", "3", "--quiet-wait-s", "0")
    two = tr("record", "--bench", fake, "--repetitions", "3", "--quiet-wait-s", "0", "--threads", "2")
    assert one.code == 0 and two.code == 0, (one, two)
    assert json.load(open(two.out.strip()))["context"]["mlpbench_threads"] == "2"
    r = tr("compare", one.out.strip(), two.out.strip())
    assert r.code == 2 and "threads" in r.err, r  # another series: not compared
    assert tr("record", "--bench", fake, "--threads", "0").code == 2


def test_record_failures_exit_2(tr, tmp_path):
    assert_clean_error(tr("record", "--bench", tmp_path / "nope"), "nope", "no such benchmark")
    fake = make_fake(tmp_path / "bin")
    (tmp_path / "bin" / "crash").write_text("")
    r = tr("record", "--bench", fake, "--repetitions", "3", "--quiet-wait-s", "0")
    assert_clean_error(r, "failed with status 3", "crashing as told")
    assert not os.path.exists(tr.history / "raw")


@pytest.mark.slow
def test_latest_and_previous_are_this_machines(tr, tmp_path):
    fake = make_fake(tmp_path / "bin", commit="aaaa00000001")
    first = tr("record", "--bench", fake, "--repetitions", "3", "--quiet-wait-s", "0").out
    (tmp_path / "bin" / "commit.txt").write_text("aaaa00000002")
    second = tr("record", "--bench", fake, "--repetitions", "3", "--quiet-wait-s", "0").out
    # a newer record of another machine (as a shared or copied history would hold)
    data = json.load(open(second.strip()))
    data["context"].update(mlpbench_cpu_id="GenuineIntel family 6 model 85 stepping 7",
                           date="2030-01-01T00:00:00+00:00")
    foreign = track_store.file_record(str(tr.history), json.dumps(data).encode(),
                                      track_store.ml.BenchFile("x", data))
    assert foreign.split("/raw/")[1].split("/")[0] != second.split("/raw/")[1].split("/")[0]
    r = tr("compare", "previous", "latest")
    assert r.code in (0, 3), r
    assert f"A: {first.strip()}" in r.out and f"B: {second.strip()}" in r.out
    # a history with only another machine's records: never picked
    only = tmp_path / "only"
    track_store.file_record(str(only), json.dumps(data).encode(),
                            track_store.ml.BenchFile("x", data))
    assert_clean_error(tr("compare", "previous", "latest", "--history", only),
                       "no record of this machine")


def test_record_from_json(tr):
    r = tr("record", "--from-json", bench("a.json"))
    assert r.code == 0, r
    assert os.path.basename(r.out.strip()) == "2026-11-23T134500Z_abc123def456_AVX3.json"
    r2 = tr("record", "--from-json", bench("a.json"))
    assert r2.out.strip().endswith("_AVX3-1.json")
    assert open(r.out.strip(), "rb").read() == open(bench("a.json"), "rb").read()


def test_default_history_is_outside_the_repo(monkeypatch):
    monkeypatch.delenv("MLPBENCH_HISTORY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/tmp/xdg")
    assert track_store.default_history() == "/tmp/xdg/mlpbench/history"
    monkeypatch.setenv("MLPBENCH_HISTORY", "/data/h")
    assert track_store.default_history() == "/data/h"


# ----------------------------------------------------------------------------- ab, calibrate

@pytest.mark.slow
def test_ab_passes_equal_and_fails_slower_binaries(tr, tmp_path):
    a = make_fake(tmp_path / "a")
    same = make_fake(tmp_path / "same")
    slow = make_fake(tmp_path / "slow", speed=1.10)
    common = ("--quiet-wait-s", "0", "--repetitions", "3", "--seed", "1")
    r = tr("ab", "--bench-a", a, "--bench-b", same, *common)
    assert r.code == 0, r
    assert "OK: no benchmark slower" in r.out and "ABBA block(s)" in r.out
    r = tr("ab", "--bench-a", a, "--bench-b", slow, *common)
    assert r.code == 1, r
    assert r.out.count("regression") == 3 and "BM_TeamBarrier" not in r.out.split("stopped")[1]


@pytest.mark.slow
def test_ab_compares_only_the_benchmarks_both_builds_have(tr, tmp_path):
    a = make_fake(tmp_path / "a")
    b = make_fake(tmp_path / "b")
    (tmp_path / "b" / "extra.txt").write_text("BM_TrainStep/784-512-10/batch:32/shards:4/real_time\n")
    common = ("--quiet-wait-s", "0", "--repetitions", "3", "--seed", "1")
    # the key set names the plain step, not its shards variants
    r = tr("ab", "--bench-a", a, "--bench-b", b, *common)
    assert r.code == 0, r
    assert "shards:4" not in r.out
    r = tr("ab", "--bench-a", a, "--bench-b", b, "--filter", "TrainStep", *common)
    assert r.code == 0, r
    assert "only in B (not compared): BM_TrainStep/784-512-10/batch:32/shards:4/real_time" in r.out
    assert "shards:4" not in r.out.split("stopped")[1]
    r = tr("ab", "--bench-a", b, "--bench-b", a, "--filter", "TrainStep", *common)
    assert r.code == 0, r
    assert "only in A (not compared): BM_TrainStep/784-512-10/batch:32/shards:4/real_time" in r.out


def test_noise_is_what_others_did_not_the_measurements_own_load():
    from mlpbench.tracking import host as track_host
    from mlpbench.tracking import run as track_run
    hz = os.sysconf("SC_CLK_TCK")
    # 10 s on 2 CPUs: 20 s of capacity; 12 s busy of which 11 s were the benchmark's own
    before, after = (1000 * hz, 0, 500 * hz), (1020 * hz, 0, 512 * hz)
    assert track_host.others_fraction(before, after, 11.0) == pytest.approx(0.05)
    assert track_host.others_fraction(before, after, 4.0) == pytest.approx(0.40)
    assert track_host.others_fraction(None, after, 1.0) is None
    # the run's own two threads make the load average 2.3: not noise when others used 5 %
    assert track_run.noisy_reasons([2.3, 2, 2], None, 0.0, 2, 2, others=0.05) == []
    kinds = [k for k, _ in track_run.noisy_reasons([2.3, 2, 2], None, 0.0, 2, 2, others=0.40)]
    assert kinds == ["others"]
    # no /proc/stat: the load average decides, as before
    assert [k for k, _ in track_run.noisy_reasons([2.3, 2, 2], None, None, 2, 2)] == ["load"]


@pytest.mark.slow
def test_ab_budget_and_errors(tr, tmp_path):
    a = make_fake(tmp_path / "a")
    edge = make_fake(tmp_path / "edge", speed=1.05)
    r = tr("ab", "--bench-a", a, "--bench-b", edge, "--quiet-wait-s", "0", "--repetitions", "2",
           "--max-blocks", "4", "--seed", "2")
    assert r.code == 3, r
    assert "INCONCLUSIVE" in r.out and "reached 4 blocks" in r.out
    assert_clean_error(tr("ab", "--bench-a", a), "--bench-a and --bench-b go together")
    # a commit that does not build: exit 2, naming it
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "CMakeLists.txt").write_text("this is not cmake(\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "broken")
    r = tr("ab", "HEAD", "--repo", repo, "--quiet-wait-s", "0", timeout=120)
    assert_clean_error(r, "build of HEAD", "failed")
    assert git(repo, "worktree", "list").count("\n") == 1  # the temporary worktree is gone


@pytest.mark.slow
def test_calibrate_leaves_unresolvable_benchmarks_out_of_the_gate(tr, tmp_path):
    noisy = make_fake(tmp_path / "noisy", noise=0.4)
    r = tr("calibrate", "--bench", noisy, "--blocks", "6", "--quiet-wait-s", "0",
           "--repetitions", "2", "--seed", "3")
    assert r.code == 0, r
    assert r.out.count("NO (does not gate)") == 3
    saved = [f for f in os.listdir(tr.history / "calibration")]
    assert len(saved) == 1
    other = make_fake(tmp_path / "other", noise=0.4, speed=1.5)
    r = tr("ab", "--bench-a", noisy, "--bench-b", other, "--quiet-wait-s", "0",
           "--repetitions", "2", "--max-blocks", "4", "--seed", "4")
    assert r.code == 0, r  # nothing gates on this machine
    assert r.out.count("not gating: resolves only") == 3


# ----------------------------------------------------------------------------- analyze, report

def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, GIT_AUTHOR_NAME="t",
                                              GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                                              GIT_COMMITTER_EMAIL="t@t")).stdout


def synthetic_repo_history(tmp_path, n=60, steps=((15, 1.08), (30, 0.95), (45, 1.03))):
    """A git repository of n commits and a history with one record per commit."""
    import numpy as np
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    commits = []
    for i in range(n):
        git(repo, "commit", "-q", "--allow-empty", "-m", f"c{i}", "--date",
            f"2026-11-{1 + i // 3:02d}T{10 + i % 3}:00:00")
        commits.append(git(repo, "rev-parse", "HEAD").strip())
    rng = np.random.default_rng(7)
    hist = tmp_path / "h"
    level = 1.0
    for i, sha in enumerate(commits):
        for at, f in steps:
            if i == at:
                level *= f
        times = {name: (ns * level, None) for name, (ns, _) in make_fixtures.BENCH.items()}
        data = make_fixtures.bench_file(times, seed=int(rng.integers(1 << 30)), noise=0.03,
                                        commit=sha[:12], date=f"2026-11-20T10:{i:02d}:00+00:00")
        track_store.file_record(str(hist), json.dumps(data).encode(),
                                track_store.ml.BenchFile("x", data))
    return repo, hist, commits


@pytest.mark.slow
def test_analyze_finds_each_step(tr, tmp_path):
    repo, hist, commits = synthetic_repo_history(tmp_path)
    r = tr("analyze", "--repo", repo, "--history", hist, "--filter", "GemmForward/32/784")
    assert r.code == 0, r
    lines = [line for line in r.out.splitlines() if " between " in line]
    assert len(lines) == 3, r.out
    for line, at, sign in zip(lines, (15, 30, 45), ("+", "-", "+")):
        name, change = line.split()[:2]
        assert name == "BM_GemmForward/32/784/512" and change.startswith(sign), line
        before, after = line.split(" between ")[1].split()[:3:2]
        assert (before, after) == (commits[at - 1][:7], commits[at][:7]), line
    assert "+8." in lines[0] or "+7." in lines[0]


@pytest.mark.slow
def test_report_formats(tr, tmp_path):
    repo, hist, commits = synthetic_repo_history(tmp_path, n=12, steps=((6, 1.3),))
    args = ("--repo", repo, "--history", hist)
    for out in ("r.png", "r.svg", "r.html"):
        r = tr("report", *args, "-o", out)
        assert r.code == 0, r
    assert_png(tmp_path / "r.png")
    assert_svg(tmp_path / "r.svg")
    page = (tmp_path / "r.html").read_text()
    assert "<svg" in page and "change point: +30" in page
    r = tr("report", *args, "--format", "json")
    data = json.loads(r.out)
    assert len(data["series"]) == 3 and len(data["series"][0]["points"]) == 12
    assert [c["after"] for c in data["series"][0]["changes"]] == [commits[6][:12]]
    r = tr("report", *args, "--format", "csv", "--filter", "Adam")
    rows = r.out.strip().splitlines()
    assert rows[0].startswith("benchmark,machine,build,commit,date,median_ns") and len(rows) == 13
    r = tr("report", *args, "--format", "md")
    assert "| commit | date | median |" in r.out
    assert_clean_error(tr("report", *args), "-o FILE")
    assert_clean_error(tr("report", *args, "-o", "x.gif"), "x.gif")
    # Written whole through a temporary file: never through a link, never over a special file.
    r = tr("report", *args, "--format", "md", "-o", "r.md")
    assert r.code == 0 and "| commit | date | median |" in (tmp_path / "r.md").read_text()
    (tmp_path / "target.txt").write_text("theirs")
    for out in ("link.md", "link.html"):
        os.symlink(tmp_path / "target.txt", tmp_path / out)
        fmt = ("--format", "md") if out.endswith(".md") else ()
        assert_clean_error(tr("report", *args, *fmt, "-o", out), out)
    assert (tmp_path / "target.txt").read_text() == "theirs"
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]


# ----------------------------------------------------------------------------- bisect

@pytest.mark.slow
def test_bisect_finds_the_culprit_and_skips_a_broken_commit(tr, tmp_path):
    """32 commits; commit 20 makes the benchmark 30 % slower, commit 23 (where the search
    goes after the first good midpoint) does not build and is skipped."""
    repo = tmp_path / "repo"
    sha = fake_history.make_repo(repo, [1.3 if i >= 20 else 1.0 for i in range(32)],
                                 broken={23})
    r = tr("bisect", sha[0], sha[31], "--benchmark", "TrainStep",
           "--repo", repo, "--build-cmd", fake_history.BUILD_CMD, "--bench-path",
           fake_history.BENCH_PATH, "--repetitions", "2", "--seed", "5", timeout=600)
    assert r.code == 0, r
    assert f"first bad commit: {sha[20][:7]}" in r.out
    steps = int(r.out.split(" measured step(s)")[0].split()[-1])
    assert steps <= 8, r.out  # BAD, then at most 5 halvings and the skipped commit's neighbour
    assert f"{sha[23][:7]}: does not build" in r.out and "-> skip (125)" in r.out
    assert git(repo, "worktree", "list").count("\n") == 1  # worktrees removed
    assert "bisect" not in git(repo, "status")


def test_help():
    for cmd in ([], ["record"], ["compare"], ["ab"], ["calibrate"], ["analyze"], ["bisect"],
                ["report"]):
        with pytest.raises(SystemExit) as e:
            track.parse_args(cmd + ["--help"])
        assert e.value.code == 0


def test_busy_fraction_counts_steal_as_others(monkeypatch):
    from mlpbench.tracking import host as track_host
    samples = iter([(1000, 10, 300), (1100, 30, 340)])  # (total, steal, busy) jiffies
    monkeypatch.setattr(track_host, "cpu_times", lambda: next(samples))
    monkeypatch.setattr(track_host.time, "sleep", lambda s: None)
    assert track_host.busy_fraction(1.0) == pytest.approx(0.60)  # (20 steal + 40 busy) / 100
    samples = iter([None, (1100, 30, 340)])  # no /proc/stat
    assert track_host.busy_fraction(1.0) is None
