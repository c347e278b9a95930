"""Rank studies: tools/scaling_study.py (the sweep), plot_scaling.py's rank figure and
tools/alpha_beta.py (the latency-bandwidth fit and prediction), on synthetic inputs; the
sweep's --quick mode on the real build when it has MPI."""

import json
import math
import os
import shutil

import pytest

from conftest import TOOLS, assert_clean_error, assert_png, assert_study_page, assert_svg, make_dataset
import make_fixtures

REPO = os.path.dirname(TOOLS)
BUILD = os.path.join(REPO, "build")


def distributed_log(ranks, scaling="strong", rule="none", sps=100000.0, results=None, seed=0,
                    reduction="tree", compute=150.0, reduce_us=40.0):
    log = make_fixtures.make_log("AVX3", 1, sps * ranks ** 0.8, seed=seed, results=results, n_epochs=3)
    per_rank = 32 if scaling == "weak" else 32 // ranks
    phases = lambda r: {  # noqa: E731
        "rank": r, "compute": {"median_us": compute / (1 if scaling == "weak" else ranks) + r, "p90_us": 0},
        "reduction": {"median_us": reduce_us * (ranks > 1), "p90_us": 0},
        "optimizer": {"median_us": 20.0 / ranks, "p90_us": 0},
        "allgather": {"median_us": 10.0 * (ranks > 1), "p90_us": 0},
        "wait": {"median_us": 2.0 + r, "p90_us": 0}, "bytes_sent": 0}
    log["distributed"] = {
        "ranks": ranks, "nodes": 1, "ranks_per_node": ranks, "threads_per_rank": 1,
        "global_batch": per_rank * ranks, "batch_per_rank": per_rank, "scaling": scaling,
        "shards": 4, "shards_per_rank": 4 // ranks, "reduction": reduction, "mpi_library": "Open MPI",
        "learning_rate": 0.001, "lr_scaling": {"rule": rule, "base_learning_rate": 0.001,
                                               "warmup_epochs": 0, "warmup_steps": 0},
        "rank_hosts": [], "epochs": [{"epoch": e, "ranks": [phases(r) for r in range(ranks)]} for e in (1, 2, 3)]}
    log["experiment"]["target_accuracy"] = 0.97
    return log


def write_study(folder, perturb=None, reduction="tree"):
    folder.mkdir()
    runs = []
    logs = {"one-process.json": make_fixtures.make_log("AVX3", 1, 100000.0, n_epochs=3)}
    for r in (1, 2, 4):
        logs[f"strong-r{r}.json"] = distributed_log(r, seed=r, reduction=reduction)
        for i, rule in enumerate(("none", "linear", "sqrt")):
            results = [[0.3 - 0.01 * i - 0.02 * e, 0.9, 0.25 - 0.01 * i, 0.95 + 0.005 * e + 0.002 * i]
                       for e in range(3)]
            logs[f"weak-{rule}-r{r}.json"] = distributed_log(r, "weak", rule, results=results, seed=10 + r)
    if perturb:
        logs[perturb]["epochs"][1]["test_loss"] += 1e-12
    for name, log in logs.items():
        (folder / name).write_text(json.dumps(log))
        runs.append({"name": name, "kind": "log", "command": [], "output": name, "exit": 0, "seconds": 1})
    (folder / "study.json").write_text(json.dumps({"runs": runs}))
    return folder


def test_plot_scaling_draws_a_rank_study(run, tmp_path):
    study = write_study(tmp_path / "study")
    r = run("plot_scaling.py", study, "-o", "ranks.svg")
    assert r.code == 0, r
    assert_svg(tmp_path / "ranks.svg")
    assert "strong scaling:" in r.out and "weak scaling, lr rule sqrt:" in r.out
    assert "identical numbers at every rank count: yes" in r.out
    assert "step phases at 4 ranks" in r.out
    svg = (tmp_path / "ranks.svg").read_text()
    for text in ("speed-up", "parallel efficiency", "where a step", "time to accuracy", "allgather"):
        assert text in svg, text


