"""Every command the README and docs/ show works as written, and leaves `git status` clean.

A command is a line of a ```sh (or ```bash) code block in README.md or docs/*.md; output
samples go in plain ``` blocks. CHEAP maps each documented command, exactly as written, to the
form the test runs: the same program and options with smaller limits (a tiny synthetic MNIST,
fewer steps or benchmarks, a history in a temporary folder). The first tests fail when the
docs and CHEAP disagree, so a new command cannot go untested, and when a cheap form starts
another program than the one documented. Each code block is one test, its commands run in
order (a command may use what an earlier one of its block wrote; one shown in an earlier block
too runs there only), in a copy of the checkout of its own (the files git shows, as they are,
with build/ linking to the built tree): blocks run in parallel under pytest-xdist without
meeting in results/runs/, and the copy's `git status` must be the same after the block as
before. Programs start as a user types them (`tools/x.py`,
executed through its #! line, never `python3 tools/x.py`: a missing run bit or a bad #! line
fails here).
"""

import os
import re
import shlex
import shutil
import subprocess

import pytest

from conftest import make_dataset

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
DOCS = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(os.path.join(REPO, "docs"))
                              if f.endswith(".md"))
QUICK_BENCH = "--benchmark_filter=BM_Adam --benchmark_min_time=0.01"
TRACK_FILTER = "--filter BM_Adam/params:407050 --history {tmp}/history"
TRACK_QUICK = "--repetitions 3 --min-time 0.01 --quiet-wait-s 0"
TRACK_AB = ("--bench-a build/bench/mlp_bench --bench-b build/bench/mlp_bench "
            f"{TRACK_FILTER} {TRACK_QUICK} --max-blocks 6")

