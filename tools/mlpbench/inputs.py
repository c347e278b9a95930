"""What the Python tools read besides logs: experiment files and IDX datasets, each one way.

Not a command-line tool itself. Experiment files are never validated here: the engine is the
one source of truth, so ``resolve_experiment`` asks ``run_experiment --dry-run`` (docs/cli.md)
for the resolved experiment, and its message when the file is wrong. IDX files (MNIST,
Fashion-MNIST; raw or gzip-compressed, recognised by the magic bytes) are found, read and
checked by ``read_idx`` and ``load_split`` as the engine's reader does (engine/src/io/dataset.cc):
the same file of a raw/.gz pair, the same size caps, 28x28 images.
"""

import json
import os
import subprocess
import zlib

from mlpbench import REPO_ROOT
from mlpbench import files as mlpbench_files
from mlpbench.files import ToolError

DEFAULT_ENGINE = os.path.join(REPO_ROOT, "build", "engine", "run_experiment")
SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
NUM_CLASSES = 10
IMAGE_SIDE = 28  # MNIST's and Fashion-MNIST's
# The engine's limits: at most 1 GiB of data after a header of at most 4 dimensions, so neither
# a file on disk nor a gunzipped stream longer than MAX_IDX_FILE_BYTES can be an IDX file.
MAX_IDX_FILE_BYTES = (1 << 30) + 4 + 4 * 4
INFLATE_STEP = 1 << 24  # bytes inflated at a time: memory stays near the output's size
GZIP_MAGIC = b"\x1f\x8b"
# Debian ships Fashion-MNIST gzipped, the MNIST fetch stores raw files: the engine looks for
# X.gz before X for these datasets, for X before X.gz for the others.
GZIP_FIRST = ("fashion-mnist",)


class ExperimentError(ToolError):
    """The experiment file is wrong, or the engine cannot be asked (exit 2)."""


class DataError(ToolError):
    """A dataset file is missing or corrupt (exit 2 in the tools, 3 in the PyTorch peer)."""


def engine_path(engine=None):
    """--engine if given, else $MLPBENCH_ENGINE, else build/engine/run_experiment."""
    return engine or os.environ.get("MLPBENCH_ENGINE") or DEFAULT_ENGINE