def test_plot_scaling_rank_study_marks_runs_from_a_noisy_host(run, tmp_path):
    study = write_study(tmp_path / "study")
    log = json.loads((study / "strong-r2.json").read_text())
    log["run"].update(host_noisy=True, host_noise_reasons=["2 ranks of 1 thread on 1 logical CPU"])
    (study / "strong-r2.json").write_text(json.dumps(log))
    (tmp_path / "mpl").mkdir()
    (tmp_path / "mpl" / "matplotlibrc").write_text("svg.fonttype: none\n")
    r = run("plot_scaling.py", study, "-o", "ranks.svg", env={"MPLCONFIGDIR": str(tmp_path / "mpl")})
    assert r.code == 0, r
    assert "noisy host: strong, 2 ranks (strong-r2.json): 2 ranks of 1 thread on 1 logical CPU" in r.out
    assert r.out.count("noisy host: ") == 1
    assert (tmp_path / "ranks.svg").read_text().count(">noisy host<") >= 1  # legend of the marked panels


def test_plot_scaling_rank_study_says_no_when_a_rank_count_differs(run, tmp_path):
    study = write_study(tmp_path / "study", perturb="strong-r2.json")
    r = run("plot_scaling.py", study, "-o", "ranks.png", "--strict")
    assert r.code == 1, r
    assert_png(tmp_path / "ranks.png")
    assert "identical numbers at every rank count: NO" in r.out
    assert "epoch 2 test_loss" in r.out and "strong-r2.json" in r.out


def test_plot_scaling_rank_study_does_not_check_mpi_allreduce(run, tmp_path):
    study = write_study(tmp_path / "study", reduction="mpi")
    r = run("plot_scaling.py", study, "-o", "ranks.png")
    assert r.code == 0, r
    assert "not checked (MPI_Allreduce promises no identity)" in r.out


def test_plot_scaling_study_without_a_successful_run(run, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "study.json").write_text(json.dumps({"runs": [
        {"name": "x", "kind": "log", "output": "strong-r1.json", "exit": 1}]}))
    r = run("plot_scaling.py", tmp_path / "empty", "-o", "x.png")
    assert_clean_error(r, "study.json", "no run of the study succeeded")


# ----------------------------------------------------------------------------- alpha-beta

ALPHA, BETA = 3e-6, 0.5e-9  # 3 us, 2 GB/s


def one_regime(ranks, nbytes, alpha=ALPHA, beta=BETA):
    return 2 * math.log2(ranks) * alpha + 2 * (ranks - 1) / ranks * nbytes * beta


BREAK, BETA_LARGE = 65536, 2e-9  # a slower cost per byte from 64 KiB on (e.g. out of a cache)


def two_regimes(ranks, nbytes):
    """The sweep of a transport whose cost per byte changes at BREAK, continuous there."""
    bandwidth_term = min(nbytes, BREAK) * BETA + max(0, nbytes - BREAK) * BETA_LARGE
    return 2 * math.log2(ranks) * ALPHA + 2 * (ranks - 1) / ranks * bandwidth_term


def bench_file(path, ranks, alpha=ALPHA, beta=BETA, noise=0.0, time_of=None, host="node0"):
    time_of = time_of or (lambda r, nbytes: one_regime(r, nbytes, alpha, beta))
    entries = []
    sizes = [68, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304]
    for i, floats in enumerate(sizes + [407056, 52672]):
        name = f"sweep/floats:{floats}" if i < len(sizes) else \
            ("784-512-10/params:407050" if floats == 407056 else "784-64-32-10/params:52650")
        for kind, factor in (("BM_TreeAllreduce", 1.0), ("BM_MpiAllreduce", 0.8)):
            t = factor * time_of(ranks, 4 * floats)
            t *= 1 + noise * ((i % 3) - 1)
            entries.append({"name": f"{kind}/{name}/manual_time", "run_name": f"{kind}/{name}/manual_time",
                            "run_type": "iteration", "iterations": 10, "real_time": t * 1e6,
                            "cpu_time": t * 1e6, "time_unit": "us", "ranks": ranks, "floats": floats,
                            "sent_bytes": 4 * floats, "bytes_per_second": 4 * floats / t})
    path.write_text(json.dumps({"context": {"mlpbench_ranks": str(ranks), "host_name": host},
                                "benchmarks": entries}))
    return path


