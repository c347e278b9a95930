"""plot_scaling.py: thread/SIMD studies and the bitwise-identity check."""

import json
from pathlib import Path

import pytest

from conftest import assert_clean_error, assert_png, assert_svg, fixture
import make_fixtures
from mlpbench import logs as ml
from mlpbench.plots import scaling as plot_scaling


def test_sweep_identical_numbers_yes(run, tmp_path):
    r = run("plot_scaling.py", fixture("sweep"), "-o", "scaling.png")
    assert r.code == 0, r
    assert_png(tmp_path / "scaling.png")
    assert "identical numbers at every thread count: yes" in r.out
    assert "NO" not in r.out
    # Speed-ups and the SIMD study are reported.
    assert "SIMD targets at 1 thread (speed-up vs EMU128)" in r.out
    assert "AVX3 4.01x" in r.out


def test_perturbed_sweep_says_no(run, tmp_path):
    r = run("plot_scaling.py", fixture("sweep_perturbed"), "-o", "p.svg")
    assert r.code == 0, r
    assert_svg(tmp_path / "p.svg")
    assert "identical numbers at every thread count: NO" in r.out
    assert "epoch 4 test_loss" in r.out
    svg = (tmp_path / "p.svg").read_text()
    assert "identical numbers at every thread count: NO" in svg or "NO" in svg
    r = run("plot_scaling.py", fixture("sweep_perturbed"), "--strict", "-o", "p.png")
    assert r.code == 1, r


def test_log_files_and_default_output(run, tmp_path):
    r = run("plot_scaling.py", fixture("sweep", "t1_avx3.json"), fixture("sweep", "t3_avx3.json"))
    assert r.code == 0, r
    assert_png(tmp_path / "scaling.png")
    assert "AVX3: identical numbers at every thread count (1, 3): yes" in r.out


def test_simd_only_study(run, tmp_path):
    r = run("plot_scaling.py", fixture("simd_only"), "-o", "simd.png")
    assert r.code == 0, r
    assert_png(tmp_path / "simd.png")
    assert "EMU128 1.00x, AVX2 3.06x, AVX3 3.90x" in r.out
    assert "identical numbers at every thread count: n/a" in r.out