# documented command -> what runs ({tmp}: a temporary folder), or None with the reason it does
# not run here.
CHEAP = {
    # README: tools/setup.sh installs packages and builds: .ci/run runs it on every clean clone.
    "bash tools/setup.sh && build/engine/run_experiment experiments/mlp512_5ep.json":
        "build/engine/run_experiment experiments/mlp512_5ep.json --epochs 1",
    "bash tools/setup.sh && bash tools/test.sh": None,  # this is CI itself (.ci/run)
    # the suite runs itself: test_test_script.py checks the script's options
    "bash tools/test.sh --quick": None,
    "bash tools/test.sh": None,
    "build/engine/run_experiment experiments/mlp64_32_100ep.json --epochs 5":
        "build/engine/run_experiment experiments/mlp64_32_100ep.json --epochs 5",
    "build/engine/run_experiment experiments/mlp512_5ep.json --epochs 1 --sweep-threads 1,2":
        "build/engine/run_experiment experiments/mlp512_5ep.json --epochs 1 --sweep-threads 1,2",
    "build/engine/run_experiment experiments/mlp512_5ep.json --dry-run":
        "build/engine/run_experiment experiments/mlp512_5ep.json --dry-run",
    "bench/peers/side_by_side.py experiments/mlp512_5ep.json --epochs 2 --rounds 3":
        "bench/peers/side_by_side.py experiments/mlp512_5ep.json --epochs 1 --rounds 1 "
        "--peer-config 1thread",
    "tools/plot_runs.py results/amd-f25m17-2cpu/runs/reference/mlp512_5ep.json "
    "results/amd-f25m17-2cpu/runs/reference/mlp512_5ep-pytorch.json -o results/runs/curves.png":
        "tools/plot_runs.py results/amd-f25m17-2cpu/runs/reference/mlp512_5ep.json "
        "results/amd-f25m17-2cpu/runs/reference/mlp512_5ep-pytorch.json -o results/runs/curves.png",
    "tools/plot_model.py experiments/mlp64_32_100ep.json -o results/runs/model.png":
        "tools/plot_model.py experiments/mlp64_32_100ep.json -o results/runs/model.png",
    "tools/show_samples.py --dataset fashion-mnist -o results/runs/samples.png":
        "tools/show_samples.py --dataset fashion-mnist -o results/runs/samples.png",
    "tools/results_page.py results/amd-f25m17-2cpu -o results/runs/results.html":
        "tools/results_page.py results/amd-f25m17-2cpu -o results/runs/results.html",
    # docs/benchmarks.md
    "tools/roofline_study.sh": "tools/roofline_study.sh --quick",
    "tools/plot_roofline.py results/roofline -o results/figures/roofline.svg":
        "tools/plot_roofline.py tools/tests/fixtures/roofline -o {tmp}/roofline.svg",
    "build/bench/mlp_bench --threads=2": f"build/bench/mlp_bench --threads=2 {QUICK_BENCH}",
    "build/bench/mlp_bench --threads=1 --simd-target=all":
        f"build/bench/mlp_bench --threads=1 --simd-target=all {QUICK_BENCH}",
    "build/bench/mlp_bench --benchmark_filter=TrainStep --benchmark_repetitions=9":
        "build/bench/mlp_bench --benchmark_filter=TrainStep/784-64-32-10/batch:32 "
        "--benchmark_repetitions=2 --benchmark_min_time=0.01",
    "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/bench/vendor_gemm "
    "--benchmark_repetitions=5 --benchmark_out=results/runs/vendor_gemm.json":
        "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/bench/vendor_gemm "
        "--benchmark_filter=m:32/n:10/k:512/ --benchmark_min_time=0.001 "
        "--benchmark_out=results/runs/vendor_gemm.json",
    "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE tools/track.py record --bench "
    "build/bench/vendor_gemm --set all --threads 2":
        "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE tools/track.py record --bench "
        "build/bench/vendor_gemm --filter m:32/n:10/k:512/ --threads 2 --history {tmp}/history "
        f"{TRACK_QUICK}",
    "build/bench/step_phases 2 B": "build/bench/step_phases 2 B --steps 20",
    "tools/epoch_ab.py experiments/mlp512_5ep.json --a=\"--shards 1\" --b=\"--shards 4\" "
    "--threads 2 --rounds 30":
        "tools/epoch_ab.py experiments/mlp512_5ep.json --a=\"--shards 1\" --b=\"--shards 4\" "
        "--threads 2 --rounds 2",
    "mpirun -n 2 --bind-to none build/bench/reduction_bench "
    "--benchmark_out=results/runs/reduction_r2.json":
        "mpirun --allow-run-as-root --oversubscribe -n 2 --bind-to none build/bench/reduction_bench "
        "--benchmark_out=results/runs/reduction_r2.json --benchmark_filter=784-64 "
        "--benchmark_min_time=0.001",
    # docs/scaling.md (the tiny dataset keeps every run short)
    "build/engine/run_experiment experiments/mlp512_5ep.json --epochs 3 --sweep-threads 1,2,4,8 "
    "--out results/runs/threads":
        "build/engine/run_experiment experiments/mlp512_5ep.json --epochs 3 --sweep-threads "
        "1,2,4,8 --out results/runs/threads",
    "build/engine/run_experiment experiments/mlp512_5ep.json --epochs 3 --sweep-threads 1,2 "
    "--sweep-repeats 5 --out results/runs/threads-repeated":
        "build/engine/run_experiment experiments/mlp512_5ep.json --epochs 3 --sweep-threads 1,2 "
        "--sweep-repeats 5 --out results/runs/threads-repeated",
    "tools/plot_scaling.py results/runs/threads-repeated -o results/runs/threads-repeated.png "
    "--html results/runs/threads-repeated.html --command \"build/engine/run_experiment "
    "experiments/mlp512_5ep.json --epochs 3 --sweep-threads 1,2 --sweep-repeats 5 --out "
    "results/runs/threads-repeated\"":
        "tools/plot_scaling.py results/runs/threads-repeated -o results/runs/threads-repeated.png "
        "--html results/runs/threads-repeated.html --command \"build/engine/run_experiment "
        "experiments/mlp512_5ep.json --epochs 3 --sweep-threads 1,2 --sweep-repeats 5 --out "
        "results/runs/threads-repeated\"",
    "build/engine/run_experiment experiments/mlp512_5ep.json --epochs 1 --sweep-simd all "
    "--out results/runs/simd":
        "build/engine/run_experiment experiments/mlp512_5ep.json --epochs 1 --sweep-simd all "
        "--out results/runs/simd",
    "tools/plot_scaling.py results/runs/threads -o results/runs/threads.png":
        "tools/plot_scaling.py results/runs/threads -o results/runs/threads.png",
    "tools/plot_scaling.py results/runs/simd -o results/runs/simd.png --html results/runs/simd.html":
        "tools/plot_scaling.py results/runs/simd -o results/runs/simd.png --html results/runs/simd.html",
    # docs/scaling.md, distributed: root and 2 cores need these two Open MPI flags
    "mpirun -n 2 --bind-to none build/engine/run_experiment experiments/mlp512_5ep.json "
    "--distributed --shards 4 --threads 1 --out results/runs/mlp512_r2.json":
        "mpirun --allow-run-as-root --oversubscribe -n 2 --bind-to none "
        "build/engine/run_experiment experiments/mlp512_5ep.json --distributed --shards 4 "
        "--threads 1 --epochs 1 --out results/runs/mlp512_r2.json",
    "mpirun -n 4 --bind-to none --oversubscribe build/engine/run_experiment "
    "experiments/mlp512_5ep.json --distributed --shards 4 --threads 1 --batch-size-per-rank 32 "
    "--lr-scaling sqrt --warmup-epochs 1 --out results/runs/mlp512_weak_r4.json":
        "mpirun --allow-run-as-root -n 4 --bind-to none --oversubscribe build/engine/run_experiment "
        "experiments/mlp512_5ep.json --distributed --shards 4 --threads 1 --batch-size-per-rank 32 "
        "--lr-scaling sqrt --warmup-epochs 1 --epochs 1 --out results/runs/mlp512_weak_r4.json",
    # the rank study: --quick on 1 and 2 ranks into a temporary folder, then its figures
    "tools/scaling_study.py experiments/mlp512_5ep.json -o results/amd-f26m2-2cpu/studies/ranks_mlp512":
        "tools/scaling_study.py experiments/mlp512_5ep.json -o {tmp}/ranks_mlp512 --quick "
        "--ranks 1,2 --rules none,sqrt",
    "tools/scaling_study.py experiments/mlp64_32_100ep.json --epochs 15 -o "
    "results/amd-f26m2-2cpu/studies/ranks_mlp64_32":
        "tools/scaling_study.py experiments/mlp64_32_100ep.json --epochs 15 -o "
        "{tmp}/ranks_mlp64_32 --quick --ranks 1,2 --rules linear",
    "tools/plot_scaling.py results/amd-f26m2-2cpu/studies/ranks_mlp512 -o results/amd-f26m2-2cpu/figures/ranks_mlp512.png":
        "tools/plot_scaling.py {tmp}/ranks_mlp512 -o {tmp}/ranks_mlp512.png",
    "tools/plot_scaling.py results/amd-f26m2-2cpu/studies/ranks_mlp64_32 -o results/amd-f26m2-2cpu/figures/ranks_mlp64_32.png":
        "tools/plot_scaling.py {tmp}/ranks_mlp64_32 -o {tmp}/ranks_mlp64_32.png",
    "tools/alpha_beta.py --study results/amd-f26m2-2cpu/studies/ranks_mlp512 -o "
    "results/amd-f26m2-2cpu/figures/alpha_beta_mlp512.png":
        "tools/alpha_beta.py --study {tmp}/ranks_mlp512 -o {tmp}/alpha_beta_mlp512.png",
    "tools/alpha_beta.py --study results/amd-f26m2-2cpu/studies/ranks_mlp64_32 -o "
    "results/amd-f26m2-2cpu/figures/alpha_beta_mlp64_32.png":
        "tools/alpha_beta.py --study {tmp}/ranks_mlp64_32 -o {tmp}/alpha_beta_mlp64_32.png",
    "build/bench/mlp_bench --threads=1 --benchmark_filter='BM_TrainStep/784-[0-9-]+/batch:32' "
    "--benchmark_repetitions=5 --benchmark_out=results/amd-f26m2-2cpu/studies/shards_cost_t1.json":
        "build/bench/mlp_bench --threads=1 --benchmark_filter='BM_TrainStep/784-[0-9-]+/batch:32' "
        "--benchmark_min_time=0.01 --benchmark_out={tmp}/shards_cost.json",
    # needs a hostfile of several machines; tests/mpi runs the same engine under mpirun here
    "mpirun --hostfile hosts -n 4 --map-by node --bind-to none build/engine/run_experiment "
    "experiments/mlp512_5ep.json --distributed --shards 4 --threads 8": None,
    # docs/experiment.md (the tiny dataset keeps the run short)
    "build/engine/run_experiment experiments/mlp512_keras_habits.json --out "
    "results/runs/keras_habits.json --save-weights results/runs/keras_habits.safetensors":
        "build/engine/run_experiment experiments/mlp512_keras_habits.json --epochs 2 --out "
        "results/runs/keras_habits.json --save-weights results/runs/keras_habits.safetensors",
    "tools/plot_runs.py results/runs/keras_habits.json -o results/runs/keras_habits_curves.png "
    "--summary":
        "tools/plot_runs.py results/runs/keras_habits.json -o results/runs/keras_habits_curves.png "
        "--summary",
    "tools/plot_eval.py --log results/runs/keras_habits.json --weights "
    "results/runs/keras_habits.safetensors -o results/runs/keras_habits_eval.png":
        "tools/plot_eval.py --log results/runs/keras_habits.json --weights "
        "results/runs/keras_habits.safetensors -o results/runs/keras_habits_eval.png",
    "tools/export.py results/runs/keras_habits.json -o results/runs/keras_habits.csv":
        "tools/export.py results/runs/keras_habits.json -o results/runs/keras_habits.csv",
    # docs/tracking.md: the history goes to a temporary folder, one quick benchmark; ab runs
    # the built binary against itself (its builds of commits are tools/tests/test_track.py's).
    "tools/track.py ab main": f"tools/track.py ab {TRACK_AB}",
    "tools/track.py record": f"tools/track.py record {TRACK_FILTER} {TRACK_QUICK}",
    "git switch my-change && cmake --build --preset release": None,  # needs your branch
    "tools/track.py compare previous latest -o results/runs/compare.png":
        "tools/track.py compare previous latest -o results/runs/compare.png "
        "--history {tmp}/history",
    "tools/track.py calibrate":
        f"tools/track.py calibrate {TRACK_FILTER} {TRACK_QUICK} --blocks 2",
    "tools/track.py analyze": "tools/track.py analyze --history {tmp}/history",
    # bisects a repository made here (planted_slowdown_repo), whose commits build a fake
    "tools/track.py bisect main HEAD --benchmark TrainStep/784-512-10/batch:32":
        "tools/track.py bisect main HEAD --benchmark TrainStep/784-512-10/batch:32 "
        "--repo {tmp}/bisect-repo --build-cmd ./build.sh --bench-path out/mlp_bench "
        "--history {tmp}/history --repetitions 2 --quiet-wait-s 0",
    "tools/track.py report -o results/runs/history.html":
        "tools/track.py report -o results/runs/history.html --history {tmp}/history",
    "tools/track.py ab origin/main HEAD --budget-s 900":
        f"tools/track.py ab {TRACK_AB} --budget-s 900",
    # docs/scaling.md: test_batch_study.py runs the quick study and checks what it writes
    "tools/batch_study.sh --quick": None,
    # the committed study: ten minutes of a quiet machine, the same pipeline as --quick
    "tools/batch_study.sh": None,
}
# Exit statuses other than 0 that a documented command may end with here.
ALLOWED_EXIT = {
    # two records of one build: "same", or "inconclusive" when the shared host is too noisy
    # to tell
    "tools/track.py compare previous latest -o results/runs/compare.png": (0, 3),
    # an A/A ab of one build, its blocks beside other tests on a busy host: any verdict (a
    # "regression" happens by chance, at most 1 - confidence of the time, more when the load
    # changes between blocks), never an error; test_track.py checks the verdicts themselves
    "tools/track.py ab main": (0, 1, 3),
    "tools/track.py ab origin/main HEAD --budget-s 900": (0, 1, 3),
    # a checkout with local changes makes "-dirty" records, which history views leave out
    "tools/track.py report -o results/runs/history.html": (0, 2),
}

