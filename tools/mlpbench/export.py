"""Write the epochs of mlpbench run logs as CSV, one row per epoch, for spreadsheets.

Columns: the log (when more than one is given), then every per-epoch field of the run log
(docs/run-log.md) in its documented order, then any other field a log has; a field a log lacks
is left empty, as is a null (e.g. barrier_us of a one-thread run). Numbers are written in full
(Python's repr), so nothing is lost on the way; a nested field (phases) is one cell of JSON text.
"""

import csv
import json
import sys

from mlpbench import cli
from mlpbench import files as mlpbench_files
from mlpbench import logs as ml

PROG = "export.py"

# docs/run-log.md's order of epochs[i]
KNOWN = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss",
         "test_accuracy", "learning_rate", "learning_rate_end", "train_seconds", "eval_seconds",
         "samples_per_second", "gflops", "steps", "barrier_us", "phases"]


def parse_args(argv):
    p = cli.arg_parser(
        PROG, __doc__,
        "A directory argument stands for every *.json log directly inside it.\n"
               "Exit status: 0 success, 2 bad command line or unreadable/invalid log, or an output\n"
               "that is one of the logs (or a link, folder or special file).\n"
               "Example: tools/export.py "
               "results/amd-f25m17-2cpu/runs/reference/mlp512_5ep.json -o epochs.csv")
    p.add_argument("logs", nargs="+", metavar="LOG", help="run log files (or folders of them)")
    p.add_argument("-o", "--output", metavar="PATH", help="CSV file (default: standard output)")
    return p.parse_args(argv)


def cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):  # JSON, not Python's repr: any JSON reader takes it back
        return json.dumps(value)
    return value


def main(argv=None):
    args = parse_args(argv)
    logs = ml.load_run_logs(args.logs)
    present = {k for log in logs for e in log.data["epochs"] for k in e}
    columns = [k for k in KNOWN if k in present] + sorted(present - set(KNOWN))
    several = len(logs) > 1
    header = (["log"] if several else []) + columns
    rows = []
    for log in logs:
        for e in log.data["epochs"]:
            rows.append(([log.path] if several else []) + [cell(e.get(k)) for k in columns])
    if args.output:
        with mlpbench_files.atomic_output(args.output, newline="", errors=cli.TEXT_ERRORS) as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        print(f"wrote {args.output} ({len(rows)} epochs)", file=sys.stderr)
    else:
        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
