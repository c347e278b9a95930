"""A rank-scaling study of one experiment: one `mpirun` per rank count and mode, logs in one folder.

For every rank count R (default 1, 2, 4) it launches

  strong scaling   mpirun -n R ... run_experiment EXP --distributed --shards S
                   (the experiment's global batch, cut among R ranks: out/strong-rR.json)
  weak scaling     mpirun -n R ... run_experiment EXP --distributed --shards S
                       --batch-size-per-rank N --lr-scaling RULE [--warmup-epochs E]
                   (global batch N x R, once per rule: out/weak-RULE-rR.json)

plus one plain process with the same shards (out/one-process.json: the strong runs must compute
bitwise its numbers) and, for R >= 2, `mpirun -n R reduction_bench` (out/reduction-rR.json: the
sweep tools/alpha_beta.py fits). S defaults to the largest R (so that every R divides it), N to
the experiment's batch size, E to 1 epoch for the linear and sqrt rules. Every rank runs
--threads T (default 1). out/study.json lists every command (paths inside the repository relative to it), its exit status
and seconds. Then tools/plot_scaling.py draws the study into out/ranks.png and writes its
page, out/study.html (one self-contained HTML page: figure, tables, host, placement, noisy runs,
commands).

Open MPI flags: `--bind-to none` always (by default Open MPI binds each of 2 or fewer ranks to
one core, squeezing a rank's threads onto it); `--oversubscribe` when R x T exceeds this
machine's CPUs and no hostfile is given; `--allow-run-as-root` when run as root. `--hostfile H`
spreads ranks over machines with `--map-by node` (one rank per node; give `--map-by socket` with
--mpirun-args for one per socket); the build and data must be at the same paths on every node.

`--quick` checks the whole pipeline in a minute: 2,000 training and 500 test samples, 1 epoch,
short benchmarks. `--dry-run` prints the commands only. Timings need a quiet machine: the tool
warns when the 1-minute load average is 0.5 or more.
"""

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

from mlpbench import REPO_ROOT
from mlpbench import cli
from mlpbench import files as mlpbench_files
from mlpbench import inputs as mlpbench_inputs
from mlpbench import logs as ml
from mlpbench import run_inputs
from mlpbench.plots import scaling as plot_scaling

PROG = "scaling_study.py"
RULES = ("none", "linear", "sqrt")


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit status: 0 every run succeeded; 1 a run failed (the others still ran; "
               "study.json says which) or the figure and page could not be made from the runs; "
               "2 bad command line, output folder or output in it (a link, a special file, "
               "or a file the runs read: the experiment, a dataset file).")
    p.add_argument("experiment", help="experiment file, e.g. experiments/mlp512_5ep.json")
    p.add_argument("-o", "--out", required=True, metavar="DIR",
                   help="folder for the logs (created; must be empty unless --force)")
    p.add_argument("--ranks", default="1,2,4", help="rank counts, powers of two (default 1,2,4)")
    p.add_argument("--shards", type=int, help="micro-shards per batch (default: the largest rank count)")
    p.add_argument("--threads", type=int, default=1, help="threads per rank (default 1)")
    p.add_argument("--modes", default="strong,weak", help="strong, weak or both (default strong,weak)")
    p.add_argument("--rules", default=",".join(RULES),
                   help="learning-rate rules of the weak runs (default none,linear,sqrt)")
    p.add_argument("--batch-size-per-rank", type=int,
                   help="weak scaling's rows per rank (default: the experiment's batch size)")
    p.add_argument("--warmup-epochs", type=int, default=1,
                   help="warmup of the linear and sqrt rules (default 1; 0 for none)")
    p.add_argument("--epochs", type=int, help="override the experiment's epochs")
    p.add_argument("--reduction", choices=("tree", "mpi"), default="tree")
    p.add_argument("--hostfile", help="an Open MPI hostfile: ranks spread over its nodes (--map-by node)")
    p.add_argument("--mpirun", default="mpirun", help="the launcher (default mpirun)")
    p.add_argument("--mpirun-args", default="", help="more launcher options, e.g. '--map-by socket'")
    p.add_argument("--build", default=os.path.join(REPO_ROOT, "build"),
                   help="the build folder (default build/ at the repository root)")
    p.add_argument("--data-dir", help="passed to run_experiment (default: its own, $MLPBENCH_DATA)")
    p.add_argument("--no-bench", action="store_true", help="skip reduction_bench")
    p.add_argument("--quick", action="store_true",
                   help="2,000 training and 500 test samples, 1 epoch, short benchmarks")
    p.add_argument("--dry-run", action="store_true", help="print the commands and exit")
    p.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    return p.parse_args(argv)


