"""track.py: compare (Mann-Whitney gate), record, plot."""

import json
import math
import os
import re
import stat
import statistics

import pytest

from conftest import PYTHON, assert_clean_error, assert_png, assert_svg, fixture
import make_fixtures
import mlpbench_logs as ml
import track


def bench(name):
    return fixture("bench", name)


# ----------------------------------------------------------------------------- compare

def test_same_distribution_passes(run):
    r = run("track.py", "compare", bench("a.json"), bench("b_same.json"))
    assert r.code == 0, r
    assert r.out.count(" same") >= 3 and "slower" not in r.out.split("verdicts:")[0]
    assert "geometric mean of B/A median ratios: 1.00" in r.out
    assert "warning" not in r.err


def test_thirty_percent_slower_fails(run, tmp_path):
    r = run("track.py", "compare", bench("a.json"), bench("b_slow.json"), "-o", "report.png")
    assert r.code == 1, r
    assert "REGRESSION: 3 benchmark(s)" in r.out
    assert_png(tmp_path / "report.png")
    # Reversed, the same data is a speed-up: no failure.
    r = run("track.py", "compare", bench("b_slow.json"), bench("a.json"), "-o", "report.svg")
    assert r.code == 0, r
    assert "3 faster" in r.out
    assert_svg(tmp_path / "report.svg")


def with_barrier(tmp_path, name, barrier_ns, slow=1.0, seed=0):
    times = {k: (ns * slow, g) for k, (ns, g) in make_fixtures.BENCH.items()}
    times["BM_TeamBarrier/real_time"] = (barrier_ns, None)
    path = tmp_path / name
    path.write_text(json.dumps(make_fixtures.bench_file(times, seed=seed)))
    return path


def test_host_probe_flags_a_changed_host(run, tmp_path):
    a = with_barrier(tmp_path, "a.json", 60.0, seed=1)
    # the barrier 6x slower: the report says the host changed, whatever the verdicts
    b = with_barrier(tmp_path, "b.json", 360.0, slow=1.3, seed=2)
    r = run("track.py", "compare", a, b)
    assert r.code == 1, r
    assert "BM_TeamBarrier" not in r.out.split("geometric mean")[0]  # a probe, not a row
    assert "3 slower" in r.out and "host probe (BM_TeamBarrier, not compared)" in r.out
    assert "HOST STATE DIFFERS" in r.out
    assert re.search(r"team barrier took [56]\d\.\d\d ns in A and 3[45]\d\.\d ns in B", r.out), r.out
    # the same host state (10 % apart, or 3x but both tiny): no such line
    for barrier in (66.0, 20.0):
        b = with_barrier(tmp_path, "b2.json", barrier, seed=3)
        r = run("track.py", "compare", a, b)
        assert r.code == 0 and "HOST STATE" not in r.out and "host probe" in r.out, r
    # files without the probe: no claim either way
    r = run("track.py", "compare", bench("a.json"), b)
    assert "HOST STATE" not in r.out and "host probe" not in r.out, r


def test_threshold_controls_the_gate(run):
    r = run("track.py", "compare", bench("a.json"), bench("b_slow.json"), "--threshold", "0.4")
    assert r.code == 0, r
    r = run("track.py", "compare", bench("a.json"), bench("b_slow.json"), "--metric", "cpu_time")
    assert r.code == 1 and "cpu_time A" in r.out


def test_mixed_verdicts_in_process():
    a, b = ml.load_bench(bench("a.json")), ml.load_bench(bench("b_mixed.json"))
    rows, only_a, only_b = track.compare(a, b, "real_time", 0.05, 0.05)
    verdicts = {r.name: r.verdict for r in rows}
    assert verdicts == {"BM_GemmForward/32/784/512": "slower",
                        "BM_GemmForward/32/512/10": "faster"}
    assert only_a == ["BM_AdamStep/407050"] and only_b == ["BM_SoftmaxXent/32/10"]
    for r in rows:
        assert r.p < 0.001  # 9 vs 9 fully separated samples: p = 0.00041
        assert r.n_a == r.n_b == 9


