"""Writes the seed corpus of fuzz_idx into fuzz/corpus/idx/ from real MNIST files.

    python3 fuzz/make_idx_seeds.py [--data-dir data]

Seeds (each < 10 KB): raw and gzipped IDX files cut down from MNIST with a correct header, and
images/labels pairs in fuzz_idx's pair layout (2-byte big-endian split offset, images, labels).
"""
import argparse
import gzip
import math
import os
import struct

from mlpbench import REPO_ROOT


def idx(dims, data):
    assert len(data) == math.prod(dims)
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


def gz(raw):
    # mtime=0: reproducible bytes.
    return gzip.compress(raw, compresslevel=9, mtime=0)


def pair(images, labels):
    return struct.pack(">H", len(images)) + images + labels


def main():
    fuzz = os.path.join(REPO_ROOT, "fuzz")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.path.join(REPO_ROOT, "data"))
    ap.add_argument("-o", "--out", default=os.path.join(fuzz, "corpus", "idx"))
    args = ap.parse_args()

    mnist = os.path.join(args.data_dir, "mnist")
    with open(os.path.join(mnist, "train-images-idx3-ubyte"), "rb") as f:
        head = f.read(16 + 2 * 784)
    with open(os.path.join(mnist, "train-labels-idx1-ubyte"), "rb") as f:
        labels_head = f.read(8 + 10)
    assert head[:4] == b"\0\0\x08\x03" and labels_head[:4] == b"\0\0\x08\x01"
    pixels = head[16:]
    labels = labels_head[8:]

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
    os.makedirs(args.out, exist_ok=True)
    for name, data in seeds.items():
        assert len(data) < 10 * 1024, name
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(seeds)} seeds to {args.out}")


if __name__ == "__main__":
    main()
