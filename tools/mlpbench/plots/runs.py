"""Plot training curves of mlpbench run logs (schema "mlpbench.run/1").

Three panels: loss per epoch, accuracy per epoch (train dashed, validation dash-dotted when the
log has a validation split, test solid) and training seconds per epoch, one colour per run. A
dotted line marks the experiment's reference test accuracy (e.g. the Keras notebook's) where the
experiment has one, a dash-dotted green line its target_accuracy, and a diamond the epoch that
first reached the target, labelled with the training seconds to it. The callbacks' events are
marked on the loss and accuracy panels: a vertical dotted line where early stopping stopped, a
triangle at the top where ReduceLROnPlateau lowered the learning rate, and a star on the curves
at the epoch whose weights restore_best_weights brought back. The legend says, per run, which
epoch's weights the run ends with, their test accuracy, and whether and when the target was
reached. Runs that did not complete are marked [running], [diverged] or [interrupted].
"""

import argparse
import math
import sys

from mlpbench import cli
from mlpbench import logs as ml
from mlpbench import plotting

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
                   help="also print a table: the epoch whose weights each run ends with, their "
                        "test accuracy, the best test accuracy (runs without a validation "
                        "split), the target and mean epoch seconds")
    return p.parse_args(argv)


def colours(n):
    plt = plotting.pyplot()
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


def weights_text(log):
    """'epoch 3 (restored)': the epoch whose weights the run ends with."""
    epoch = log.weights_epoch()
    if epoch is None:
        return "-"
    return f"epoch {epoch}" + (" (restored)" if log.restored_epoch() is not None else "")


def target_text(log):
    """Whether and when the run reached its experiment's target, as the transcript says it."""
    t = log.target()
    if t is None:
        return "-"
    goal = f"{t['accuracy'] * 100:.2f}% {t['metric']}"
    if t["epoch"] is None:
        return f"{goal} not reached"
    seconds = fmt(t["train_seconds"], ".2f")
    return f"{goal} reached at epoch {int(t['epoch'])} after {seconds} s of training"