def test_alpha_beta_recovers_the_model_and_predicts(run, tmp_path):
    files = [bench_file(tmp_path / f"reduction-r{r}.json", r, noise=0.01) for r in (2, 4)]
    r = run("alpha_beta.py", *files, "--floats", "407056", "--compute-us", "200", "--optimizer-us", "30",
            "--global-batch", "32", "--network", "25GbE=10,25", "--network", "measured",
            "-o", "ab.svg", "--json", "ab.json")
    assert r.code == 0, r
    out = json.loads((tmp_path / "ab.json").read_text())
    tree = out["fits"]["BM_TreeAllreduce"]
    assert [g["from_bytes"] for g in tree["regimes"]] == [0]  # one line describes it: no break
    assert tree["alpha_s"] == pytest.approx(ALPHA, rel=0.1)
    assert tree["regimes"][0]["beta_s_per_byte"] == pytest.approx(BETA, rel=0.03)
    assert tree["within_tolerance"] and abs(tree["worst_residual"]) <= 0.02
    assert len(tree["points"]) == 18 and all(abs(p["residual"]) <= 0.02 for p in tree["points"])
    mpi = out["fits"]["BM_MpiAllreduce"]
    assert mpi["regimes"][0]["beta_s_per_byte"] == pytest.approx(0.8 * BETA, rel=0.03)
    assert "not recorded" in out["transport"] and "node0" in out["transport"]
    eth, measured = out["predictions"]
    assert eth["alpha_s"] == pytest.approx(10e-6) and eth["beta_s_per_byte"] == pytest.approx(8 / 25e9)
    rows = {row["nodes"]: row for row in eth["rows"]}
    assert sorted(rows) == [2 ** k for k in range(1, 11)]
    n = 4 * 407056
    comm = 2 * 10 * 10e-6 + 2 * 1023 / 1024 * n * 8 / 25e9
    assert rows[1024]["weak_step_s"] == pytest.approx(200e-6 + 30e-6 / 1024 + comm)
    assert rows[1024]["weak_efficiency"] == pytest.approx(230e-6 / rows[1024]["weak_step_s"])
    assert "strong_step_s" in rows[32] and "strong_step_s" not in rows[64]  # a row per rank at most
    assert rows[2]["strong_efficiency"] == pytest.approx(230e-6 / (2 * rows[2]["strong_step_s"]))
    svg = (tmp_path / "ab.svg").read_text()
    assert "PREDICTION" in svg and "measured" in svg
    assert "PREDICTION 25GbE" in r.out and "1024 nodes" in r.out
    assert "PREDICTION measured fit (transport: not recorded" in r.out
    assert "residuals per buffer size" in svg and "transport: not recorded" in svg


def test_alpha_beta_finds_two_regimes_and_their_break(run, tmp_path):
    files = [bench_file(tmp_path / f"reduction-r{r}.json", r, time_of=two_regimes) for r in (2, 4)]
    r = run("alpha_beta.py", *files, "--floats", "407056", "--compute-us", "200", "--optimizer-us", "30",
            "--transport", "shared memory of one node", "-o", "ab.svg", "--json", "ab.json")
    assert r.code == 0, r
    tree = json.loads((tmp_path / "ab.json").read_text())["fits"]["BM_TreeAllreduce"]
    assert [g["from_bytes"] for g in tree["regimes"]] == [0, BREAK]
    assert tree["alpha_s"] == pytest.approx(ALPHA, rel=1e-3)
    assert [g["beta_s_per_byte"] for g in tree["regimes"]] == [pytest.approx(BETA, rel=1e-3),
                                                               pytest.approx(BETA_LARGE, rel=1e-3)]
    assert tree["within_tolerance"] and abs(tree["worst_residual"]) < 1e-3
    assert "within 20 % at every size" in r.out and "NOT within" not in r.out
    assert "fitted on: shared memory of one node" in r.out
    assert "transport: shared memory of one node" in (tmp_path / "ab.svg").read_text()


@pytest.mark.slow
def test_alpha_beta_says_when_the_fit_misses(run, tmp_path):
    # Every other size twice as slow: no cost continuous in the buffer follows it within 20 %.
    zigzag = lambda r, nbytes: one_regime(r, nbytes) * (2 if math.log2(nbytes) % 4 < 2 else 1)  # noqa: E731
    f = bench_file(tmp_path / "reduction-r2.json", 2, time_of=zigzag)
    r = run("alpha_beta.py", f, "--floats", "407056", "--compute-us", "200", "--optimizer-us", "30",
            "-o", "ab.png", "--json", "ab.json")
    assert r.code == 0, r  # a verdict on the fit, not bad input
    tree = json.loads((tmp_path / "ab.json").read_text())["fits"]["BM_TreeAllreduce"]
    assert not tree["within_tolerance"] and abs(tree["worst_residual"]) > 0.2
    assert "BM_TreeAllreduce" in r.out and "NOT within 20 % at every size" in r.out