def resolve_experiment(path, engine=None, overrides=()):
    """The resolved experiment (every default filled in, `overrides` such as ["--epochs", "2"]
    applied) as the engine's --dry-run prints it. Raises ExperimentError with the engine's
    message, which names the file and the JSON path."""
    exe = engine_path(engine)
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise ExperimentError(f"{exe}: the engine is needed to read experiment files and is not "
                              "built (cmake --preset release && cmake --build --preset release, "
                              "or set $MLPBENCH_ENGINE)")
    try:
        proc = subprocess.run([exe, "--dry-run", *map(str, overrides), "--", str(path)],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        raise ExperimentError(f"{exe}: cannot run it: {e}") from None
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        message = lines[0] if lines else f"exit status {proc.returncode}"
        if message.startswith("error: "):
            message = message[len("error: "):]
        raise ExperimentError(message)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise ExperimentError(f"{exe} --dry-run printed no JSON ({e})") from None


def read_idx(path, ndim=None):
    """An IDX file of unsigned bytes (raw or gzipped) as a numpy uint8 array of its dimensions.
    Raises DataError naming the file when it is not a regular file, too large (idx_bytes), a bad
    gzip stream, or has a bad magic, type, dimension count (when `ndim` is given), a zero
    dimension, or a length that does not match the header."""
    import numpy as np
    raw = idx_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic {raw[:4].hex()})")
    if raw[2] != 0x08:
        raise DataError(f"{path}: IDX element type 0x{raw[2]:02x}, expected 0x08 "
                        "(unsigned byte)")
    dims_count = raw[3]
    if ndim is not None and dims_count != ndim:
        raise DataError(f"{path}: IDX file with {dims_count} dimensions, expected {ndim}")
    header = 4 + 4 * dims_count
    if dims_count < 1:
        raise DataError(f"{path}: bad IDX header (0 dimensions)")
    if len(raw) < header:
        raise DataError(f"{path}: header truncated ({len(raw)} bytes, need {header})")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims_count))
    count = 1
    for d in dims:
        if d == 0:
            raise DataError(f"{path}: IDX dimension of 0 in {list(dims)}")
        count *= d
    if len(raw) - header != count:
        what = "truncated" if len(raw) - header < count else "has trailing bytes"
        raise DataError(f"{path}: {what}: the header says {' x '.join(map(str, dims))} = "
                        f"{count} bytes of data, the file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def idx_bytes(path):
    """The bytes of the IDX file `path`, gunzipped when they are gzip data; a file or a
    gunzipped stream larger than any IDX file the engine reads is refused as it refuses it."""
    try:
        raw = mlpbench_files.read_bytes(path, MAX_IDX_FILE_BYTES, "an IDX file")
    except ToolError as e:
        raise DataError(str(e)) from None
    return gunzip(raw, path, MAX_IDX_FILE_BYTES) if raw[:2] == GZIP_MAGIC else raw


def gunzip(data, path, limit):
    """The decompressed gzip `data` (one member or several, as `cat a.gz b.gz` makes) as a
    bytearray; DataError naming `path` when it is corrupt, truncated, followed by anything but
    another member (zero padding too, as the engine), or longer than `limit` bytes."""
    out, start = bytearray(), 0
    while start < len(data):
        if data[start:start + 2] != GZIP_MAGIC:
            raise DataError(f"{path}: corrupt gzip stream: {len(data) - start} bytes of "
                            "trailing garbage after the compressed data")
        start = inflate_member(data, start, out, path, limit)
    return out


def inflate_member(data, start, out, path, limit):
    """Appends the gzip member at data[start:] to `out` a step at a time, so that a stream
    longer than `limit` bytes is refused after `limit` + 1 bytes, never held whole; returns
    where the member ends."""
    d = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer (CRC and length checked)
    view, pos = memoryview(data), start
    try:
        while not d.eof:
            chunk = d.unconsumed_tail  # input left over when the last step's output was full
            if not chunk:
                chunk = view[pos:pos + INFLATE_STEP]
                pos += len(chunk)
            piece = d.decompress(chunk, min(INFLATE_STEP, limit + 1 - len(out)))
            if not piece and not chunk:
                raise DataError(f"{path}: truncated gzip stream: compressed data ends after "
                                f"{len(out)} decompressed bytes")
            out += piece
            if len(out) > limit:
                raise DataError(f"{path}: gzip data decompresses to more than {limit} bytes "
                                "(larger than any IDX file); refusing it")
    except zlib.error as e:
        raise DataError(f"{path}: corrupt gzip stream ({e})") from None
    return pos - len(d.unused_data)


def default_data_dir():
    return os.environ.get("MLPBENCH_DATA") or os.path.join(REPO_ROOT, "data")


def split_paths(data_dir, dataset, split):
    """(images, labels) paths of `split` ("train" or "test"), each the file the engine reads."""
    folder = os.path.join(data_dir, dataset)
    return [locate(os.path.join(folder, stem), dataset in GZIP_FIRST)
            for stem in SPLIT_FILES[split]]


def locate(stem, gzip_first):
    """The engine's choice between `stem` and `stem`.gz: the first of the two in its order
    that may exist, even when it is not a readable file (a folder, a FIFO, a link loop: reading
    it then says what it is); DataError when neither does."""
    first, second = (stem + ".gz", stem) if gzip_first else (stem, stem + ".gz")
    for path in (first, second):
        if may_exist(path):
            return path
    raise DataError(f"{first}: no such file (nor {second}); fetch the datasets with "
                    "tools/fetch_data.sh, or pass --data-dir / set $MLPBENCH_DATA")


def may_exist(path):
    """False only when `path` certainly names nothing (missing, a dangling link, a path through
    a file), as the engine decides; a link loop or an unsearchable folder counts as there."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except (OSError, ValueError):
        pass  # reading it says what is wrong
    return True


def load_split(data_dir, dataset, split, limit=0):
    """(images [n, height, width], labels [n]) as uint8, the first `limit` only if > 0; counts
    must agree, labels be < 10 and images 28x28."""
    images_path, labels_path = split_paths(data_dir, dataset, split)
    labels = read_idx(labels_path, 1)  # labels first, as the engine: the same error first
    images = read_idx(images_path, 3)
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, "
                        f"{dataset} images are {IMAGE_SIDE}x{IMAGE_SIDE}")
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{images_path}: {images.shape[0]} images but {labels_path} has "
                        f"{labels.shape[0]} labels; the counts must agree")
    if labels.size and int(labels.max()) >= NUM_CLASSES:
        raise DataError(f"{labels_path}: label {int(labels.max())} out of range "
                        f"0..{NUM_CLASSES - 1}")
    if limit:
        images, labels = images[:limit], labels[:limit]
    return images, labels


def write_idx(path, array):
    """`array` (any integer dtype, values 0..255) as an IDX file of unsigned bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big")
                                                       for d in array.shape)
    mlpbench_files.write_atomic(path, header + array.astype("uint8").tobytes())


def write_tiny_mnist(root, train=300, test=100, seed=0):
    """<root>/mnist/ with `train` and `test` 28x28 images a network can learn (each class a
    bright band at its own rows over noise), named as the real files: for tests and demos."""
    import numpy as np
    rng = np.random.default_rng(seed)
    folder = os.path.join(str(root), "mnist")
    os.makedirs(folder, exist_ok=True)
    for prefix, n in (("train", train), ("t10k", test)):
        labels = np.arange(n) % NUM_CLASSES
        images = rng.integers(0, 60, size=(n, 28, 28))
        for i, y in enumerate(labels):
            images[i, y * 2: y * 2 + 3, :] = 220
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), images)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), labels)
