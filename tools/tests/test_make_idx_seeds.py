"""make_idx_seeds.py writes fuzz_idx's seed corpus from MNIST read by mlpbench.inputs: the same
bytes as the corpus in the repository. Its malformed inputs are in test_untrusted_inputs.py."""

import gzip
import os

import numpy as np

from conftest import TOOLS, idx_bytes
from mlpbench import cli
from mlpbench.checks import idx_seeds

CORPUS = os.path.join(os.path.dirname(TOOLS), "fuzz", "corpus", "idx")


def corpus_file(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        return f.read()


def mnist_behind_the_corpus(root, count=10):
    """<root>/mnist/ of `count` samples, the first 2 images and up to 10 labels those the
    corpus was cut from, the images gzipped (the engine, and so the tool, read X.gz when X is
    missing)."""
    pixels = (corpus_file("mnist2-images-idx3-ubyte")[16:] + bytes(8 * 28 * 28))[:count * 784]
    labels = corpus_file("mnist10-labels-idx1-ubyte")[8:8 + count]
    folder = root / "mnist"
    folder.mkdir(parents=True)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(
        np.frombuffer(pixels, np.uint8).reshape(count, 28, 28), 3)))
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.frombuffer(labels, np.uint8), 1))


def test_the_seeds_are_the_corpus_in_the_repository(tmp_path, capsys):
    mnist_behind_the_corpus(tmp_path)
    out = tmp_path / "seeds"
    assert cli.main_guard(idx_seeds.PROG, idx_seeds.main,
                          ["--data-dir", str(tmp_path), "-o", str(out)]) == 0, capsys.readouterr()
    written = sorted(os.listdir(out))
    assert len(written) == 13
    for name in written:
        assert (out / name).read_bytes() == corpus_file(name), name


def test_too_few_samples_and_an_unusable_output_get_one_line(tmp_path, capsys):
    mnist_behind_the_corpus(tmp_path / "few", count=5)
    args = ["--data-dir", str(tmp_path / "few"), "-o", str(tmp_path / "seeds")]
    assert cli.main_guard(idx_seeds.PROG, idx_seeds.main, args) == 2
    images = tmp_path / "few" / "mnist" / "train-images-idx3-ubyte.gz"
    assert capsys.readouterr().err == (f"make_idx_seeds.py: error: {images}: 5 images, the "
                                       "seeds need 10\n")
    mnist_behind_the_corpus(tmp_path / "good")
    (tmp_path / "file").write_text("")
    args = ["--data-dir", str(tmp_path / "good"), "-o", str(tmp_path / "file")]
    assert cli.main_guard(idx_seeds.PROG, idx_seeds.main, args) == 2
    assert capsys.readouterr().err.startswith(f"make_idx_seeds.py: error: {tmp_path / 'file'}: "
                                              "cannot create the folder")
    assert not (tmp_path / "seeds").exists()