@pytest.mark.parametrize("study", ["ranks_mlp512", "ranks_mlp64_32"])
@pytest.mark.slow
def test_alpha_beta_describes_the_committed_sweeps_within_20_percent(run, tmp_path, study):
    # the rank studies were measured on the Zen 5 (results/amd-f26m2-2cpu/README.md)
    folder = os.path.join(REPO, "results", "amd-f26m2-2cpu", "studies", study)
    r = run("alpha_beta.py", "--study", folder,
            "-o", "ab.png", "--json", "ab.json")
    assert r.code == 0, r
    out = json.loads((tmp_path / "ab.json").read_text())
    assert out["transport"].startswith("shared memory, all ranks on one node")
    for kind, fitted in out["fits"].items():
        assert fitted["within_tolerance"], (kind, fitted["worst_residual"])
        assert all(abs(p["residual"]) <= 0.2 for p in fitted["points"]), kind
        assert len(fitted["points"]) == 9  # R = 2; R = 4 was oversubscribed


def test_alpha_beta_reads_a_study_folder(run, tmp_path):
    study = write_study(tmp_path / "study")
    manifest = json.loads((study / "study.json").read_text())
    for ranks in (2, 4):
        bench_file(study / f"reduction-r{ranks}.json", ranks)
        manifest["runs"].append({"name": "b", "kind": "bench", "output": f"reduction-r{ranks}.json", "exit": 0})
    (study / "study.json").write_text(json.dumps(manifest))
    manifest["runs"][-1]["command"] = ["mpirun", "-n", "4", "--oversubscribe", "reduction_bench"]
    (study / "study.json").write_text(json.dumps(manifest))
    r = run("alpha_beta.py", "--study", study, "-o", "ab.png", "--json", "ab.json")
    assert r.code == 0, r
    assert "not fitted, launched with --oversubscribe" in r.err and "reduction-r4.json" in r.err
    assert "BM_TreeAllreduce: alpha 3.00 us, 9 points\n  beta from 0 bytes: 0.5000 ns/byte (16.0 Gb/s)" in r.out
    assert "fitted on: shared memory, all ranks on one node (node0)" in r.out
    assert_png(tmp_path / "ab.png")
    out = json.loads((tmp_path / "ab.json").read_text())
    assert out["floats"] == 407056  # the study's model, 784-512-10, from its benchmark
    assert out["compute_us"] == pytest.approx(150.0)  # strong-r1's rank 0
    assert out["global_batch"] == 32
    assert [p["network"].split(" ")[0] for p in out["predictions"]] == ["25GbE", "200Gb-IB-HDR", "measured"]


def test_alpha_beta_refuses_bad_input(run, tmp_path):
    f = bench_file(tmp_path / "r2.json", 2)
    r = run("alpha_beta.py", f, "--floats", "10", "--compute-us", "1", "--optimizer-us", "1",
            "--network", "fast", "-o", "x.png")
    assert_clean_error(r, "--network", "NAME=ALPHA_US,GBITS")
    r = run("alpha_beta.py", f, "--floats", "10", "-o", "x.png")
    assert_clean_error(r, "--compute-us")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"benchmarks": [{"name": "BM_X", "real_time": 1, "cpu_time": 1}]}))
    r = run("alpha_beta.py", other, "--floats", "10", "--compute-us", "1", "--optimizer-us", "1", "-o", "x.png")
    assert_clean_error(r, "BM_X", "not a reduction_bench output")


# ----------------------------------------------------------------------------- the sweep

