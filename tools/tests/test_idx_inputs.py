"""mlpbench.inputs reads IDX files as the engine does (engine/src/io/dataset.cc): the same file of
a raw/.gz pair, special files named for what they are (never opened), the same size caps, no
trailing garbage after gzip data, 28x28 images. Small synthetic files only."""

import gzip
import os
import signal
import socket

import numpy as np
import pytest

from conftest import idx_bytes, make_dataset
from mlpbench import files as mlpbench_files
from mlpbench import inputs as mlpbench_inputs
from mlpbench.inputs import DataError

IMAGES = "train-images-idx3-ubyte"
# The engine's kMaxIdxFileBytes: 1 GiB of data after a header of at most 4 dimensions.
ENGINE_MAX_IDX_FILE_BYTES = (1 << 30) + 4 + 4 * 4


@pytest.fixture(autouse=True)
def no_hang():
    """A read that blocks (a FIFO opened for reading) fails the test instead of hanging it."""
    def hung(signum, frame):
        raise AssertionError("the read blocked")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def refusal(dataset_root, dataset="mnist", split="train"):
    """The DataError message of load_split on the dataset."""
    with pytest.raises(DataError) as e:
        mlpbench_inputs.load_split(str(dataset_root), dataset, split)
    return str(e.value)


def images_of(n, side=28):
    return np.full((n, side, side), n, dtype=np.uint8)


def write_pair(folder, n_raw, n_gz):
    """Both X and X.gz for the images and the labels of the train split, of different counts."""
    for stem, raw, gz in ((IMAGES, idx_bytes(images_of(n_raw), 3), idx_bytes(images_of(n_gz), 3)),
                          ("train-labels-idx1-ubyte", idx_bytes(np.zeros(n_raw, np.uint8), 1),
                           idx_bytes(np.zeros(n_gz, np.uint8), 1))):
        (folder / stem).write_bytes(raw)
        (folder / (stem + ".gz")).write_bytes(gzip.compress(gz))


# ----------------------------------------------------------------------------- which file

@pytest.mark.parametrize("dataset, count", [("mnist", 3), ("fashion-mnist", 5)])
def test_of_x_and_x_gz_the_engine_s_choice_is_read(tmp_path, dataset, count):
    """mnist: the raw file first; fashion-mnist (Debian ships it gzipped): the .gz first."""
    folder = tmp_path / dataset
    folder.mkdir()
    write_pair(folder, n_raw=3, n_gz=5)
    images, labels = mlpbench_inputs.load_split(str(tmp_path), dataset, "train")
    assert len(images) == len(labels) == count


def special(path, kind):
    """Makes `path` a file of `kind` that is not a regular file."""
    if kind == "folder":
        path.mkdir()
    elif kind == "FIFO":
        os.mkfifo(path)
    elif kind == "socket":
        here = os.getcwd()
        os.chdir(path.parent)  # a socket's address is at most 108 bytes: bind a short one
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.bind(path.name)  # the socket file stays when it is closed
        finally:
            os.chdir(here)
    elif kind == "link to /dev/zero":
        path.symlink_to("/dev/zero")
    elif kind == "link to a folder":
        path.symlink_to(path.parent)
    elif kind == "link loop":
        path.symlink_to(path.name)


UNUSABLE = [("folder", "is a directory"), ("FIFO", "is a FIFO"), ("socket", "is a socket"),
            ("link to /dev/zero", "is a character device"),
            ("link to a folder", "is a directory"),
            ("link loop", "Too many levels of symbolic links")]


@pytest.mark.parametrize("kind, needle", UNUSABLE, ids=[k for k, _ in UNUSABLE])
def test_an_unusable_first_choice_is_named_not_passed_over(tmp_path, kind, needle):
    """As the engine: the raw name exists, so it is the file, and its kind is the error; the
    good .gz beside it is not read instead."""
    make_dataset(tmp_path, "mnist", n=4, gz=True)
    special(tmp_path / "mnist" / IMAGES, kind)
    message = refusal(tmp_path)
    assert message.startswith(f"{tmp_path / 'mnist' / IMAGES}: ") and needle in message


def test_fashion_mnist_s_gz_is_its_first_choice_even_when_unusable(tmp_path):
    make_dataset(tmp_path, "fashion-mnist", n=4)
    gz = tmp_path / "fashion-mnist" / (IMAGES + ".gz")
    gz.mkdir()
    assert refusal(tmp_path, "fashion-mnist").startswith(f"{gz}: is a directory")


def test_a_dangling_link_is_no_file_at_all(tmp_path):
    """The engine's stat says 'no such file' through a dangling link: the .gz is read."""
    make_dataset(tmp_path, "mnist", n=4, gz=True)
    (tmp_path / "mnist" / IMAGES).symlink_to("nowhere")
    images, _ = mlpbench_inputs.load_split(str(tmp_path), "mnist", "train")
    assert len(images) == 4


def test_neither_file_names_both(tmp_path):
    (tmp_path / "mnist").mkdir()
    raw = tmp_path / "mnist" / IMAGES
    assert refusal(tmp_path).startswith(f"{raw}: no such file (nor {raw}.gz); fetch")