# What a documented command's output must say here, given planted_slowdown_repo's commits.
CHECKS = {
    "tools/track.py bisect main HEAD --benchmark TrainStep/784-512-10/batch:32":
        lambda out, planted: f"first bad commit: {planted[3][:7]} commit 3" in out,
}


def planted_slowdown_repo(tmp):
    """{tmp}/bisect-repo: branch main, then HEAD four commits on; the third of them makes the
    (fake) benchmark 30 % slower."""
    import fake_history
    return fake_history.make_repo(os.path.join(tmp, "bisect-repo"), [1.0] * 3 + [1.3] * 2,
                                  branch_at=0)


def documented_blocks():
    """[(file, line, [command])]: each ```sh block's commands, in document order."""
    out = []
    for doc in DOCS:
        block = None
        with open(os.path.join(REPO, doc), encoding="utf-8") as f:
            pending = ""
            for number, line in enumerate(f, 1):
                fence = re.match(r"^```(\w*)", line)
                if fence:
                    block = None if block is not None or fence.group(1) not in ("sh", "bash") \
                        else (doc, number, [])
                    if block is not None:
                        out.append(block)
                    continue
                if block is None:
                    continue
                command = re.sub(r"\s+#.*$", "", line.strip())
                if pending:  # the previous line ended with a backslash: one command
                    command = pending + " " + command
                    pending = ""
                if command.endswith("\\"):
                    pending = command[:-1].rstrip()
                    continue
                if command and not command.startswith("#"):
                    block[2].append(command)
    return out


