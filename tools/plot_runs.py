#!/usr/bin/python3
"""Plot training curves of mlpbench run logs (schema "mlpbench.run/1").

Three panels: loss per epoch, accuracy per epoch (train dashed, test solid) and training seconds
per epoch, one colour per run. A dotted line marks the experiment's reference test accuracy
(e.g. the Keras notebook's) where the experiment has one. Runs that did not complete are marked
[running], [diverged] or [interrupted] in the legend.
"""

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import mlpbench_logs as ml  # noqa: E402

PROG = "plot_runs.py"


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="A directory argument stands for every *.json log directly inside it.\n"
               "Exit status: 0 success, 2 bad command line or unreadable/invalid log.\n"
               "Example: tools/plot_runs.py results/runs/mlp512_5ep/*.json -o runs.svg")
    p.add_argument("logs", nargs="+", metavar="LOG", help="run log files (or folders of them)")
    p.add_argument("-o", "--output", default="runs.png", metavar="PATH",
                   help="output figure, .png or .svg (default: runs.png)")
    p.add_argument("--title", help="figure title (default: the experiment names)")
    p.add_argument("--summary", action="store_true",
                   help="also print a table of final/best test accuracy and mean epoch seconds")
    return p.parse_args(argv)


def colours(n):
    plt = ml.pyplot()
    if n <= 10:
        cmap = plt.get_cmap("tab10")
        return [cmap(i) for i in range(n)]
    if n <= 20:
        cmap = plt.get_cmap("tab20")
        return [cmap(i) for i in range(n)]
    cmap = plt.get_cmap("viridis")
    return [cmap(i / (n - 1)) for i in range(n)]


def reference_label(acc, source, name, several):
    kind = "Keras reference" if "keras" in source.lower() else "reference"
    text = f"{kind} {acc * 100:.2f}%"
    return f"{name}: {text}" if several else text


def fmt(value, spec):
    return "-" if value is None or not math.isfinite(value) else format(value, spec)


def pct(value):
    return "-" if value is None or not math.isfinite(value) else f"{value * 100:.2f}%"


def summary_table(logs, labels):
    rows = [("run", "status", "epochs", "final test acc", "best test acc", "mean epoch s",
             "samples/s")]
    noisy = [(label, log.host_noise()) for log, label in zip(logs, labels) if log.host_noise()]
    for log, label in zip(logs, labels):
        if log.host_noise():
            label += " [noisy host]"
        rows.append((label, log.display_status, str(len(log.epochs)),
                     pct(log.final_test_accuracy()), pct(log.best_test_accuracy()),
                     fmt(log.mean_epoch_seconds(), ".3f"),
                     fmt(log.median_samples_per_second(), ",.0f")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
        cells += [c.rjust(w) for c, w in zip(r[2:], widths[2:])]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    refs = sorted({(log.name, log.reference_accuracy, log.reference_source) for log in logs
                   if log.reference_accuracy is not None})
    for name, acc, source in refs:
        lines.append(f"reference for {name}: {acc * 100:.2f}% test accuracy"
                     + (f" ({source})" if source else ""))
    for label, reasons in noisy:
        lines.append(f"noisy host: {label}: {'; '.join(reasons)} (its times may be the host's)")
    return "\n".join(lines)


def finite_or_nan(values):
    return [v if math.isfinite(v) else float("nan") for v in values]


def plot(logs, labels, title, output):
    plt = ml.pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

    n = len(logs)
    legend_rows = math.ceil((n + 2) / 2)
    fig_h = 4.6 + 0.26 * legend_rows
    fig = plt.figure(figsize=(16, fig_h))
    grid = fig.add_gridspec(2, 3, height_ratios=[4.0, 0.26 * legend_rows + 0.35],
                            left=0.055, right=0.99, top=1 - 0.55 / fig_h, bottom=0.02,
                            wspace=0.22, hspace=0.28)
    ax_loss, ax_acc, ax_sec = (fig.add_subplot(grid[0, i]) for i in range(3))
    ax_leg = fig.add_subplot(grid[1, :])
    ax_leg.axis("off")

    handles = []
    positive_losses = True
    for log, label, colour in zip(logs, labels, colours(n)):
        x = log.epoch_numbers()
        mark = "o" if len(x) < 30 else None
        style = dict(color=colour, marker=mark, markersize=3.5)
        for key, ls in (("train_loss", "--"), ("test_loss", "-")):
            y = finite_or_nan(log.series(key))
            positive_losses &= all(v > 0 for v in y if not math.isnan(v))
            ax_loss.plot(x, y, linestyle=ls, **style)
        ax_acc.plot(x, finite_or_nan(log.series("train_accuracy")), linestyle="--", **style)
        ax_acc.plot(x, finite_or_nan(log.series("test_accuracy")), linestyle="-", **style)
        ax_sec.plot(x, finite_or_nan(log.series("train_seconds")), linestyle="-", **style)
        if not x:
            label += " (no epochs)"
        if log.host_noise():
            label += " [noisy host]"
            ax_sec.plot(x, finite_or_nan(log.series("train_seconds")), linestyle="none",
                        marker="x", color="#d62728", markersize=7)
        handles.append(Line2D([], [], color=colour, marker="o", markersize=4, label=label))

    experiments = sorted({log.name for log in logs})
    refs = sorted({(log.name, log.reference_accuracy, log.reference_source) for log in logs
                   if log.reference_accuracy is not None})
    for k, (name, acc, source) in enumerate(refs):
        line = ax_acc.axhline(acc, color="black" if k == 0 else "dimgray", linestyle=":",
                              linewidth=1.4)
        handles.append(Line2D([], [], color=line.get_color(), linestyle=":",
                              label=reference_label(acc, source, name, len(experiments) > 1)))
    handles.append(Line2D([], [], color="gray", linestyle="--", label="train"))
    handles.append(Line2D([], [], color="gray", linestyle="-", label="test"))

    if positive_losses and any(log.epochs for log in logs):
        ax_loss.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax_loss.yaxis.set_major_formatter(plain)
        ax_loss.yaxis.set_minor_formatter(FuncFormatter(
            lambda v, _: f"{v:g}" if f"{v:.1e}"[0] in "235" else ""))
    ax_loss.set_title("loss per epoch")
    ax_loss.set_ylabel("loss")
    ax_acc.set_title("accuracy per epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax_sec.set_title("training time per epoch")
    ax_sec.set_ylabel("seconds")
    ax_sec.set_ylim(bottom=0)
    for ax in (ax_loss, ax_acc, ax_sec):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
    ax_leg.legend(handles=handles, loc="upper center", ncol=2, frameon=False, fontsize=9)
    fig.suptitle(title or "training runs: " + ", ".join(experiments), fontsize=13)
    ml.save_figure(fig, output)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    ml.check_output_path(args.output)
    logs = ml.load_run_logs(args.logs)
    labels = ml.unique_labels(logs)
    if args.summary:
        print(summary_table(logs, labels))
    plot(logs, labels, args.title, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(ml.main_guard(PROG, main))
