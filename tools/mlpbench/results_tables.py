"""The README's headline table, computed from a results folder's committed logs, never typed:

* seconds per epoch, engine and the fastest PyTorch peer configuration, from the side-by-side
  summaries peers/mlp512/summary.json and peers/mlp64_32/summary.json (both measured in turns);
* final test accuracy: the mean over runs/reference/mlp512_5ep.json and its -seed<N> runs, the
  Keras reference of the experiment, and the PyTorch peer's run (mlp512_5ep-pytorch.json);
* thread scaling 1 -> 2: the ratio of median epoch times of studies/threads_mlp512's 1- and
  2-thread logs, and whether their numbers are bitwise the same.

It prints the table. With --epochs LOG (a path under RESULTS) it prints that run's
table of epochs instead. In a Markdown file a table sits between the lines
`<!-- results_tables: headline -->` (or `<!-- results_tables: epochs LOG -->`) and
`<!-- /results_tables -->`; --check FILE exits 1 when one of the file's tables is not the one
the logs give (tools/tests/test_results_tables.py checks README.md and results/README.md so;
a file is never written over: paste the printed table).

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
BEGIN, END = "<!-- results_tables: ", "<!-- /results_tables -->"


def parse_args(argv):
    doc, _, epilog = __doc__.partition("\nExit status")
    p = cli.arg_parser(PROG, doc, "Exit status" + epilog)
    p.add_argument("results", metavar="RESULTS", help="a results folder (results/)")
    p.add_argument("--epochs", metavar="LOG", help="the table of epochs of this run log")
    p.add_argument("--check", metavar="FILE.md", help="exit 1 if one of this file's tables "
                                                      "differs")
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


def epochs_table(results, log_path):
    """Every epoch of a run log: losses, accuracies, train seconds and GFLOP/s."""
    log = ml.load_run_log(os.path.join(results, log_path))
    lines = ["| epoch | train loss | train acc | test loss | test acc | train s | GFLOP/s |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for e in log.epochs:
        gflops = e.get("gflops")
        lines.append(f"| {e['epoch']} | {e['train_loss']:.4f} | {e['train_accuracy'] * 100:.2f} % "
                     f"| {e['test_loss']:.4f} | {e['test_accuracy'] * 100:.2f} % | "
                     f"{e['train_seconds']:.3f} | "
                     f"{f'{gflops:.1f}' if ml.is_number(gflops) else '-'} |")
    return lines


def table_of(path, results, marker):
    """The table a marker line names: `headline` or `epochs LOG`."""
    words = marker[len(BEGIN):].removesuffix("-->").split()
    if words == ["headline"]:
        return headline(results)
    if len(words) == 2 and words[0] == "epochs":
        return epochs_table(results, words[1])
    raise ml.ToolError(f"{path}: {marker}: expected headline or epochs LOG")


def regenerated(path, text, results):
    """`text` with every marked table replaced by the one the logs give."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        out.append(lines[i])
        if lines[i].startswith(BEGIN):
            end = next((j for j in range(i + 1, len(lines)) if lines[j] == END), None)
            if end is None:
                raise ml.ToolError(f"{path}: {lines[i]}: no line {END} after it")
            out += table_of(path, results, lines[i])
            i = end
            continue
        i += 1
    if not any(line.startswith(BEGIN) for line in lines):
        raise ml.ToolError(f"{path}: no table marked {BEGIN}...")
    return "\n".join(out)


def main(argv=None):
    args = parse_args(argv)
    if not args.check:
        table = epochs_table(args.results, args.epochs) if args.epochs else headline(args.results)
        print("\n".join(table))
        return 0
    text = mlpbench_files.read_bytes(args.check).decode("utf-8", errors="replace")
    if regenerated(args.check, text, args.results) != text:
        print(f"{PROG}: {args.check}: a table is not the logs' (print it with {PROG} "
              f"{args.results} [--epochs LOG])", file=sys.stderr)
        return 1
    return 0

if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