def test_verdict_rules():
    base = [100.0 + i for i in range(9)]
    # Significant but below the threshold: same.
    small = track.Row("x", base, [v + 3.5 for v in base], 0.05, 0.05)
    assert small.p < 0.05 and 0 < small.change < 0.05 and small.verdict == "same"
    # Large change but not significant (overlapping, noisy): same.
    noisy = track.Row("x", [1, 1000, 1, 1000, 1, 1000, 1, 1000, 2],
                      [1, 1000, 2, 1000, 1, 1000, 2, 1000, 2], 0.05, 0.05)
    assert noisy.p > 0.05 and noisy.verdict == "same"
    # Identical samples: p = 1.
    tie = track.Row("x", [5.0] * 9, [5.0] * 9, 0.05, 0.05)
    assert tie.p == 1.0 and tie.change == 0 and tie.verdict == "same"
    slower = track.Row("x", base, [v * 2 for v in base], 0.05, 0.05)
    faster = track.Row("x", base, [v / 2 for v in base], 0.05, 0.05)
    assert (slower.verdict, faster.verdict) == ("slower", "faster")


def test_geometric_mean():
    assert track.geometric_mean([2.0, 0.5]) == pytest.approx(1.0)
    assert track.geometric_mean([1.3, 1.3, 1.3]) == pytest.approx(1.3)
    assert track.geometric_mean([1.0, 4.0]) == pytest.approx(2.0)
    a, b = ml.load_bench(bench("a.json")), ml.load_bench(bench("b_slow.json"))
    rows, _, _ = track.compare(a, b, "real_time", 0.05, 0.05)
    expected = math.exp(statistics.fmean(
        math.log(statistics.median(b.times_ns(n, "real_time")) /
                 statistics.median(a.times_ns(n, "real_time"))) for n in a.iterations()))
    assert track.geometric_mean([r.ratio for r in rows]) == pytest.approx(expected)
    assert 1.25 < expected < 1.35


def test_few_repetitions_warn(run):
    r = run("track.py", "compare", bench("a.json"), bench("few_reps.json"))
    assert r.code == 0, r
    assert "fewer than 9 repetitions" in r.err and "few_reps.json" in r.err


def test_compare_bad_input(run):
    assert_clean_error(run("track.py", "compare", bench("a.json"), bench("not_bench.json")),
                       "not_bench.json", "benchmarks")
    assert_clean_error(run("track.py", "compare", bench("a.json"), "nothere.json"),
                       "nothere.json")
    assert_clean_error(run("track.py", "compare", bench("a.json"), fixture("bad", "truncated.json")),
                       "truncated.json")
    assert_clean_error(run("track.py", "compare", bench("a.json"), bench("b_same.json"),
                           "-o", "x.jpg"), "x.jpg")


def test_compare_history_names(run):
    h = fixture("history")
    r = run("track.py", "compare", "previous", "latest", "--history", h)
    assert r.code == 1, r  # the fixture history got 7% slower in its last entry
    assert "5555cccc6666" in r.out.splitlines()[1] and "3333bbbb4444" in r.out.splitlines()[0]
    r = run("track.py", "compare", "1111aaaa", "3333bbbb", "--history", h)
    assert r.code == 0, r
    assert_clean_error(run("track.py", "compare", "2026-11", "latest", "--history", h),
                       "ambiguous")


# ----------------------------------------------------------------------------- record

def test_record_from_json(run, tmp_path):
    hist = tmp_path / "hist"
    r = run("track.py", "record", "--from-json", bench("a.json"), "--history", hist)
    assert r.code == 0, r
    path = r.out.strip()
    assert os.path.basename(path) == "2026-11-23T134500Z_abc123def456_AVX3.json"
    assert open(path, "rb").read() == open(bench("a.json"), "rb").read()
    # A second filing of the same output does not overwrite the first.
    r = run("track.py", "record", "--from-json", bench("a.json"), "--history", hist)
    assert os.path.basename(r.out.strip()) == "2026-11-23T134500Z_abc123def456_AVX3-1.json"
    assert sorted(os.listdir(hist)) == ["2026-11-23T134500Z_abc123def456_AVX3-1.json",
                                        "2026-11-23T134500Z_abc123def456_AVX3.json"]


