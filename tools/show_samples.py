#!/usr/bin/python3
"""Show a 10x10 grid of MNIST or Fashion-MNIST images with their labels.

Reads the IDX files directly (raw or gzip-compressed; gzip is recognised by its magic bytes):
  <data-dir>/<dataset>/{train,t10k}-images-idx3-ubyte[.gz]
  <data-dir>/<dataset>/{train,t10k}-labels-idx1-ubyte[.gz]
The data directory defaults to $MLPBENCH_DATA, else data/ at the repository root.
Exit status: 0 success, 2 bad command line or a missing, unreadable or corrupt dataset file.
"""

import argparse
import gzip
import os
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import mlpbench_logs as ml  # noqa: E402

PROG = "show_samples.py"
GRID = 10
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
IDX_UBYTE = 0x08


def default_data_dir():
    return os.environ.get("MLPBENCH_DATA") or os.path.join(ml.REPO_ROOT, "data")


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


def find_file(folder, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise ml.ToolError(f"{os.path.join(folder, stem)}[.gz]: no such file (fetch the dataset "
                       f"with tools/fetch_data, or pass --data-dir)")


def read_idx(path, want_dims):
    """(dims, uint8 array of shape dims) from an IDX file of unsigned bytes."""
    import numpy as np
    raw = ml.read_bytes(path)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ml.ToolError(f"{path}: corrupt gzip data ({e})") from None
    if len(raw) < 4:
        raise ml.ToolError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise ml.ToolError(f"{path}: not an IDX file (magic {raw[:4].hex()}, expected "
                           f"0000080{want_dims})")
    if raw[2] != IDX_UBYTE:
        raise ml.ToolError(f"{path}: IDX element type 0x{raw[2]:02x}, expected 0x08 "
                           f"(unsigned byte)")
    if raw[3] != want_dims:
        raise ml.ToolError(f"{path}: IDX file with {raw[3]} dimensions, expected {want_dims}")
    header = 4 + 4 * want_dims
    if len(raw) < header:
        raise ml.ToolError(f"{path}: header truncated ({len(raw)} bytes, need {header})")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(want_dims))
    count = 1
    for d in dims:
        count *= d
    if len(raw) != header + count:
        what = "truncated" if len(raw) < header + count else "has trailing bytes"
        raise ml.ToolError(f"{path}: {what}: header says {' x '.join(map(str, dims))} = "
                           f"{count} bytes of data, file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load(data_dir, dataset, split):
    folder = os.path.join(data_dir, dataset)
    prefix = "train" if split == "train" else "t10k"
    images_path = find_file(folder, f"{prefix}-images-idx3-ubyte")
    labels_path = find_file(folder, f"{prefix}-labels-idx1-ubyte")
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1)
    if images.shape[0] != labels.shape[0]:
        raise ml.ToolError(f"{images_path}: {images.shape[0]} images but {labels_path} has "
                           f"{labels.shape[0]} labels")
    if images.shape[1:] != (28, 28):
        print(f"{PROG}: warning: {images_path}: images are {images.shape[1]}x{images.shape[2]},"
              f" not 28x28", file=sys.stderr)
    bad = labels[labels > 9]
    if bad.size:
        raise ml.ToolError(f"{labels_path}: label {int(bad[0])} out of range 0..9")
    return images, labels


def plot(images, labels, dataset, split, start, output):
    """One mosaic image (fast: a single axes instead of 100) with a title above each tile."""
    import numpy as np
    plt = ml.pyplot()
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
    ml.save_figure(fig, output)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    ml.check_output_path(args.output)
    data_dir = args.data_dir or default_data_dir()
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
    sys.exit(ml.main_guard(PROG, main))