def int_list(text, what):
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ml.ToolError(f"{what}: expected comma-separated integers, got {text!r}") from None
    if not values:
        raise ml.ToolError(f"{what}: empty")
    return values


def word_list(text, what, allowed):
    values = [x.strip() for x in text.split(",") if x.strip()]
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise ml.ToolError(f"{what}: expected some of {', '.join(allowed)}, got {text!r}")
    return values


class Plan:
    """The study's commands: [(name, argv, output file)]."""

    def __init__(self, args):
        self.args = args
        self.ranks = int_list(args.ranks, "--ranks")
        for r in self.ranks:
            if r < 1 or r & (r - 1):
                raise ml.ToolError(f"--ranks: {r} is not a power of two (the fixed tree needs one)")
        self.shards = args.shards or max(self.ranks)
        for r in self.ranks:
            if self.shards % r:
                raise ml.ToolError(f"--shards: {self.shards} shards cannot be shared by {r} ranks "
                                   f"(give a multiple of {max(self.ranks)})")
        self.modes = word_list(args.modes, "--modes", ("strong", "weak"))
        self.rules = word_list(args.rules, "--rules", RULES)
        if args.threads < 1 or args.warmup_epochs < 0:
            raise ml.ToolError("--threads must be at least 1 and --warmup-epochs at least 0")
        self.run_experiment = os.path.join(args.build, "engine", "run_experiment")
        # the engine validates the file (and fills in the default batch size)
        experiment = mlpbench_inputs.resolve_experiment(args.experiment, self.run_experiment)
        self.per_rank = args.batch_size_per_rank or experiment["batch_size"]
        self.epochs = 1 if args.quick else args.epochs
        self.bench = os.path.join(args.build, "bench", "reduction_bench")
        self.cpus = os.cpu_count() or 1

    def launcher(self, ranks):
        a = self.args
        cmd = [a.mpirun, "-n", str(ranks), "--bind-to", "none"]
        if a.hostfile:
            cmd += ["--hostfile", a.hostfile, "--map-by", "node"]
        elif ranks * a.threads > self.cpus:
            cmd.append("--oversubscribe")
        if os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
        return cmd + shlex.split(a.mpirun_args)

    def engine(self, extra, out):
        a = self.args
        cmd = [self.run_experiment, a.experiment, "--quiet", "--shards", str(self.shards),
               "--threads", str(a.threads), "--out", out]
        if self.epochs:
            cmd += ["--epochs", str(self.epochs)]
        if a.quick:
            cmd += ["--train-limit", "2000", "--test-limit", "500"]
        if a.data_dir:
            cmd += ["--data-dir", a.data_dir]
        return cmd + extra

    def commands(self):
        a, out = self.args, self.args.out
        runs = []
        if "strong" in self.modes:
            path = os.path.join(out, "one-process.json")
            runs.append(("one process", self.engine([], path), path))
        for r in self.ranks:
            dist = ["--distributed", "--reduction", a.reduction]
            if "strong" in self.modes:
                path = os.path.join(out, f"strong-r{r}.json")
                runs.append((f"strong, {r} ranks", self.launcher(r) + self.engine(dist, path), path))
            if "weak" in self.modes:
                for rule in self.rules:
                    weak = dist + ["--batch-size-per-rank", str(self.per_rank), "--lr-scaling", rule]
                    if rule != "none" and a.warmup_epochs:
                        weak += ["--warmup-epochs", str(min(a.warmup_epochs, self.epochs or a.warmup_epochs))]
                    path = os.path.join(out, f"weak-{rule}-r{r}.json")
                    runs.append((f"weak {rule}, {r} ranks", self.launcher(r) + self.engine(weak, path), path))
            if r >= 2 and not a.no_bench:
                path = os.path.join(out, f"reduction-r{r}.json")
                bench = [self.bench, f"--benchmark_out={path}", "--benchmark_out_format=json"]
                bench += ["--benchmark_min_time=0.01"] if a.quick else ["--benchmark_repetitions=5"]
                runs.append((f"reduction_bench, {r} ranks", self.launcher(r) + bench, path))
        return runs