# ----------------------------------------------------------------------------- size caps

def test_a_raw_file_larger_than_any_idx_file_is_refused_unread(tmp_path):
    make_dataset(tmp_path, "mnist", n=4)
    path = tmp_path / "mnist" / IMAGES
    with open(path, "r+b") as f:
        f.truncate(ENGINE_MAX_IDX_FILE_BYTES + 1)  # sparse: nothing is written
    assert refusal(tmp_path) == (f"{path}: is {ENGINE_MAX_IDX_FILE_BYTES + 1} bytes, more than an "
                            f"IDX file may have ({ENGINE_MAX_IDX_FILE_BYTES} bytes)")
    assert mlpbench_inputs.MAX_IDX_FILE_BYTES == ENGINE_MAX_IDX_FILE_BYTES


def test_gzip_data_is_capped_as_the_engine_caps_it(tmp_path, monkeypatch):
    """Up to the cap is read, one byte more (even split over two gzip members) refused."""
    images = idx_bytes(images_of(5), 3)
    monkeypatch.setattr(mlpbench_inputs, "MAX_IDX_FILE_BYTES", len(images))
    _, _, files = make_dataset(tmp_path, "mnist", n=5, gz=True)
    path = files[IMAGES]
    path.write_bytes(gzip.compress(images))
    assert len(mlpbench_inputs.load_split(str(tmp_path), "mnist", "train")[0]) == 5
    path.write_bytes(gzip.compress(images[:100]) + gzip.compress(images[100:] + b"\0"))
    assert refusal(tmp_path).startswith(f"{path}: gzip data decompresses to more than "
                                        f"{len(images)} bytes")


def test_a_gzip_bomb_is_never_inflated_whole():
    """16 MiB of zeros in 16 KB: refused after the cap's bytes, with memory to match."""
    import tracemalloc
    bomb = gzip.compress(bytes(16 << 20), compresslevel=9)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="^bomb.gz: gzip data decompresses to more than "
                                            "1048576 bytes"):
            mlpbench_inputs.gunzip(bomb, "bomb.gz", 1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, peak


# ----------------------------------------------------------------------------- gzip streams

@pytest.mark.parametrize("tail", [bytes(512), b"\0", b"junk", b"\x1f"],
                         ids=["zero padding", "one zero", "text", "half a magic"])
def test_anything_after_the_gzip_data_is_refused(tmp_path, tail):
    _, _, files = make_dataset(tmp_path, "mnist", n=4, gz=True)
    path = files[IMAGES]
    path.write_bytes(path.read_bytes() + tail)
    assert refusal(tmp_path).startswith(f"{path}: corrupt gzip stream: {len(tail)} bytes of "
                                        "trailing garbage")


def test_gzip_members_in_a_row_are_one_file_and_a_cut_one_is_truncated(tmp_path):
    images = idx_bytes(images_of(4), 3)
    _, _, files = make_dataset(tmp_path, "mnist", n=4, gz=True)
    path = files[IMAGES]
    two = gzip.compress(images[:1000]) + gzip.compress(images[1000:])  # `cat a.gz b.gz`
    path.write_bytes(two)
    assert (mlpbench_inputs.load_split(str(tmp_path), "mnist", "train")[0] == images_of(4)).all()
    path.write_bytes(two[:-5])
    assert refusal(tmp_path).startswith(f"{path}: truncated gzip stream")
    path.write_bytes(two[:20] + b"\xff" * 10 + two[30:])
    assert refusal(tmp_path).startswith(f"{path}: corrupt gzip stream")


# ----------------------------------------------------------------------------- image shape

@pytest.mark.parametrize("dataset, shape", [("mnist", (14, 56)), ("fashion-mnist", (27, 27))])
def test_images_other_than_28x28_are_refused_naming_the_file(tmp_path, dataset, shape):
    _, _, files = make_dataset(tmp_path, dataset, n=3, split="test")
    path = files["t10k-images-idx3-ubyte"]
    path.write_bytes(idx_bytes(np.zeros((3, *shape), np.uint8), 3))
    assert refusal(tmp_path, dataset, "test") == (f"{path}: images are {shape[0]}x{shape[1]}, "
                                                  f"{dataset} images are 28x28")


# ----------------------------------------------------------------------------- read_bytes

def test_read_bytes_names_a_socket_and_keeps_its_cap(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with socket.socket(socket.AF_UNIX) as s:
        s.bind("s")
    with pytest.raises(mlpbench_files.ToolError, match="^s: is a socket, expected a regular file"):
        mlpbench_files.read_bytes("s")
    (tmp_path / "f").write_bytes(b"12345")
    assert mlpbench_files.read_bytes("f", 5) == b"12345"
    with pytest.raises(mlpbench_files.ToolError, match="^f: is 5 bytes, more than a note may "
                                                       "have \\(4 bytes\\)"):
        mlpbench_files.read_bytes("f", 4, "a note")
