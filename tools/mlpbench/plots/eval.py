"""Draw what a trained model gets wrong on the test set.

From a run log (its final "evaluation"): the confusion matrix as counts and row-normalised
(each row: the share of a true class predicted as each class), and per-class precision, recall
and one-vs-rest accuracy as bars. From a weights file (run_experiment --save-weights, evaluated
here with numpy like tools/eval_weights.py), the same plus a grid of misclassified test images,
each titled with its true and predicted class and the model's confidence (the softmax
probability of the predicted class). Give the log with the weights so that the activations,
dataset and test limit are the run's. Fashion-MNIST images are labelled with class names.
"""

import os
import sys

from mlpbench import cli
from mlpbench import eval_weights
from mlpbench import files as mlpbench_files
from mlpbench import logs as ml
from mlpbench import plotting
from mlpbench.plots.samples import FASHION_CLASSES

PROG = "plot_eval.py"
# The largest grid: 1,024 images drawn in about half a minute (each is a subplot); a larger one
# takes minutes and gigabytes, and past 400 columns no PNG can hold it.
MAX_GRID_SIZE = 32


def parse_args(argv):
    p = cli.arg_parser(PROG, __doc__,
                      "Exit status: 0 success, 2 bad command line, unreadable or unsuitable input.\n"
                      "Example: tools/plot_eval.py --log run.json --weights run.safetensors -o eval.png")
    p.add_argument("--log", help="run log with an \"evaluation\" (a completed run)")
    p.add_argument("--weights", help="safetensors file from run_experiment --save-weights")
    cli.add_test_set_args(p, "with --weights and no --log (default mnist)")
    p.add_argument("-o", "--output", default="eval.png", metavar="PATH",
                   help="confusion matrices and per-class bars, .png or .svg (default eval.png)")
    p.add_argument("--grid", metavar="PATH",
                   help="misclassified images (with --weights; default: the output's name "
                        "with -misclassified)")
    p.add_argument("--grid-size", type=int, default=10, metavar="N",
                   help=f"an N x N grid of the first misclassified test images, N from 1 to "
                        f"{MAX_GRID_SIZE} (default 10); fewer columns when fewer images are "
                        "misclassified")
    args = p.parse_args(argv)
    if not args.log and not args.weights:
        p.error("give --log, --weights or both")
    if not 1 <= args.grid_size <= MAX_GRID_SIZE:
        p.error(f"--grid-size: expected 1 to {MAX_GRID_SIZE}, got {args.grid_size}")
    return args


def class_names(dataset, classes):
    if dataset == "fashion-mnist":
        return list(FASHION_CLASSES[:classes])
    return [str(i) for i in range(classes)]


def per_class(matrix):
    """precision, recall, accuracy per class (NaN where undefined), as the run log defines them."""
    import numpy as np
    m = np.asarray(matrix, dtype=np.float64)
    total, tp = m.sum(), np.diag(m)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / m.sum(axis=0)
        recall = tp / m.sum(axis=1)
        accuracy = (total - (m.sum(axis=0) - tp) - (m.sum(axis=1) - tp)) / total
    return precision, recall, accuracy


def from_log(log, path):
    ev = log.get("evaluation")
    if not ev or "confusion_matrix" not in ev:
        raise ml.ToolError(f"{path}: no \"evaluation\" with a confusion matrix (a completed run "
                           f"of a build that writes one is needed)")
    return ev["confusion_matrix"], log["experiment"].get("dataset", "mnist")


def draw_matrices(matrix, names, title, path):
    import numpy as np
    plt = plotting.pyplot()
    m = np.asarray(matrix, dtype=np.int64)
    rows = m.sum(axis=1, keepdims=True)
    norm = np.divide(m, rows, out=np.zeros(m.shape), where=rows > 0)
    precision, recall, accuracy = per_class(m)
    k = len(names)
    fig, axes = plt.subplots(1, 3, figsize=(19, 6.2), gridspec_kw={"width_ratios": [1, 1, 1.25]})
    for ax, data, what, fmt in ((axes[0], m, "counts", "d"),
                                (axes[1], norm, "row-normalised (recall on the diagonal)", ".2f")):
        im = ax.imshow(data, cmap="Blues")
        ax.set_title(f"confusion matrix, {what}")
        ax.set_xticks(range(k), names, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(k), names, fontsize=8)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        high = data.max() / 2 if data.max() else 1
        for i in range(k):
            for j in range(k):
                ax.text(j, i, format(data[i, j], fmt), ha="center", va="center", fontsize=7,
                        color="white" if data[i, j] > high else "black")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax = axes[2]
    x = np.arange(k)
    for offset, values, label in ((-0.27, precision, "precision"), (0, recall, "recall"),
                                  (0.27, accuracy, "accuracy (one-vs-rest)")):
        ax.bar(x + offset, np.nan_to_num(values), width=0.27, label=label)
    low = np.nanmin(np.concatenate([precision, recall])) if m.sum() else 0
    ax.set_ylim(max(0.0, min(0.9, low - 0.05)), 1.0)
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    ax.set_title("per class")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    correct = int(np.trace(m))
    fig.suptitle(f"{title}: {correct} of {int(m.sum())} test samples right "
                 f"({100 * correct / max(1, m.sum()):.2f}%)")
    fig.tight_layout()
    plotting.save_figure(fig, path)


def draw_grid(ev, names, n, title, path):
    import numpy as np
    plt = plotting.pyplot()
    wrong = np.flatnonzero(ev["predicted"] != ev["labels"])
    shown = wrong[:n * n]
    cols = max(1, min(n, len(shown)))
    rows = max(1, (len(shown) + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.45 * cols, 1.7 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, shown):
        p = int(ev["predicted"][i])
        ax.imshow(ev["images"][i], cmap="gray_r")
        ax.set_title(f"#{i} {names[int(ev['labels'][i])]}\n-> {names[p]} {ev['probs'][i, p]:.0%}",
                     fontsize=6.5)
    fig.suptitle(f"{title}: {len(wrong)} misclassified test images, the first {len(shown)} "
                 f"(true class, -> predicted, confidence)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_figheight()))  # room for the title
    plotting.save_figure(fig, path)


def main(argv=None):
    args = parse_args(argv)
    plotting.check_output_path(args.output)
    grid = args.grid or "{}-misclassified{}".format(*os.path.splitext(args.output))
    if args.weights:
        plotting.check_output_path(grid)
        if os.path.realpath(grid) == os.path.realpath(args.output):
            raise ml.ToolError(f"--grid {grid}: the same file as -o")
    log = ml.load_run_log(args.log).data if args.log else None
    if args.weights:
        ev = eval_weights.evaluate(args.weights, log, args.data_dir, args.dataset, args.test_limit,
                                  args.log)
        matrix, dataset = eval_weights.confusion(ev), ev["dataset"]
        title = ev["meta"].get("experiment", os.path.basename(args.weights))
    else:
        matrix, dataset = from_log(log, args.log)
        title = log["experiment"].get("name", os.path.basename(args.log))
    names = class_names(dataset, len(matrix))
    for path in (args.output, grid) if args.weights else (args.output,):
        mlpbench_files.check_output(path)  # both refused before either is written
    draw_matrices(matrix, names, title, args.output)
    if args.weights:
        draw_grid(ev, names, args.grid_size, title, grid)
    precision, recall, accuracy = per_class(matrix)
    print(f"{'class':>12}  precision  recall  accuracy")
    for name, p, r, a in zip(names, precision, recall, accuracy):
        print(f"{name:>12}  {p:9.4f}  {r:6.4f}  {a:8.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
