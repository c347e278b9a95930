"""Show a 10x10 grid of MNIST or Fashion-MNIST images with their labels.

Reads the IDX files (raw or gzip-compressed; gzip is recognised by its magic bytes) with
mlpbench.inputs:
  <data-dir>/<dataset>/{train,t10k}-images-idx3-ubyte[.gz]
  <data-dir>/<dataset>/{train,t10k}-labels-idx1-ubyte[.gz]
The data directory defaults to $MLPBENCH_DATA, else data/ at the repository root.
Exit status: 0 success, 2 bad command line or a missing, unreadable or corrupt dataset file.
"""

import argparse
import os
import sys

from mlpbench import cli
from mlpbench import inputs as mlpbench_inputs
from mlpbench import logs as ml
from mlpbench import plotting

PROG = "show_samples.py"
GRID = 10
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")


def parse_args(argv):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist",
                   help="which dataset (default mnist)")
    p.add_argument("--split", choices=("train", "test"), default="train",
                   help="training or test images (default train)")
    p.add_argument("--data-dir", metavar="DIR", default=None,
                   help="datasets folder (default: $MLPBENCH_DATA, else data/ at the repo root)")
    p.add_argument("--start", type=int, default=0, metavar="N",
                   help="index of the first image shown (default 0)")
    p.add_argument("-o", "--output", default="samples.png", metavar="PATH",
                   help="output figure, .png or .svg (default: samples.png)")
    return p.parse_args(argv)


def load(data_dir, dataset, split):
    images, labels = mlpbench_inputs.load_split(data_dir, dataset, split)
    if images.shape[1:] != (28, 28):
        print(f"{PROG}: warning: {dataset} {split}: images are {images.shape[1]}x"
              f"{images.shape[2]}, not 28x28", file=sys.stderr)
    return images, labels


def plot(images, labels, dataset, split, start, output):
    """One mosaic image (fast: a single axes instead of 100) with a title above each tile."""
    import numpy as np
    plt = plotting.pyplot()
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    n = min(GRID * GRID, images.shape[0] - start)
    h, w = images.shape[1:]
    gap_x, gap_y = max(2, w // 7), max(6, h // 2)  # room between tiles and for the titles
    cell_w, cell_h = w + gap_x, h + gap_y
    mosaic = np.zeros((GRID * cell_h, GRID * cell_w), dtype=np.uint8)
    fashion = dataset == "fashion-mnist"
    fig = plt.figure(figsize=(11.4 * cell_w / cell_h + 0.3, 12))
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.93))
    frames = []
    for k in range(n):
        row, col = divmod(k, GRID)
        y0, x0 = row * cell_h + gap_y - 1, col * cell_w + gap_x // 2
        mosaic[y0:y0 + h, x0:x0 + w] = images[start + k]
        label = int(labels[start + k])
        ax.text(x0 + w / 2, y0 - 1.5, FASHION_CLASSES[label] if fashion else str(label),
                ha="center", va="bottom", fontsize=8 if fashion else 10)
        frames.append(Rectangle((x0 - 0.5, y0 - 0.5), w, h))
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    ax.add_collection(PatchCollection(frames, facecolor="none", edgecolor="#c8c8c8",
                                      linewidth=0.8))
    ax.axis("off")
    name = "Fashion-MNIST" if fashion else "MNIST"
    fig.suptitle(f"{name} {split}, samples {start}-{start + n - 1} of {images.shape[0]}",
                 fontsize=13, y=0.985)
    plotting.save_figure(fig, output)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    plotting.check_output_path(args.output)
    data_dir = args.data_dir or mlpbench_inputs.default_data_dir()
    if not os.path.isdir(data_dir):
        raise ml.ToolError(f"{data_dir}: no such data directory (set $MLPBENCH_DATA or pass "
                           f"--data-dir)")
    images, labels = load(data_dir, args.dataset, args.split)
    if not 0 <= args.start < images.shape[0]:
        raise ml.ToolError(f"--start {args.start}: out of range, the {args.split} split has "
                           f"{images.shape[0]} images")
    plot(images, labels, args.dataset, args.split, args.start, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