def summary_table(logs, labels):
    rows = [("run", "status", "epochs", "weights", "final test acc", "best test acc", "target",
             "mean epoch s", "samples/s")]
    noisy = [(label, log.host_noise()) for log, label in zip(logs, labels) if log.host_noise()]
    for log, label in zip(logs, labels):
        if log.host_noise():
            label += " [noisy host]"
        rows.append((label, log.display_status, str(len(log.epochs)), weights_text(log),
                     pct(log.final_test_accuracy()), pct(log.best_test_accuracy()),
                     target_text(log), fmt(log.mean_epoch_seconds(), ".3f"),
                     fmt(log.median_samples_per_second(), ",.0f")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
        cells += [c.rjust(w) for c, w in zip(r[2:], widths[2:])]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("weights: the epoch whose weights the run ends with (restored: by early "
                 "stopping's restore_best_weights); final test acc: theirs")
    if any(log.has_validation for log in logs):
        lines.append("best test acc: left out (-) for runs with a validation split, whose model "
                     "is chosen on validation, never on test")
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


# Line styles of the three splits; markers of the callbacks' events and of the target.
SPLITS = (("train", "--"), ("val", "-."), ("test", "-"))
EARLY_STOP_STYLE = dict(linestyle=(0, (1, 2)), linewidth=1.4)
LR_MARK = dict(marker="v", markersize=8, markeredgecolor="black", markeredgewidth=0.6)
RESTORED_MARK = dict(marker="*", markersize=15, markeredgecolor="black", markeredgewidth=0.8)
TARGET_COLOUR = "#2ca02c"
TARGET_LINE = dict(color=TARGET_COLOUR, linestyle=(0, (6, 2, 1, 2)), linewidth=1.3)
TARGET_MARK = dict(marker="D", markersize=13, markerfacecolor="none", markeredgecolor=TARGET_COLOUR,
                   markeredgewidth=1.8)


def value_at(log, key, epoch):
    for e, v in zip(log.epoch_numbers(), log.series(key)):
        if e == epoch:
            return v
    return float("nan")


def marks_of(log):
    """What the figure marks for one run: "stop", "lr", "restored", "target reached"."""
    actions = {event["action"] for event in log.callback_events()}
    kinds = {kind for action, kind in (("stop_training", "stop"), ("reduce_learning_rate", "lr"))
             if action in actions}
    if log.restored_epoch() is not None:
        kinds.add("restored")
    if log.target() is not None and log.target()["epoch"] is not None:
        kinds.add("target reached")
    return kinds


def mark_events(log, colour, ax_loss, ax_acc):
    """The callbacks' events of one run on the loss and accuracy panels."""
    split = "val" if log.has_validation else "test"
    rates = 0
    for event in log.callback_events():
        action, epoch = event["action"], event["epoch"]
        if action == "stop_training":
            for ax in (ax_loss, ax_acc):
                ax.axvline(epoch, color=colour, **EARLY_STOP_STYLE)
        elif action == "reduce_learning_rate":
            for ax in (ax_loss, ax_acc):  # at the top edge: the rate changes after this epoch
                ax.plot([epoch], [1.0], transform=ax.get_xaxis_transform(), clip_on=False,
                        color=colour, linestyle="none", **LR_MARK)
            if "to" in event:  # the new rate, on two heights in turn: neighbours do not overlap
                ax_acc.annotate(f"lr {event['to']:.3g}", (epoch, 1.0),
                                xycoords=ax_acc.get_xaxis_transform(),
                                xytext=(0, 9 + 10 * (rates % 2)), textcoords="offset points",
                                ha="center", fontsize=7.5, color=colour)
                rates += 1
    restored = log.restored_epoch()
    if restored is not None:
        for ax, key in ((ax_loss, f"{split}_loss"), (ax_acc, f"{split}_accuracy")):
            ax.plot([restored], [value_at(log, key, restored)], color=colour, linestyle="none",
                    zorder=5, **RESTORED_MARK)


def mark_target(log, ax_acc):
    """A diamond around the point where the run first reached its target, labelled with the
    training seconds to it."""
    t = log.target()
    if t is None or t["epoch"] is None:
        return
    epoch = int(t["epoch"])
    y = value_at(log, t["metric"], epoch)
    ax_acc.plot([epoch], [y], linestyle="none", zorder=6, **TARGET_MARK)
    ax_acc.annotate(f"target: epoch {epoch}, {fmt(t['train_seconds'], '.2f')} s", (epoch, y),
                    xytext=(8, -15), textcoords="offset points", fontsize=8, color=TARGET_COLOUR,
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none",
                              alpha=0.85))


def run_facts(log):
    """The legend's second line of a run: the model it ends with and the target."""
    if not log.epochs:
        return ""
    facts = f"model: the weights of {weights_text(log)}, test accuracy " \
            f"{pct(log.final_test_accuracy())}"
    if log.target() is not None:
        facts += "; target " + target_text(log)
    return facts


def plot(logs, labels, title, output):
    plt = plotting.pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

    n = len(logs)
    facts = [run_facts(log) for log in logs]
    kinds = set().union(*(marks_of(log) for log in logs))
    any_validation = any(log.has_validation for log in logs)
    experiments = sorted({log.name for log in logs})
    several = len(experiments) > 1
    refs = sorted({(log.name, log.reference_accuracy, log.reference_source) for log in logs
                   if log.reference_accuracy is not None})
    targets = sorted({(log.name, log.target()["accuracy"], log.target()["metric"]) for log in logs
                      if log.target() is not None})
    # The runs take one column of the legend (two lines each), the styles and marks another.
    legend_lines = max(2 * n, len(refs) + len(targets) + 2 + any_validation + len(kinds))
    top_inches = 0.6 + (0.35 if "lr" in kinds else 0)  # room for the rate marks' labels
    fig_h = 4.6 + top_inches + 0.2 * legend_lines
    fig = plt.figure(figsize=(16, fig_h))
    grid = fig.add_gridspec(2, 3, height_ratios=[4.0, 0.2 * legend_lines + 0.35],
                            left=0.055, right=0.99, top=1 - top_inches / fig_h, bottom=0.02,
                            wspace=0.22, hspace=0.3)
    ax_loss, ax_acc, ax_sec = (fig.add_subplot(grid[0, i]) for i in range(3))
    ax_leg = fig.add_subplot(grid[1, :])
    ax_leg.axis("off")

    run_handles = []
    losses = []
    for log, label, colour, fact in zip(logs, labels, colours(n), facts):
        x = log.epoch_numbers()
        mark = "o" if len(x) < 30 else None
        style = dict(color=colour, marker=mark, markersize=3.5)
        for split, ls in SPLITS:
            if split == "val" and not log.has_validation:
                continue
            y = finite_or_nan(log.series(f"{split}_loss"))
            losses += [v for v in y if not math.isnan(v)]
            ax_loss.plot(x, y, linestyle=ls, **style)
            ax_acc.plot(x, finite_or_nan(log.series(f"{split}_accuracy")), linestyle=ls, **style)
        ax_sec.plot(x, finite_or_nan(log.series("train_seconds")), linestyle="-", **style)
        mark_events(log, colour, ax_loss, ax_acc)
        mark_target(log, ax_acc)
        if not x:
            label += " (no epochs)"
        if log.host_noise():
            label += " [noisy host]"
            ax_sec.plot(x, finite_or_nan(log.series("train_seconds")), linestyle="none",
                        marker="x", color="#d62728", markersize=7)
        run_handles.append(Line2D([], [], color=colour, marker="o", markersize=4,
                                  label=label + ("\n" + fact if fact else "")))

    handles = []
    for k, (name, acc, source) in enumerate(refs):
        line = ax_acc.axhline(acc, color="black" if k == 0 else "dimgray", linestyle=":",
                              linewidth=1.4)
        handles.append(Line2D([], [], color=line.get_color(), linestyle=":",
                              label=reference_label(acc, source, name, several)))
    for name, acc, metric in targets:
        ax_acc.axhline(acc, **TARGET_LINE)
        handles.append(Line2D([], [], **TARGET_LINE, label=(f"{name}: " if several else "")
                              + f"target {acc * 100:.2f}% {metric}"))
    for split, ls in SPLITS:
        if split != "val" or any_validation:
            handles.append(Line2D([], [], color="gray", linestyle=ls,
                                  label={"val": "validation"}.get(split, split)))
    event_handles = (
        ("target reached", dict(linestyle="none", **TARGET_MARK),
         "first epoch at the target (training seconds to it)"),
        ("restored", dict(color="gray", linestyle="none", **RESTORED_MARK),
         "weights restored by early stopping (the model the run ends with)"),
        ("stop", dict(color="gray", **EARLY_STOP_STYLE), "early stopping stopped after this epoch"),
        ("lr", dict(color="gray", linestyle="none", **LR_MARK),
         "ReduceLROnPlateau lowered the learning rate after this epoch"))
    for kind, style, text in event_handles:
        if kind in kinds:
            handles.append(Line2D([], [], label=text, **style))

    # A log scale where the losses span a factor of 4 or more (and are all positive).
    if losses and min(losses) > 0 and max(losses) >= 4 * min(losses):
        ax_loss.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax_loss.yaxis.set_major_formatter(plain)
        ax_loss.yaxis.set_minor_formatter(FuncFormatter(
            lambda v, _: f"{v:g}" if f"{v:.1e}"[0] in "235" else ""))
    pad = 26 if "lr" in kinds else 6  # room for the learning-rate marks above the panels
    ax_loss.set_title("loss per epoch", pad=pad)
    ax_loss.set_ylabel("loss")
    ax_acc.set_title("accuracy per epoch", pad=pad)
    ax_acc.set_ylabel("accuracy")
    ax_acc.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax_sec.set_title("training time per epoch")
    ax_sec.set_ylabel("seconds")
    ax_sec.set_ylim(bottom=0)
    for ax in (ax_loss, ax_acc, ax_sec):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
    runs_legend = ax_leg.legend(handles=run_handles, loc="upper left", ncol=1, frameon=False,
                                fontsize=9, bbox_to_anchor=(0.0, 1.0))
    ax_leg.add_artist(runs_legend)
    ax_leg.legend(handles=handles, loc="upper right", ncol=1, frameon=False, fontsize=9,
                  bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(title or "training runs: " + ", ".join(experiments), fontsize=13)
    plotting.save_figure(fig, output)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    plotting.check_output_path(args.output)
    logs = ml.load_run_logs(args.logs)
    labels = ml.unique_labels(logs)
    if args.summary:
        print(summary_table(logs, labels))
    plot(logs, labels, args.title, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
