"""What the Python tools read besides logs: experiment files and IDX datasets, each one way.

Not a command-line tool itself. Experiment files are never validated here: the engine is the
one source of truth, so ``resolve_experiment`` asks ``run_experiment --dry-run`` (docs/cli.md)
for the resolved experiment, and its message when the file is wrong. IDX files (MNIST,
Fashion-MNIST; raw or gzip-compressed, recognised by the magic bytes) are read by ``read_idx``
and ``load_split`` with the checks the engine's reader makes.
"""

import gzip
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
    """An IDX file of unsigned bytes as a numpy uint8 array of its dimensions. Raises DataError
    naming the file on a bad magic, type, dimension count (when `ndim` is given), a zero
    dimension, or a length that does not match the header."""
    import numpy as np
    try:
        raw = mlpbench_files.read_bytes(path)
    except ToolError as e:
        raise DataError(str(e)) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: corrupt gzip data ({e})") from None
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


def default_data_dir():
    return os.environ.get("MLPBENCH_DATA") or os.path.join(REPO_ROOT, "data")


def split_paths(data_dir, dataset, split):
    """(images, labels) paths of `split` ("train" or "test"): the raw file, else its .gz."""
    folder = os.path.join(data_dir, dataset)
    paths = []
    for stem in SPLIT_FILES[split]:
        found = next((os.path.join(folder, n) for n in (stem, stem + ".gz")
                      if os.path.isfile(os.path.join(folder, n))), None)
        if found is None:
            raise DataError(f"{os.path.join(folder, stem)}[.gz]: no such file (fetch it with "
                            "tools/fetch_data.sh, or pass --data-dir / set $MLPBENCH_DATA)")
        paths.append(found)
    return paths


def load_split(data_dir, dataset, split, limit=0):
    """(images [n, height, width], labels [n]) as uint8, the first `limit` only if > 0; counts
    must agree and labels be < 10."""
    images_path, labels_path = split_paths(data_dir, dataset, split)
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1)
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