def test_record_rejects_bad_json(run, tmp_path):
    r = run("track.py", "record", "--from-json", bench("not_bench.json"), "--history",
            tmp_path / "h")
    assert_clean_error(r, "not_bench.json")
    assert not (tmp_path / "h").exists() or not os.listdir(tmp_path / "h")


def fake_bench(tmp_path, exit_code=0):
    """A stand-in for mlp_bench that writes a fixture to --benchmark_out and logs its args."""
    script = tmp_path / "fake_bench"
    data = make_fixtures.bench_file(make_fixtures.BENCH, seed=9, commit="feedbeef0001",
                                    simd="AVX2")
    (tmp_path / "fake.json").write_text(json.dumps(data))
    script.write_text(f"""#!{PYTHON}
import shutil, sys
args = sys.argv[1:]
open({str(tmp_path / 'args.txt')!r}, 'w').write('\\n'.join(args))
out = [a.split('=', 1)[1] for a in args if a.startswith('--benchmark_out=')][0]
shutil.copy({str(tmp_path / 'fake.json')!r}, out)
print('{{"json": "on stdout"}}')
sys.exit({exit_code})
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_record_runs_the_binary(run, tmp_path):
    script = fake_bench(tmp_path)
    hist = tmp_path / "history"
    r = run("track.py", "record", "--bench", script, "--history", hist, "--filter", "Gemm",
            "--repetitions", "11")
    assert r.code == 0, r
    args = (tmp_path / "args.txt").read_text().splitlines()
    assert "--benchmark_repetitions=11" in args and "--benchmark_format=json" in args
    assert "--benchmark_out_format=json" in args
    assert "--benchmark_filter=(Gemm)|^BM_TeamBarrier" in args  # the host probe always runs
    files = os.listdir(hist)
    assert len(files) == 1 and files[0].endswith("_feedbeef0001_AVX2.json"), files
    assert r.out.strip().endswith(files[0])


def test_record_failures(run, tmp_path):
    r = run("track.py", "record", "--repetitions", "5", "--history", tmp_path / "h")
    assert_clean_error(r, "at least 9")
    r = run("track.py", "record", "--bench", tmp_path / "nope", "--history", tmp_path / "h")
    assert_clean_error(r, "nope", "no such benchmark binary")
    hist = tmp_path / "h2"
    r = run("track.py", "record", "--bench", fake_bench(tmp_path, exit_code=3), "--history", hist)
    assert r.code == 1 and "exited with status 3" in r.err
    assert os.listdir(hist) == []  # nothing filed, no temporary left behind


# ----------------------------------------------------------------------------- plot

def test_plot_history(run, tmp_path):
    r = run("track.py", "plot", "--history", fixture("history"), "-o", "h.png")
    assert r.code == 0, r
    assert_png(tmp_path / "h.png")
    r = run("track.py", "plot", "--history", fixture("history"), "--filter", "Gemm", "--max", "1",
            "-o", "h.svg")
    assert r.code == 0 and "plotting the first 1" in r.err, r
    assert_svg(tmp_path / "h.svg")


def test_plot_history_errors(run, tmp_path):
    assert_clean_error(run("track.py", "plot", "--history", tmp_path / "none"), "none")
    (tmp_path / "empty").mkdir()
    assert_clean_error(run("track.py", "plot", "--history", tmp_path / "empty"), "no history")
    assert_clean_error(run("track.py", "plot", "--history", fixture("history"), "--filter",
                           "NoSuchBench"), "NoSuchBench")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "2026-01-01T000000Z_x_AVX3.json").write_text("{\"benchmarks\": [")
    assert_clean_error(run("track.py", "plot", "--history", bad), "2026-01-01T000000Z_x_AVX3.json")


def test_help(run):
    for cmd in ([], ["record"], ["compare"], ["plot"]):
        r = run("track.py", *cmd, "--help")
        assert r.code == 0, r
    assert "5%" in run("track.py", "compare", "--help").out
    assert run("track.py").code == 2
