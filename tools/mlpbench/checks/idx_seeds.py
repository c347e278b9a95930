"""Writes the seed corpus of fuzz_idx into fuzz/corpus/idx/ from real MNIST files.

    python3 fuzz/make_idx_seeds.py [--data-dir data] [-o fuzz/corpus/idx]

Seeds (each < 10 KB): raw and gzipped IDX files cut down from MNIST with a correct header, and
images/labels pairs in fuzz_idx's pair layout (2-byte big-endian split offset, images, labels).
The MNIST training set is read as every tool reads it (mlpbench.inputs: the engine's choice of
file and its checks); a missing or malformed file gets one line naming it and exit status 2.
"""
import gzip
import math
import os
import struct
import sys

from mlpbench import REPO_ROOT, cli
from mlpbench import files as mlpbench_files
from mlpbench import inputs as mlpbench_inputs

PROG = "make_idx_seeds.py"
SAMPLES = 10  # the seeds hold the first 2 images and the first 10 labels


def idx(dims, data):
    assert len(data) == math.prod(dims)
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


def gz(raw):
    # mtime=0: reproducible bytes.
    return gzip.compress(raw, compresslevel=9, mtime=0)


def pair(images, labels):
    return struct.pack(">H", len(images)) + images + labels


def first_samples(data_dir):
    """(pixels of the first 2 images, the first 10 labels) of MNIST's training set, as bytes."""
    images, labels = mlpbench_inputs.load_split(data_dir, "mnist", "train", SAMPLES)
    if len(labels) < SAMPLES:
        images_path = mlpbench_inputs.split_paths(data_dir, "mnist", "train")[0]
        raise mlpbench_inputs.DataError(f"{images_path}: {len(labels)} images, the seeds need "
                                        f"{SAMPLES}")
    return images[:2].tobytes(), labels.tobytes()


def main(argv=None):
    ap = cli.arg_parser(PROG, __doc__, "Exit status: 0 written, 2 bad command line or input.")
    ap.add_argument("--data-dir", default=None,
                    help="datasets folder (default: $MLPBENCH_DATA, else data/ at the repo root)")
    ap.add_argument("-o", "--out", default=os.path.join(REPO_ROOT, "fuzz", "corpus", "idx"),
                    help="folder of the seeds (default: fuzz/corpus/idx)")
    args = ap.parse_args(argv)
    pixels, labels = first_samples(args.data_dir or mlpbench_inputs.default_data_dir())

    img2 = idx([2, 28, 28], pixels)              # first 2 MNIST images
    lab2 = idx([2], labels[:2])                  # 10 bytes: their labels
    lab10 = idx([10], labels)                    # 18 bytes
    # A 1-image 7x7 crop of the first image (rows/cols 10..16) and a 2x2x2 toy set.
    crop = bytes(pixels[(10 + r) * 28 + 10 + c] for r in range(7) for c in range(7))
    img1_7x7 = idx([1, 7, 7], crop)
    img2_2x2 = idx([2, 2, 2], bytes([0, 128, 255, 1, 2, 3, 4, 5]))
    lab2_toy = idx([2], bytes([3, 9]))

    seeds = {
        "mnist2-images-idx3-ubyte": img2,
        "mnist2-images-idx3-ubyte.gz": gz(img2),
        "mnist2-labels-idx1-ubyte": lab2,
        "mnist10-labels-idx1-ubyte": lab10,
        "mnist10-labels-idx1-ubyte.gz": gz(lab10),
        "crop7x7-images-idx3-ubyte": img1_7x7,
        "idx4-2x1x2x2": idx([2, 1, 2, 2], bytes(range(8))),
        "idx2-3x4": idx([3, 4], bytes(range(12))),
        "two-members.gz": gz(img2_2x2[:9]) + gz(img2_2x2[9:]),
        "pair-mnist2": pair(img2, lab2),
        "pair-mnist2-gz": pair(gz(img2), gz(lab2)),
        "pair-crop7x7-gzlabels": pair(img1_7x7, gz(idx([1], labels[:1]))),
        "pair-toy2x2": pair(img2_2x2, lab2_toy),
    }
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        raise mlpbench_files.ToolError(f"{args.out}: cannot create the folder: "
                                       f"{e.strerror or e}") from None
    for name, data in seeds.items():
        assert len(data) < 10 * 1024, name
        mlpbench_files.write_atomic(os.path.join(args.out, name), data)
    print(f"wrote {len(seeds)} seeds to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