def test_scaling_study_dry_run_prints_the_plan(run, tmp_path):
    exp = os.path.join(REPO, "experiments", "mlp512_5ep.json")
    r = run("scaling_study.py", exp, "-o", tmp_path / "s", "--dry-run", "--ranks", "1,2,4", "--threads", "2")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert len(lines) == 1 + 3 * (1 + 3) + 2  # one process; per R strong + 3 rules; 2 benches
    assert "--shards 4" in lines[0] and "--distributed" not in lines[0]
    weak = [line for line in lines if "--lr-scaling linear" in line]
    assert len(weak) == 3 and all("--batch-size-per-rank 32 " in w and "--warmup-epochs 1" in w for w in weak)
    assert all("--bind-to none" in line for line in lines[1:])
    # 4 ranks x 2 threads exceed any CPU count below 8: oversubscribed
    assert ("--oversubscribe" in lines[-1]) == ((os.cpu_count() or 1) < 8)
    assert ("--allow-run-as-root" in lines[-1]) == (os.geteuid() == 0)
    r = run("scaling_study.py", exp, "-o", tmp_path / "s", "--dry-run", "--hostfile", "hosts")
    assert "--hostfile hosts --map-by node" in r.out and "--oversubscribe" not in r.out


def test_scaling_study_refusals(run, tmp_path):
    exp = os.path.join(REPO, "experiments", "mlp512_5ep.json")
    assert_clean_error(run("scaling_study.py", exp, "-o", "s", "--ranks", "1,3"), "--ranks", "power of two")
    assert_clean_error(run("scaling_study.py", exp, "-o", "s", "--shards", "2", "--ranks", "1,4"),
                       "--shards", "cannot be shared by 4 ranks")
    assert_clean_error(run("scaling_study.py", exp, "-o", "s", "--rules", "cubic"), "--rules")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert_clean_error(run("scaling_study.py", exp, "-o", "full", "--no-bench", "--quick"), "not empty")


HAVE_MPI_BUILD = (os.access(os.path.join(BUILD, "engine", "run_experiment"), os.X_OK)
                  and os.access(os.path.join(BUILD, "bench", "reduction_bench"), os.X_OK)
                  and shutil.which("mpirun") is not None)


@pytest.mark.skipif(not HAVE_MPI_BUILD, reason="needs the release build with MPI and mpirun")
@pytest.mark.slow
def test_scaling_study_quick_runs_end_to_end(run, tmp_path):
    data = tmp_path / "data"
    make_dataset(data, "mnist", n=300, split="train")
    make_dataset(data, "mnist", n=100, split="test")
    out = tmp_path / "study"
    exp = os.path.join(REPO, "experiments", "mlp64_32_100ep.json")
    r = run("scaling_study.py", exp, "-o", out, "--quick", "--ranks", "1,2", "--data-dir", data,
            "--rules", "none,sqrt", timeout=600)
    assert r.code == 0, r
    manifest = json.loads((out / "study.json").read_text())
    names = sorted(run_["output"] for run_ in manifest["runs"])
    assert names == ["one-process.json", "reduction-r2.json", "strong-r1.json", "strong-r2.json",
                     "weak-none-r1.json", "weak-none-r2.json", "weak-sqrt-r1.json", "weak-sqrt-r2.json"]
    assert all(run_["exit"] == 0 for run_ in manifest["runs"])
    # the study's figure and its page, made by the study itself
    assert_png(out / "ranks.png")
    assert_study_page(out / "study.html", 1, absent=[tmp_path])
    weak = json.loads((out / "weak-sqrt-r2.json").read_text())["distributed"]
    assert weak["scaling"] == "weak" and weak["global_batch"] == 64 and weak["lr_scaling"]["rule"] == "sqrt"
    r = run("plot_scaling.py", out, "-o", "ranks.png")
    assert r.code == 0, r
    assert "identical numbers at every rank count: yes" in r.out
    r = run("alpha_beta.py", "--study", out, "-o", "ab.png")
    assert r.code == 0, r
    assert_png(tmp_path / "ab.png")


def test_alpha_beta_fits_one_size_over_several_rank_counts():
    from mlpbench.studies import alpha_beta
    fitted = alpha_beta.fit([(r, 4096, one_regime(r, 4096)) for r in (2, 4, 8)])
    assert fitted["alpha_s"] == pytest.approx(ALPHA, rel=1e-6)
    assert [g["from_bytes"] for g in fitted["regimes"]] == [0]
    assert fitted["regimes"][0]["beta_s_per_byte"] == pytest.approx(BETA, rel=1e-6)