def check_out_dir(path, force):
    if os.path.lexists(path) and not os.path.isdir(path):
        raise ml.ToolError(f"--out: {path}: exists and is not a folder")
    try:
        if os.path.isdir(path) and os.listdir(path) and not force:
            raise ml.ToolError(f"--out: {path}: not empty (a study's folder holds one study; "
                               f"--force to write into it)")
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise ml.ToolError(f"--out: {path}: {e.strerror or e}") from None


def main(argv=None):
    args = parse_args(argv)
    plan = Plan(args)
    runs = plan.commands()
    if args.dry_run:
        for _, cmd, _ in runs:
            print(shlex.join(cmd))
        return 0
    for tool in (plan.run_experiment,) + (() if args.no_bench else (plan.bench,)):
        if not os.access(tool, os.X_OK):
            raise ml.ToolError(f"{tool}: not built (cmake --build --preset release; "
                               f"reduction_bench needs MPI, or pass --no-bench)")
    if shutil.which(args.mpirun) is None:
        raise ml.ToolError(f"--mpirun: {args.mpirun}: not found (install openmpi-bin)")
    check_out_dir(args.out, args.force)
    manifest_path = os.path.join(args.out, "study.json")
    figure, page = os.path.join(args.out, "ranks.png"), os.path.join(args.out, "study.html")
    # every output is checked before the first run, against what the runs read too
    run_inputs.note(args.experiment, ["--data-dir", args.data_dir] if args.data_dir else [])
    for path in [p for _, _, p in runs] + [manifest_path, figure, page]:
        mlpbench_files.check_output(path, inputs=(args.experiment,))
    load = os.getloadavg()[0]
    if load >= 0.5 and not args.quick:
        print(f"{PROG}: warning: load average {load:.2f}: timings need a quiet machine",
              file=sys.stderr)
    # Open MPI's own checks for root and oversubscription also read these; a hostfile's remote
    # ranks get the same environment through mpirun.
    env = dict(os.environ)
    manifest = {"tool": PROG, "experiment": args.experiment, "ranks": plan.ranks,
                "shards": plan.shards, "threads_per_rank": args.threads, "modes": plan.modes,
                "rules": plan.rules, "batch_size_per_rank": plan.per_rank, "quick": args.quick,
                "hostfile": args.hostfile, "started_unix": time.time(), "runs": []}
    failed = 0
    for name, cmd, path in runs:
        print(f"{PROG}: {name}: {shlex.join(cmd)}", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.monotonic() - t0
        if proc.returncode != 0:
            failed += 1
            print(f"{PROG}: {name} failed (exit {proc.returncode}):\n{proc.stderr.strip()[-2000:]}",
                  file=sys.stderr)
        kind = "bench" if os.path.basename(path).startswith("reduction-") else "log"
        shown = [os.path.relpath(c, REPO_ROOT) if c.startswith(REPO_ROOT + os.sep) else c for c in cmd]
        manifest["runs"].append({"name": name, "kind": kind, "command": shown, "output": os.path.basename(path),
                                 "exit": proc.returncode, "seconds": round(seconds, 3)})
        # after every run, whole: a partial study is readable
        mlpbench_files.write_atomic(manifest_path, json.dumps(manifest, indent=2),
                                    inputs=(args.experiment,))
    print(f"{PROG}: {len(runs) - failed} of {len(runs)} runs succeeded; logs in {args.out}")
    try:
        plot_scaling.main([args.out, "-o", figure, "--html", page])
    except ml.ToolError as e:
        print(f"{PROG}: no figure or page: {e}", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