def documented_commands():
    """[(file, command)] in document order."""
    return [(doc, command) for doc, _, commands in documented_blocks() for command in commands]


def git_state():
    """Tracked changes and untracked files (what `git status` shows), and ignored files, of
    this checkout (for the tests of tools that must leave it as it was)."""
    shown = git_status(REPO)
    proc = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=all",
                           "--ignored"], capture_output=True, text=True, check=True, timeout=60)
    return shown, set(proc.stdout.splitlines()) - shown


def git_status(checkout):
    """What `git status` shows: tracked changes and untracked files."""
    proc = subprocess.run(["git", "-C", checkout, "status", "--porcelain", "--untracked-files=all"],
                          capture_output=True, text=True, check=True, timeout=60)
    return set(proc.stdout.splitlines())


def snapshot_of_the_checkout(dest):
    """`dest`: the files of this checkout that git shows (tracked and untracked, not ignored, as
    they are now), committed in a repository of its own, with build/ linking to the build."""
    listed = subprocess.run(["git", "-C", REPO, "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, text=True, check=True,
                            timeout=60).stdout.split("\0")
    for name in filter(None, listed):
        source, target = os.path.join(REPO, name), os.path.join(dest, name)
        if not os.path.lexists(source):  # deleted, not yet committed
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.islink(source):
            os.symlink(os.readlink(source), target)
        else:
            shutil.copy2(source, target)
    os.symlink(os.path.join(REPO, "build"), os.path.join(dest, "build"))
    git = ["git", "-C", dest, "-c", "user.name=test", "-c", "user.email=test@localhost"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "checkout"]):
        subprocess.run(git + args, check=True, capture_output=True, timeout=120)


