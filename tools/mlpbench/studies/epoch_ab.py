"""Two sets of run_experiment options, timed by whole epochs, interleaved.

    epoch_ab.py EXPERIMENT.json --a="OPTIONS" --b="OPTIONS" [--rounds R] [--epochs N]
                [--threads N] [--engine PATH] [--out SUMMARY.json] [--keep-logs DIR]

Example, the price of four micro-shards per mlp512 epoch at 2 threads:

    tools/epoch_ab.py experiments/mlp512_5ep.json --a="--shards 1" --b="--shards 4" \\
        --threads 2 --rounds 30 --out results/studies/shards_epochs_t2.json

Write each side as --a="...", with the '=': a side's options start with '-', and in
"--b --flag" the --flag would be taken for an option of this tool. An empty side (--a=)
runs the experiment as it is.

Each round runs the experiment once with A's options and once with B's, A first in odd rounds
and B first in even ones (ABBA...), so a machine that drifts slower or faster over a few seconds
weighs on both alike. A run's time is the mean `train_seconds` of its epochs (evaluation, data
loading and start-up excluded). The report is the median over rounds of B/A (> 1: B is slower),
its range, how many rounds had B slower, and each side's median seconds per epoch. On a shared
machine single rounds vary by 10 % or more: give it rounds (20-30) and quote the median.

The summary (--out) holds every run's seconds and command, and the CPU and build the logs name.
Run it with nothing else busy on the machine. Exit status: 0 success; 1 a run failed (its
command and the end of its stderr are printed; nothing is written); 2 bad arguments (also an
--out that is the experiment, the engine or a dataset file the runs read, a link or a special
file); 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM): nothing written. The temporary folder of the runs' logs is
removed however the tool ends.
"""

import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import sys

from mlpbench import cli
from mlpbench import files as mlpbench_files
from mlpbench import inputs as mlpbench_inputs
from mlpbench import run_inputs

DEFAULT_ENGINE = mlpbench_inputs.DEFAULT_ENGINE
# Options the tool sets itself for both sides: a side may not override them.
OWN_OPTIONS = ("--out", "--epochs", "--threads", "--quiet", "--force", "--resume")


class UsageError(Exception):
    pass


def parse_side(name, text):
    try:
        options = shlex.split(text)
    except ValueError as e:
        raise UsageError(f"--{name} {text!r}: {e}")
    for option in options:
        if option.split("=", 1)[0] in OWN_OPTIONS:
            raise UsageError(f"--{name}: {option.split('=', 1)[0]} is set by epoch_ab.py for both sides")
    return options


def positive(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    if not 1 <= value <= 100000:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 100000")
    return value


def run_once(args, options, log_path):
    command = [args.engine, args.experiment, "--quiet", "--epochs", str(args.epochs),
               "--out", log_path, *options]
    if args.threads:
        command[3:3] = ["--threads", str(args.threads)]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"exit {proc.returncode}: {shlex.join(command)}\n{tail}")
    try:
        log = json.loads(mlpbench_files.read_bytes(log_path))
        seconds = [float(e["train_seconds"]) for e in log["epochs"]]
    except (mlpbench_files.ToolError, ValueError, KeyError, TypeError, OverflowError) as e:
        raise RuntimeError(f"{log_path}: not a run log with epochs ({e}); command: {shlex.join(command)}")
    if not seconds or not all(math.isfinite(x) and x > 0 for x in seconds):
        raise RuntimeError(f"{log_path}: no epochs with a positive train_seconds; command: "
                           f"{shlex.join(command)}")
    return command, statistics.fmean(seconds), log