def test_simd_only_figure_says_what_was_not_checked_and_names_the_cpu(run, tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    for src in sorted(Path(fixture("simd_only")).glob("*.json")):
        log = json.loads(src.read_text())
        log["host"]["cpu_id"] = "AuthenticAMD family 25 model 17 stepping 1"
        (study / src.name).write_text(json.dumps(log))
    r = run("plot_scaling.py", study, "-o", "simd.svg")
    assert r.code == 0, r
    svg = (tmp_path / "simd.svg").read_text()
    assert "family 25 model 17" in svg
    assert "one thread count per SIMD target" in svg and "n/a" not in svg


def test_wide_thread_range(run, tmp_path):
    sweep = tmp_path / "wide"
    sweep.mkdir()
    for t in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        for simd, base in (("AVX3", 60000.0), ("EMU128", 15000.0)):
            log = make_fixtures.make_log(simd, t, base * min(t, 48) ** 0.9, seed=t)
            (sweep / f"{simd}_{t}.json").write_text(json.dumps(log))
    r = run("plot_scaling.py", sweep, "-o", "wide.png")
    assert r.code == 0, r
    assert_png(tmp_path / "wide.png")
    assert "(1, 2, 4, 8, 16, 32, 64, 128, 256): yes" in r.out


def test_different_experiments_rejected(run):
    r = run("plot_scaling.py", fixture("sweep"), fixture("other_experiment.json"))
    assert_clean_error(r, "different experiments", "mlp128_fashion", "mlp512_5ep")


def test_nothing_to_compare(run):
    r = run("plot_scaling.py", fixture("runs", "completed_avx3_t2.json"))
    assert_clean_error(r, "nothing to compare")


def test_bad_input(run, tmp_path):
    assert_clean_error(run("plot_scaling.py", fixture("sweep"), fixture("bad", "truncated.json")),
                       fixture("bad", "truncated.json"), "truncated")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_clean_error(run("plot_scaling.py", empty), str(empty), "no *.json")
    assert run("plot_scaling.py", "--help").code == 0


# In-process checks of the identity logic ------------------------------------------------

def logs_with(tmp_path, changes):
    """Two AVX3 logs (1 and 2 threads); `changes` edits the 2-thread one in place."""
    out = []
    for t in (1, 2):
        log = make_fixtures.make_log("AVX3", t, 60000.0 * t, seed=t)
        if t == 2:
            changes(log)
        path = tmp_path / f"t{t}.json"
        path.write_text(json.dumps(log))
        out.append(ml.load_run_log(str(path)))
    return plot_scaling.make_groups(out)


def test_identity_ignores_timings(tmp_path):
    def timings(log):
        for e in log["epochs"]:
            e["train_seconds"] *= 3
            e["samples_per_second"] /= 3
    (group,) = logs_with(tmp_path, timings)
    assert plot_scaling.identity_check(group)[0] == "yes"


def test_identity_detects_one_ulp(tmp_path):
    def ulp(log):
        v = log["epochs"][0]["train_accuracy"]
        log["epochs"][0]["train_accuracy"] = float.fromhex(make_fixtures.hex_bump(v.hex()))
    (group,) = logs_with(tmp_path, ulp)
    verdict, details = plot_scaling.identity_check(group)
    assert verdict == "NO" and "epoch 1 train_accuracy" in details[0]


def test_identity_reports_config_difference(tmp_path):
    def reseed(log):
        log["run"]["seed"] = 2
        log["epochs"][0]["test_loss"] = 0.5
    (group,) = logs_with(tmp_path, reseed)
    verdict, details = plot_scaling.identity_check(group)
    assert verdict == "NO" and "seed 1 vs 2" in details[0]


def test_identity_compares_common_epochs(tmp_path):
    def shorter(log):
        log["status"] = "interrupted"
        del log["epochs"][3:]
    (group,) = logs_with(tmp_path, shorter)
    verdict, details = plot_scaling.identity_check(group)
    assert verdict == "yes" and "common epochs" in details[0]


def svg_text_env(tmp_path):
    """An environment in which matplotlib keeps text as text in SVGs, so that it can be read."""
    (tmp_path / "mpl").mkdir()
    (tmp_path / "mpl" / "matplotlibrc").write_text("svg.fonttype: none\n")
    return {"MPLCONFIGDIR": str(tmp_path / "mpl")}


def test_noisy_host_runs_are_marked(run, tmp_path):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    for p in Path(fixture("sweep")).glob("*.json"):
        log = json.loads(p.read_text())
        if p.name == "t2_avx3.json":
            log["run"].update(host_noisy=True, host_noise_reasons=["2 threads on 1 logical CPUs"])
        (sweep / p.name).write_text(json.dumps(log))
    env = svg_text_env(tmp_path)
    r = run("plot_scaling.py", sweep, "-o", "s.svg", env=env)
    assert r.code == 0, r
    assert r.out.count("noisy host: ") == 1 and "2 threads on 1 logical CPUs" in r.out
    assert "noisy host" in (tmp_path / "s.svg").read_text()  # the figure's legend


# ----------------------------------------------------------------------------- SIMD families

def simd_study(folder, targets):
    """A SIMD study at 2 threads: {target: results rows} -> folder of logs."""
    folder.mkdir()
    for i, (target, rows) in enumerate(targets.items()):
        log = make_fixtures.make_log(target, 2, 30000.0 * (i + 1), seed=i, results=rows)
        (folder / f"{target}.json").write_text(json.dumps(log))
    return folder


def perturbed(rows):
    first = (rows[0][0] + 1e-9,) + tuple(rows[0][1:])
    return [first] + list(rows[1:])


def test_simd_targets_know_which_targets_fuse_multiply_adds():
    from mlpbench import simd_targets
    assert [simd_targets.family(t) for t in ("AVX2", "avx3", "NEON", "SVE2")] == ["FMA"] * 4
    assert [simd_targets.family(t) for t in ("SSE4", "SSSE3", "EMU128", "SCALAR")] == ["non-FMA"] * 4
    assert simd_targets.family("AVX10_FUTURE") is None
    assert simd_targets.lanes("SSE4") == simd_targets.lanes("SSSE3") == 4 and simd_targets.lanes("AVX3") == 16


def test_simd_study_compares_within_a_family_and_says_why_families_differ(run, tmp_path):
    r = run("plot_scaling.py", fixture("simd_only"), "-o", "simd.png")
    assert r.code == 0, r
    assert "identical numbers among the FMA targets (AVX2, AVX3) at 2 threads: yes" in r.out
    assert "non-FMA targets (" not in r.out  # EMU128 alone: nothing to compare it with
    assert "FMA and non-FMA targets differ by rounding, as expected: a fused multiply-add rounds " \
           "once, a separate multiply and add twice" in r.out
    assert "NO" not in r.out


def test_simd_study_flags_targets_of_one_family_and_width_that_differ(run, tmp_path):
    emu = make_fixtures.RESULTS["EMU128"]
    study = simd_study(tmp_path / "s", {"SSSE3": emu, "SSE4": perturbed(emu), "AVX3": make_fixtures.RESULTS["AVX3"]})
    env = svg_text_env(tmp_path)
    r = run("plot_scaling.py", study, "-o", "s.svg", env=env)
    assert r.code == 0, r
    line = next(x for x in r.out.splitlines() if x.startswith("identical numbers among the non-FMA"))
    assert "(SSSE3, SSE4) at 2 threads: NO" in line or "(SSE4, SSSE3) at 2 threads: NO" in line
    assert "epoch 1 train_loss" in line
    assert "FMA and non-FMA targets differ by rounding" in r.out
    assert "non-FMA targets" in (tmp_path / "s.svg").read_text()  # in the figure too


def test_simd_study_explains_a_difference_between_vector_widths(run, tmp_path):
    emu = make_fixtures.RESULTS["EMU128"]
    study = simd_study(tmp_path / "s", {"SCALAR": perturbed(emu), "SSE4": emu, "SSSE3": emu})
    r = run("plot_scaling.py", study, "-o", "s.png")
    assert r.code == 0, r
    line = next(x for x in r.out.splitlines() if x.startswith("identical numbers among the non-FMA"))
    assert ": differ, expected (their vectors hold different numbers of floats" in line
    assert "softmax_xent.cc" in line and "NO" not in r.out
    assert "FMA and non-FMA targets differ" not in r.out  # one family only


@pytest.mark.slow
def test_simd_figure_marks_runs_from_a_noisy_host(run, tmp_path):
    study = tmp_path / "simd"
    study.mkdir()
    for src in sorted(Path(fixture("simd_only")).glob("*.json")):
        log = json.loads(src.read_text())
        if src.name == "avx2_t2.json":
            log["run"].update(host_noisy=True, host_noise_reasons=["load average 3.1 on 2 logical CPUs"])
        (study / src.name).write_text(json.dumps(log))
    env = svg_text_env(tmp_path)
    quiet = run("plot_scaling.py", fixture("simd_only"), "-o", "quiet.svg", env=env)
    r = run("plot_scaling.py", study, "-o", "s.svg", env=env)
    assert quiet.code == 0 and r.code == 0, (quiet, r)
    assert "noisy host: AVX2, 2 threads (avx2_t2.json): load average 3.1 on 2 logical CPUs" in r.out
    assert r.out.count("noisy host: ") == 1
    assert "noisy host" in (tmp_path / "s.svg").read_text()  # the mark's legend entry
    assert "noisy host" not in (tmp_path / "quiet.svg").read_text() and "noisy host" not in quiet.out


# ----------------------------------------------------------------------------- repeats, Amdahl

SERIAL = 0.2


def thread_study(folder, runs_per_count, serial=SERIAL, base=50000.0):
    """A thread study following Amdahl's law with a known serial fraction: runs_per_count logs
    at 1, 2, 4 and 8 threads, each run a little faster or slower than the law (by its seed)."""
    folder.mkdir()
    for t in (1, 2, 4, 8):
        for k in range(runs_per_count):
            factor = 1 + 0.01 * (k - (runs_per_count - 1) / 2)
            log = make_fixtures.make_log("AVX3", t, factor * base / (serial + (1 - serial) / t), seed=10 * t + k)
            (folder / f"t{t}_run{k}.json").write_text(json.dumps(log))
    return folder


def test_thread_study_with_repeats_spreads_across_runs_and_fits_amdahl(run, tmp_path):
    study = thread_study(tmp_path / "study", 3)
    env = svg_text_env(tmp_path)
    r = run("plot_scaling.py", study, "-o", "t.svg", env=env)
    assert r.code == 0, r
    line = next(x for x in r.out.splitlines() if "Amdahl's law:" in x)
    fit = plot_scaling.Group(("e", "AVX3"), "AVX3")
    fit.logs = ml.load_run_logs(sorted(str(p) for p in study.glob("*.json")))
    result, _ = fit.amdahl_fit()
    lo, hi = result["interval"]
    assert lo <= SERIAL <= hi and hi - lo < 0.05 and result["repeats"] == {1: 3, 2: 3, 4: 3, 8: 3}
    assert f"serial fraction {result['serial_fraction']:.3f} (95 % interval {lo:.3f}-{hi:.3f})" in line
    svg = (tmp_path / "t.svg").read_text()
    assert "min-max across runs" in svg and "Amdahl" in svg and f"[{lo:.3f}, {hi:.3f}]" in svg
    # The whiskers span the runs' medians, not the epochs of all runs pooled.
    thr = fit.throughput()
    medians = sorted(plot_scaling.run_throughput(log) for log in fit.logs if log.threads == 4)
    assert thr[4] == (medians[1], medians[0], medians[2])


def test_thread_study_with_one_run_each_fits_without_an_interval(run, tmp_path):
    study = thread_study(tmp_path / "study", 1)
    r = run("plot_scaling.py", study, "-o", "t.png")
    assert r.code == 0, r
    line = next(x for x in r.out.splitlines() if "Amdahl's law:" in x)
    assert "(one run per thread count: no interval)" in line
    s = float(line.split("serial fraction ")[1].split()[0])
    assert abs(s - SERIAL) < 0.03


def test_thread_study_says_when_amdahl_does_not_describe_it(run, tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    for t, sps in ((1, 50000.0), (2, 30000.0)):  # slower with more threads
        (study / f"t{t}.json").write_text(json.dumps(make_fixtures.make_log("AVX3", t, sps, seed=t)))
    r = run("plot_scaling.py", study, "-o", "t.png")
    assert r.code == 0, r
    assert "Amdahl's law not fitted: the runs get slower with more threads" in r.out