def test_every_documented_command_has_a_cheap_form():
    documented = {command for _, command in documented_commands()}
    assert documented, "no ```sh blocks found"
    assert documented - CHEAP.keys() == set(), "documented but not in CHEAP"
    assert CHEAP.keys() - documented == set(), "in CHEAP but no longer documented"


def test_the_cheap_forms_start_the_documented_programs():
    # `bash tools/setup.sh && X`: the part after the setup is what runs.
    for command, cheap in CHEAP.items():
        if cheap is not None:
            typed = shlex.split(command.split("&&")[-1])[0]
            assert shlex.split(cheap)[0] == typed, f"{command!r} runs as {cheap!r}"


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for dataset in ("mnist", "fashion-mnist"):
        for split, n in (("train", 96), ("test", 40)):
            make_dataset(root, dataset, n=n, split=split)
    return root


@pytest.fixture(scope="session")
def checkout_snapshot(tmp_path_factory):
    """Made once per session (per pytest-xdist worker); each block runs in a copy of it."""
    dest = str(tmp_path_factory.mktemp("snapshot") / "checkout")
    snapshot_of_the_checkout(dest)
    return dest


def blocks_to_run():
    """[(file, line, [command])]: each block's commands that run here. A command shown in an
    earlier block too runs there only (its cheap form is the same), so a block must not rely on
    the output of a command repeated from an earlier one."""
    out, earlier = [], set()
    for doc, line, commands in documented_blocks():
        runs = [command for command in commands if CHEAP[command] and command not in earlier]
        earlier.update(commands)
        if runs:
            out.append((doc, line, runs))
    return out


