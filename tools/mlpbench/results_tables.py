"""The README's headline table, computed from a results folder's committed logs, never typed:

* seconds per epoch, engine and the fastest PyTorch peer configuration, from the side-by-side
  summaries peers/mlp512/summary.json and peers/mlp64_32/summary.json (both measured in turns);
* final test accuracy: the mean over runs/reference/mlp512_5ep.json and its -seed<N> runs, the
  Keras reference of the experiment, and the PyTorch peer's run (mlp512_5ep-pytorch.json);
* thread scaling 1 -> 2: the ratio of median epoch times of studies/threads_mlp512's 1- and
  2-thread logs, and whether their numbers are bitwise the same.

It prints the table. In a Markdown file the table sits between the lines
`<!-- results_tables: headline -->` and `<!-- /results_tables -->`; --check FILE exits 1 when
the file's table is not the one the logs give (tools/tests/test_results_tables.py checks
README.md so, and a file is never written over: paste the printed table).

Exit status: 0 printed or the same, 1 (--check) different, 2 bad command line or input.
Example: tools/results_tables.py results --check README.md
"""

import glob
import os
import statistics
import sys

from mlpbench import cli
from mlpbench import files as mlpbench_files
from mlpbench import logs as ml

PROG = "results_tables.py"
BEGIN, END = "<!-- results_tables: headline -->", "<!-- /results_tables -->"


def parse_args(argv):
    doc, _, epilog = __doc__.partition("\nExit status")
    p = cli.arg_parser(PROG, doc, "Exit status" + epilog)
    p.add_argument("results", metavar="RESULTS", help="a results folder (results/)")
    p.add_argument("--check", metavar="FILE.md", help="exit 1 if this file's table differs")
    return p.parse_args(argv)


def side_by_side(results, name):
    """(engine s/epoch, best peer s/epoch, its threads) of peers/<name>/summary.json."""
    path = os.path.join(results, "peers", name, "summary.json")
    data = ml.load_json(path)
    try:
        best = data["best_peer_config"]
        return (float(data["engine_median_epoch_seconds"]),
                float(data["best_peer_median_epoch_seconds"]),
                int(data["configs"][best]["peer_threads"]))
    except (KeyError, TypeError, ValueError):
        raise ml.ToolError(f"{path}: not a side_by_side summary with a best peer "
                           f"(engine_median_epoch_seconds, best_peer_config, configs)") from None


def final_accuracy(log):
    values = [e["test_accuracy"] for e in log.epochs if ml.is_number(e["test_accuracy"])]
    if not values:
        raise ml.ToolError(f"{log.path}: no epoch with a test accuracy")
    return values[-1]


def median_epoch_seconds(log):
    return statistics.median(e["train_seconds"] for e in log.epochs)


def thread_scaling(results):
    """(speed-up 1 -> 2 threads, bitwise the same numbers) of studies/threads_mlp512."""
    folder = os.path.join(results, "studies", "threads_mlp512")
    logs = {g.threads: g for g in ml.load_run_logs([folder])}
    if 1 not in logs or 2 not in logs:
        raise ml.ToolError(f"{folder}: expected logs of 1 and 2 threads")
    one, two = logs[1], logs[2]
    same = [{k: e[k] for k in ml.RESULT_KEYS} for e in one.epochs] == \
        [{k: e[k] for k in ml.RESULT_KEYS} for e in two.epochs]
    return median_epoch_seconds(one) / median_epoch_seconds(two), same


def headline(results):
    """The table, as Markdown lines."""
    reference = os.path.join(results, "runs", "reference")
    seeds = [ml.load_run_log(p) for p in
             [os.path.join(reference, "mlp512_5ep.json")] +
             sorted(glob.glob(os.path.join(reference, "mlp512_5ep-seed*.json")))]
    peer_run = ml.load_run_log(os.path.join(reference, "mlp512_5ep-pytorch.json"))
    keras = seeds[0].reference_accuracy
    big, small = side_by_side(results, "mlp512"), side_by_side(results, "mlp64_32")
    speedup, same = thread_scaling(results)
    mean = statistics.mean(final_accuracy(g) for g in seeds)
    return [
        "| | engine | PyTorch peer (its fastest configuration) |",
        "| --- | ---: | ---: |",
        f"| mlp512_5ep (784-512-10): s per epoch, {seeds[0].threads} threads | {big[0]:.2f} | "
        f"{big[1]:.2f} ({big[2]} thread{'s' * (big[2] != 1)}) |",
        f"| mlp512_5ep: final test accuracy, seeds 1–{len(seeds)} | {mean * 100:.2f} % (mean; "
        f"Keras reference {keras * 100:.2f} %) | {final_accuracy(peer_run) * 100:.2f} % "
        f"(seed {peer_run.data['run'].get('seed', 1)}) |",
        f"| mlp64_32_100ep (784-64-32-10): s per epoch | {small[0]:.3f} | {small[1]:.3f} "
        f"({small[2]} thread{'s' * (small[2] != 1)}) |",
        f"| thread scaling 1 -> 2, mlp512 | {speedup:.2f}x, "
        f"{'bitwise-identical numbers' if same else 'numbers differ'} | |",
    ]


def replace_block(path, text, table):
    """`text` with the lines between the markers replaced by `table`."""
    lines = text.split("\n")
    if lines.count(BEGIN) != 1 or lines.count(END) != 1 or lines.index(BEGIN) > lines.index(END):
        raise ml.ToolError(f"{path}: expected one line {BEGIN} and, after it, one line {END}")
    return "\n".join(lines[:lines.index(BEGIN) + 1] + table + lines[lines.index(END):])


def main(argv=None):
    args = parse_args(argv)
    table = headline(args.results)
    if not args.check:
        print("\n".join(table))
        return 0
    text = mlpbench_files.read_bytes(args.check).decode("utf-8", errors="replace")
    if replace_block(args.check, text, table) != text:
        print(f"{PROG}: {args.check}: the table is not the logs' (print it with {PROG} "
              f"{args.results})", file=sys.stderr)
        return 1
    return 0

if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