def main(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", help="experiment file, e.g. experiments/mlp512_5ep.json")
    parser.add_argument("--a", required=True, metavar="OPTIONS", help='side A\'s options, e.g. --a="--shards 1"')
    parser.add_argument("--b", required=True, metavar="OPTIONS", help='side B\'s options, e.g. --b="--shards 4"')
    parser.add_argument("--rounds", type=positive, default=20, help="rounds (default 20)")
    parser.add_argument("--epochs", type=positive, default=1, help="epochs per run (default 1)")
    parser.add_argument("--threads", type=positive, help="--threads for both sides (default: the experiment's)")
    parser.add_argument("--engine", default=DEFAULT_ENGINE, help="run_experiment (default: build/engine/run_experiment)")
    parser.add_argument("--out", help="write the summary (JSON) here")
    parser.add_argument("--keep-logs", metavar="DIR", help="keep every run's log in DIR (default: thrown away)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    try:
        sides = {"A": parse_side("a", args.a), "B": parse_side("b", args.b)}
        if not os.path.lexists(args.experiment):
            raise UsageError(f"{args.experiment}: no such experiment file")
        if not (os.path.isfile(args.engine) and os.access(args.engine, os.X_OK)):
            raise UsageError(f"{args.engine}: not an executable (build first: cmake --build --preset release)")
        # the engine validates the file before any round (a FIFO or folder included)
        mlpbench_inputs.resolve_experiment(args.experiment, args.engine)
        if args.out and os.path.isdir(args.out):
            raise UsageError(f"--out {args.out}: is a folder, give a file name")
        if args.out and not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
            raise UsageError(f"--out {args.out}: its folder does not exist")
        if args.out:
            for options in sides.values():  # what the runs read is this tool's input too
                run_inputs.note(args.experiment, options)
            mlpbench_files.check_output(args.out, inputs=(args.experiment, args.engine))
        if args.keep_logs and os.path.exists(args.keep_logs) and not os.path.isdir(args.keep_logs):
            raise UsageError(f"--keep-logs {args.keep_logs}: exists and is not a folder")
    except (UsageError, mlpbench_files.ToolError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    mlpbench_files.terminate_by_exception()
    try:
        if args.keep_logs:
            os.makedirs(args.keep_logs, exist_ok=True)
            runs, ratios, facts = run_rounds(args, sides, args.keep_logs)
        else:
            with mlpbench_files.temporary_folder("epoch_ab-") as folder:
                runs, ratios, facts = run_rounds(args, sides, folder)
    except RuntimeError as e:
        print(f"error: a run failed: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: {e.filename}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    except mlpbench_files.Terminated as e:
        print(f"terminated by signal {e.signum}: nothing written", file=sys.stderr)
        return e.code

    median_of = lambda side: statistics.median(r["seconds_per_epoch"] for r in runs if r["side"] == side)  # noqa: E731
    summary = {
        "experiment": args.experiment, "a": args.a, "b": args.b, "rounds": args.rounds,
        "epochs_per_run": args.epochs, "threads": args.threads, **facts,
        "median_seconds_per_epoch": {"A": median_of("A"), "B": median_of("B")},
        "ratio_b_over_a": {"median": statistics.median(ratios), "min": min(ratios),
                           "max": max(ratios), "rounds_b_slower": sum(r > 1 for r in ratios)},
        "runs": runs}
    r = summary["ratio_b_over_a"]
    print(f"A ({args.a}): median {summary['median_seconds_per_epoch']['A']:.4f} s an epoch; "
          f"B ({args.b}): {summary['median_seconds_per_epoch']['B']:.4f} s")
    print(f"B/A: median {r['median']:.3f} over {args.rounds} rounds (range {r['min']:.3f}-"
          f"{r['max']:.3f}; B slower in {r['rounds_b_slower']} of {args.rounds})"
          f"  [{facts.get('cpu_id') or facts.get('cpu_model') or 'unknown CPU'}]")
    if args.out:
        try:
            mlpbench_files.write_atomic(args.out, json.dumps(summary, indent=1) + "\n",
                                        inputs=(args.experiment, args.engine))
        except mlpbench_files.ToolError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    return 0


def run_rounds(args, sides, log_dir):
    """(runs, B/A ratios, facts of the first log) of every round, logs written in log_dir."""
    runs, ratios, facts = [], [], {}
    for round_ in range(1, args.rounds + 1):
        order = ("A", "B") if round_ % 2 else ("B", "A")
        seconds = {}
        for side in order:
            log_path = os.path.join(log_dir, f"round{round_:03d}-{side}.json")
            if os.path.lexists(log_path):
                os.remove(log_path)
            command, seconds[side], log = run_once(args, sides[side], log_path)
            runs.append({"round": round_, "side": side, "seconds_per_epoch": seconds[side],
                         "command": command})
            if not facts:
                host, build, run = (log.get(k) if isinstance(log.get(k), dict) else {}
                                    for k in ("host", "build", "run"))
                facts = {"cpu_id": host.get("cpu_id"), "cpu_model": host.get("cpu_model"),
                         "git_commit": build.get("git_commit"),
                         "simd_target": run.get("simd_target")}
        ratios.append(seconds["B"] / seconds["A"])
        print(f"round {round_:3d}: A {seconds['A']:.4f} s  B {seconds['B']:.4f} s  "
              f"B/A {ratios[-1]:.3f}", flush=True)
    return runs, ratios, facts


if __name__ == "__main__":
    sys.exit(cli.main_guard("epoch_ab.py", main, sys.argv[1:]))