RUNNABLE_BLOCKS = blocks_to_run()


@pytest.mark.skipif(not os.path.exists(os.path.join(REPO, "build", "engine", "run_experiment")),
                    reason="needs the release build (cmake --preset release)")
@pytest.mark.parametrize("doc, line, commands", RUNNABLE_BLOCKS,
                         ids=[f"{doc}:{line}" for doc, line, _ in RUNNABLE_BLOCKS])
@pytest.mark.slow
def test_documented_block_runs_and_leaves_git_status_clean(doc, line, commands, tiny_data,
                                                           checkout_snapshot, tmp_path):
    checkout = str(tmp_path / "checkout")
    subprocess.run(["cp", "-a", checkout_snapshot, checkout], check=True, timeout=120)
    shown_before = git_status(checkout)
    # a private measurement lock: another measurement on the machine must not stall the test
    env = dict(os.environ, MLPBENCH_DATA=str(tiny_data), MPLBACKEND="Agg",
               PYTHONDONTWRITEBYTECODE="1", MLPBENCH_LOCK=str(tmp_path / "track.lock"),
               PYTHONPATH=os.path.join(checkout, "tools"))
    planted = planted_slowdown_repo(tmp_path) if any(
        "{tmp}/bisect-repo" in CHEAP[command] for command in commands) else None
    failures = []
    try:
        for command in commands:
            cheap = CHEAP[command]
            argv = shlex.split(cheap.format(tmp=tmp_path))
            try:
                proc = subprocess.run(argv, cwd=checkout, env=env, capture_output=True,
                                      text=True, timeout=300)
            except OSError as e:  # not executable, or its #! names no interpreter
                failures.append(f"{doc}:{line}: {command}\n  ran: {cheap}\n  cannot start: {e}")
                continue
            if proc.returncode not in ALLOWED_EXIT.get(command, (0,)):
                failures.append(f"{doc}:{line}: {command}\n  ran: {cheap}\n  exit "
                                f"{proc.returncode}: {proc.stderr.strip()[-800:]}")
            elif command in CHECKS and not CHECKS[command](proc.stdout, planted):
                failures.append(f"{doc}:{line}: {command}\n  ran: {cheap}\n  said: "
                                f"{proc.stdout[-800:]}")
        shown_after = git_status(checkout)
    finally:
        shutil.rmtree(checkout, ignore_errors=True)  # a copy of the whole tree per block
    assert not failures, "\n".join(failures)
    assert shown_after == shown_before, "the commands changed what git status shows"
